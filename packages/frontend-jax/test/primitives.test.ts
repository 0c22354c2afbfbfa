/**
 * Forward parity per primitive mapping: each function is traced, run as a forward program on the
 * CPU backend and compared with jax-js evaluating the same function eagerly. The IR ops each
 * import must contain are asserted too, so a mapping that silently decomposes shows up.
 */
import { lax, nn, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, toNumberArray } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { traceJax, type InputDType } from '../src/index.js';
import { expectClose, hostTensor } from './harness.js';
import { randArray, randInts } from './models.js';

type Fn = (...xs: JaxArray[]) => JaxArray;

interface Case {
  name: string;
  fn: Fn;
  args: () => JaxArray[];
  ops?: string[];
  /** Reference when jax-js cannot evaluate `fn` eagerly. */
  ref?: Fn;
  /** IR ops the import must not contain (a rewrite replaced them). */
  absent?: string[];
}

const f = (shape: number[], seed: number, std = 1) => () => randArray(shape, seed, std);
const pos = (shape: number[], seed: number) => () => np.abs(randArray(shape, seed)).add(0.1);

const CASES: Case[] = [
  // dot: every layout is one matmul
  { name: 'matmul with broadcast batch', fn: (a, b) => np.matmul(a!, b!), args: () => [f([2, 1, 3, 4], 1)(), f([5, 4, 6], 2)()], ops: ['matmul'] },
  { name: 'matvec', fn: (a, b) => np.matmul(a!, b!), args: () => [f([3, 4], 3)(), f([4], 4)()], ops: ['matmul'] },
  { name: 'vector dot', fn: (a, b) => np.dot(a!, b!), args: () => [f([4], 5)(), f([4], 6)()], ops: ['matmul'] },
  { name: 'vecdot (batch axes only)', fn: (a, b) => np.vecdot(a!, b!), args: () => [f([2, 3, 4], 7)(), f([3, 4], 8)()], ops: ['matmul'] },
  { name: 'tensordot over two axes', fn: (a, b) => np.tensordot(a!, b!, [[1, 2], [1, 0]]), args: () => [f([2, 3, 4], 9)(), f([4, 3, 5], 10)()], ops: ['matmul'] },
  { name: 'x @ W folds the transpose', fn: (a, b) => np.matmul(a!, b!), args: () => [f([3, 4], 11)(), f([4, 5], 12)()], ops: ['matmul'], absent: ['transpose'] },
  // conv
  { name: 'conv2d stride 2, dilation 2, SAME', fn: (x, w) => lax.convGeneralDilated(x!, w!, [2, 2], 'SAME', { rhsDilation: [2, 2] }), args: () => [f([2, 3, 9, 9], 13)(), f([4, 3, 3, 3], 14)()], ops: ['conv2d'] },
  { name: 'conv2d negative padding', fn: (x, w) => lax.convGeneralDilated(x!, w!, [1, 1], [[-1, 0], [0, -1]]), args: () => [f([1, 2, 6, 6], 15)(), f([3, 2, 3, 3], 16)()], ops: ['conv2d', 'slice'] },
  { name: 'conv1d', fn: (x, w) => lax.convGeneralDilated(x!, w!, [2], [[1, 1]], { rhsDilation: [2] }), args: () => [f([2, 3, 10], 17)(), f([4, 3, 3], 18)()], ops: ['conv2d'] },
  { name: 'depthwise conv (groups = channels)', fn: (x, w) => lax.convGeneralDilated(x!, w!, [1, 1], 'VALID', { featureGroupCount: 4 }), args: () => [f([2, 4, 5, 5], 19)(), f([8, 1, 3, 3], 20)()], ops: ['conv2d'] },
  // pooling
  { name: 'overlapping max pool (stride 1)', fn: (x) => lax.reduceWindow(x!, (w) => np.max(w, [-2, -1]), [3, 3], [1, 1]), args: () => [f([2, 3, 6, 6], 21)()], ops: ['max_pool2d'] },
  { name: '1-D sum pool', fn: (x) => lax.reduceWindow(x!, (w) => np.sum(w, [-1]), [3], [2]), args: () => [f([2, 3, 9], 22)()], ops: ['avg_pool2d'] },
  { name: '3-D window pool (strided slices)', fn: (x) => lax.reduceWindow(x!, (w) => np.max(w, [-3, -2, -1]), [2, 2, 2], [2, 1, 2]), args: () => [f([2, 4, 5, 5], 23)()], ops: ['slice', 'concat', 'reduce_max'] },
  { name: 'pool reduced over one window axis', fn: (x) => lax.reduceWindow(x!, (w) => np.sum(w, [-1]), [2, 2], [1, 2]), args: () => [f([1, 2, 4, 6], 24)()], ops: ['slice', 'reduce_sum'] },
  // movement and indexing
  { name: 'flip, pad, concatenate', fn: (x) => np.concatenate([np.flip(x!.ref, 1), np.pad(x!, [[0, 0], [1, 2]])], 1), args: () => [f([3, 4], 25)()], ops: ['slice', 'pad', 'concat'] },
  // jax-js traces negative pad widths but its eager pad throws 'invalid pad': compare with slice + pad
  { name: 'negative pad crops', fn: (x) => np.pad(x!, [[-1, 1], [0, 0]]), ref: (x) => np.pad(x!.slice([1, 4]), [[0, 1], [0, 0]]), args: () => [f([4, 5], 26)()], ops: ['slice', 'pad'] },
  { name: 'split', fn: (x) => { const [a, b] = np.split(x!, 2, 1); return a!.mul(b!); }, args: () => [f([2, 4], 27)()], ops: ['split'] },
  { name: 'broadcast, expand dims, squeeze, transpose', fn: (x) => np.squeeze(np.expandDims(np.broadcastTo(x!, [3, 2, 4]).transpose([2, 0, 1]), 0), 0), args: () => [f([2, 4], 28)()], ops: ['expand', 'transpose'] },
  { name: 'take along axis 1', fn: (x, i) => np.take(x!, i!, 1), args: () => [f([3, 5, 2], 29)(), randInts([4], 30, 5)], ops: ['gather'] },
  { name: 'index arrays on two axes (linearised)', fn: (x, i, j) => x!.slice([], i!, j!), args: () => [f([4, 5, 6], 31)(), randInts([3], 32, 5), randInts([2, 1], 33, 6)], ops: ['gather'] },
  { name: 'takeAlongAxis', fn: (x, i) => np.takeAlongAxis(x!, i!, 1), args: () => [f([2, 3], 34)(), randInts([2, 2], 35, 3)], ops: ['gather'] },
  // elementwise, comparisons, reductions
  { name: 'where, compare, abs, clip, min', fn: (x) => np.where(x!.ref.greater(0.2), np.abs(x!.ref), np.clip(x!.ref, -0.5, 0.5)).add(np.min(x!, 1, { keepdims: true })), args: () => [f([3, 4], 36)()], ops: ['where', 'reduce_max'] },
  { name: 'not_equal, any, all', fn: (x) => np.where(np.any(x!.ref.greater(1), 1, { keepdims: true }).mul(np.all(x!.ref.notEqual(0), 1, { keepdims: true })), x!.ref, x!.mul(2)), args: () => [f([4, 3], 37)()], ops: ['logical_not', 'logical_and'] },
  { name: 'argmax', fn: (x) => np.argmax(x!, 1), args: () => [f([3, 5], 38)()] },
  { name: 'power, sqrt, exp, log, sin, cos', fn: (x) => np.power(x!.ref, 2.5).add(np.sqrt(x!.ref)).add(np.log(x!.ref)).mul(np.exp(np.sin(x!.ref))).add(np.cos(x!)), args: () => [pos([3, 4], 39)()], ops: ['pow', 'sqrt', 'log'] },
  { name: 'sigmoid, silu, softplus, exact gelu, erf, erfc', fn: (x) => nn.sigmoid(x!.ref).add(nn.silu(x!.ref)).add(nn.softplus(x!.ref)).add(nn.gelu(x!.ref, { approximate: false })).add(lax.erf(x!.ref)).add(lax.erfc(x!)), args: () => [f([3, 4], 40)()], ops: ['sigmoid', 'silu', 'gelu', 'erf'] },
  { name: 'softmax, log softmax, logsumexp', fn: (x) => nn.softmax(x!.ref, -1).add(nn.logSoftmax(x!.ref, -1)).add(nn.logsumexp(x!, -1, { keepdims: true })), args: () => [f([3, 5], 41, 2)()], ops: ['softmax', 'log_softmax', 'stop_gradient'] },
  { name: 'cumsum (iota constants, bool where)', fn: (x) => np.cumsum(x!, 1), args: () => [f([2, 5], 42)()], ops: ['where'] },
  { name: 'asin, atan', fn: (x) => np.arcsin(x!.ref).add(np.arctan(x!.ref).mul(2)), args: () => [f([3, 4], 46, 0.4)()], ops: ['asin', 'atan'] },
  { name: 'floor and ceil of floats', fn: (x) => np.floor(x!.ref).mul(2).add(np.ceil(x!)), args: () => [f([3, 4], 45, 3)()], ops: ['floor', 'ceil'] },
  { name: 'casts and integer arithmetic', fn: (x, i) => x!.mul(i!.mul(3).add(1).astype(np.float32)), args: () => [f([2, 3], 43)(), randInts([2, 3], 44, 7)], ops: ['cast'] },
];

