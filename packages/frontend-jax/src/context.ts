/**
 * The import context: walks a jaxpr equation by equation, binding jax-js variables to IR values,
 * and offers handlers emit helpers that keep the IR small (reshape/transpose chains collapse,
 * scalar literals are shared). Unsupported primitives are collected, not thrown one at a time:
 * their outputs become placeholders so the walk goes on and one error lists them all.
 */
import { GraphBuilder, PockError, tensor, type AttrsOf, type DType, type OpName, type ValueId } from '@pockengine/core';
import { fmtAval, irDtype, isLiteral, type Atom, type Jaxpr, type JaxprEqn, type ParamsOf, type PrimitiveName, type Var } from './jaxpr.js';

/** A pool (window extraction) whose consumer may fuse it into a pooling op; see handlers/reduce.ts. */
export interface LazyPool {
  kind: 'pool';
  x: ValueId;
  window: readonly number[];
  strides: readonly number[];
  shape: readonly number[];
  materialized?: ValueId;
}
/** What a jaxpr variable is bound to. */
export type Bound = ValueId | LazyPool;

/** Thrown by a handler that cannot map its equation; the context records it and goes on. */
export class Unsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface UnsupportedUse {
  /** Equation path: `12` at top level, `7/3` for equation 3 of the jit at equation 7. */
  eqn: string;
  primitive: string;
  /** `float32[2,3], float32[3]` */
  inputs: string;
  reason: string;
}

export type JaxHandler<P extends PrimitiveName = PrimitiveName> = (ctx: EqnContext<P>) => Bound[];
export type HandlerTable = { [P in PrimitiveName]: JaxHandler<P> };

interface Producer {
  op: string;
  inputs: readonly ValueId[];
  attrs: Record<string, unknown>;
}

export const isLazy = (b: Bound): b is LazyPool => typeof b === 'object';

export class Importer {
  readonly b: GraphBuilder;
  readonly unsupported: UnsupportedUse[] = [];
  /** Mapped equations per primitive (inlined jits counted by their bodies). */
  readonly counts = new Map<string, number>();
  private readonly producers = new Map<ValueId, Producer>();
  private readonly scalars = new Map<ValueId, number>();
  private readonly literals = new Map<string, ValueId>();
  /** Errors already prefixed with their equation path. */
  private readonly located = new WeakSet<PockError>();

  constructor(
    b: GraphBuilder,
    private readonly handlers: HandlerTable,
    /** Turns a pool that no pooling op absorbed into plain IR (handlers/reduce.ts). */
    private readonly materializePool: (imp: Importer, p: LazyPool) => ValueId,
    readonly file?: string,
  ) {
    this.b = b;
  }

  // ---- emitting ---------------------------------------------------------------------------------

  /** Emits a node and remembers it as the producer of its outputs (for local rewrites). */
  opN<K extends OpName>(op: K, inputs: readonly ValueId[], attrs: AttrsOf<K>): ValueId[] {
    const outs = this.b.op(op, inputs, attrs);
    for (const o of outs) this.producers.set(o, { op, inputs, attrs: attrs as Record<string, unknown> });
    return outs;
  }
  op<K extends OpName>(op: K, inputs: readonly ValueId[], attrs: AttrsOf<K>): ValueId {
    return this.opN(op, inputs, attrs)[0]!;
  }
  producer(v: ValueId): Producer | undefined {
    return this.producers.get(v);
  }
  /** The value of a scalar constant made by `literal`, else undefined. */
  scalarValue(v: ValueId): number | undefined {
    return this.scalars.get(v);
  }
  /** A shared scalar constant. */
  literal(value: number, dtype: DType): ValueId {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let id = this.literals.get(key);
    if (id === undefined) {
      const t = tensor(dtype, [], [value]);
      id = this.b.constant(t, String(value));
      this.literals.set(key, id);
      this.scalars.set(id, Number(t.data[0])); // as stored: rounded to float32, truncated to int
    }
    return id;
  }
  shape(v: ValueId): readonly number[] {
    return this.b.shape(v);
  }
  dtype(v: ValueId): DType {
    return this.b.dtype(v);
  }
  cast(v: ValueId, to: DType): ValueId {
    if (this.dtype(v) === to) return v;
    const s = this.scalarValue(v);
    if (s !== undefined) return this.literal(to === 'bool' ? Number(s !== 0) : s, to);
    return this.op('cast', [v], { to });
  }
  /** reshape(reshape(u)) is reshape(u): chains collapse, and a reshape back to u's shape is u. */
  reshape(v: ValueId, shape: readonly number[]): ValueId {
    const from = this.shape(v);
    if (from.length === shape.length && from.every((d, i) => d === shape[i])) return v;
    const p = this.producer(v);
    if (p?.op === 'reshape') return this.reshape(p.inputs[0]!, shape);
    return this.op('reshape', [v], { shape: [...shape] });
  }
  /** transpose(transpose(u, p), q) is transpose(u, p∘q); identity permutations vanish. */
  transpose(v: ValueId, perm: readonly number[]): ValueId {
    if (perm.every((p, i) => p === i)) return v;
    const p = this.producer(v);
    if (p?.op === 'transpose') {
      const inner = p.attrs.perm as number[];
      return this.transpose(p.inputs[0]!, perm.map((i) => inner[i]!));
    }
    return this.op('transpose', [v], { perm: [...perm] });
  }
  expand(v: ValueId, shape: readonly number[]): ValueId {
    const from = this.shape(v);
    if (from.length === shape.length && from.every((d, i) => d === shape[i])) return v;
    return this.op('expand', [v], { shape: [...shape] });
  }
  /** Unit-step slice of [start, end) along each listed axis. */
  slice(v: ValueId, axes: readonly number[], starts: readonly number[], ends: readonly number[], steps?: readonly number[]): ValueId {
    if (axes.length === 0) return v;
    return this.op('slice', [v], { axes: [...axes], starts: [...starts], ends: [...ends], steps: steps ? [...steps] : axes.map(() => 1) });
  }
  materialize(x: Bound): ValueId {
    if (!isLazy(x)) return x;
    return (x.materialized ??= this.materializePool(this, x));
  }

