/**
 * Export back to ONNX: the original model with updated initializers (trained params and, when
 * they changed, BatchNorm running statistics). Only the changed fields are re-encoded: every
 * other byte of the file (fields this package does not decode, newer IR additions, metadata)
 * is copied as is, so the result is the same graph a PyTorch user exported.
 */
import { PockError, fmtShape, roundHalfEven, tensor, writeSafetensors, type Tensor } from '@pockengine/core';
import { decodeOnnx } from './import.js';
import { encodeNode, encodeTensor } from './proto/encode.js';
import { AttrType, decodeNode, decodeTensor, type OnnxNode, type OnnxTensor } from './proto/onnx.js';
import { ProtoReader, ProtoWriter, Wire, scanFields } from './proto/wire.js';
import { dtypeOf, tensorFromProto, tensorToProto } from './tensor-proto.js';

export interface ExportOptions {
  /**
   * Patch training-mode nodes for inference runtimes: Dropout becomes Identity and
   * BatchNormalization runs on its running statistics (training_mode removed, one output).
   * onnxruntime needs this to reproduce eval results of a training export.
   */
  inference?: boolean;
  file?: string;
}

const GRAPH_FIELD = 7;
const NODE_FIELD = 1;
const INITIALIZER_FIELD = 5;

/** Re-encodes `original` with the tensors of `updated` (by initializer name) replacing its initializers. */
export function exportOnnx(original: Uint8Array, updated: ReadonlyMap<string, Tensor>, opts: ExportOptions = {}): Uint8Array {
  const model = decodeOnnx(original, opts.file);
  const inits = new Map(model.graph.initializers.map((t) => [t.name, t]));
  // weights the importer untied from a deduplicated initializer: exported as initializers of
  // their own, their Identity node removed
  const untied = untiedCopies(model.graph.nodes, inits);
  const dequantized = dequantizedWeights(model.graph.nodes, inits, opts.file);
  const unknown = [...updated.keys()].filter((k) => !inits.has(k) && !untied.has(k) && !dequantized.has(k));
  if (unknown.length)
    throw new PockError('input', `no initializer named ${unknown.map((u) => `'${u}'`).join(', ')} in the model; only initializers (params, buffers) can be exported`, { file: opts.file });
  const replacements = new Map<string, Uint8Array>();
  const added: Uint8Array[] = [];
  const dropped = new Set<string>();
  for (const [name, t] of updated) {
    const dq = dequantized.get(name);
    if (dq) {
      // a trained dequantized weight goes back into its quantized initializer
      replacements.set(dq.init.name, encodeTensor(tensorToProto(dq.init.name, requantize(name, t, dq, opts.file))));
      continue;
    }
    const bytes = encodeTensor(tensorToProto(name, checked(name, t, inits.get(name) ?? untied.get(name)!, opts.file)));
    if (inits.has(name)) replacements.set(name, bytes);
    else {
      added.push(bytes);
      dropped.add(name);
    }
  }

  const out = new ProtoWriter();
  for (const f of scanFields(original, 'ModelProto')) {
    if (f.field === GRAPH_FIELD && f.wire === Wire.Bytes)
      out.bytes(GRAPH_FIELD, rewriteGraph(original.subarray(f.payloadStart, f.payloadEnd), replacements, opts, added, dropped));
    else out.raw(original.subarray(f.start, f.end));
  }
  return out.finish();
}

/**
 * Float initializers read through Identity, by the Identity's output name: the weights the
 * importer unties (ImportOptions.identityInitializers), each with the initializer it copies.
 */
function untiedCopies(nodes: readonly OnnxNode[], inits: ReadonlyMap<string, OnnxTensor>): Map<string, OnnxTensor> {
  const out = new Map<string, OnnxTensor>();
  for (const n of nodes) {
    const src = inits.get(n.inputs[0] ?? '');
    if (n.opType === 'Identity' && n.outputs[0] && src && (src.dataType === 1 || src.dataType === 11)) out.set(n.outputs[0], src);
  }
  return out;
}

