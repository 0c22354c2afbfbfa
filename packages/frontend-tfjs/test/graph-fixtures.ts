/** Hand-written graph-model fixtures shared by the GraphModel tests. */
import { rng } from '@pockengine/core';
import type { TfjsModelJson } from '../src/index.js';
import { GraphDefBuilder, attr } from './graphdef-builder.js';

function values(n: number, seed: number, scale = 0.4): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (2 * r() - 1) * scale);
}

/**
 * Placeholder, Const weights, _FusedConv2D (BiasAdd+Relu, SAME, stride 2), DepthwiseConv2dNative,
 * BiasAdd, Relu6, FusedBatchNormV3, MaxPool (SAME), Conv2D 1x1, AddV2 residual, Pad, AvgPool,
 * Mean, Shape/StridedSlice/Pack/Reshape (converted Flatten), MatMul, ConcatV2, _FusedMatMul, Softmax.
 */
export function cnnGraph(): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 9, 9, 3]);
  const nhwc = { data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]) };
  const c1 = g.node('conv1/Relu', '_FusedConv2D', [x, g.weight('conv1/kernel', [3, 3, 3, 4], values(108, 1)), g.weight('conv1/bias', [4], values(4, 2))], {
    ...nhwc, strides: attr.ints([1, 2, 2, 1]), padding: attr.s('SAME'), num_args: attr.i(1), fused_ops: attr.strs(['BiasAdd', 'Relu']),
  });
  const dw = g.node('dw/depthwise', 'DepthwiseConv2dNative', [c1, g.weight('dw/depthwise_kernel', [3, 3, 4, 2], values(72, 3))], {
    ...nhwc, strides: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME'),
  });
  const dwb = g.node('dw/BiasAdd', 'BiasAdd', [dw, g.weight('dw/bias', [8], values(8, 4))], { data_format: attr.s('NHWC') });
  const r6 = g.node('dw/Relu6', 'Relu6', [dwb]);
  const varData = Float32Array.from(values(8, 8), (v) => 0.6 + Math.abs(v));
  const bn = g.node('bn/FusedBatchNormV3', 'FusedBatchNormV3', [r6, g.weight('bn/gamma', [8], values(8, 5, 1)), g.weight('bn/beta', [8], values(8, 6)), g.weight('bn/moving_mean', [8], values(8, 7)), g.weight('bn/moving_variance', [8], varData)], {
    epsilon: attr.f(0.001), is_training: attr.b(false), data_format: attr.s('NHWC'), U: attr.type('DT_FLOAT'),
  });
  const mp = g.node('pool/MaxPool', 'MaxPool', [bn], { ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC') });
  const pw = g.node('pw/Conv2D', 'Conv2D', [mp, g.weight('pw/kernel', [1, 1, 8, 8], values(64, 9))], { ...nhwc, strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID') });
  const add = g.node('res/add', 'AddV2', [pw, mp]);
  const pad = g.node('pad/Pad', 'Pad', [add, g.int('pad/paddings', [0, 0, 1, 0, 0, 1, 0, 0], [4, 2])], { Tpaddings: attr.type('DT_INT32') });
  const ap = g.node('ap/AvgPool', 'AvgPool', [pad], { ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID'), data_format: attr.s('NHWC') });
  const mean = g.node('gap/Mean', 'Mean', [ap, g.int('gap/axes', [1, 2])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
  // flatten as tfjs-converter writes Keras' Flatten: reshape to [shape[0], -1]
  const shp = g.node('flat/Shape', 'Shape', [ap], { out_type: attr.type('DT_INT32') });
  const batch = g.node('flat/strided_slice', 'StridedSlice', [shp, g.int('flat/begin', [0]), g.int('flat/end', [1]), g.int('flat/strides', [1])], {
    T: attr.type('DT_INT32'), Index: attr.type('DT_INT32'), begin_mask: attr.i(0), end_mask: attr.i(0), ellipsis_mask: attr.i(0), new_axis_mask: attr.i(0), shrink_axis_mask: attr.i(1),
  });
  const packed = g.node('flat/Reshape/shape', 'Pack', [batch, g.int('flat/minus1', [-1], [])], { T: attr.type('DT_INT32'), N: attr.i(2), axis: attr.i(0) });
  const flat = g.node('flat/Reshape', 'Reshape', [ap, packed], { Tshape: attr.type('DT_INT32') });
  const fc = g.node('fc/MatMul', 'MatMul', [flat, g.weight('fc/kernel', [72, 6], values(432, 10, 0.2))], { transpose_a: attr.b(false), transpose_b: attr.b(false) });
  const fcb = g.node('fc/BiasAdd', 'BiasAdd', [fc, g.weight('fc/bias', [6], values(6, 11))], { data_format: attr.s('NHWC') });
  const fcr = g.node('fc/Relu', 'Relu', [fcb]);
  const cat = g.node('cat/concat', 'ConcatV2', [mean, fcr, g.int('cat/axis', [1], [])], { N: attr.i(2), Tidx: attr.type('DT_INT32') });
  const head = g.node('head/BiasAdd', '_FusedMatMul', [cat, g.weight('head/kernel', [14, 5], values(70, 12, 0.6)), g.weight('head/bias', [5], values(5, 13))], {
    transpose_a: attr.b(false), transpose_b: attr.b(false), num_args: attr.i(1), fused_ops: attr.strs(['BiasAdd']),
  });
  const sm = g.node('head/Softmax', 'Softmax', [head]);
  g.node('Identity', 'Identity', [sm]);
  return g.build({ probs: 'Identity:0' });
}

/**
 * Elementwise, reduction and data-movement ops on run-time tensors (many of them on NCHW-held
 * activations): _FusedConv2D with EXPLICIT padding + LeakyRelu, FusedDepthwiseConv2dNative +
 * Relu6, Elu, Sigmoid, Tanh, Mul, SquaredDifference, PadV2, Mean (keep_dims), RealDiv, Max and
 * Min over several axes, Square, Rsqrt, ConcatV2 on channels, Transpose, Reshape, StridedSlice
 * with begin / end / ellipsis / shrink masks and a negative stride, ExpandDims, Squeeze, GatherV2,
 * BatchMatMulV2, Slice, Sum, Pack, Cast (folded), Exp, Log, Abs, Sqrt, Neg, Maximum, Minimum,
 * Softplus, Pow, Sub, MatMul, LogSoftmax. `strided` false replaces the three StridedSlices by
 * Slice / Reshape / nothing of the same shapes: TF.js has no gradient for StridedSlice.
 */
export function opsGraph(strided = true): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const nhwc = { data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]) };
  const x = g.placeholder('x', [-1, 6, 5, 4]);
  const c1 = g.node('c1', '_FusedConv2D', [x, g.weight('c1/w', [3, 3, 4, 6], values(216, 21)), g.weight('c1/b', [6], values(6, 22))], {
    ...nhwc, strides: attr.ints([1, 2, 1, 1]), padding: attr.s('EXPLICIT'), explicit_paddings: attr.ints([0, 0, 1, 2, 2, 0, 0, 0]),
    num_args: attr.i(1), fused_ops: attr.strs(['BiasAdd', 'LeakyRelu']), leakyrelu_alpha: attr.f(0.1),
  }); // [N, 4, 5, 6]
  const dw = g.node('dw', 'FusedDepthwiseConv2dNative', [c1, g.weight('dw/w', [3, 3, 6, 1], values(54, 23, 0.6)), g.weight('dw/b', [6], values(6, 24))], {
    ...nhwc, strides: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME'), num_args: attr.i(1), fused_ops: attr.strs(['BiasAdd', 'Relu6']),
  });
  const e = g.node('elu', 'Elu', [c1]);
  const m = g.node('mul', 'Mul', [g.node('sig', 'Sigmoid', [e]), g.node('tanh', 'Tanh', [dw])]);
  const sd = g.node('sqdiff', 'SquaredDifference', [m, e]);
  const half = g.weight('half', [], [0.5]);
  const pv = g.node('padv2', 'PadV2', [sd, g.int('padv2/p', [0, 0, 0, 1, 1, 0, 0, 0], [4, 2]), half], { Tpaddings: attr.type('DT_INT32') }); // [N, 5, 6, 6]
  const mk = g.node('meank', 'Mean', [pv, g.int('meank/axes', [1, 2])], { keep_dims: attr.b(true), Tidx: attr.type('DT_INT32') });
  const one = g.weight('one', [], [1]);
  const r = g.node('div', 'RealDiv', [pv, g.node('meank1', 'AddV2', [mk, one])]);
  const r2 = g.node('rsqrt', 'Rsqrt', [g.node('sq1', 'AddV2', [g.node('square', 'Square', [r]), one])]);
  const cat = g.node('cat', 'ConcatV2', [r, r2, g.int('cat/axis', [3], [])], { N: attr.i(2), Tidx: attr.type('DT_INT32') }); // [N, 5, 6, 12]
  // Max / Min read an unpadded copy: the constant padding would make tied extrema, and ties route
  // the gradient differently (TF.js: each tie gets all of it; core's reduce_max shares it)
  const mk0 = g.node('meanq', 'Mean', [sd, g.int('meanq/axes', [1, 2])], { keep_dims: attr.b(true), Tidx: attr.type('DT_INT32') });
  const q = g.node('divq', 'RealDiv', [sd, g.node('meanq1', 'AddV2', [mk0, one])]);
  const q2 = g.node('rsqrtq', 'Rsqrt', [g.node('sqq1', 'AddV2', [g.node('squareq', 'Square', [q]), one])]);
  const catq = g.node('catq', 'ConcatV2', [q, q2, g.int('catq/axis', [-1], [])], { N: attr.i(2), Tidx: attr.type('DT_INT32') }); // [N, 4, 5, 12]
  const mx = g.node('maxc', 'Max', [catq, g.int('maxc/axes', [3])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') }); // [N, 4, 5]
  const mn = g.node('minh', 'Min', [catq, g.int('minh/axes', [1])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') }); // [N, 5, 12]
  const tr = g.node('tr', 'Transpose', [cat, g.int('tr/perm', [0, 3, 1, 2])], { Tperm: attr.type('DT_INT32') }); // [N, 12, 5, 6]
  const rs = g.node('rs', 'Reshape', [tr, g.int('rs/shape', [-1, 12, 30])], { Tshape: attr.type('DT_INT32') });
  const ss = (name: string, input: string, b: number[], en: number[], st: number[], masks: Record<string, number>) =>
    g.node(name, 'StridedSlice', [input, g.int(`${name}/b`, b), g.int(`${name}/e`, en), g.int(`${name}/s`, st)], {
      Index: attr.type('DT_INT32'),
      ...Object.fromEntries(['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((k) => [k, attr.i(masks[k] ?? 0)])),
    });
  const slice = (name: string, input: string, b: number[], size: number[]) =>
    g.node(name, 'Slice', [input, g.int(`${name}/b`, b), g.int(`${name}/s`, size)], { Index: attr.type('DT_INT32') });
  const reshape = (name: string, input: string, shape: number[]) => g.node(name, 'Reshape', [input, g.int(`${name}/shape`, shape)], { Tshape: attr.type('DT_INT32') });
  const s1 = strided ? ss('ss1', rs, [0, 1, 0], [0, 12, 30], [1, 2, 3], { begin_mask: 1, end_mask: 1 }) : slice('ss1', rs, [0, 1, 0], [-1, 6, 10]); // [N, 6, 10]
  const sq = g.node('squeeze', 'Squeeze', [g.node('expand', 'ExpandDims', [s1, g.int('expand/axis', [-1], [])], { Tdim: attr.type('DT_INT32') })], { squeeze_dims: attr.ints([3]) });
  const rev = strided ? ss('rev', sq, [0, 0, -1], [0, 0, 0], [1, 1, -1], { begin_mask: 3, end_mask: 7 }) : sq; // last axis reversed
  const last = strided ? ss('last', rev, [0, 2], [0, 3], [1, 1], { ellipsis_mask: 1, shrink_axis_mask: 2 }) : reshape('last', slice('last/s', rev, [0, 0, 2], [-1, -1, 1]), [-1, 6]); // [N, 6]
  const ga = g.node('gather', 'GatherV2', [rev, g.int('gather/idx', [3, 0, 7, 7]), g.int('gather/axis', [2], [])], { Tparams: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32'), Taxis: attr.type('DT_INT32'), batch_dims: attr.i(0) }); // [N, 6, 4]
  const gb = g.node('gather2', 'GatherV2', [rev, g.int('gather2/idx', [1, 2, 5, 9]), g.int('gather2/axis', [-1], [])], { Tparams: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32'), Taxis: attr.type('DT_INT32'), batch_dims: attr.i(0) });
  const bmm = g.node('bmm', 'BatchMatMulV2', [ga, gb], { adj_x: attr.b(false), adj_y: attr.b(true) }); // [N, 6, 6]
  const bsum = g.node('bmm/sum', 'Sum', [bmm, g.int('bmm/axes', [1])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') }); // [N, 6]
  const sum = g.node('sum', 'MatMul', [bsum, g.weight('bmm/w', [6, 5], values(30, 25, 0.3))], { transpose_a: attr.b(false), transpose_b: attr.b(false) }); // [N, 5]
  const fmx = g.node('fmx', 'MatMul', [g.node('mx/flat', 'Reshape', [mx, g.int('mx/shape', [-1, 20])], { Tshape: attr.type('DT_INT32') }), g.weight('fmx/w', [20, 5], values(100, 26, 0.3))], { transpose_a: attr.b(false), transpose_b: attr.b(false) });
  const fmn = g.node('fmn', 'MatMul', [g.node('mn/flat', 'Reshape', [mn, g.int('mn/shape', [-1, 60])], { Tshape: attr.type('DT_INT32') }), g.weight('fmn/w', [5, 60], values(300, 27, 0.2))], { transpose_a: attr.b(false), transpose_b: attr.b(true) });
  const fl = g.node('fl', 'MatMul', [last, g.weight('fl/w', [6, 5], values(30, 28))], { transpose_a: attr.b(false), transpose_b: attr.b(false) });
  const slc = g.node('slice', 'Slice', [r, g.int('slice/b', [0, 1, 0, 2]), g.int('slice/s', [-1, 3, -1, 2])], { Index: attr.type('DT_INT32') }); // [N, 3, 6, 2]
  const sls = g.node('slice/sum', 'Sum', [slc, g.int('slice/axes', [1, 2, 3])], { keep_dims: attr.b(true), Tidx: attr.type('DT_INT32') }); // [N, 1, 1, 1]
  const slf = g.node('slice/flat', 'Reshape', [sls, g.int('slice/shape', [-1, 1])], { Tshape: attr.type('DT_INT32') });
  const pk = g.node('pack', 'Pack', [sum, fmx, fmn], { N: attr.i(3), axis: attr.i(1) }); // [N, 3, 5]
  const z0 = g.node('pack/sum', 'Sum', [pk, g.int('pack/axes', [1])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
  const ramp = g.node('ramp', 'Cast', [g.int('ramp/i', [1, 2, 3, 4, 5])], { SrcT: attr.type('DT_INT32'), DstT: attr.type('DT_FLOAT') });
  const z1 = g.node('z1', 'AddV2', [g.node('z0b', 'AddV2', [z0, fl]), g.node('ramp/s', 'Mul', [ramp, g.weight('tenth', [], [0.1])])]);
  const a = g.node('a', 'Sub', [z1, slf]);
  const soft = g.node('soft', 'Softplus', [a]);
  const lg = g.node('log', 'Log', [g.node('lg/in', 'AddV2', [g.node('exp', 'Exp', [g.node('neg', 'Neg', [g.node('abs', 'Abs', [a])])]), one])]);
  const mm = g.node('maxmin', 'Maximum', [g.node('sqrt', 'Sqrt', [soft]), g.node('min', 'Minimum', [lg, g.node('pow', 'Pow', [soft, g.weight('two', [], [2])])])]);
  const out = g.node('logsm', 'LogSoftmax', [g.node('out/add', 'AddV2', [mm, a])]);
  g.node('Identity', 'Identity', [out]);
  return g.build({ logp: 'Identity:0' });
}

/** Reshape node with a constant shape. */
function reshapeNode(g: GraphDefBuilder, name: string, input: string, shape: number[]): string {
  return g.node(name, 'Reshape', [input, g.int(`${name}/shape`, shape)], { Tshape: attr.type('DT_INT32') });
}

/** NHWC Conv2D, stride 1, VALID, with kernel weight `${name}/w`. */
function convValid(g: GraphDefBuilder, name: string, x: string, kernel: number[], seed: number, scale: number): string {
  return g.node(name, 'Conv2D', [x, g.weight(`${name}/w`, kernel, values(kernel.reduce((a, d) => a * d, 1), seed, scale))], {
    data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]), strides: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID'),
  });
}

/** The fixtures' head: features [N, k] -> MatMul with 'fc/w' [k, 5] -> LogSoftmax -> 'Identity' (output logp). */
function logProbsHead(g: GraphDefBuilder, features: string, k: number, seed: number, scale: number): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const logits = g.node('fc', 'MatMul', [features, g.weight('fc/w', [k, 5], values(k * 5, seed, scale))], { transpose_a: attr.b(false), transpose_b: attr.b(false) });
  g.node('Identity', 'Identity', [g.node('logsm', 'LogSoftmax', [logits])]);
  return g.build({ logp: 'Identity:0' });
}

/**
 * Splitting, tiling, selection and the remaining elementwise ops on [N, 4, 6]: Split, SplitV (a -1
 * size), Unpack, Tile, BroadcastTo, ZerosLike / OnesLike, Greater / GreaterEqual / Less /
 * LessEqual / Equal / NotEqual, LogicalAnd / LogicalOr / LogicalNot, Select and SelectV2,
 * ClipByValue, Prelu, Sign, Sin, Cos, Log1p, Expm1, StopGradient (on the input only: TF.js runs it
 * as the identity, gradient included, where TF stops the gradient), Snapshot.
 */
export function splitSelectGraph(): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const i32 = { Tidx: attr.type('DT_INT32') };
  const x0 = g.placeholder('x', [-1, 4, 6]);
  const x = g.node('x/snap', 'Snapshot', [g.node('x/stop', 'StopGradient', [x0])]);
  const rs = (name: string, input: string, shape: number[]) => reshapeNode(g, name, input, shape);
  const h = rs('h', g.node('h/mm', 'MatMul', [rs('h/in', x, [-1, 6]), g.weight('h/w', [6, 6], values(36, 51, 0.5))], { transpose_a: attr.b(false), transpose_b: attr.b(false) }), [-1, 4, 6]);
  g.node('sp', 'Split', [g.int('sp/axis', [2], []), h], { num_split: attr.i(2) }); // 2 x [N, 4, 3]
  g.node('sv', 'SplitV', [h, g.int('sv/sizes', [1, -1, 2]), g.int('sv/axis', [-1], [])], { num_split: attr.i(3), Tlen: attr.type('DT_INT32') }); // [N,4,1] [N,4,3] [N,4,2]
  g.node('un', 'Unpack', [h], { num: attr.i(4), axis: attr.i(1) }); // 4 x [N, 6]
  const [a, b] = ['sp:0', 'sp:1'];
  const [c, d, e] = ['sv:0', 'sv:1', 'sv:2'];
  const zero = g.weight('zero', [], [0]);
  const lo = g.weight('lo', [], [-0.3]);
  const hi = g.weight('hi', [], [0.5]);
  // conditions on the input only (TF.js has no gradient for the logical ops): SelectV2 on a
  // broadcast condition, Select on a same-shape one
  g.node('spx', 'Split', [g.int('spx/axis', [2], []), x], { num_split: attr.i(2) });
  const [xa, xb] = ['spx:0', 'spx:1'];
  const cond = g.node('cond', 'LogicalOr', [g.node('gt', 'Greater', [xb, xa]), g.node('eq', 'Equal', [xa, zero])], { T: attr.type('DT_BOOL') });
  const sel2 = g.node('sel2', 'SelectV2', [cond, a, g.node('sel2/f', 'Mul', [d, g.weight('sel/w', [3], values(3, 52))])]);
  const cond1 = g.node('cond1', 'LogicalAnd', [g.node('ge', 'GreaterEqual', [xa, zero]), g.node('ne', 'NotEqual', [xb, zero])], { T: attr.type('DT_BOOL') });
  const cond2 = g.node('cond2', 'LogicalNot', [g.node('band', 'LogicalAnd', [g.node('le', 'LessEqual', [xa, hi]), g.node('lt', 'Less', [lo, xb])], { T: attr.type('DT_BOOL') })], { T: attr.type('DT_BOOL') });
  const sel1 = g.node('sel1', 'Select', [g.node('cond12', 'LogicalAnd', [cond1, cond2], { T: attr.type('DT_BOOL') }), b, d]);
  const clip = g.node('clip', 'ClipByValue', [sel2, lo, hi]);
  const t = g.node('tile', 'Tile', [a, g.int('tile/m', [1, 1, 2])], { Tmultiples: attr.type('DT_INT32') }); // [N, 4, 6]
  const pr = g.node('prelu', 'Prelu', [t, g.weight('prelu/alpha', [6], values(6, 53))]);
  const u = g.node('u', 'AddV2', [g.node('u/m', 'Mul', ['un:0', 'un:3']), g.node('u/s', 'Sub', ['un:1', 'un:2'])]); // [N, 6]
  const ut = g.node('u/tile', 'Tile', [g.node('u/r', 'Reshape', [u, g.int('u/shape', [-1, 1, 6])], { Tshape: attr.type('DT_INT32') }), g.int('u/reps', [1, 4, 1])], { Tmultiples: attr.type('DT_INT32') });
  const l1 = g.node('log1p', 'Log1p', [g.node('abs', 'Abs', [a])]);
  const em = g.node('expm1', 'Expm1', [g.node('half', 'Mul', [b, hi])]);
  const sc = g.node('sincos', 'AddV2', [g.node('sin', 'Sin', [c]), g.node('cos', 'Cos', [e])]); // [N, 4, 2]
  const sg = g.node('sign', 'Mul', [g.node('sgn', 'Sign', [d]), d]);
  const bt = g.node('bt', 'BroadcastTo', [g.weight('bt/w', [1, 3], values(3, 54)), g.int('bt/shape', [4, 3])], { Tidx: attr.type('DT_INT32') }); // [4, 3]
  const ones = g.node('ones', 'AddV2', [g.node('zl', 'ZerosLike', [sel1]), g.node('ol', 'OnesLike', [sel1])]);
  const p3 = g.node('p3', 'AddV2', [g.node('p3/a', 'Mul', [sel1, ones]), g.node('p3/b', 'AddV2', [clip, bt])]);
  const cat = g.node('cat', 'ConcatV2', [pr, ut, l1, em, sc, sg, p3, g.int('cat/axis', [-1], [])], { N: attr.i(7), ...i32 }); // [N, 4, 26]
  const flat = reshapeNode(g, 'flat', cat, [-1, 104]);
  return logProbsHead(g, flat, 104, 55, 0.2);
}

/**
 * Conv2DBackpropInput (tf.conv2dTranspose in a converted graph) twice: SAME with stride 2, then
 * VALID with stride 2 onto an output size one larger than the stride alone gives (13 x 17 from 6 x 8).
 */
export function transposedConvGraph(batch: number): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const nhwc = { data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]), strides: attr.ints([1, 2, 2, 1]) };
  const x = g.placeholder('x', [-1, 3, 4, 2]);
  const up1 = g.node('up1', 'Conv2DBackpropInput', [g.int('up1/sizes', [batch, 6, 8, 4]), g.weight('up1/w', [3, 3, 4, 2], values(72, 61, 0.5)), x], { ...nhwc, padding: attr.s('SAME') });
  const r = g.node('relu', 'Relu', [g.node('up1/b', 'BiasAdd', [up1, g.weight('up1/bias', [4], values(4, 62))], { data_format: attr.s('NHWC') })]);
  const up2 = g.node('up2', 'Conv2DBackpropInput', [g.int('up2/sizes', [batch, 13, 17, 3]), g.weight('up2/w', [2, 3, 3, 4], values(72, 63, 0.5)), r], { ...nhwc, padding: attr.s('VALID') });
  const m = g.node('mean', 'Mean', [g.node('tanh', 'Tanh', [up2]), g.int('mean/axes', [1, 2])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') }); // [N, 3]
  return logProbsHead(g, m, 3, 64, 0.8);
}

/**
 * ResizeBilinear and ResizeNearestNeighbor under each convention (legacy, align_corners,
 * half_pixel_centers), up and down, each after a 1x1 conv so the gradient reaches a weight.
 */
export function resizeGraph(kind: 'ResizeBilinear' | 'ResizeNearestNeighbor'): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 5, 7, 2]);
  const c = convValid(g, 'c', x, [1, 1, 2, 3], 71, 0.8);
  const modes: [string, boolean, boolean, number[]][] = [
    ['legacy', false, false, [8, 4]],
    ['ac', true, false, [9, 13]],
    ['hp', false, true, [3, 10]],
    ['hp2', false, true, [11, 7]],
  ];
  const pooled = modes.map(([name, ac, hp, size]) => {
    const r = g.node(name, kind, [c, g.int(`${name}/size`, size)], { align_corners: attr.b(ac), half_pixel_centers: attr.b(hp) });
    const sq = g.node(`${name}/sq`, 'Square', [r]);
    return g.node(`${name}/mean`, 'Mean', [sq, g.int(`${name}/axes`, [1, 2])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') }); // [N, 3]
  });
  const cat = g.node('cat', 'ConcatV2', [...pooled, g.int('cat/axis', [1], [])], { N: attr.i(modes.length), Tidx: attr.type('DT_INT32') }); // [N, 12]
  return logProbsHead(g, cat, 12, 72, 0.8);
}

/** MirrorPad REFLECT on a conv output (held NCHW) and SYMMETRIC on a rank-3 tensor, edges included. */
export function mirrorPadGraph(): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 4, 5, 2]);
  const c = convValid(g, 'c', x, [2, 2, 2, 3], 81, 0.6); // [N, 3, 4, 3]
  const pads = (name: string, v: number[], rank: number) => g.int(name, v, [rank, 2]);
  const r = g.node('reflect', 'MirrorPad', [c, pads('reflect/p', [0, 0, 2, 1, 0, 3, 0, 0], 4)], { mode: attr.s('REFLECT'), Tpaddings: attr.type('DT_INT32') }); // [N, 6, 7, 3]
  const m = g.node('m', 'Mean', [g.node('sq', 'Square', [r]), g.int('m/axes', [1])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') }); // [N, 7, 3]
  const s = g.node('sym', 'MirrorPad', [m, pads('sym/p', [0, 0, 3, 7, 1, 0], 3)], { mode: attr.s('SYMMETRIC'), Tpaddings: attr.type('DT_INT32') }); // [N, 17, 4]
  const flat = reshapeNode(g, 'flat', s, [-1, 68]);
  return logProbsHead(g, flat, 68, 82, 0.3);
}

/** Einsum as Keras MultiHeadAttention emits it: projection, scores, weighted values, output projection. */
export function einsumGraph(): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 4, 6]);
  const es = (name: string, eq: string, inputs: string[]) => g.node(name, 'Einsum', inputs, { equation: attr.s(eq), N: attr.i(inputs.length) });
  const p = es('proj', 'abc,cd->abd', [x, g.weight('wq', [6, 8], values(48, 91, 0.5))]); // [N, 4, 8]
  const q = reshapeNode(g, 'heads', p, [-1, 4, 2, 4]);
  const att = g.node('att', 'Softmax', [es('scores', 'aecd,abcd->acbe', [q, q])]); // [N, 2, 4, 4]
  const ctxv = es('ctx', 'acbe,aecd->abcd', [att, q]); // [N, 4, 2, 4]
  const o = es('out', 'abcd,cde->abe', [ctxv, g.weight('wo', [2, 4, 6], values(48, 92, 0.5))]); // [N, 4, 6]
  const m = g.node('m', 'Mean', [o, g.int('m/axes', [1])], { keep_dims: attr.b(false), Tidx: attr.type('DT_INT32') });
  return logProbsHead(g, m, 6, 93, 0.8);
}

/** Cumsum along a middle and the last axis, plain, exclusive and reversed. */
export function cumsumGraph(): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 4, 6]);
  const h = g.node('h', 'Mul', [x, g.weight('h/w', [6], values(6, 111, 0.8))]);
  const cs = (name: string, input: string, axis: number, exclusive: boolean, reverse: boolean) =>
    g.node(name, 'Cumsum', [input, g.int(`${name}/axis`, [axis], [])], { exclusive: attr.b(exclusive), reverse: attr.b(reverse), Tidx: attr.type('DT_INT32') });
  const a = cs('cs1', h, 1, false, false);
  const b2 = cs('cs2', g.node('t', 'Tanh', [a]), 2, true, false);
  const c = cs('cs3', b2, 1, false, true);
  const d = cs('cs4', g.node('s', 'Sigmoid', [c]), 2, true, true);
  const flat = reshapeNode(g, 'flat', d, [-1, 24]);
  return logProbsHead(g, flat, 24, 112, 0.5);
}

const i32 = (t = 'DT_INT32') => attr.type(t);

/**
 * The hyperbolic and trigonometric compositions on h = x * 'h/w': Tan (of tanh, away from its
 * poles), Sinh, Cosh, Asinh (both signs), Acosh (of h^2 + 1.5), Atanh (of 0.9 tanh), and IsNan
 * picking -h where Log(h) is NaN (h < 0) in a SelectV2.
 */
export function unaryMathGraph(): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 4, 6]);
  const h = g.node('h', 'Mul', [x, g.weight('h/w', [6], values(6, 121, 0.8))]);
  const th = g.node('th', 'Tanh', [h]);
  const tan = g.node('tan', 'Tan', [th]);
  const sinh = g.node('sinh', 'Sinh', [h]);
  const cosh = g.node('cosh', 'Cosh', [h]);
  const asinh = g.node('asinh', 'Asinh', [h]);
  const acosh = g.node('acosh', 'Acosh', [g.node('acosh/in', 'AddV2', [g.node('sq', 'Square', [h]), g.weight('c1.5', [], [1.5])])]);
  const atanh = g.node('atanh', 'Atanh', [g.node('atanh/in', 'Mul', [th, g.weight('c0.9', [], [0.9])])]);
  const lg = g.node('log', 'Log', [h]);
  const sel = g.node('sel', 'SelectV2', [g.node('isnan', 'IsNan', [lg]), g.node('negh', 'Neg', [h]), lg]);
  const cat = g.node('cat', 'ConcatV2', [tan, sinh, cosh, asinh, acosh, atanh, sel, g.int('cat/axis', [-1], [])], { N: attr.i(7), Tidx: i32() }); // [N, 4, 42]
  return logProbsHead(g, reshapeNode(g, 'flat', cat, [-1, 168]), 168, 122, 0.2);
}

/**
 * GatherNd three ways: (sample, row) tuples from the int32 input 'idx' [N, 3, 2] (rows of h =
 * x * 'h/w'); constant (row, column) tuples, a duplicate among them, into h transposed to [4, 6, N];
 * and an embedding lookup of the weight table 'tab/w' [6, 5] at each position's ArgMax over x
 * (int64 indices, computed).
 */
export function gatherNdGraph(): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 4, 6]);
  const idx = g.placeholder('idx', [-1, 3, 2], 'DT_INT32');
  const h = g.node('h', 'Mul', [x, g.weight('h/w', [6], values(6, 131, 0.8))]);
  const gi = (t = 'DT_INT32') => ({ Tparams: attr.type('DT_FLOAT'), Tindices: i32(t) });
  const rows = g.node('rows', 'GatherNd', [h, idx], gi()); // [N, 3, 6]
  const ht = g.node('ht', 'Transpose', [h, g.int('ht/perm', [1, 2, 0])], { Tperm: i32() }); // [4, 6, N]
  const pts = g.node('pts', 'GatherNd', [ht, g.int('pts/i', [0, 5, 3, 0, 1, 2, 3, 5, 0, 5], [5, 2])], gi()); // [5, N]
  const ptsT = g.node('pts/t', 'Transpose', [pts, g.int('pts/perm', [1, 0])], { Tperm: i32() }); // [N, 5]
  const am = g.node('am', 'ArgMax', [x, g.int('am/axis', [2], [])], { Tidx: i32(), output_type: i32('DT_INT64') }); // [N, 4]
  const ami = g.node('am/e', 'ExpandDims', [am, g.int('am/e/axis', [-1], [])], { T: i32('DT_INT64'), Tdim: i32() }); // [N, 4, 1]
  const emb = g.node('emb', 'GatherNd', [g.weight('tab/w', [6, 5], values(30, 132, 0.8)), ami], gi('DT_INT64')); // [N, 4, 5]
  const cat = g.node('cat', 'ConcatV2', [reshapeNode(g, 'rows/flat', rows, [-1, 18]), ptsT, reshapeNode(g, 'emb/flat', emb, [-1, 20]), g.int('cat/axis', [1], [])], { N: attr.i(3), Tidx: i32() }); // [N, 43]
  return logProbsHead(g, cat, 43, 133, 0.5);
}