  // ---- walking ----------------------------------------------------------------------------------

  /**
   * Maps the equations of `jaxpr` with its in-binders bound to `inputs`, returning the IR values
   * of its outputs. `path` prefixes equation numbers in node names and errors (nested jits).
   */
  run(jaxpr: Jaxpr, inputs: readonly Bound[], path = ''): Bound[] {
    const env = new Map<Var, Bound>();
    jaxpr.inBinders.forEach((v, i) => env.set(v, inputs[i]!));
    const read = (a: Atom): Bound => {
      if (isLiteral(a)) return this.literal(a.value, this.irDtypeOr(a.aval.dtype));
      const bound = env.get(a as Var);
      if (bound === undefined) throw new PockError('internal', `jaxpr variable ${String(a)} used before it is bound`, { file: this.file });
      return bound;
    };
    jaxpr.eqns.forEach((eqn, k) => {
      const eqnPath = `${path}${k}`;
      const outs = this.mapEqn(eqn, eqn.inputs.map(read), eqnPath);
      eqn.outBinders.forEach((v, i) => env.set(v, outs[i]!));
    });
    return jaxpr.outs.map(read);
  }

  private mapEqn(eqn: JaxprEqn, inputs: Bound[], path: string): Bound[] {
    const prim = eqn.primitive as PrimitiveName;
    const name = `${path}:${prim}`;
    const handler = this.handlers[prim] as JaxHandler | undefined;
    try {
      const badOut = eqn.outBinders.find((v) => irDtype(v.aval.dtype) === undefined);
      if (!handler) throw new Unsupported(`jax-js primitive unknown to this frontend`);
      if (badOut) throw new Unsupported(`produces ${badOut.aval.dtype}, which has no IR dtype`);
      const outs = this.b.scoped(name, () => handler(new EqnContext(this, eqn, inputs, path)));
      if (outs.length !== eqn.outBinders.length)
        throw new PockError('internal', `handler returned ${outs.length} outputs for ${eqn.outBinders.length}`);
      if (prim !== 'jit') this.counts.set(prim, (this.counts.get(prim) ?? 0) + 1);
      return outs.map((o, i) => (isLazy(o) ? o : this.conform(o, eqn.outBinders[i]!, name)));
    } catch (e) {
      if (e instanceof Unsupported) {
        this.unsupported.push({ eqn: path, primitive: prim, inputs: eqn.inputs.map((a) => fmtAval(a.aval)).join(', '), reason: e.reason });
      } else if (this.unsupported.length === 0) {
        if (e instanceof PockError && this.located.has(e)) throw e; // from an equation inside a jit
        const msg = e instanceof Error ? e.message : String(e);
        const err = new PockError(e instanceof PockError ? e.code : 'internal', `equation ${path} (${prim} of ${eqn.inputs.map((a) => fmtAval(a.aval)).join(', ')}): ${msg}`, { file: this.file });
        this.located.add(err);
        throw err;
      }
      // downstream of an unsupported equation: placeholders keep the walk going
      return eqn.outBinders.map((v) => this.b.input(`<unsupported ${name}>`, this.irDtypeOr(v.aval.dtype), v.aval.shape));
    }
  }

  /** The handler's value must have the jax-js output's type; dtypes are reconciled by a cast. */
  private conform(v: ValueId, out: Var, name: string): ValueId {
    const want = out.aval.shape;
    const got = this.shape(v);
    if (got.length !== want.length || got.some((d, i) => d !== want[i]))
      throw new PockError('internal', `${name}: mapped to shape [${got.join(',')}], jax-js says ${fmtAval(out.aval)}`);
    return this.cast(v, irDtype(out.aval.dtype)!);
  }

  private irDtypeOr(d: string): DType {
    return irDtype(d) ?? 'int32';
  }
}

/** What a handler sees of one equation. */
export class EqnContext<P extends PrimitiveName> {
  constructor(
    readonly imp: Importer,
    readonly eqn: JaxprEqn,
    private readonly bound: readonly Bound[],
    /** Equation path (for nested jits). */
    readonly path: string,
  ) {}

  get params(): ParamsOf<P> {
    return this.eqn.params as ParamsOf<P>;
  }
  get arity(): number {
    return this.bound.length;
  }
  /** Input i as an IR value (a lazy pool is materialized). */
  input(i: number): ValueId {
    return this.imp.materialize(this.bound[i]!);
  }
  inputs(): ValueId[] {
    return this.bound.map((_, i) => this.input(i));
  }
  /** Input i when it is a pool not yet materialized. */
  lazy(i: number): LazyPool | undefined {
    const b = this.bound[i]!;
    return isLazy(b) && b.materialized === undefined ? b : undefined;
  }
  isLiteral(i: number): boolean {
    return isLiteral(this.eqn.inputs[i]!);
  }
  outShape(i = 0): number[] {
    return this.eqn.outBinders[i]!.aval.shape;
  }
  outDtype(i = 0): DType {
    return irDtype(this.eqn.outBinders[i]!.aval.dtype)!;
  }
  unsupported(reason: string): never {
    throw new Unsupported(reason);
  }
}
