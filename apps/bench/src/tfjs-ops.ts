/**
 * One TF.js implementation per IR op, for the IR -> TF.js interpreter (tfjs-interpreter.ts).
 *
 * Layout: TF.js convolutions are NHWC only (tfjs-core's conv2d asserts dataFormat NHWC on every
 * backend), and a TF.js user builds a CNN channels-last (Keras' default). So the interpreter runs
 * 4-D activations in NHWC end to end: images are fed NHWC, conv / batch norm / activations /
 * elementwise ops / reductions keep NHWC, and a value is transposed back to NCHW only when an
 * op that depends on the layout (reshape, transpose, matmul, ...) reads it: in these models once,
 * at the classifier. Conv filters are stored in TF.js layout at setup (HWIO, or [kh, kw, C, mult]
 * for depthwise), as a TF.js model's weights would be. That is the cheapest faithful mapping: no
 * per-layer transposes in the step, nothing TF.js itself would not do.
 */
import type * as Tfc from '@tensorflow/tfjs-core';
import { normAxis, sliceParams, type Attrs, type DType, type SliceAttrs, type Value } from '@pockengine/core';

export type Tf = typeof Tfc;

/** A value during interpretation: a TF.js tensor, and whether a rank-4 NCHW value is stored NHWC. */
export interface Val {
  t: Tfc.Tensor;
  nhwc: boolean;
  /** A conv weight already stored in TF.js filter layout (see convFilter). */
  filter?: boolean;
}

export interface OpCtx {
  tf: Tf;
  /** IR types of the node's inputs and outputs (shapes as in the IR, i.e. NCHW). */
  inputs: readonly Value[];
  outputs: readonly Value[];
}

/** Returns the node's outputs; `attrs` is the node's attribute record. */
export type TfOp = (c: OpCtx, ins: readonly Val[], attrs: Attrs) => Val[];

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];
/** Position in NHWC of each NCHW axis. */
const NHWC_POS = [0, 3, 1, 2];

export const plain = (t: Tfc.Tensor): Val => ({ t, nhwc: false });
export const asNchw = (tf: Tf, v: Val): Tfc.Tensor => (v.nhwc ? tf.transpose(v.t, TO_NCHW) : v.t);
export const asNhwc = (tf: Tf, v: Val): Tfc.Tensor => (v.nhwc ? v.t : tf.transpose(v.t, TO_NHWC));

/** TF.js dtype of an IR dtype: TF.js has no 64-bit types; int64 ids are exact in int32 here. */
export function tfDtype(d: DType): 'float32' | 'int32' | 'bool' {
  if (d === 'float32' || d === 'float64') return 'float32';
  if (d === 'bool') return 'bool';
  return 'int32';
}

/** An OIHW conv weight (IR layout) in TF.js layout: HWIO, or [kh, kw, C, mult] for depthwise. */
export function convFilter(tf: Tf, w: Tfc.Tensor, groups: number, inChannels: number): Tfc.Tensor {
  if (!isDepthwise(groups, inChannels)) return tf.transpose(w, [2, 3, 1, 0]);
  // output channel o = c * mult + m (ONNX groups) is TF.js's depthwise channel c, multiplier m
  const [o, , kh, kw] = w.shape as number[];
  return tf.transpose(tf.reshape(w, [inChannels, o! / inChannels, kh!, kw!]), [2, 3, 0, 1]);
}

export function isDepthwise(groups: number, inChannels: number): boolean {
  return groups > 1 && groups === inChannels;
}

function unary(f: (tf: Tf, x: Tfc.Tensor) => Tfc.Tensor): TfOp {
  return (c, [x]) => [{ t: f(c.tf, x!.t), nhwc: x!.nhwc }];
}