/**
 * ScatterNd of the rows of h = x * 'h/w' to (sample, slot) tuples from the int32 input 'idx'
 * [N, 4, 2] (duplicates sum) in zeros [batch, 5, 6]; TensorScatterUpdate of sigmoid(h) with
 * tanh('upd/w') rows at the distinct (sample, row) tuples of the int32 input 'uidx' [3, 2].
 */
export function scatterNdGraph(batch: number): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 4, 6]);
  const idx = g.placeholder('idx', [-1, 4, 2], 'DT_INT32');
  const uidx = g.placeholder('uidx', [3, 2], 'DT_INT32');
  const h = g.node('h', 'Mul', [x, g.weight('h/w', [6], values(6, 141, 0.8))]);
  const sc = g.node('sc', 'ScatterNd', [idx, h, g.int('sc/shape', [batch, 5, 6])], { Tindices: i32() }); // [N, 5, 6]
  const upd = g.node('upd', 'Tanh', [g.weight('upd/w', [3, 6], values(18, 142, 1))]);
  const tsu = g.node('tsu', 'TensorScatterUpdate', [g.node('sig', 'Sigmoid', [h]), uidx, upd], { Tindices: i32() }); // [N, 4, 6]
  const cat = g.node('cat', 'ConcatV2', [reshapeNode(g, 'sc/flat', sc, [-1, 30]), reshapeNode(g, 'tsu/flat', tsu, [-1, 24]), g.int('cat/axis', [1], [])], { N: attr.i(2), Tidx: i32() }); // [N, 54]
  return logProbsHead(g, cat, 54, 143, 0.5);
}

