/**
 * Batch and layer normalization kernels and their backward kernels. Statistics use two passes
 * (mean, then the sum of squared deviations) for accuracy; variances are biased (divide by n),
 * as ONNX and PyTorch use for normalization. Formulas are documented on the ops in core/ops/norm.ts.
 */
import { batchNormDims, layerNormDims, type BatchNormAttrs } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';
import type { CpuData, CpuTensor } from '../tensor.js';

type Dims = ReturnType<typeof batchNormDims>;

/** Calls fn(i) for every flat index i of channel c of an [outer, channels, inner] tensor. */
function eachInChannel(d: Dims, c: number, fn: (i: number) => void): void {
  for (let o = 0; o < d.outer; o++) {
    const base = (o * d.channels + c) * d.inner;
    for (let s = 0; s < d.inner; s++) fn(base + s);
  }
}

/** Mean and biased variance of channel c. */
function channelStats(x: CpuData, d: Dims, c: number): [number, number] {
  const n = d.outer * d.inner;
  let sum = 0;
  eachInChannel(d, c, (i) => (sum += x[i]!));
  const mean = sum / n;
  let sq = 0;
  eachInChannel(d, c, (i) => (sq += (x[i]! - mean) ** 2));
  return [mean, sq / n];
}

function batchNorm(inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: BatchNormAttrs): void {
  const [x, scale, bias, runMean, runVar] = inputs.map((t) => t.data) as [CpuData, CpuData, CpuData, CpuData, CpuData];
  const y = outputs[0]!.data;
  const d = batchNormDims(inputs[0]!.shape);
  for (let c = 0; c < d.channels; c++) {
    const [mean, variance] = a.training ? channelStats(x, d, c) : [runMean[c]!, runVar[c]!];
    if (a.training) {
      outputs[1]!.data[c] = mean;
      outputs[2]!.data[c] = variance;
    }
    const k = scale[c]! / Math.sqrt(variance + a.epsilon);
    const shift = bias[c]! - mean * k;
    const hi = a.activation === 'relu6' ? 6 : Infinity;
    for (let o = 0; o < d.outer; o++) {
      const base = (o * d.channels + c) * d.inner;
      if (!a.activation) for (let i = base; i < base + d.inner; i++) y[i] = x[i]! * k + shift;
      else
        for (let i = base; i < base + d.inner; i++) {
          const v = x[i]! * k + shift; // fused relu / relu6 (NaN passes, as clip)
          y[i] = v < 0 ? 0 : v > hi ? hi : v;
        }
    }
  }
}

function batchNormGrad(inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: BatchNormAttrs): void {
  const [x, scale, mean, variance, dy] = inputs.map((t) => t.data) as [CpuData, CpuData, CpuData, CpuData, CpuData];
  const [dx, dscale, dbias] = outputs.map((t) => t.data) as [CpuData, CpuData, CpuData];
  const d = batchNormDims(inputs[0]!.shape);
  const n = d.outer * d.inner;
  for (let c = 0; c < d.channels; c++) {
    const mu = mean[c]!;
    const invStd = 1 / Math.sqrt(variance[c]! + a.epsilon);
    // plain nested loops (no per-element callback): this kernel is on the hot path of training
    let sumDy = 0;
    let sumDyX = 0;
    for (let o = 0; o < d.outer; o++) {
      const base = (o * d.channels + c) * d.inner;
      for (let i = base; i < base + d.inner; i++) {
        sumDy += dy[i]!;
        sumDyX += dy[i]! * x[i]!;
      }
    }
    // sum(dy * xhat) = invStd * (sum(dy * x) - mu * sum(dy))
    const sumDyXhat = (sumDyX - mu * sumDy) * invStd;
    dbias[c] = sumDy;
    dscale[c] = sumDyXhat;
    const k = scale[c]! * invStd;
    // training: the batch statistics depend on x, so subtract the mean of dy and its projection on xhat
    const mDy = a.training ? sumDy / n : 0;
    const q = a.training ? (invStd * sumDyXhat) / n : 0;
    for (let o = 0; o < d.outer; o++) {
      const base = (o * d.channels + c) * d.inner;
      for (let i = base; i < base + d.inner; i++) dx[i] = k * (dy[i]! - mDy - (x[i]! - mu) * q);
    }
  }
}

function layerNorm(inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: { axis: number; epsilon: number }): void {
  const x = inputs[0]!.data;
  const scale = inputs[1]!.data;
  const bias = inputs[2]?.data;
  const [y, mean, invStd] = outputs.map((t) => t.data) as [CpuData, CpuData, CpuData];
  const { rows, d } = layerNormDims(inputs[0]!.shape, a.axis);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    let sum = 0;
    for (let j = 0; j < d; j++) sum += x[base + j]!;
    const mu = sum / d;
    let sq = 0;
    for (let j = 0; j < d; j++) sq += (x[base + j]! - mu) ** 2;
    const inv = 1 / Math.sqrt(sq / d + a.epsilon);
    mean[r] = mu;
    invStd[r] = inv;
    for (let j = 0; j < d; j++) y[base + j] = (x[base + j]! - mu) * inv * scale[j]! + (bias ? bias[j]! : 0);
  }
}

function layerNormGrad(inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], a: { axis: number }): void {
  const [x, scale, mean, invStd, dy] = inputs.map((t) => t.data) as [CpuData, CpuData, CpuData, CpuData, CpuData];
  const [dx, dscale, dbias] = outputs.map((t) => t.data) as [CpuData, CpuData, CpuData];
  const { rows, d } = layerNormDims(inputs[0]!.shape, a.axis);
  dscale.fill(0);
  dbias.fill(0);
  for (let r = 0; r < rows; r++) {
    const base = r * d;
    const mu = mean[r]!;
    const inv = invStd[r]!;
    // g = dy * scale; dx = inv * (g - mean(g) - xhat * mean(g * xhat))
    let sumG = 0;
    let sumGXhat = 0;
    for (let j = 0; j < d; j++) {
      const g = dy[base + j]! * scale[j]!;
      sumG += g;
      sumGXhat += g * (x[base + j]! - mu) * inv;
    }
    for (let j = 0; j < d; j++) {
      const i = base + j;
      const xhat = (x[i]! - mu) * inv;
      dx[i] = inv * (dy[i]! * scale[j]! - sumG / d - xhat * (sumGXhat / d));
      dscale[j] += dy[i]! * xhat;
      dbias[j] += dy[i]!;
    }
  }
}

export const normKernels = {
  batch_norm: batchNorm,
  batch_norm_grad: batchNormGrad,
  layer_norm: layerNorm,
  layer_norm_grad: layerNormGrad,
} satisfies Partial<CpuKernelTable>;