/** Binary elementwise ops keep NHWC when the other operand is NHWC, rank 4 (transposed) or a scalar. */
function binary(f: (tf: Tf, a: Tfc.Tensor, b: Tfc.Tensor) => Tfc.Tensor): TfOp {
  return (c, [x, y]) => {
    const { tf } = c;
    if (x!.nhwc || y!.nhwc) {
      const other = x!.nhwc ? y! : x!;
      if (other.nhwc || other.t.rank === 4 || other.t.size === 1) {
        const side = (v: Val) => (v.t.rank === 4 ? asNhwc(tf, v) : v.t);
        return [{ t: f(tf, side(x!), side(y!)), nhwc: true }];
      }
    }
    return [plain(f(tf, asNchw(tf, x!), asNchw(tf, y!)))];
  };
}

/** reduce over IR axes; on an NHWC input the axes are remapped (and kept NHWC when keepdims). */
function reduce(f: (tf: Tf, x: Tfc.Tensor, axes: number[], keep: boolean) => Tfc.Tensor): TfOp {
  return (c, [x], a) => {
    const { tf } = c;
    const rank = c.inputs[0]!.shape.length;
    const axes = (a.axes as number[]).map((ax) => normAxis(ax, rank));
    const keep = a.keepdims as boolean;
    if (x!.nhwc) {
      const mapped = axes.map((ax) => NHWC_POS[ax]!);
      if (keep) return [{ t: f(tf, x!.t, mapped, true), nhwc: true }];
      // without keepdims the result has NCHW meaning when the surviving axes keep their order
      const rest = [0, 2, 3, 1].filter((ax) => !axes.includes(ax));
      if (rest.every((ax, i) => i === 0 || rest[i - 1]! < ax)) return [plain(f(tf, x!.t, mapped, false))];
    }
    return [plain(f(tf, asNchw(tf, x!), axes, keep))];
  };
}

/** softmax / log_softmax along `axis` (TF.js only supports the last axis: transpose around it). */
function lastAxis(f: (tf: Tf, x: Tfc.Tensor) => Tfc.Tensor): TfOp {
  return (c, [x], a) => {
    const { tf } = c;
    const t = asNchw(tf, x!);
    const ax = normAxis(a.axis as number, t.rank);
    if (ax === t.rank - 1) return [plain(f(tf, t))];
    const perm = [...Array(t.rank).keys()];
    perm[ax] = t.rank - 1;
    perm[t.rank - 1] = ax;
    return [plain(tf.transpose(f(tf, tf.transpose(t, perm)), perm))];
  };
}

function conv2d(c: OpCtx, [x, w, bias]: readonly Val[], a: Attrs): Val[] {
  const { tf } = c;
  const groups = a.groups as number;
  const [, cin] = c.inputs[0]!.shape as number[];
  const dw = isDepthwise(groups, cin!);
  // `w` arrives in TF.js layout when the interpreter stored it so at setup, else OIHW
  const filter = w!.filter ? w!.t : convFilter(tf, w!.t, groups, cin!);
  const [top, left, bottom, right] = a.pads as number[];
  const pad: 'valid' | [[0, 0], [number, number], [number, number], [0, 0]] =
    top || left || bottom || right ? [[0, 0], [top!, bottom!], [left!, right!], [0, 0]] : 'valid';
  const strides = a.strides as [number, number];
  const dil = a.dilations as [number, number];
  const xin = asNhwc(tf, x!) as Tfc.Tensor4D;
  let y: Tfc.Tensor;
  if (groups === 1) y = tf.conv2d(xin, filter as Tfc.Tensor4D, strides, pad, 'NHWC', dil);
  else if (dw) y = tf.depthwiseConv2d(xin, filter as Tfc.Tensor4D, strides, pad, 'NHWC', dil);
  else {
    // general grouped conv: one conv per group (TF.js has no grouped conv op)
    const xs = tf.split(xin, groups, 3);
    const fs = tf.split(filter, groups, 3);
    y = tf.concat(xs.map((xg, g) => tf.conv2d(xg as Tfc.Tensor4D, fs[g] as Tfc.Tensor4D, strides, pad, 'NHWC', dil)), 3);
  }
  if (bias) y = tf.add(y, bias.t);
  return [{ t: y, nhwc: true }];
}