/**
 * TopKV2 (k = 5, sorted) over [h, relu(h)] (h = x * 'h/w'): every positive h appears twice and
 * the negative ones give zeros, so ties are everywhere; the values and the indices (cast to float)
 * both reach the output.
 */
export function topKGraph(): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 4, 6]);
  const h = g.node('h', 'Mul', [x, g.weight('h/w', [6], values(6, 151, 0.8))]);
  const t = g.node('t', 'ConcatV2', [h, g.node('relu', 'Relu', [h]), g.int('t/axis', [-1], [])], { N: attr.i(2), Tidx: i32() }); // [N, 4, 12]
  g.node('tk', 'TopKV2', [t, g.int('tk/k', [5], [])], { sorted: attr.b(true) });
  const ci = g.node('tk/i', 'Cast', ['tk:1'], { SrcT: i32(), DstT: attr.type('DT_FLOAT') });
  const cat = g.node('cat', 'ConcatV2', ['tk:0', ci, g.int('cat/axis', [-1], [])], { N: attr.i(2), Tidx: i32() }); // [N, 4, 10]
  return logProbsHead(g, reshapeNode(g, 'flat', cat, [-1, 40]), 40, 152, 0.5);
}

/**
 * OneHot (depth 6) of ArgMax(x) (int64), of ArgMin(relu(x)) (ties among the zeros; on 2, off
 * -0.5, axis 1) and of the int32 input 'idx' [N, 4] (out-of-range and negative entries: all
 * off), each multiplying h = x * 'h/w'; the arg indices also reach the output cast to float.
 * TF.js ignores OneHot's axis attribute (always the last axis): `tfjsReference` builds the graph
 * TF.js runs as the reference, the axis-1 one-hot as a last-axis one transposed.
 */
