/**
 * GraphModel import: a tfjs-converter model.json (`format: 'graph-model'`, a TF GraphDef in
 * `modelTopology`) + weights to one IR graph. Nodes are evaluated from the outputs back;
 * Placeholders become graph inputs, Const nodes host constants (weights become params named
 * after their node), every other node goes through its handler. Unsupported ops are collected
 * and reported together.
 */
import { GraphBuilder, PockError, dce, type ErrorLocation, type Tensor, type ValueId } from '@pockengine/core';
import { act, nhwc, type Act } from '../layout.js';
import type { TfjsImportOptions, TfjsImportResult, TfjsModelJson, WeightsSource } from '../types.js';
import { resolveWeights } from '../weights.js';
import { OpContext, isConst, type GraphImportState, type Sym } from './context.js';
import { NodeAttrs, parseInput, shapeOf, tfDtype, type GraphDefJson, type TfNode, type TfShape } from './graphdef.js';
import { GRAPH_OP_HANDLERS, SUPPORTED_GRAPH_OPS } from './handlers/index.js';
import { constTensor, hostConst, isWeight, type HostConst } from './host.js';

/** Imports a graph-model model.json with its weights. */
export function importGraphModel(modelJson: TfjsModelJson, weights?: WeightsSource, opts: TfjsImportOptions = {}): TfjsImportResult {
  const gd = modelJson.modelTopology as GraphDefJson;
  if (!gd || !Array.isArray(gd.node)) throw new PockError('import', 'modelTopology has no node list: not a graph model', { file: opts.file });
  return new GraphImporter(gd, resolveWeights(modelJson, weights, opts.file), modelJson.signature, opts).run();
}

interface SignatureEntry {
  name?: string;
  tensorShape?: TfShape;
}
interface Signature {
  inputs?: Record<string, SignatureEntry>;
  outputs?: Record<string, SignatureEntry>;
}

class GraphImporter implements GraphImportState {
  readonly b: GraphBuilder;
  readonly opts: TfjsImportOptions;
  private readonly nodes = new Map<string, TfNode>();
  private readonly weights: ReadonlyMap<string, Tensor>;
  private readonly signature: Signature;
  private readonly memo = new Map<string, Sym[] | null>();
  private readonly pending = new Set<string>();
  private readonly materialized = new Map<HostConst, ValueId>();
  private readonly usedNames = new Set<string>();
  private readonly trainable: string[] = [];
  private readonly softmaxOf = new Map<Act, Act>();
  /** Op types without a handler, with the nodes using them. */
  private readonly missing = new Map<string, string[]>();
  /** Nodes whose handler rejected their attributes / inputs. */
  private readonly rejected: string[] = [];

  constructor(gd: GraphDefJson, weights: ReadonlyMap<string, Tensor>, signature: unknown, opts: TfjsImportOptions) {
    for (const n of gd.node) this.nodes.set(n.name, n);
    this.weights = weights;
    this.signature = (signature ?? {}) as Signature;
    this.opts = opts;
    this.b = new GraphBuilder('graph-model');
    this.b.file = opts.file;
  }

  /** Output tensors: the signature's, else every node nothing consumes (as tfjs-converter). */
  private outputRefs(): { alias: string; ref: ReturnType<typeof parseInput> }[] {
    const sig = this.signature.outputs;
    if (sig && Object.keys(sig).length)
      return Object.entries(sig).map(([alias, e]) => ({ alias, ref: parseInput(e.name ?? alias) }));
    const consumed = new Set<string>();
    for (const n of this.nodes.values()) for (const i of n.input ?? []) consumed.add(parseInput(i).node);
    return [...this.nodes.values()]
      .filter((n) => !consumed.has(n.name) && !['Const', 'NoOp', 'Placeholder'].includes(n.op))
      .map((n) => ({ alias: n.name, ref: { node: n.name, index: 0, control: false } }));
  }

  /** Lists every op type without a handler among the nodes the outputs depend on. */
  private scanUnsupported(roots: readonly string[]): void {
    const seen = new Set<string>();
    const stack = [...roots];
    while (stack.length) {
      const name = stack.pop()!;
      const node = this.nodes.get(name);
      if (seen.has(name) || !node) continue;
      seen.add(name);
      if (!GRAPH_OP_HANDLERS[node.op] && !['Placeholder', 'Const', 'NoOp'].includes(node.op))
        this.missing.set(node.op, [...(this.missing.get(node.op) ?? []), name]);
      for (const i of node.input ?? []) stack.push(parseInput(i).node);
    }
  }

  run(): TfjsImportResult {
    const refs = this.outputRefs();
    this.scanUnsupported(refs.map((o) => o.ref.node));
    const outs = refs.map((o) => ({ ...o, s: this.evaluate(o.ref.node, o.ref.index) }));
    if (this.missing.size || this.rejected.length) {
      const lines = [...this.missing].map(([op, names]) => `${op} (${names.length} node(s): ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`);
      throw new PockError(
        'unsupported-op',
        `TF.js graph model has ${lines.length + this.rejected.length} unsupported op(s):\n  ${[...lines, ...this.rejected].join('\n  ')}\n` +
          `Re-convert the model without these ops (e.g. export a layers model, or ONNX), or add a handler in ` +
          `packages/frontend-tfjs/src/graph/handlers. Supported ops: ${SUPPORTED_GRAPH_OPS.join(', ')}.`,
        { file: this.opts.file },
      );
    }
    if (outs.length === 0) throw new PockError('import', 'the graph model has no outputs', { file: this.opts.file });
    const single = outs.length === 1;
    const outputs: TfjsImportResult['outputs'] = [];
    for (const { alias, s } of outs) {
      const t = isConst(s!) ? act(this.materialize(s!, 'auto')) : (s as Act);
      const logits = this.opts.keepSoftmax ? undefined : this.softmaxOf.get(t);
      const name = logits ? (single ? 'logits' : `${alias}/logits`) : alias;
      this.b.output(name, nhwc(this.b, logits ?? t));
      outputs.push({ name, source: alias, softmaxStripped: logits !== undefined });
    }
    return {
      graph: dce(this.b.build()),
      kind: 'graph',
      outputIsLogitsOfSoftmax: outputs[0]!.softmaxStripped,
      outputs,
      trainable: [...this.trainable],
      layout: 'nhwc',
    };
  }