async function runForward(fn: Fn, args: JaxArray[]) {
  const spec = Object.fromEntries(args.map((a, i) => [`in${i}`, [a.shape, a.dtype as InputDType] as const]));
  const imp = traceJax((_p: unknown, ...xs: JaxArray[]) => fn(...xs), {}, spec);
  const program = Program.create(imp.graph, new CpuBackend());
  try {
    const out = await program.step(Object.fromEntries(args.map((a, i) => [`in${i}`, hostTensor(a)])));
    return { ours: toNumberArray(out.logits!.data), ops: new Set(imp.graph.nodes.map((n) => n.op)) };
  } finally {
    program.dispose();
  }
}

describe('primitive mappings match jax-js forward values', () => {
  it.each(CASES)('$name', async (c) => {
    const args = c.args();
    const { ours, ops } = await runForward(c.fn, args);
    const ref = (c.ref ?? c.fn)(...args.map((a) => a.ref));
    expect(ref.shape.reduce((a, d) => a * d, 1)).toBe(ours.length);
    expectClose(ours, Float64Array.from(ref.dataSync()), c.name);
    for (const op of c.ops ?? []) expect(ops, `maps to ${op}`).toContain(op);
    for (const op of c.absent ?? []) expect(ops, `no ${op}`).not.toContain(op);
    for (const a of args) a.dispose();
  });
});
