/**
 * Inverted dropout (ONNX Dropout in training mode, torch.nn.functional.dropout): each element is
 * kept with probability 1 - ratio and scaled by 1 / (1 - ratio). Randomness is counter-based:
 * whether element `index` is kept depends only on (seed, counter, index) through a pure integer
 * hash, so every backend draws the same mask and no RNG state lives in a kernel. The program
 * feeds a new `counter` every step.
 */
import { PockError, type ErrorLocation } from '../errors.js';
import type { TypeInfo } from '../ir/graph.js';
import { fmtShape } from '../shape.js';
import { requireAttr, requireFloat } from './checks.js';
import { elementwiseCost } from './cost.js';
import { defineOp, type OpDef } from './op-def.js';

export type DropoutAttrs = { ratio: number; seed: number };

export interface DropoutOpsAttrs {
  dropout: DropoutAttrs;
}

/** murmur3's 32-bit finalizer: a bijection on u32 with full avalanche (MurmurHash3, fmix32). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const GOLDEN = 0x9e3779b9;

/**
 * Uniform in [0, 1) (2^-32 resolution) for element `index` of draw `counter` under `seed`.
 * Each of seed, counter and index (taken mod 2^32) is folded in with xor, a Weyl increment and
 * a full fmix32 round, so changing any one of them decorrelates the result. Only u32 xor,
 * wrapping add, wrapping multiply and shifts are used: a GPU shader reproduces it bit for bit.
 */
export function dropoutUniform(seed: number, counter: number, index: number): number {
  let h = fmix32((seed ^ 0x6a09e667) >>> 0);
  h = fmix32(((h ^ counter) + GOLDEN) >>> 0);
  h = fmix32(((h ^ index) + GOLDEN) >>> 0);
  return h / 4294967296;
}

/** Whether element `index` survives: u >= ratio, so ratio 0 keeps everything and 1 nothing. */
export function dropoutKeep(seed: number, counter: number, index: number, ratio: number): boolean {
  return dropoutUniform(seed, counter, index) >= ratio;
}

/** The value of a kept element of the mask: 1 / (1 - ratio) (0 when ratio is 1, as PyTorch). */
export function dropoutScale(ratio: number): number {
  return ratio >= 1 ? 0 : 1 / (1 - ratio);
}

function inferDropout(inputs: readonly TypeInfo[], a: DropoutAttrs, where: ErrorLocation): TypeInfo[] {
  const [x, counter] = inputs as [TypeInfo, TypeInfo];
  requireFloat(x, 'input', where);
  requireAttr(typeof a.ratio === 'number' && a.ratio >= 0 && a.ratio <= 1, `ratio must be in [0, 1], got ${a.ratio}`, where);
  requireAttr(Number.isInteger(a.seed), `seed must be an integer, got ${a.seed}`, where);
  if (counter.dtype !== 'int32' || counter.shape.length !== 0)
    throw new PockError(
      'dtype',
      `counter must be an int32 scalar of shape [], got ${counter.dtype}${fmtShape(counter.shape)}; feed the step counter cast to int32`,
      where,
    );
  return [
    { dtype: x.dtype, shape: x.shape },
    { dtype: x.dtype, shape: x.shape },
  ];
}

export const dropoutOps: { [K in keyof DropoutOpsAttrs]: OpDef<DropoutOpsAttrs[K]> } = {
  /**
   * [x, counter] -> [y, mask]: mask holds 0 or 1 / (1 - ratio) in x's dtype, y = x * mask.
   * The gradient is dy * mask; the mask does not depend on x, so its cotangent is dropped.
   */
  dropout: defineOp<DropoutAttrs>({
    name: 'dropout',
    arity: [2, 2],
    outputs: () => 2,
    infer: inferDropout,
    nondiffInputs: [1],
    vjp: (b, { outputs: [, mask], needs }, [gy]) => [needs[0] && gy !== null ? b.mul(gy!, mask!) : null, null],
    cost: elementwiseCost(6),
    elementwise: true,
  }),
};
