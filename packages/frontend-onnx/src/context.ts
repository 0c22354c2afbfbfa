/**
 * What a handler sees of the import: its ONNX node (inputs, attributes, opset) and the graph
 * being built. Every input is a `Sym`: an IR value, or a constant known at import time that is
 * only turned into an IR constant when a handler asks for it as a value. Errors raised here name
 * the node as the user knows it: `Conv 'features.3.conv.1' (opset 17): ...`.
 */
import { PockError, type DType, type Tensor, type ErrorCode, type ErrorLocation, type GraphBuilder, type TypeInfo, type ValueId } from '@pockengine/core';
import { constInts, isConst, makeConst, type ConstTensor } from './const.js';
import { AttrType, type OnnxAttribute, type OnnxGraph, type OnnxNode, type OnnxTensor } from './proto/onnx.js';
import { onnxTypeName } from './tensor-proto.js';

/** An ONNX value during import: an IR value id, or a host constant. */
export type Sym = ValueId | ConstTensor;

export interface ImportOptions {
  /**
   * Full shapes of graph inputs, by input name. Fixes dynamic dims (batch, seq); inputs not
   * listed use the static dims of the file, and a dynamic dim left open is an error.
   */
  inputShapes?: Record<string, readonly number[]>;
  /**
   * 'frozen' (default): every BatchNormalization uses its running statistics, whatever its
   * training_mode says (the PockEngine fine-tuning setting). 'train': every one normalizes with
   * batch statistics and the graph updates the running statistics as PyTorch does.
   */
  batchNorm?: 'train' | 'frozen';
  /** 'off' (default): Dropout is the identity. 'on': every Dropout applies its ratio. */
  dropout?: 'off' | 'on';
  /** Turn float Constant nodes with more than one element into params (paddle2onnx-style weights). */
  liftConstants?: boolean;
  /**
   * 'untie' (default): `Identity(initializer)` whose output feeds the graph is a weight of its
   * own, named by that output, starting from the initializer's data. torch.onnx.export
   * deduplicates initializers whose values are equal (biases and BatchNorm statistics that start
   * at zero, ...) and re-creates each duplicate as such an Identity under its torch name; those
   * are separate parameters in the source model and must train separately. 'tie': every use
   * shares the one initializer (a genuinely shared weight read through Identity).
   */
  identityInitializers?: 'untie' | 'tie';
  /**
   * The IR dtype of ONNX FLOAT tensors (default float32). 'float64' runs the whole model in double
   * precision: reference-quality numbers for gradient checks and parity tests.
   */
  floatType?: 'float32' | 'float64';
  /** File name used in error messages. */
  file?: string;
  /** Bytes of external data files by location (as written in the model), or a function returning them. */
  externalData?: Record<string, Uint8Array> | ((location: string) => Uint8Array | undefined);
}

/** The importer state a node context works against (implemented in import.ts). */
export interface ImportState {
  readonly b: GraphBuilder;
  readonly opts: ImportOptions;
  /** The Sym of an ONNX value name (resolving initializers lazily: a float one becomes a param). */
  resolve(name: string, where: ErrorLocation): Sym;
  /**
   * The value's data if it is known at import time, without making it a param: constants, and
   * the data of initializers (a float initializer read as a Clip bound or a Pad value is data).
   */
  constantOf(name: string, where: ErrorLocation): ConstTensor | undefined;
  /** dtype and shape of a value, without resolving it. */
  typeOf(name: string, where: ErrorLocation): TypeInfo;
  /** An IR value for a Sym (constants become IR constants, cached). */
  materialize(s: Sym, name: string): ValueId;
  /** The shared int32 step counter of dropout ops (created on first use, incremented every step). */
  dropoutCounter(): ValueId;
  /** Number of dropout ops emitted so far (gives each one its own seed). */
  nextDropoutSeed(): number;
  /** Adds a graph update of a buffer / param (running statistics); ignored for constants. */
  addUpdate(target: ValueId, value: ValueId, ctx: NodeContext): void;
  /** Decodes a TensorProto (Constant values, attribute tensors), resolving external data. */
  decodeTensor(t: OnnxTensor, where: ErrorLocation): Tensor;
  /** Runs a subgraph's nodes inline (an If branch picked at import time); its outputs. */
  inlineGraph(graph: OnnxGraph, prefix: string): Sym[];
  /** A trainable param made by a handler (a dequantized weight), listed with the initializer params. */
  addParam(name: string, data: Tensor): ValueId;
}

export class NodeContext {
  readonly node: OnnxNode;
  readonly opset: number;
  readonly name: string;
  readonly where: ErrorLocation;
  private readonly state: ImportState;
  private readonly attrs = new Map<string, OnnxAttribute>();

  constructor(state: ImportState, node: OnnxNode, opset: number, name: string) {
    this.state = state;
    this.node = node;
    this.opset = opset;
    this.name = name;
    this.where = { file: state.opts.file, node: name, op: node.opType, opset };
    for (const a of node.attributes) this.attrs.set(a.name, a);
  }

  get b(): GraphBuilder {
    return this.state.b;
  }
  get opts(): ImportOptions {
    return this.state.opts;
  }
  get importState(): ImportState {
    return this.state;
  }
  /** The IR dtype of ONNX FLOAT (see ImportOptions.floatType). */
  get floatType(): DType {
    return this.state.opts.floatType ?? 'float32';
  }

  fail(message: string, code: ErrorCode = 'attr'): never {
    throw new PockError(code, message, this.where);
  }

  // ---- inputs ---------------------------------------------------------------------------------

  /** Whether input i is given (ONNX marks omitted optional inputs with an empty name). */
  has(i: number): boolean {
    return i < this.node.inputs.length && this.node.inputs[i] !== '';
  }
  get inputCount(): number {
    return this.node.inputs.length;
  }

