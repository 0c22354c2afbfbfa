import type { DType } from '../dtype.js';
import { PockError, invariant, type ErrorLocation } from '../errors.js';
import { OPS, type AttrsOf, type OpName } from '../ops/registry.js';
import { broadcastAxes, shapeEq, type Shape } from '../shape.js';
import { scalarTensor, type Tensor } from '../tensor.js';
import type { Attrs, Graph, Node, TypeInfo, Update, Value, ValueId, ValueRole } from './graph.js';

/**
 * Builds graphs. Every op is type-checked by its definition's `infer` as it is added, so a
 * built graph is well-typed by construction. Gradient rules, frontends and passes all build
 * through this class.
 */
export class GraphBuilder {
  readonly name: string;
  private readonly values: Value[] = [];
  private readonly nodes: Node[] = [];
  private readonly inputs: ValueId[] = [];
  private readonly outputs: { name: string; value: ValueId }[] = [];
  private readonly init = new Map<ValueId, Tensor>();
  private readonly updates: Update[] = [];
  private nextNodeId = 0;
  /** Name given to nodes added without an explicit name (e.g. `grad(conv1)`). */
  scope = '';
  /** Where errors point (source file). */
  file: string | undefined;

  constructor(name = 'graph', base?: Graph) {
    this.name = base?.name ?? name;
    if (base) {
      this.values.push(...base.values);
      this.nodes.push(...base.nodes);
      this.inputs.push(...base.inputs);
      this.outputs.push(...base.outputs);
      for (const [k, v] of base.init) this.init.set(k, v);
      this.updates.push(...base.updates);
      this.nextNodeId = base.nodes.reduce((m, n) => Math.max(m, n.id + 1), 0);
    }
  }

  // ---- values ---------------------------------------------------------------------------------

  value(id: ValueId): Value {
    const v = this.values[id];
    invariant(v, `unknown value %${id}`);
    return v;
  }
  type(id: ValueId): TypeInfo {
    return this.value(id);
  }
  shape(id: ValueId): Shape {
    return this.value(id).shape;
  }
  dtype(id: ValueId): DType {
    return this.value(id).dtype;
  }
  rank(id: ValueId): number {
    return this.value(id).shape.length;
  }

  private newValue(role: ValueRole, name: string, t: TypeInfo): ValueId {
    const id = this.values.length;
    const v: Value = { id, role, name, dtype: t.dtype, shape: [...t.shape] };
    if (t.quant) v.quant = t.quant;
    this.values.push(v);
    return id;
  }

  input(name: string, dtype: DType, shape: Shape): ValueId {
    const id = this.newValue('input', name, { dtype, shape });
    this.inputs.push(id);
    return id;
  }

  /** A weight with initial data. Whether it is trained is decided by the training scheme. */
  param(name: string, data: Tensor): ValueId {
    return this.withData('param', name, data);
  }
  /** Model state that is not trained (BN running statistics). */
  buffer(name: string, data: Tensor): ValueId {
    return this.withData('buffer', name, data);
  }
  /** State owned by the compiled program (optimizer moments, counters). */
  state(name: string, data: Tensor): ValueId {
    return this.withData('state', name, data);
  }
  constant(data: Tensor, name = ''): ValueId {
    return this.withData('const', name, data);
  }
  scalar(v: number, dtype: DType = 'float32'): ValueId {
    return this.constant(scalarTensor(v, dtype), String(v));
  }

  private withData(role: ValueRole, name: string, data: Tensor): ValueId {
    const id = this.newValue(role, name, data);
    this.init.set(id, data);
    return id;
  }

  // ---- nodes ----------------------------------------------------------------------------------

  /** Id the next added node will get (ids increase by one per node). */
  get nextNodeIdPeek(): number {
    return this.nextNodeId;
  }

  /** Adds a node running `op` and returns its output values. */
  op<K extends OpName>(op: K, inputs: readonly ValueId[], attrs: AttrsOf<K>, name?: string): ValueId[] {
    const def = OPS[op] as unknown as import('../ops/op-def.js').OpDef<Attrs>;
    const nodeName = name ?? this.scope;
    const where: ErrorLocation = { op, node: nodeName || undefined, file: this.file };
    if (!def) throw new PockError('unsupported-op', `unknown op '${op}'`, where);
    const [lo, hi] = def.arity;
    if (inputs.length < lo || inputs.length > hi)
      throw new PockError('attr', `expects ${lo === hi ? lo : `${lo}..${hi}`} inputs, got ${inputs.length}`, where);
    const types = inputs.map((i) => this.type(i));
    const outTypes = def.infer(types, attrs as Attrs, where);
    const outs = outTypes.map((t, k) => this.newValue('node', nodeName ? `${nodeName}:${k}` : '', t));
    this.nodes.push({ id: this.nextNodeId++, op, attrs: attrs as Attrs, inputs: [...inputs], outputs: outs, name: nodeName });
    return outs;
  }

