/**
 * importOnnx: ONNX bytes -> IR graph. Browser-safe (bytes in, no file system).
 *
 * Pipeline: decode the protobuf -> check every op has a handler (one error listing all that do
 * not) -> create inputs with static shapes -> walk the nodes in order, folding every node whose
 * inputs are all constants and handing the others to their handler -> graph outputs. Float
 * initializers become params (BatchNorm running statistics become buffers) under their ONNX
 * names, which for PyTorch exports are the torch parameter names; other initializers are
 * constants that take part in folding.
 */
import { GraphBuilder, PockError, dce, tensor, type DType, type ErrorLocation, type Graph, type Tensor, type TypeInfo, type ValueId } from '@pockengine/core';
import { constFromTensor, constToTensor, isConst, type ConstTensor } from './const.js';
import { NodeContext, type ImportOptions, type ImportState, type Sym } from './context.js';
import { CONST_EVAL } from './fold.js';
import { HANDLERS } from './handlers/index.js';
import { decodeModel, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from './proto/onnx.js';
import { dtypeOf, tensorFromProto } from './tensor-proto.js';

/** Opsets of the default domain the handlers implement (13-21 are tested against PyTorch exports). */
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

export interface ImportedModel {
  graph: Graph;
  irVersion: number;
  /** Version of the default ('' / 'ai.onnx') operator set. */
  opset: number;
  producer: string;
  /** Names of the params (trainable weights) and buffers (BatchNorm running statistics). */
  params: string[];
  buffers: string[];
  /** ONNX nodes whose outputs all became constants at import, and nodes handed to a handler. */
  folded: number;
  mapped: number;
}

/** Decodes a model, turning any decoder failure into PockError('import'). */
export function decodeOnnx(bytes: Uint8Array, file?: string): OnnxModel {
  const where: ErrorLocation = { file };
  if (!(bytes instanceof Uint8Array)) throw new PockError('input', 'importOnnx expects the model bytes as a Uint8Array', where);
  if (bytes.length === 0) throw new PockError('import', 'the file is empty, not an ONNX model', where);
  let m: OnnxModel;
  try {
    // a plain view, also of a Node Buffer (whose slice/subarray semantics differ)
    m = decodeModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new PockError('import', `not a valid ONNX model: ${msg}`, where);
  }
  if (m.irVersion <= 0 || m.opsets.length === 0)
    throw new PockError('import', `not a valid ONNX model: it has no ${m.irVersion <= 0 ? 'ir_version' : 'opset_import'}`, where);
  return m;
}

export function defaultOpset(m: OnnxModel, file?: string): number {
  const o = m.opsets.find((x) => x.domain === '' || x.domain === 'ai.onnx');
  if (!o) throw new PockError('import', 'the model imports no version of the default ONNX operator set', { file });
  return o.version;
}

export function importOnnx(bytes: Uint8Array, opts: ImportOptions = {}): ImportedModel {
  const file = opts.file;
  const model = decodeOnnx(bytes, file);
  const opset = defaultOpset(model, file);
  if (opset < MIN_OPSET || opset > MAX_OPSET)
    throw new PockError('import', `opset ${opset} is not supported (supported: ${MIN_OPSET}..${MAX_OPSET}); re-export the model, e.g. torch.onnx.export(..., opset_version=17)`, { file, opset });
  const g = model.graph;
  if (g.sparseInitializers)
    throw new PockError('import', `the graph has ${g.sparseInitializers} sparse initializer(s), which are not supported; store them dense`, { file });
  checkSupported(g.nodes, opset, file);
  const imp = new Importer(model, opts, opset);
  return imp.run();
}

/** Throws ONE error listing every unsupported op type with its nodes. */
function checkSupported(nodes: readonly OnnxNode[], opset: number, file?: string): void {
  const bad = new Map<string, string[]>();
  const visit = (n: OnnxNode, k: number) => {
    const isDefault = n.domain === '' || n.domain === 'ai.onnx';
    // an If's branches are imported too (the one its constant condition picks): check both
    if (isDefault && n.opType === 'If') for (const a of n.attributes) if (a.g) a.g.nodes.forEach(visit);
    if (isDefault && HANDLERS[n.opType]) return;
    const key = isDefault ? n.opType : `${n.domain}.${n.opType}`;
    if (!bad.has(key)) bad.set(key, []);
    bad.get(key)!.push(n.name || `#${k}`);
  };
  nodes.forEach(visit);
  if (bad.size === 0) return;
  const lines = [...bad].map(([op, names]) => {
    const shown = names.slice(0, 5).map((s) => `'${s}'`).join(', ');
    return `  ${op}: ${names.length} node(s) ${shown}${names.length > 5 ? `, ... (${names.length - 5} more)` : ''}`;
  });
  throw new PockError(
    'unsupported-op',
    `the model uses ${bad.size} ONNX op type(s) that PockEngine does not support (opset ${opset}):\n${lines.join('\n')}\n` +
      'Re-export the model without them or with another opset, or add a handler in packages/frontend-onnx/src/handlers ' +
      '(and file an issue with the model).',
    { file, opset },
  );
}

class Importer implements ImportState {
  readonly b: GraphBuilder;
  readonly opts: ImportOptions;
  private readonly model: OnnxModel;
  private readonly opset: number;
  private readonly syms = new Map<string, Sym>();
  /** Why an ONNX value name has no value (an output a handler does not produce). */
  private readonly unavailable = new Map<string, string>();
  private readonly initializers = new Map<string, OnnxTensor>();
  private readonly bufferNames = new Set<string>();
  private readonly constIds = new WeakMap<ConstTensor, ValueId>();
  /** Data of initializers read as constants. */
  private readonly initConsts = new Map<string, ConstTensor>();
  private readonly updated = new Set<ValueId>();
  private counter: ValueId | undefined;
  private seeds = 0;
  private readonly params: string[] = [];
  private readonly buffers: string[] = [];

  constructor(model: OnnxModel, opts: ImportOptions, opset: number) {
    this.model = model;
    this.opts = opts;
    this.opset = opset;
    this.b = new GraphBuilder(model.graph.name || 'onnx');
    this.b.file = opts.file;
  }

  run(): ImportedModel {
    const g = this.model.graph;
    const file = this.opts.file;
    for (const t of g.initializers) this.initializers.set(t.name, t);
    // BatchNormalization's mean / var inputs are state (buffers), not trainable weights
    for (const n of g.nodes) if (n.opType === 'BatchNormalization') for (const i of [3, 4]) if (n.inputs[i]) this.bufferNames.add(n.inputs[i]!);
    this.createInputs();

    g.nodes.forEach((node, k) => this.runNode(node, k));
    this.b.scope = '';

    for (const o of g.outputs) {
      const where = { file };
      const s = this.resolve(o.name, where);
      const id = this.materialize(s, o.name);
      const shape = this.b.shape(id);
      if (o.dims && (o.dims.length !== shape.length || o.dims.some((d, i) => typeof d === 'number' && d !== shape[i])))
        throw new PockError('shape', `output '${o.name}' has shape [${shape}], the model declares [${o.dims.map((d) => d ?? '?')}]`, where);
      this.b.output(o.name, id);
    }
    return {
      // outputs nothing reads (a Dropout mask, BatchNorm's extra outputs) are dropped
      graph: dce(this.b.build()),
      irVersion: this.model.irVersion,
      opset: this.opset,
      producer: `${this.model.producerName} ${this.model.producerVersion}`.trim(),
      params: this.params,
      buffers: this.buffers,
      folded: this.folded,
      mapped: this.mapped,
    };
  }

  /** Graph inputs (those that are not initializers) with static shapes. */
  private createInputs(): void {
    const file = this.opts.file;
    const given = this.opts.inputShapes ?? {};
    const inputs = this.model.graph.inputs.filter((i) => !this.initializers.has(i.name));
    const names = new Set(inputs.map((i) => i.name));
    for (const k of Object.keys(given))
      if (!names.has(k)) throw new PockError('input', `inputShapes names '${k}', which is not a graph input (inputs: ${[...names].join(', ')})`, { file });
    const open: string[] = [];
    const shapes = inputs.map((inp) => {
      const where = { file };
      if (inp.elemType === undefined) throw new PockError('import', `input '${inp.name}' is not a tensor or has no element type`, where);
      const dims = inp.dims;
      const fixed = given[inp.name];
      if (fixed) {
        if (!fixed.every((d) => Number.isInteger(d) && d >= 0)) throw new PockError('input', `inputShapes.${inp.name} = [${fixed}] is not a list of sizes`, where);
        // A static size in the file is the exporter's annotation of the traced example: a
        // convolutional net runs at other resolutions too, so an explicit shape overrides it
        // (every op's shape rule re-checks the graph at the new size). The rank must agree.
        if (dims && dims.length !== fixed.length)
          throw new PockError('input', `inputShapes.${inp.name} = [${fixed}] does not match the model's shape [${dims.map((d) => d ?? '?')}] (rank ${dims.length})`, where);
        return [...fixed];
      }
      if (!dims || dims.some((d) => typeof d !== 'number')) {
        open.push(`'${inp.name}' [${dims ? dims.map((d) => d ?? '?').join(', ') : 'unknown rank'}]`);
        return [];
      }
      return dims as number[];
    });
    if (open.length)
      throw new PockError(
        'input',
        `input ${open.join(', ')} ha${open.length > 1 ? 've' : 's'} dynamic dims; give full static shapes with inputShapes, e.g. { ${inputs
          .filter((i) => open.some((o) => o.startsWith(`'${i.name}'`)))
          .map((i) => `'${i.name}': [${(i.dims ?? []).map((d) => (typeof d === 'number' ? d : 2)).join(', ')}]`)
          .join(', ')} }`,
        { file },
      );
    inputs.forEach((inp, k) => {
      const dtype = this.mapFloat(dtypeOf(inp.elemType!, `input '${inp.name}'`, { file }));
      this.syms.set(inp.name, this.b.input(inp.name, dtype, shapes[k]!));
    });
  }

  private folded = 0;
  private mapped = 0;

  /** Maps one node: constant-folds it, unties a deduplicated initializer, or runs its handler. */
  private runNode(node: OnnxNode, k: number, prefix = ''): void {
    const name = node.name || `${prefix}${node.opType}_${k}`;
    const ctx = new NodeContext(this, node, this.opset, name);
    const scope = this.b.scope;
    this.b.scope = name;
    let outs: (Sym | null)[];
    try {
      const copy = this.untiedCopy(node);
      if (copy) {
        this.syms.set(node.outputs[0]!, copy);
        return;
      }
      const fold = CONST_EVAL[node.opType];
      if (fold && node.inputs.every((i) => i === '' || this.foldable(i, ctx.where))) outs = this.maybeLift(node, fold(ctx));
      else {
        outs = HANDLERS[node.opType]!(ctx);
        this.mapped++;
      }
      if (node.outputs.every((o, j) => o === '' || isConst(outs[j]))) this.folded++;
    } catch (e) {
      throw relocate(e, ctx.where);
    } finally {
      this.b.scope = scope;
    }
    node.outputs.forEach((o, j) => {
      if (o === '') return;
      const s = outs[j];
      if (s === null || s === undefined) this.unavailable.set(o, `output ${j} ('${o}') of ${node.opType} '${name}' is not supported`);
      else this.syms.set(o, s);
    });
  }

  /**
   * Runs a subgraph's nodes in this graph's scope (an If branch chosen at import time) and returns
   * its outputs. ONNX names are unique across a model and its subgraphs, so the branch's values and
   * initializers join this graph's; outer values are read by name.
   */
  inlineGraph(graph: OnnxGraph, prefix: string): Sym[] {
    if (graph.sparseInitializers) throw new PockError('import', 'a subgraph has sparse initializers, which are not supported', { file: this.opts.file });
    for (const t of graph.initializers) this.initializers.set(t.name, t);
    graph.nodes.forEach((node, k) => this.runNode(node, k, prefix));
    return graph.outputs.map((o) => this.resolve(o.name, { file: this.opts.file, node: prefix }));
  }

  /**
   * identityInitializers 'untie': a float initializer read through Identity becomes a param (or
   * a buffer, for BatchNorm statistics) of its own, named by the Identity's output.
   */
  private untiedCopy(node: OnnxNode): Sym | undefined {
    if (node.opType !== 'Identity' || (this.opts.identityInitializers ?? 'untie') === 'tie') return undefined;
    const src = node.inputs[0];
    const out = node.outputs[0];
    const init = src ? this.initializers.get(src) : undefined;
    if (!init || !out) return undefined;
    if (init.dataType !== 1 && init.dataType !== 11) return undefined;
    const t = this.decodeTensor(init, { file: this.opts.file, param: src });
    const buffer = this.bufferNames.has(out) || this.bufferNames.has(src!);
    (buffer ? this.buffers : this.params).push(out);
    return buffer ? this.b.buffer(out, t) : this.b.param(out, t);
  }

  /** liftConstants: float Constant outputs with more than one element become params. */
  private maybeLift(node: OnnxNode, outs: ConstTensor[]): Sym[] {
    if (!this.opts.liftConstants || node.opType !== 'Constant') return outs;
    return outs.map((c, j) => {
      if ((c.dtype !== 'float32' && c.dtype !== 'float64') || c.data.length <= 1) return c;
      const name = node.outputs[j]!;
      this.params.push(name);
      return this.b.param(name, constToTensor(c));
    });
  }

  /** Whether a value takes part in constant folding: constants and non-float initializers (float ones are params). */
  private foldable(name: string, where: ErrorLocation): boolean {
    const s = this.syms.get(name);
    if (s !== undefined) return isConst(s);
    const init = this.initializers.get(name);
    if (init && init.dataType !== 1 && init.dataType !== 11) return true;
    if (!init) this.resolve(name, where); // raises the right error for an undefined name
    return false;
  }

  // ---- ImportState ----------------------------------------------------------------------------

  constantOf(name: string, where: ErrorLocation): ConstTensor | undefined {
    const s = this.syms.get(name);
    if (s !== undefined && isConst(s)) return s;
    const init = this.initializers.get(name);
    if (!init) {
      if (s === undefined) this.resolve(name, where);
      return undefined;
    }
    let c = this.initConsts.get(name);
    if (!c) {
      c = constFromTensor(this.decodeTensor(init, { file: this.opts.file, param: name }));
      this.initConsts.set(name, c);
    }
    return c;
  }

  typeOf(name: string, where: ErrorLocation): TypeInfo {
    const s = this.syms.get(name);
    if (s !== undefined) return isConst(s) ? { dtype: s.dtype, shape: s.shape } : this.b.type(s);
    const init = this.initializers.get(name);
    if (init) return { dtype: this.mapFloat(dtypeOf(init.dataType, `initializer '${name}'`, { ...where, param: name })), shape: init.dims };
    const r = this.resolve(name, where);
    return isConst(r) ? { dtype: r.dtype, shape: r.shape } : this.b.type(r);
  }

  resolve(name: string, where: ErrorLocation): Sym {
    const s = this.syms.get(name);
    if (s !== undefined) return s;
    const why = this.unavailable.get(name);
    if (why) throw new PockError('unsupported-op', why, where);
    const init = this.initializers.get(name);
    if (!init) throw new PockError('import', `uses '${name}', which no earlier node, graph input or initializer defines (is the graph topologically sorted?)`, where);
    const t = this.decodeTensor(init, { file: this.opts.file, param: name });
    let sym: Sym;
    if (t.dtype === 'float32' || t.dtype === 'float64') {
      const buffer = this.bufferNames.has(name);
      (buffer ? this.buffers : this.params).push(name);
      sym = buffer ? this.b.buffer(name, t) : this.b.param(name, t);
    } else sym = constFromTensor(t);
    this.syms.set(name, sym);
    return sym;
  }

  addParam(name: string, data: Tensor): ValueId {
    this.params.push(name);
    return this.b.param(name, data);
  }

  materialize(s: Sym, name: string): ValueId {
    if (!isConst(s)) return s;
    let id = this.constIds.get(s);
    if (id === undefined) {
      id = this.b.constant(constToTensor(s), name);
      this.constIds.set(s, id);
    }
    return id;
  }

  dropoutCounter(): ValueId {
    if (this.counter === undefined) {
      const prev = this.b.scope;
      this.b.scope = 'dropout_counter';
      this.counter = this.b.state('@dropout_counter', tensor('int32', [], [0]));
      this.b.update(this.counter, this.b.add(this.counter, this.b.scalar(1, 'int32')));
      this.b.scope = prev;
    }
    return this.counter;
  }

  nextDropoutSeed(): number {
    return this.seeds++;
  }

  addUpdate(target: ValueId, value: ValueId, ctx: NodeContext): void {
    const role = this.b.value(target).role;
    if (role !== 'buffer' && role !== 'param') return; // statistics given as constants cannot be updated
    if (this.updated.has(target)) ctx.fail(`'${this.b.value(target).name}' is updated by two nodes; shared BatchNorm statistics are not supported in train mode`, 'import');
    this.updated.add(target);
    this.b.update(target, value);
  }

  decodeTensor(t: OnnxTensor, where: ErrorLocation): Tensor {
    const ext = this.opts.externalData;
    const resolver = ext === undefined ? undefined : typeof ext === 'function' ? ext : (loc: string) => ext[loc];
    const x = tensorFromProto(t, where, resolver);
    return x.dtype === 'float32' && this.opts.floatType === 'float64' ? tensor('float64', x.shape, Float64Array.from(x.data as Float32Array)) : x;
  }

  /** ONNX FLOAT as the IR float type of the import (ImportOptions.floatType). */
  private mapFloat(d: DType): DType {
    return d === 'float32' ? (this.opts.floatType ?? 'float32') : d;
  }
}

/** Gives an error raised below a handler (by the builder or an op's inference) the ONNX node's location. */
function relocate(e: unknown, where: ErrorLocation): PockError {
  if (e instanceof PockError) {
    if (e.where.opset !== undefined) return e;
    const irOp = e.where.op && e.where.op !== where.op ? ` (in IR op ${e.where.op})` : '';
    return new PockError(e.code, `${rawMessage(e)}${irOp}`, e.where.param ? { ...where, param: e.where.param } : where);
  }
  const err = e as Error;
  return new PockError('internal', `unexpected failure: ${err?.stack ?? String(e)}`, where);
}

/** The message of a PockError without the location prefix its constructor added. */
function rawMessage(e: PockError): string {
  const w = e.where;
  const parts: string[] = [];
  if (w.file) parts.push(w.file);
  if (w.op || w.node) {
    let s = w.op ?? '';
    if (w.node) s += ` '${w.node}'`;
    if (w.opset !== undefined) s += ` (opset ${w.opset})`;
    parts.push(s.trim());
  }
  if (w.param) parts.push(`parameter '${w.param}'`);
  const prefix = parts.length ? `${parts.join(': ')}: ` : '';
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}