function batchNorm(c: OpCtx, [x, scale, bias, mean, variance]: readonly Val[], a: Attrs): Val[] {
  const { tf } = c;
  if (a.training) throw new Error('batch_norm in training mode is not mapped (import with frozen BN, the fine-tuning setting)');
  // per-channel vectors broadcast over the last axis (NHWC) or, for NC... inputs, over trailing dims
  const rank = x!.t.rank;
  const shapeC = x!.nhwc || rank === 2 ? null : [c.inputs[0]!.shape[1]!, ...Array<number>(rank - 2).fill(1)];
  const vec = (v: Val) => (shapeC ? tf.reshape(v.t, shapeC) : v.t);
  const y = tf.batchNorm(x!.t, vec(mean!), vec(variance!), vec(bias!), vec(scale!), a.epsilon as number);
  return [{ t: y, nhwc: x!.nhwc }];
}

function layerNorm(c: OpCtx, [x, scale, bias]: readonly Val[], a: Attrs): Val[] {
  const { tf } = c;
  const t = asNchw(tf, x!);
  const ax = normAxis(a.axis as number, t.rank);
  const axes = [...Array(t.rank - ax).keys()].map((i) => i + ax);
  const mean = tf.mean(t, axes, true);
  const xc = tf.sub(t, mean);
  const invStd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), axes, true), a.epsilon as number));
  let y = tf.mul(tf.mul(xc, invStd), scale!.t);
  if (bias) y = tf.add(y, bias.t);
  return [plain(y), plain(mean), plain(invStd)];
}

function clip(c: OpCtx, [x]: readonly Val[], a: Attrs): Val[] {
  const { tf } = c;
  const lo = a.min as number | null;
  const hi = a.max as number | null;
  // ReLU6 / ReLU have their own TF.js kernels (what tf.layers uses)
  const t = lo === 0 && hi === 6 ? tf.relu6(x!.t) : lo === 0 && hi === null ? tf.relu(x!.t) : tf.clipByValue(x!.t, lo ?? -Infinity, hi ?? Infinity);
  return [{ t, nhwc: x!.nhwc }];
}

function slice(c: OpCtx, [x]: readonly Val[], a: Attrs): Val[] {
  const { tf } = c;
  const t = asNchw(tf, x!);
  const p = sliceParams(c.inputs[0]!.shape, a as unknown as SliceAttrs);
  if (p.step.every((s) => s === 1)) return [plain(tf.slice(t, p.start, p.shape))];
  const end = p.start.map((s, i) => s + p.step[i]! * p.shape[i]!);
  const endMask = end.reduce((m, e, i) => (e < 0 ? m | (1 << i) : m), 0);
  return [plain(tf.stridedSlice(t, p.start, end, p.step, 0, endMask))];
}

const nchw1 = (f: (tf: Tf, x: Tfc.Tensor, a: Attrs, c: OpCtx) => Tfc.Tensor): TfOp => (c, [x], a) => [plain(f(c.tf, asNchw(c.tf, x!), a, c))];
const outShape = (c: OpCtx, i = 0) => [...c.outputs[i]!.shape];