  sym(i: number, what = `input ${i}`): Sym {
    if (!this.has(i)) this.fail(`${what} is missing`);
    return this.state.resolve(this.node.inputs[i]!, this.where);
  }

  /** Input i as an IR value. */
  value(i: number, what?: string): ValueId {
    const s = this.sym(i, what);
    return isConst(s) ? this.state.materialize(s, this.node.inputs[i]!) : s;
  }

  /** Input i as an IR value cast to `dtype` (a constant is converted at import, not by an op). */
  valueAs(i: number, dtype: DType): ValueId {
    const s = this.sym(i);
    if (isConst(s) && s.dtype !== dtype) return this.state.materialize(makeConst(dtype, s.shape, s.data), this.node.inputs[i]!);
    return this.b.cast(this.value(i), dtype);
  }

  /** Input i, which must be known at import time (shapes, axes, pads...). */
  const(i: number, what = `input ${i}`): ConstTensor {
    if (!this.has(i)) this.fail(`${what} is missing`);
    const s = this.state.constantOf(this.node.inputs[i]!, this.where);
    if (!s)
      this.fail(
        `${what} ('${this.node.inputs[i]}') must be a constant at import time, but it is computed from graph inputs or parameters; fix dynamic dims with inputShapes`,
        'import',
      );
    return s;
  }

  /** Input i if it is given and constant. */
  maybeConst(i: number): ConstTensor | undefined {
    return this.has(i) ? this.state.constantOf(this.node.inputs[i]!, this.where) : undefined;
  }

  /** Integer elements of constant input i, or undefined if the input is omitted. */
  ints(i: number, what: string): number[] | undefined {
    return this.has(i) ? constInts(this.const(i, what)) : undefined;
  }

  type(i: number): TypeInfo {
    if (!this.has(i)) this.fail(`input ${i} is missing`);
    return this.state.typeOf(this.node.inputs[i]!, this.where);
  }
  shape(i: number): readonly number[] {
    return this.type(i).shape;
  }

  /** Whether output k exists (ONNX marks unused optional outputs with an empty name). */
  wantsOutput(k: number): boolean {
    return k < this.node.outputs.length && this.node.outputs[k] !== '';
  }

  // ---- attributes -----------------------------------------------------------------------------

  hasAttr(name: string): boolean {
    return this.attrs.has(name);
  }

  private attr(name: string, type: number): OnnxAttribute | undefined {
    const a = this.attrs.get(name);
    if (!a) return undefined;
    if (a.refAttrName) this.fail(`attribute '${name}' refers to a function attribute, which is not supported`);
    if (a.type !== type) this.fail(`attribute '${name}' has type ${a.type}, expected ${type}`);
    return a;
  }

  int(name: string, def: number): number;
  int(name: string): number | undefined;
  int(name: string, def?: number): number | undefined {
    return this.attr(name, AttrType.INT)?.i ?? def;
  }
  float(name: string, def: number): number;
  float(name: string): number | undefined;
  float(name: string, def?: number): number | undefined {
    return this.attr(name, AttrType.FLOAT)?.f ?? def;
  }
  intList(name: string): number[] | undefined {
    return this.attr(name, AttrType.INTS)?.ints;
  }
  floatList(name: string): number[] | undefined {
    return this.attr(name, AttrType.FLOATS)?.floats;
  }
  string(name: string, def: string): string {
    const a = this.attr(name, AttrType.STRING);
    return a?.s ? new TextDecoder().decode(a.s) : def;
  }
  stringList(name: string): string[] | undefined {
    return this.attr(name, AttrType.STRINGS)?.strings.map((b) => new TextDecoder().decode(b));
  }
  /** A graph attribute (If's branches). */
  graphAttr(name: string): OnnxGraph | undefined {
    return this.attr(name, AttrType.GRAPH)?.g;
  }
  /** A tensor attribute, decoded. */
  tensorAttr(name: string): Tensor | undefined {
    const t = this.attr(name, AttrType.TENSOR)?.t;
    return t ? this.state.decodeTensor(t, this.where) : undefined;
  }
  /** Every attribute name of the node (for checks of unsupported attributes). */
  attrNames(): string[] {
    return [...this.attrs.keys()];
  }

  /** Fails unless the attribute is absent or has one of the allowed values. */
  requireAttrValue(name: string, allowed: readonly (number | string)[], hint = ''): void {
    const a = this.attrs.get(name);
    if (!a) return;
    const v = a.type === AttrType.STRING ? new TextDecoder().decode(a.s) : (a.i ?? a.f);
    if (!allowed.includes(v as number | string))
      this.fail(`attribute ${name}=${JSON.stringify(v)} is not supported (supported: ${allowed.map((x) => JSON.stringify(x)).join(', ')})${hint ? `; ${hint}` : ''}`);
  }

  /** The `to` attribute of Cast as an IR dtype. */
  dtypeAttr(name: string): DType {
    const t = this.int(name);
    if (t === undefined) this.fail(`attribute '${name}' is required`);
    const map: Record<number, DType> = { 1: 'float32', 11: 'float64', 6: 'int32', 7: 'int64', 9: 'bool', 3: 'int8', 2: 'uint8' };
    const d = map[t] === 'float32' ? this.floatType : map[t];
    if (!d) this.fail(`${name}=${onnxTypeName(t)} is not supported (float32, float64, int32, int64, bool, int8, uint8)`, 'import');
    return d;
  }

  /** Axes given as an attribute before `inputFromOpset` and as input `inputIndex` from then on. */
  axes(inputIndex: number, inputFromOpset: number, attr = 'axes'): number[] | undefined {
    if (this.opset < inputFromOpset) return this.intList(attr);
    return this.ints(inputIndex, attr);
  }
}
