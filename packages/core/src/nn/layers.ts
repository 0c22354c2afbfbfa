/**
 * Layer conveniences over GraphBuilder for models written directly in the IR (tests, the demo,
 * users without a source framework). Initialisation follows PyTorch's defaults
 * (Kaiming-uniform weights with a = sqrt(5), uniform bias in ±1/sqrt(fan_in)).
 */
import type { GraphBuilder } from '../ir/builder.js';
import type { ValueId } from '../ir/graph.js';
import { rng, tensor, type Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { size } from '../shape.js';

function uniform(shape: readonly number[], bound: number, seed: number, dtype: DType): Tensor {
  const r = rng(seed);
  const v = new Float64Array(size(shape));
  for (let i = 0; i < v.length; i++) v[i] = (2 * r() - 1) * bound;
  return tensor(dtype, shape, v);
}

let seedCounter = 1;
function nextSeed(seed?: number): number {
  return seed ?? 0x5eed + seedCounter++ * 7919;
}

export interface DenseOptions {
  bias?: boolean;
  seed?: number;
  activation?: 'relu' | 'none';
}

/** y = x W^T + b with W [units, in] (PyTorch nn.Linear layout). x: [..., in]. */
export function dense(b: GraphBuilder, x: ValueId, units: number, name: string, opts: DenseOptions = {}): ValueId {
  const dtype = b.dtype(x);
  const fanIn = b.shape(x).at(-1)!;
  const bound = 1 / Math.sqrt(fanIn);
  const seed = nextSeed(opts.seed);
  return b.scoped(name, () => {
    const w = b.param(`${name}.weight`, uniform([units, fanIn], bound, seed, dtype));
    let y = b.matmul(x, w, false, true);
    if (opts.bias !== false) y = b.add(y, b.param(`${name}.bias`, uniform([units], bound, seed + 1, dtype)));
    if (opts.activation === 'relu') y = b.op1('relu', [y], {});
    return y;
  });
}

export interface Conv2dOptions {
  kernel?: number;
  stride?: number;
  pad?: number;
  groups?: number;
  bias?: boolean;
  seed?: number;
}

/** 2-D convolution, NCHW, weight [out, in/groups, k, k]. */
export function conv2d(b: GraphBuilder, x: ValueId, out: number, name: string, opts: Conv2dOptions = {}): ValueId {
  const dtype = b.dtype(x);
  const cin = b.shape(x)[1]!;
  const k = opts.kernel ?? 3;
  const s = opts.stride ?? 1;
  const p = opts.pad ?? Math.floor(k / 2);
  const groups = opts.groups ?? 1;
  const fanIn = (cin / groups) * k * k;
  const bound = 1 / Math.sqrt(fanIn);
  const seed = nextSeed(opts.seed);
  return b.scoped(name, () => {
    const w = b.param(`${name}.weight`, uniform([out, cin / groups, k, k], bound, seed, dtype));
    const ins = [x, w];
    if (opts.bias !== false) ins.push(b.param(`${name}.bias`, uniform([out], bound, seed + 1, dtype)));
    return b.op1('conv2d', ins, { strides: [s, s], pads: [p, p, p, p], dilations: [1, 1], groups });
  });
}

/** Training-mode or frozen batch norm over channel axis 1, with running-statistics buffers. */
export function batchNorm(b: GraphBuilder, x: ValueId, name: string, training: boolean, eps = 1e-5): ValueId {
  const dtype = b.dtype(x);
  const c = b.shape(x)[1]!;
  return b.scoped(name, () => {
    const scale = b.param(`${name}.weight`, tensor(dtype, [c], new Array(c).fill(1)));
    const bias = b.param(`${name}.bias`, tensor(dtype, [c]));
    const mean = b.buffer(`${name}.running_mean`, tensor(dtype, [c]));
    const vr = b.buffer(`${name}.running_var`, tensor(dtype, [c], new Array(c).fill(1)));
    return b.op('batch_norm', [x, scale, bias, mean, vr], { epsilon: eps, training })[0]!;
  });
}

export function relu(b: GraphBuilder, x: ValueId): ValueId {
  return b.op1('relu', [x], {});
}

/** min(max(x, 0), 6), MobileNet's activation. */
export function relu6(b: GraphBuilder, x: ValueId): ValueId {
  return b.op1('clip', [x], { min: 0, max: 6 });
}

/** Mean over the spatial axes of an NCHW tensor, giving [N, C]. */
export function globalAvgPool(b: GraphBuilder, x: ValueId): ValueId {
  return b.op1('reduce_mean', [x], { axes: [2, 3], keepdims: false });
}

export function flatten(b: GraphBuilder, x: ValueId): ValueId {
  const s = b.shape(x);
  return b.reshape(x, [s[0]!, size(s.slice(1))]);
}