  /** Adds a single-output node. */
  op1<K extends OpName>(op: K, inputs: readonly ValueId[], attrs: AttrsOf<K>, name?: string): ValueId {
    return this.op(op, inputs, attrs, name)[0]!;
  }

  output(name: string, value: ValueId): void {
    this.outputs.push({ name, value });
  }

  update(target: ValueId, value: ValueId): void {
    const t = this.value(target);
    const v = this.value(value);
    if (t.dtype !== v.dtype || !shapeEq(t.shape, v.shape))
      throw new PockError('internal', `update of '${t.name}' has type ${v.dtype}${JSON.stringify(v.shape)}`);
    this.updates.push({ target, value });
  }

  /** Runs `fn` with node names defaulting to `scope`. */
  scoped<T>(scope: string, fn: () => T): T {
    const prev = this.scope;
    this.scope = scope;
    try {
      return fn();
    } finally {
      this.scope = prev;
    }
  }

  build(): Graph {
    return {
      name: this.name,
      values: [...this.values],
      nodes: [...this.nodes],
      inputs: [...this.inputs],
      outputs: [...this.outputs],
      init: new Map(this.init),
      updates: [...this.updates],
    };
  }

  // ---- conveniences used by gradient rules and tests --------------------------------------------

  add(a: ValueId, b: ValueId): ValueId {
    return this.op1('add', [a, b], {});
  }
  sub(a: ValueId, b: ValueId): ValueId {
    return this.op1('sub', [a, b], {});
  }
  mul(a: ValueId, b: ValueId): ValueId {
    return this.op1('mul', [a, b], {});
  }
  div(a: ValueId, b: ValueId): ValueId {
    return this.op1('div', [a, b], {});
  }
  neg(a: ValueId): ValueId {
    return this.op1('neg', [a], {});
  }
  /** A scalar constant with the dtype of `like`. */
  scalarLike(v: number, like: ValueId): ValueId {
    return this.scalar(v, this.dtype(like));
  }
  mulScalar(a: ValueId, s: number): ValueId {
    return this.mul(a, this.scalarLike(s, a));
  }
  matmul(a: ValueId, b: ValueId, transA = false, transB = false): ValueId {
    return this.op1('matmul', [a, b], { transA, transB });
  }
  reshape(a: ValueId, shape: Shape): ValueId {
    if (shapeEq(this.shape(a), shape)) return a;
    return this.op1('reshape', [a], { shape: [...shape] });
  }
  transpose(a: ValueId, perm: readonly number[]): ValueId {
    return this.op1('transpose', [a], { perm: [...perm] });
  }
  reduceSum(a: ValueId, axes: readonly number[], keepdims = false): ValueId {
    if (axes.length === 0) return a;
    return this.op1('reduce_sum', [a], { axes: [...axes], keepdims });
  }
  where(cond: ValueId, a: ValueId, b: ValueId): ValueId {
    return this.op1('where', [cond, a, b], {});
  }
  cast(a: ValueId, to: DType): ValueId {
    if (this.dtype(a) === to) return a;
    return this.op1('cast', [a], { to });
  }
  /**
   * Sums a broadcast gradient back to `shape` (the reverse of numpy broadcasting): the
   * gradient of an operand that was broadcast in the forward pass.
   */
  sumToShape(g: ValueId, shape: Shape): ValueId {
    const gs = this.shape(g);
    if (shapeEq(gs, shape)) return g;
    const axes = broadcastAxes(shape, gs);
    return this.reshape(this.reduceSum(g, axes, false), shape);
  }
  /** Broadcasts `a` to `shape`. */
  expand(a: ValueId, shape: Shape): ValueId {
    if (shapeEq(this.shape(a), shape)) return a;
    return this.op1('expand', [a], { shape: [...shape] });
  }
}
