/**
 * QuantizeLinear / DequantizeLinear (https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html):
 * QDQ models (onnxruntime's quantization tools, PyTorch / TensorRT quantization-aware exports)
 * import for quantization-aware training in float.
 *
 * - Q(x) -> DQ: fake quantization, (clamp(round(x / s) + z, qmin, qmax) - z) * s in the forward
 *   pass (round half to even, as ONNX), and the straight-through estimator in the backward pass:
 *   the gradient passes where round(x / s) + z lies in [qmin, qmax] and is 0 where it saturates.
 * - DQ of a quantized initializer (int8 / uint8 / int32 weights and biases): a trainable float param
 *   named after the DQ output, initialised to the dequantized values and fake-quantized with the
 *   same scale and zero point (so the forward pass equals the model's at import); export
 *   (export.ts) re-quantizes the trained values into that initializer.
 * - DQ of any other integer tensor: (x - z) * s.
 * Scales and zero points must be constants: per tensor, or per axis (1-D along `axis`). Block
 * quantization (block_size) and 4-bit / 16-bit / float8 types fail at the node.
 */
import { tensor, type DType, type GraphBuilder, type ValueId } from '@pockengine/core';
import { isConst, type ConstTensor } from '../const.js';
import type { NodeContext, Sym } from '../context.js';
import type { HandlerTable } from './types.js';

const RANGES: Partial<Record<DType, [number, number]>> = { uint8: [0, 255], int8: [-128, 127], int32: [-(2 ** 31), 2 ** 31 - 1] };

interface Quant {
  /** Scale and zero point shaped to broadcast against the data (float). */
  s: ValueId;
  z: ValueId;
  qmin: number;
  qmax: number;
  /** The constants, for comparing a DQ's parameters with its Q's. */
  key: string;
}

/** What a QuantizeLinear output stands for: the float it quantized and how. */
interface Quantized {
  x: ValueId;
  q: Quant;
  qtype: DType;
}

const quantized = new WeakMap<GraphBuilder, Map<ValueId, Quantized>>();

function registry(b: GraphBuilder): Map<ValueId, Quantized> {
  let m = quantized.get(b);
  if (!m) quantized.set(b, (m = new Map()));
  return m;
}

/** Scale (input 1) and zero point (input 2) of a Q / DQ node on data of rank `rank`; `qtype` is the quantized type. */
function quantParams(ctx: NodeContext, rank: number, qtype: DType, float: DType): Quant {
  const b = ctx.b;
  if (ctx.int('block_size', 0) !== 0) ctx.fail('block quantization (block_size) is not supported');
  const range = RANGES[qtype];
  if (!range) ctx.fail(`quantized type ${qtype} is not supported (uint8, int8, int32)`, 'dtype');
  const scale = ctx.const(1, 'scale');
  const zero: ConstTensor | undefined = ctx.has(2) ? ctx.const(2, 'zero_point') : undefined;
  if (scale.shape.length > 1) ctx.fail(`scale must be a scalar or 1-D (per axis), got shape [${scale.shape}]`, 'shape');
  if (zero && zero.data.length !== scale.data.length) ctx.fail(`zero_point has ${zero.data.length} elements, scale ${scale.data.length}`, 'shape');
  const n = scale.data.length;
  let shape: number[] = [];
  if (scale.shape.length === 1) {
    let axis = ctx.int('axis', 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) ctx.fail(`axis ${ctx.int('axis', 1)} out of range for rank ${rank}`);
    shape = Array.from({ length: rank }, (_, d) => (d === axis ? n : 1));
  }
  const zs = zero ? Array.from(zero.data) : new Array<number>(n).fill(0);
  return {
    s: b.constant(tensor(float, shape, Array.from(scale.data))),
    z: b.constant(tensor(float, shape, zs)),
    qmin: range[0],
    qmax: range[1],
    key: `${scale.shape}|${Array.from(scale.data)}|${zs}`,
  };
}

/** [clamp(round(x / s) + z), the mask where it did not saturate]. */
function quantize(b: GraphBuilder, x: ValueId, q: Quant): [ValueId, ValueId] {
  const r = b.add(b.op1('round', [b.div(x, q.s)], {}), q.z);
  const range = { min: q.qmin, max: q.qmax };
  return [b.op1('clip', [r], range), b.op1('in_range', [r], { ...range, strictMin: false })];
}

/** (q - z) * s in the forward pass; the gradient of x where it did not saturate (straight-through). */
function fakeQuant(b: GraphBuilder, x: ValueId, q: Quant, out: Quant = q): ValueId {
  const [qv, inRange] = quantize(b, x, q);
  const y = b.op1('stop_gradient', [b.mul(b.sub(qv, out.z), out.s)], {});
  let pass = b.where(inRange, b.sub(x, b.op1('stop_gradient', [x], {})), b.scalarLike(0, x));
  if (out.key !== q.key) pass = b.mul(pass, b.div(out.s, q.s));
  return b.add(y, pass);
}

function QuantizeLinear(ctx: NodeContext): Sym[] {
  const b = ctx.b;
  const x = ctx.value(0);
  const qtype: DType = ctx.has(2) ? ctx.type(2).dtype : 'uint8';
  const q = quantParams(ctx, b.rank(x), qtype, b.dtype(x));
  // the integers, held in floats (only a DequantizeLinear may read them)
  const [qv] = quantize(b, x, q);
  registry(b).set(qv, { x, q, qtype });
  return [qv];
}

function DequantizeLinear(ctx: NodeContext): Sym[] {
  const b = ctx.b;
  const float = ctx.floatType;
  const src = ctx.sym(0);
  const rank = ctx.shape(0).length;
  if (!isConst(src)) {
    const from = registry(b).get(src);
    if (from) return [fakeQuant(b, from.x, from.q, quantParams(ctx, rank, from.qtype, b.dtype(from.x)))];
    const q = quantParams(ctx, rank, qtypeOf(ctx), float);
    return [b.mul(b.sub(b.cast(src, float), q.z), q.s)];
  }
  // a quantized initializer: a trainable float weight, fake-quantized as stored
  const q = quantParams(ctx, rank, qtypeOf(ctx), float);
  const scale = ctx.const(1, 'scale').data;
  const zero = ctx.has(2) ? ctx.const(2, 'zero_point').data : undefined;
  const n = scale.length;
  // per axis: the channel of element i is floor(i / stride) % n
  const axis = ctx.int('axis', 1);
  const stride = n === 1 ? 1 : src.shape.slice((axis < 0 ? axis + rank : axis) + 1).reduce((p, d) => p * d, 1);
  const values = Array.from(src.data, (v, i) => {
    const c = n === 1 ? 0 : Math.floor(i / stride) % n;
    return (v - (zero?.[c] ?? 0)) * scale[c]!;
  });
  const w = ctx.importState.addParam(ctx.node.outputs[0]!, tensor(float, src.shape, values));
  return [fakeQuant(b, w, q)];
}

function qtypeOf(ctx: NodeContext): DType {
  return ctx.type(0).dtype;
}

export const quantizeHandlers: HandlerTable = { QuantizeLinear, DequantizeLinear };
