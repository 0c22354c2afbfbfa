/**
 * Test models written with jax-js, in jax-js's ownership style: `apply` consumes its arguments
 * (each param used once, or through `.ref`), as jax-js's transformations expect.
 */
import { lax, nn, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import { rng } from '@pockengine/core';

type A = JaxArray;

/** Seeded normal-ish values (sum of uniforms) scaled by `std`, as a jax-js float32 array. */
export function randArray(shape: number[], seed: number, std = 1): A {
  const r = rng(seed);
  const n = shape.reduce((a, d) => a * d, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (r() + r() + r() - 1.5) * 2 * std;
  return np.array(v, { shape });
}

export function randInts(shape: number[], seed: number, max: number): A {
  const r = rng(seed);
  const n = shape.reduce((a, d) => a * d, 1);
  return np.array(Int32Array.from({ length: n }, () => Math.floor(r() * max)), { shape });
}

// ---- MLP ------------------------------------------------------------------------------------------

export type MlpParams = { layers: { w: A; b: A }[]; head: { w: A; b: A } };

export function mlpParams(sizes: number[], classes: number, seed = 1): MlpParams {
  const layers = sizes.slice(1).map((n, i) => ({ w: randArray([sizes[i]!, n], seed + 2 * i, 1 / Math.sqrt(sizes[i]!)), b: randArray([n], seed + 2 * i + 1, 0.1) }));
  const last = sizes.at(-1)!;
  return { layers, head: { w: randArray([last, classes], seed + 100, 1 / Math.sqrt(last)), b: randArray([classes], seed + 101, 0.1) } };
}

export function mlpApply(p: MlpParams, x: A): A {
  let h = x;
  p.layers.forEach((l, i) => {
    h = np.matmul(h, l.w).add(l.b);
    h = i % 2 === 0 ? nn.relu(h) : np.tanh(h);
  });
  return np.matmul(h, p.head.w).add(p.head.b);
}

// ---- CNN ------------------------------------------------------------------------------------------

export type CnnParams = { conv1: { w: A; b: A }; conv2: { w: A; b: A }; dense: { w: A; b: A } };

export function cnnParams(seed = 7): CnnParams {
  return {
    conv1: { w: randArray([8, 3, 3, 3], seed, 0.3), b: randArray([8], seed + 1, 0.1) },
    // grouped: feature_group_count 2 -> vmapDims in jax-js
    conv2: { w: randArray([12, 4, 3, 3], seed + 2, 0.25), b: randArray([12], seed + 3, 0.1) },
    dense: { w: randArray([12, 10], seed + 4, 0.3), b: randArray([10], seed + 5, 0.1) },
  };
}

/** conv + relu + max pool, grouped strided conv + gelu + avg pool, global mean, dense. */
export function cnnApply(p: CnnParams, x: A): A {
  let h = lax.convGeneralDilated(x, p.conv1.w, [1, 1], [[1, 1], [1, 1]]).add(p.conv1.b.reshape([1, 8, 1, 1]));
  h = nn.relu(h);
  h = lax.reduceWindow(h, (w) => np.max(w, [-2, -1]), [2, 2], [2, 2]); // [B,8,4,4]
  h = lax.convGeneralDilated(h, p.conv2.w, [1, 1], 'SAME', { featureGroupCount: 2 }).add(p.conv2.b.reshape([1, 12, 1, 1]));
  h = nn.gelu(h);
  h = lax.reduceWindow(h, (w) => np.mean(w, [-2, -1]), [2, 2], [2, 2]); // [B,12,2,2]
  h = np.mean(h, [2, 3]); // [B,12]
  return np.matmul(h, p.dense.w).add(p.dense.b);
}

// ---- decoder (transposed convs) ---------------------------------------------------------------------

export type DecParams = { conv: { w: A; b: A }; up1: { w: A; b: A }; up2: { w: A }; up3: { w: A }; dense: { w: A; b: A } };

export function decParams(seed = 31): DecParams {
  return {
    conv: { w: randArray([6, 3, 3, 3], seed, 0.3), b: randArray([6], seed + 1, 0.1) },
    up1: { w: randArray([4, 6, 3, 3], seed + 2, 0.3), b: randArray([4], seed + 3, 0.1) },
    up2: { w: randArray([3, 4, 2, 2], seed + 4, 0.3) },
    up3: { w: randArray([2, 3, 3], seed + 6, 0.3) },
    dense: { w: randArray([5, 4], seed + 5, 0.3), b: randArray([4], seed + 7, 0.1) },
  };
}

/** conv, then transposed convs (lhs dilation): stride 2 'SAME', stride 2 'VALID' with a 2x2 kernel and rhs dilation 2, a 1-D one. */
export function decApply(p: DecParams, x: A): A {
  let h = nn.relu(lax.convGeneralDilated(x, p.conv.w, [1, 1], 'SAME').add(p.conv.b.reshape([1, 6, 1, 1]))); // [B,6,4,4]
  h = nn.gelu(lax.convTranspose(h, p.up1.w, [2, 2], 'SAME').add(p.up1.b.reshape([1, 4, 1, 1]))); // [B,4,8,8]
  h = np.tanh(lax.convTranspose(h, p.up2.w, [2, 2], 'VALID', { rhsDilation: [2, 2] })); // [B,3,...]
  const s = lax.convTranspose(np.mean(h.ref, [2]), p.up3.w, [3], 'SAME'); // 1-D: [B,2,L]
  const f = np.concatenate([np.mean(h, [2, 3]), np.mean(s, [2])], 1); // [B,5]
  return np.matmul(f, p.dense.w).add(p.dense.b);
}

// ---- transformer ----------------------------------------------------------------------------------

export const TF = { vocab: 11, seq: 6, dim: 8, heads: 2, hidden: 16 };

type Ln = { g: A; b: A };
type Block = { ln1: Ln; wq: A; wk: A; wv: A; wo: A; ln2: Ln; w1: A; b1: A; w2: A; b2: A };
export type TfParams = { embed: A; pos: A; blocks: Block[]; lnf: Ln; head: { w: A; b: A } };

export function tfParams(seed = 21, layers = 2): TfParams {
  const { vocab, seq, dim, hidden } = TF;
  let s = seed;
  const r = (shape: number[], std: number) => randArray(shape, s++, std);
  const ln = (): Ln => ({ g: np.ones([dim]).add(r([dim], 0.1)), b: r([dim], 0.1) });
  const blocks = Array.from({ length: layers }, () => ({
    ln1: ln(),
    wq: r([dim, dim], 0.35),
    wk: r([dim, dim], 0.35),
    wv: r([dim, dim], 0.35),
    wo: r([dim, dim], 0.35),
    ln2: ln(),
    w1: r([dim, hidden], 0.35),
    b1: r([hidden], 0.1),
    w2: r([hidden, dim], 0.25),
    b2: r([dim], 0.1),
  }));
  return { embed: r([vocab, dim], 1), pos: r([seq, dim], 0.5), blocks, lnf: ln(), head: { w: r([dim, vocab], 0.35), b: r([vocab], 0.1) } };
}

/** LayerNorm over the last axis, written in jnp. */
function layerNorm(x: A, p: Ln): A {
  const mean = np.mean(x.ref, -1, { keepdims: true });
  const xc = x.sub(mean);
  const variance = np.mean(np.square(xc.ref), -1, { keepdims: true });
  return xc.div(np.sqrt(variance.add(1e-5))).mul(p.g).add(p.b);
}

/** Causal mask as a constant the function closes over (becomes an IR constant). */
const causal = (() => {
  const { seq } = TF;
  const m = new Float32Array(seq * seq);
  for (let i = 0; i < seq; i++) for (let j = 0; j < seq; j++) m[i * seq + j] = j > i ? -1e9 : 0;
  return m;
})();

function attention(x: A, b: Block, batch: number): A {
  const { seq, dim, heads } = TF;
  const dh = dim / heads;
  const split = (t: A) => t.reshape([batch, seq, heads, dh]).transpose([0, 2, 1, 3]); // [B,H,T,dh]
  const q = split(np.matmul(x.ref, b.wq));
  const k = split(np.matmul(x.ref, b.wk));
  const v = split(np.matmul(x, b.wv));
  const scores = np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(dh)).add(np.array(causal, { shape: [seq, seq] }));
  const att = nn.softmax(scores, -1);
  const o = np.matmul(att, v).transpose([0, 2, 1, 3]).reshape([batch, seq, dim]);
  return np.matmul(o, b.wo);
}

/** Pre-LN transformer: token embedding by gather, learned positions, attention + GELU MLP blocks. */
export function tfApply(p: TfParams, ids: A): A {
  const batch = ids.shape[0]!;
  let x = np.take(p.embed, ids, 0).add(p.pos);
  for (const b of p.blocks) {
    x = x.ref.add(attention(layerNorm(x, b.ln1), b, batch));
    const h = nn.gelu(np.matmul(layerNorm(x.ref, b.ln2), b.w1).add(b.b1));
    x = x.add(np.matmul(h, b.w2).add(b.b2));
  }
  return np.matmul(layerNorm(x, p.lnf), p.head.w).add(p.head.b);
}

// ---- loss -----------------------------------------------------------------------------------------

/** Mean softmax cross-entropy over all rows of `logits` [..., C], written in jax-js. */
export function crossEntropy(logits: A, labels: A): A {
  const c = logits.shape.at(-1)!;
  const rows = logits.size / c;
  const logp = nn.logSoftmax(logits, -1);
  return logp.mul(nn.oneHot(labels, c)).sum().mul(-1 / rows);
}