interface Dequantized {
  /** The quantized initializer DequantizeLinear reads. */
  init: OnnxTensor;
  scale: readonly number[];
  zero: readonly number[];
  /** Elements per channel step (1 for per-tensor parameters). */
  stride: number;
}

/**
 * Integer initializers read through DequantizeLinear, by the DQ's output name: the weights the
 * importer turns into float params (handlers/quantize.ts), with their scale and zero point
 * (initializers or Constant nodes).
 */
function dequantizedWeights(nodes: readonly OnnxNode[], inits: ReadonlyMap<string, OnnxTensor>, file?: string): Map<string, Dequantized> {
  const consts = new Map<string, OnnxTensor>();
  for (const n of nodes) {
    const value = n.opType === 'Constant' ? n.attributes.find((a) => a.name === 'value')?.t : undefined;
    if (value && n.outputs[0]) consts.set(n.outputs[0], value);
  }
  const data = (name: string | undefined): number[] | undefined => {
    const t = name ? (inits.get(name) ?? consts.get(name)) : undefined;
    return t ? Array.from(tensorFromProto(t, { file }).data as ArrayLike<number | bigint>, Number) : undefined;
  };
  const out = new Map<string, Dequantized>();
  for (const n of nodes) {
    const init = inits.get(n.inputs[0] ?? '');
    if (n.opType !== 'DequantizeLinear' || !n.outputs[0] || !init || ![2, 3, 6].includes(init.dataType)) continue;
    const scale = data(n.inputs[1]);
    if (!scale) continue;
    const zero = data(n.inputs[2]) ?? new Array<number>(scale.length).fill(0);
    let stride = 1;
    if (scale.length > 1) {
      const rank = init.dims.length;
      const raw = n.attributes.find((a) => a.name === 'axis')?.i;
      const axis = raw === undefined ? 1 : Number(raw) < 0 ? Number(raw) + rank : Number(raw);
      stride = init.dims.slice(axis + 1).reduce((a, d) => a * Number(d), 1);
    }
    out.set(n.outputs[0], { init, scale, zero, stride });
  }
  return out;
}


/** A trained float weight quantized into its initializer's type: clamp(round(w / s) + z). */
function requantize(name: string, t: Tensor, dq: Dequantized, file?: string): Tensor {
  const dtype = dtypeOf(dq.init.dataType, `initializer '${dq.init.name}'`, { file });
  if (fmtShape(t.shape) !== fmtShape(dq.init.dims))
    throw new PockError('shape', `update of '${name}' has shape ${fmtShape(t.shape)}, the quantized initializer '${dq.init.name}' ${fmtShape(dq.init.dims)}`, { file, param: name });
  const [lo, hi] = dtype === 'uint8' ? [0, 255] : dtype === 'int8' ? [-128, 127] : [-(2 ** 31), 2 ** 31 - 1];
  const n = dq.scale.length;
  const q = Array.from(t.data as ArrayLike<number>, (v, i) => {
    const c = n === 1 ? 0 : Math.floor(i / dq.stride) % n;
    return Math.min(hi, Math.max(lo, roundHalfEven(v / dq.scale[c]!) + dq.zero[c]!));
  });
  return tensor(dtype, t.shape, q);
}

/** The update as the initializer's dtype and shape (a float64 update of a float32 weight is rounded). */
function checked(name: string, t: Tensor, init: OnnxTensor, file?: string): Tensor {
  const dtype = dtypeOf(init.dataType, `initializer '${name}'`, { file });
  if (fmtShape(t.shape) !== fmtShape(init.dims))
    throw new PockError('shape', `update of '${name}' has shape ${fmtShape(t.shape)}, the initializer ${fmtShape(init.dims)}`, { file, param: name });
  if (t.dtype === dtype) return t;
  const float = (d: string) => d === 'float32' || d === 'float64';
  if (!float(t.dtype) || !float(dtype))
    throw new PockError('dtype', `update of '${name}' is ${t.dtype}, the initializer ${dtype}`, { file, param: name });
  return tensor(dtype, t.shape, t.data);
}

