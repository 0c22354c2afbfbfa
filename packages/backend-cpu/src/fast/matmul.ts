/**
 * Fast float32 batched matmul on an Engine: one GEMM per broadcast batch index, transposes as
 * strides (torch.matmul semantics, shapes from core's matmulDims). When B has no batch axes and A
 * is not transposed, A's batch folds into the rows of a single GEMM (a linear layer on [B, T, D]).
 */
import { matmulDims, size, type MatmulAttrs } from '@pockengine/core';
import { broadcastView, forEachRow } from '../kernels/broadcast.js';
import type { CpuTensor } from '../tensor.js';
import { load, loadInto, place, store, type Engine } from './engine.js';
import { GEMM_ACCUMULATE, GEMM_SCALE } from './wasm-gemm.js';

/** For each index of the broadcast batch shape, which matrix of an operand with batch shape `from` it reads. */
function batchIndex(from: readonly number[], batch: readonly number[]): Int32Array {
  const idx = new Int32Array(size(batch));
  forEachRow(batch, [broadcastView(from, batch)], (t, [f], len, [s]) => {
    for (let j = 0; j < len; j++) idx[t + j] = f! + j * s!;
  });
  return idx;
}

export function matmulForward(e: Engine, a: CpuTensor, b: CpuTensor, out: CpuTensor, attrs: MatmulAttrs): void {
  const { m, k, n, batch } = matmulDims(a.shape, b.shape, attrs);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const count = size(batch);
  e.reset();
  const ap = load(e, a);
  const bp = load(e, b);
  const cp = place(e, out);
  const rsA = attrs.transA ? 1 : k;
  const csA = attrs.transA ? m : 1;
  const rsB = attrs.transB ? 1 : n;
  const csB = attrs.transB ? k : 1;
  if (size(bBatch) === 1 && !attrs.transA && size(aBatch) === count) {
    e.gemm({ m: count * m, n, k, a: ap, rsA, csA, b: bp, rsB, csB, c: cp, ldc: n, flags: 0, bias: 0 });
  } else {
    const aIdx = batchIndex(aBatch, batch);
    const bIdx = batchIndex(bBatch, batch);
    const step = (idx: Int32Array) => (count > 1 ? idx[1]! - idx[0]! : 0);
    const affine = (idx: Int32Array) => idx.every((v, t) => v === idx[0]! + t * step(idx));
    const one = (t: number) => ({ m, n, k, a: ap + aIdx[t]! * m * k, rsA, csA, b: bp + bIdx[t]! * k * n, rsB, csB, c: cp + t * m * n, ldc: n, flags: 0, bias: 0 });
    // matrices at a fixed stride (attention's [B, H, T, D] products, or one operand broadcast):
    // one batched GEMM, one parallel job
    if (affine(aIdx) && affine(bIdx)) e.gemm({ ...one(0), batch: { count, strideA: step(aIdx) * m * k, strideB: step(bIdx) * k * n, strideC: m * n } });
    else for (let t = 0; t < count; t++) e.gemm(one(t));
  }
  store(e, cp, out);
}

/**
 * matmul_sgd_update: param - lr * op(a) op(b) as one GEMM accumulating alpha = -lr times the
 * product straight into the parameter (in place when the plan aliases the output to it), so the
 * weight gradient is never stored. 2-D operands (core checks).
 */
export function matmulSgdUpdate(e: Engine, p: CpuTensor, a: CpuTensor, b: CpuTensor, lr: CpuTensor, out: CpuTensor, attrs: MatmulAttrs): void {
  const { m, k, n } = matmulDims(a.shape, b.shape, attrs);
  e.reset();
  const ap = load(e, a);
  const bp = load(e, b);
  const cp = loadInto(e, p, out);
  e.gemm({
    m, n, k,
    a: ap, rsA: attrs.transA ? 1 : k, csA: attrs.transA ? m : 1,
    b: bp, rsB: attrs.transB ? 1 : n, csB: attrs.transB ? k : 1,
    c: cp, ldc: n,
    flags: GEMM_ACCUMULATE | GEMM_SCALE, bias: 0, alpha: -Number(lr.data[0]),
  });
  store(e, cp, out);
}