  private evaluate(name: string, index: number): Sym | null {
    if (!this.memo.has(name)) {
      if (this.pending.has(name)) throw new PockError('import', `node '${name}' depends on itself (control flow is not supported)`, { file: this.opts.file, node: name });
      this.pending.add(name);
      this.memo.set(name, this.call(name));
      this.pending.delete(name);
    }
    const outs = this.memo.get(name);
    if (!outs) return null;
    const s = outs[index];
    if (!s) throw new PockError('import', `node '${name}' has no output ${index} that the importer provides`, { file: this.opts.file, node: name });
    return s;
  }

  private call(name: string): Sym[] | null {
    const node = this.nodes.get(name);
    const where: ErrorLocation = { file: this.opts.file, node: name };
    if (!node) throw new PockError('import', `unknown node '${name}'`, where);
    where.op = node.op;
    if (node.op === 'Placeholder') return [this.placeholder(node, where)];
    if (node.op === 'Const') return [this.constant(node, where)];
    if (node.op === 'NoOp') return [];
    const handler = GRAPH_OP_HANDLERS[node.op];
    if (!handler) return null; // listed by scanUnsupported
    const inputs: Sym[] = [];
    let poisoned = false;
    for (const i of node.input ?? []) {
      const r = parseInput(i);
      if (r.control) continue;
      const s = this.evaluate(r.node, r.index);
      if (s === null) poisoned = true;
      else inputs.push(s);
    }
    if (poisoned) return null;
    try {
      return this.b.scoped(name, () => handler(new OpContext(this, node, inputs)));
    } catch (e) {
      if (e instanceof PockError && e.code === 'unsupported-op') {
        this.rejected.push(e.message);
        return null;
      }
      throw e;
    }
  }

  private placeholder(node: TfNode, where: ErrorLocation): Act {
    const attrs = new NodeAttrs(node, where);
    const sigShape = Object.values(this.signature.inputs ?? {}).find((e) => parseInput(e.name ?? '').node === node.name)?.tensorShape;
    const declared = attrs.shape('shape') ?? shapeOf(sigShape);
    const given = this.opts.inputShapes?.[node.name];
    let shape: number[];
    if (given) shape = [...given];
    else {
      if (!declared) throw new PockError('import', `input '${node.name}' has no static shape; pass inputShapes`, where);
      shape = declared.map((d, i) => {
        if (d >= 0) return d;
        if (i === 0) return this.opts.batchSize ?? 1;
        throw new PockError('import', `input dimension ${i} of '${node.name}' is unknown ([${declared}]); pass inputShapes: { '${node.name}': [...] }`, where);
      });
    }
    const dtype = attrs.dtype('dtype');
    if (dtype === 'unsupported') throw new PockError('unsupported-op', 'inputs must be float, int or bool', where);
    return act(this.b.input(node.name, dtype, shape));
  }

  /** A Const node: its data from the weights manifest (by node name) or its inline `value` tensor. */
  private constant(node: TfNode, where: ErrorLocation): HostConst {
    const w = this.weights.get(node.name);
    if (w) return hostConst(w.dtype === 'float32' ? 'float32' : w.dtype === 'bool' ? 'bool' : 'int32', w.shape, w.data as ArrayLike<number>, node.name);
    const attrs = new NodeAttrs(node, where);
    const t = attrs.tensor('value');
    const dtype = tfDtype(t?.dtype ?? node.attr?.dtype?.type);
    if (!t || dtype === 'unsupported') throw new PockError('import', 'constant has no data in the weights manifest (string constants are not supported)', where);
    const shape = shapeOf(t.tensorShape) ?? [];
    const vals = (t.floatVal ?? t.intVal ?? t.int64Val?.map(Number) ?? t.boolVal?.map(Number) ?? []) as number[];
    const n = shape.reduce((p, d) => p * d, 1);
    // proto splats a single value over the whole shape
    const data = vals.length === n ? vals : new Array<number>(n).fill(vals[0] ?? 0);
    return hostConst(dtype, shape, data, node.name);
  }

  // ---- GraphImportState -------------------------------------------------------------------------

  materialize(c: HostConst, role: 'param' | 'buffer' | 'auto'): ValueId {
    const cached = this.materialized.get(c);
    if (cached !== undefined) return cached;
    const asParam = role === 'buffer' || (c.dtype === 'float32' && (role === 'param' || isWeight(c)));
    let v: ValueId;
    if (!asParam) v = this.b.constant(constTensor(c), c.name);
    else {
      let name = c.name || `const_${this.materialized.size}`;
      while (this.usedNames.has(name)) name += '_';
      this.usedNames.add(name);
      if (role === 'buffer') v = this.b.buffer(name, constTensor(c));
      else {
        v = this.b.param(name, constTensor(c));
        this.trainable.push(name);
      }
    }
    this.materialized.set(c, v);
    return v;
  }

  markSoftmax(probs: Act, logits: Act): void {
    this.softmaxOf.set(probs, logits);
  }
}