export function oneHotGraph(tfjsReference = false): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
  const g = new GraphDefBuilder();
  const x = g.placeholder('x', [-1, 4, 6]);
  const idx = g.placeholder('idx', [-1, 4], 'DT_INT32');
  const h = g.node('h', 'Mul', [x, g.weight('h/w', [6], values(6, 161, 0.8))]);
  const am = g.node('am', 'ArgMax', [x, g.int('am/axis', [2], [])], { Tidx: i32(), output_type: i32('DT_INT64') }); // [N, 4]
  const an = g.node('an', 'ArgMin', [g.node('relu', 'Relu', [x]), g.int('an/axis', [-1], [])], { Tidx: i32(), output_type: i32() }); // [N, 4]
  const oh = (name: string, indices: string, on: number, off: number, axis: number) =>
    g.node(name, 'OneHot', [indices, g.int(`${name}/depth`, [6], []), g.weight(`${name}/on`, [], [on]), g.weight(`${name}/off`, [], [off])], { TI: i32(), axis: attr.i(axis) });
  const p1 = g.node('p1', 'Mul', [oh('oh1', am, 1, 0, -1), h]); // [N, 4, 6]
  const oh2 = tfjsReference
    ? g.node('oh2/t', 'Transpose', [oh('oh2', an, 2, -0.5, -1), g.int('oh2/perm', [0, 2, 1])], { Tperm: i32() })
    : oh('oh2', an, 2, -0.5, 1); // [N, 6, 4]
  const p2 = g.node('p2', 'Mul', [oh2, g.node('ht', 'Transpose', [h, g.int('ht/perm', [0, 2, 1])], { Tperm: i32() })]); // [N, 6, 4]
  const p3 = g.node('p3', 'Mul', [oh('oh3', idx, 1, 0, -1), h]); // [N, 4, 6]
  const cast = (name: string, v: string) => g.node(name, 'Cast', [v], { SrcT: i32(), DstT: attr.type('DT_FLOAT') });
  const parts = [reshapeNode(g, 'p1/flat', p1, [-1, 24]), reshapeNode(g, 'p2/flat', p2, [-1, 24]), reshapeNode(g, 'p3/flat', p3, [-1, 24]), cast('am/f', am), cast('an/f', an)];
  const cat = g.node('cat', 'ConcatV2', [...parts, g.int('cat/axis', [1], [])], { N: attr.i(parts.length), Tidx: i32() }); // [N, 80]
  return logProbsHead(g, cat, 80, 162, 0.5);
}
