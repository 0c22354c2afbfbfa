/**
 * Fast float32 softmax cross-entropy, its gradient and softmax over the last axis, on the row
 * kernels of wasm-softmax.ts: the engine computes each row's max and float64 sum of exp(x - max)
 * (and the scaled softmax rows of the gradient); labels stay on the JS side, which validates
 * them, reduces the loss and applies the label terms, in the reference kernels' arithmetic.
 * Invalid labels (and empty problems) go to the reference kernel, which reports them.
 */
import type { AttrsOf } from '@pockengine/core';
import type { CpuTensor } from '../tensor.js';
import { load, place, store, type Engine, type VectorOps } from './engine.js';

type Attrs = AttrsOf<'softmax_cross_entropy'>;

/** The contributing rows' count, or -1 when a label is invalid (the reference kernel then throws). */
function countLabels(labels: ArrayLike<number>, classes: number, attrs: Attrs): number {
  let count = 0;
  for (let k = 0; k < labels.length; k++) {
    const v = labels[k]!;
    if (attrs.ignoreIndex !== null && v === attrs.ignoreIndex) continue;
    if (!(v >= 0 && v < classes && Number.isInteger(v))) return -1;
    count++;
  }
  return count;
}

/** [rows, classes] of logits, or null when the fast kernels do not apply (empty, invalid labels). */
export function crossEntropyRows(logits: CpuTensor, labels: CpuTensor, attrs: Attrs): { rows: number; classes: number; count: number } | null {
  const classes = logits.shape[logits.shape.length - 1] ?? 0;
  const rows = labels.data.length;
  if (classes === 0 || rows === 0 || rows * classes !== logits.data.length) return null;
  const count = countLabels(labels.data, classes, attrs);
  return count < 0 ? null : { rows, classes, count };
}

/**
 * Row maxima and sums of exp(x - max) of logits at xp: the stats' float offset and a float64
 * view [max, sum] per row (valid until the next alloc).
 */
function rowStats(e: Engine, v: VectorOps, xp: number, rows: number, classes: number): [number, Float64Array] {
  const p = e.alloc(4 * rows);
  v.rowStats(xp, classes, p, rows);
  const h = e.heap();
  return [p, new Float64Array(h.buffer, h.byteOffset + 4 * p, 2 * rows)];
}

/** The scalar loss: sum (or mean) over contributing rows of lse - x[label]. */
export function crossEntropyForward(e: Engine, v: VectorOps, logits: CpuTensor, labels: CpuTensor, out: CpuTensor, attrs: Attrs, rows: number, classes: number, count: number): void {
  e.reset();
  const xp = load(e, logits);
  const [, stats] = rowStats(e, v, xp, rows, classes);
  const x = logits.data;
  const l = labels.data;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const label = l[r]!;
    if (attrs.ignoreIndex !== null && label === attrs.ignoreIndex) continue;
    total += stats[2 * r]! + Math.log(stats[2 * r + 1]!) - x[r * classes + label]!;
  }
  out.data[0] = attrs.reduction === 'mean' ? total / count : total;
}

/** dlogits = (softmax(logits) - onehot(label)) * s per contributing row, 0 on ignored rows. */
export function crossEntropyGrad(
  e: Engine, v: VectorOps, logits: CpuTensor, labels: CpuTensor, dloss: CpuTensor, dlogits: CpuTensor, attrs: Attrs,
  rows: number, classes: number, count: number,
): void {
  e.reset();
  const xp = load(e, logits);
  const [sp, stats] = rowStats(e, v, xp, rows, classes);
  const s = attrs.reduction === 'mean' ? dloss.data[0]! / count : dloss.data[0]!;
  // row r: [lse, s]
  for (let r = 0; r < rows; r++) {
    stats[2 * r] = stats[2 * r]! + Math.log(stats[2 * r + 1]!);
    stats[2 * r + 1] = s;
  }
  const dxp = place(e, dlogits);
  v.rowSoftmax(xp, dxp, classes, sp, rows);
  const h = e.heap();
  const l = labels.data;
  for (let r = 0; r < rows; r++) {
    const label = l[r]!;
    const base = dxp + r * classes;
    if (attrs.ignoreIndex !== null && label === attrs.ignoreIndex) h.fill(0, base, base + classes);
    else h[base + label] = h[base + label]! - s;
  }
  store(e, dxp, dlogits);
}

/** softmax over the last axis: exp(x - max) * (1 / sum) per row. */
export function softmaxLastAxis(e: Engine, v: VectorOps, x: CpuTensor, out: CpuTensor): void {
  const classes = x.shape[x.shape.length - 1]!;
  const rows = x.data.length / classes;
  e.reset();
  const xp = load(e, x);
  const [sp, stats] = rowStats(e, v, xp, rows, classes);
  for (let r = 0; r < rows; r++) stats[2 * r + 1] = 1 / stats[2 * r + 1]!;
  const outp = place(e, out);
  v.rowSoftmax(xp, outp, classes, sp, rows);
  store(e, outp, out);
}