/**
 * The graph with initializers replaced, `added` initializers appended and the Identity nodes
 * producing the `dropped` names removed (those names are initializers now).
 */
function rewriteGraph(
  graph: Uint8Array,
  replacements: ReadonlyMap<string, Uint8Array>,
  opts: ExportOptions,
  added: readonly Uint8Array[] = [],
  dropped: ReadonlySet<string> = new Set(),
): Uint8Array {
  const w = new ProtoWriter();
  for (const f of scanFields(graph, 'GraphProto')) {
    const payload = graph.subarray(f.payloadStart, f.payloadEnd);
    if (f.field === INITIALIZER_FIELD && f.wire === Wire.Bytes) {
      const name = decodeTensor(new ProtoReader(payload, 'initializer')).name;
      const r = replacements.get(name);
      if (r) {
        w.bytes(INITIALIZER_FIELD, r);
        continue;
      }
    } else if (f.field === NODE_FIELD && f.wire === Wire.Bytes && (opts.inference || dropped.size)) {
      if (dropped.size) {
        const n = decodeNode(new ProtoReader(payload, 'node'), 0);
        if (n.opType === 'Identity' && dropped.has(n.outputs[0] ?? '')) continue;
      }
      const patched = opts.inference ? inferenceNode(payload) : undefined;
      if (patched) {
        w.bytes(NODE_FIELD, patched);
        continue;
      }
    }
    w.raw(graph.subarray(f.start, f.end));
  }
  for (const a of added) w.bytes(INITIALIZER_FIELD, a);
  return w.finish();
}

/** Dropout -> Identity; BatchNormalization -> inference form. Undefined for other nodes. */
function inferenceNode(payload: Uint8Array): Uint8Array | undefined {
  const n = decodeNode(new ProtoReader(payload, 'node'), 0);
  if (n.domain !== '' && n.domain !== 'ai.onnx') return undefined;
  if (n.opType === 'Dropout')
    return encodeNode({ ...n, opType: 'Identity', inputs: n.inputs.slice(0, 1), outputs: n.outputs.slice(0, 1), attributes: [] });
  if (n.opType === 'BatchNormalization')
    return encodeNode({ ...n, outputs: n.outputs.slice(0, 1), attributes: n.attributes.filter((a) => a.name !== 'training_mode' && a.type !== AttrType.UNDEFINED) });
  return undefined;
}

/**
 * All float initializers of the model (params and buffers) as a safetensors file, with the
 * updated tensors replacing the originals: a PyTorch state dict under the torch names
 * (`safetensors.torch.load_file` then `model.load_state_dict(..., strict=False)`).
 */
export function exportWeights(original: Uint8Array, updated: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}, file?: string): Uint8Array {
  const model = decodeOnnx(original, file);
  const out = new Map<string, Tensor>();
  for (const init of model.graph.initializers) {
    const u = updated.get(init.name);
    if (u) out.set(init.name, checked(init.name, u, init, file));
    else if (init.dataType === 1 || init.dataType === 11) {
      if (init.dataLocation === 1) continue; // external data stays where it is
      out.set(init.name, tensorFromProto(init, { file, param: init.name }));
    }
  }
  const inits = new Map(model.graph.initializers.map((t) => [t.name, t]));
  for (const [name, src] of untiedCopies(model.graph.nodes, inits)) {
    if (out.has(name)) continue;
    const u = updated.get(name);
    if (u) out.set(name, checked(name, u, src, file));
    else if (src.dataLocation !== 1) out.set(name, tensorFromProto(src, { file, param: name }));
  }
  for (const k of updated.keys())
    if (!out.has(k)) throw new PockError('input', `no initializer named '${k}' in the model`, { file });
  return writeSafetensors(out, { format: 'pockengine-weights/1', ...metadata });
}