/** The TF.js mapping of every IR op these benchmarks need (forward ops of imported models). */
export const TF_OPS: Record<string, TfOp> = {
  add: binary((tf, a, b) => tf.add(a, b)),
  sub: binary((tf, a, b) => tf.sub(a, b)),
  mul: binary((tf, a, b) => tf.mul(a, b)),
  div: binary((tf, a, b) => tf.div(a, b)),
  pow: binary((tf, a, b) => tf.pow(a, b)),
  maximum: binary((tf, a, b) => tf.maximum(a, b)),
  minimum: binary((tf, a, b) => tf.minimum(a, b)),
  equal: binary((tf, a, b) => tf.equal(a, b)),
  less: binary((tf, a, b) => tf.less(a, b)),
  less_equal: binary((tf, a, b) => tf.lessEqual(a, b)),
  greater: binary((tf, a, b) => tf.greater(a, b)),
  greater_equal: binary((tf, a, b) => tf.greaterEqual(a, b)),
  logical_and: binary((tf, a, b) => tf.logicalAnd(a, b)),
  logical_or: binary((tf, a, b) => tf.logicalOr(a, b)),
  logical_not: unary((tf, x) => tf.logicalNot(x)),
  neg: unary((tf, x) => tf.neg(x)),
  abs: unary((tf, x) => tf.abs(x)),
  sign: unary((tf, x) => tf.sign(x)),
  exp: unary((tf, x) => tf.exp(x)),
  log: unary((tf, x) => tf.log(x)),
  sqrt: unary((tf, x) => tf.sqrt(x)),
  rsqrt: unary((tf, x) => tf.rsqrt(x)),
  reciprocal: unary((tf, x) => tf.reciprocal(x)),
  sin: unary((tf, x) => tf.sin(x)),
  cos: unary((tf, x) => tf.cos(x)),
  erf: unary((tf, x) => tf.erf(x)),
  sigmoid: unary((tf, x) => tf.sigmoid(x)),
  tanh: unary((tf, x) => tf.tanh(x)),
  relu: unary((tf, x) => tf.relu(x)),
  silu: unary((tf, x) => tf.mul(x, tf.sigmoid(x))),
  leaky_relu: (c, [x], a) => [{ t: c.tf.leakyRelu(x!.t, a.alpha as number), nhwc: x!.nhwc }],
  // torch gelu: 'none' = 0.5 x (1 + erf(x / sqrt 2)), 'tanh' = the tanh approximation
  gelu: (c, [x], a) => {
    const { tf } = c;
    const t = x!.t;
    const inner =
      a.approximate === 'tanh'
        ? tf.tanh(tf.mul(tf.add(t, tf.mul(tf.pow(t, 3), 0.044715)), Math.sqrt(2 / Math.PI)))
        : tf.erf(tf.mul(t, Math.SQRT1_2));
    return [{ t: tf.mul(tf.mul(t, 0.5), tf.add(inner, 1)), nhwc: x!.nhwc }];
  },
  clip,
  cast: (c, [x], a) => [{ t: c.tf.cast(x!.t, tfDtype(a.to as DType)), nhwc: x!.nhwc }],
  where: (c, ins) => {
    const { tf } = c;
    const shape = outShape(c);
    const full = ins.map((v) => {
      const t = asNchw(tf, v);
      return t.shape.join() === shape.join() ? t : tf.broadcastTo(t, shape);
    });
    return [plain(tf.where(full[0]!, full[1]!, full[2]!))];
  },
  matmul: (c, [x, y], a) => [plain(c.tf.matMul(asNchw(c.tf, x!), asNchw(c.tf, y!), a.transA as boolean, a.transB as boolean))],
  conv2d,
  batch_norm: batchNorm,
  layer_norm: layerNorm,
  reduce_sum: reduce((tf, x, axes, keep) => tf.sum(x, axes, keep)),
  reduce_mean: reduce((tf, x, axes, keep) => tf.mean(x, axes, keep)),
  reduce_max: reduce((tf, x, axes, keep) => tf.max(x, axes, keep)),
  softmax: lastAxis((tf, x) => tf.softmax(x)),
  log_softmax: lastAxis((tf, x) => tf.logSoftmax(x)),
  reshape: nchw1((tf, x, _a, c) => tf.reshape(x, outShape(c))),
  transpose: nchw1((tf, x, a) => tf.transpose(x, [...(a.perm as number[])])),
  expand: nchw1((tf, x, _a, c) => tf.broadcastTo(x, outShape(c))),
  pad: nchw1((tf, x, a) => {
    const p = a.pads as number[];
    const r = p.length / 2;
    return tf.pad(x, [...Array(r).keys()].map((i) => [p[i]!, p[i + r]!] as [number, number]), a.value as number);
  }),
  concat: (c, ins, a) => [plain(c.tf.concat(ins.map((v) => asNchw(c.tf, v)), normAxis(a.axis as number, c.outputs[0]!.shape.length)))],
  split: (c, [x], a) => c.tf.split(asNchw(c.tf, x!), [...(a.sizes as number[])], a.axis as number).map(plain),
  slice,
  gather: (c, [x, i], a) => [plain(c.tf.gather(asNchw(c.tf, x!), i!.t, normAxis(a.axis as number, c.inputs[0]!.shape.length)))],
};
