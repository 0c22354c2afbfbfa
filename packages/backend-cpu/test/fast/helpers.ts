/**
 * Shared pieces of the fast-kernel conformance tests: the engines under test (pure JS, WASM SIMD
 * on one thread, WASM SIMD on a worker pool forced to split even tiny problems), random float32
 * tensors, and a float32 tolerance check against the reference kernels.
 */
import { rng, size, type DType } from '@pockengine/core';
import { expect } from 'vitest';
import { JsEngine, createThreadedEngine, createWasmEngine, relaxedSimdSupported, wasmSimdSupported, wasmThreadsSupported, type Engine } from '../../src/fast/index.js';
import type { CpuTensor } from '../../src/tensor.js';

export interface EngineCase {
  name: string;
  engine: Engine;
}

/**
 * Every engine this runtime supports: pure JS, WASM SIMD with the mul + add GEMM, with the relaxed
 * SIMD multiply-add GEMM (turned on in Node as initFastKernels does), and threaded (relaxed madd
 * where supported) splitting any problem (thresholds of 1).
 */
export async function engines(): Promise<EngineCase[]> {
  const out: EngineCase[] = [{ name: 'js', engine: new JsEngine() }];
  if (!relaxedSimdSupported()) (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd');
  if (wasmSimdSupported()) out.push({ name: 'wasm-simd', engine: createWasmEngine(false) });
  if (wasmSimdSupported() && relaxedSimdSupported()) out.push({ name: 'wasm-simd-madd', engine: createWasmEngine(true) });
  if (wasmSimdSupported() && wasmThreadsSupported())
    out.push({ name: 'wasm-simd-threads', engine: await createThreadedEngine(3, { split: { minMacsPerThread: 1, minElementsPerThread: 1 } }) });
  return out;
}

export function disposeAll(cases: readonly EngineCase[]): void {
  for (const c of cases) (c.engine as { dispose?: () => void }).dispose?.();
}

/** Uniform values in [-1, 1) as a CPU tensor. */
export function rand(shape: readonly number[], seed: number, dtype: DType = 'float32'): CpuTensor {
  const r = rng(seed);
  const n = size(shape);
  const data = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = 2 * r() - 1;
  return { dtype, shape: [...shape], data };
}

export function empty(shape: readonly number[], dtype: DType = 'float32'): CpuTensor {
  const n = size(shape);
  return { dtype, shape: [...shape], data: dtype === 'float64' ? new Float64Array(n) : new Float32Array(n) };
}

/**
 * Float32 tolerance: each output is a sum of `terms` products of values in [-1, 1], accumulated
 * in float32 in an order that differs from the reference, so errors grow like terms * 2^-24 in
 * the worst case; 4x that bound on top of a small relative term.
 */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, terms: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  const tol = 4 * Math.max(1, terms) * 2 ** -24 + 1e-6;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!));
    const err = Number.isNaN(e) ? Infinity : e;
    if (err > worst) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: worst relative error at ${at} (got ${got[at]}, want ${want[at]})`).toBeLessThanOrEqual(tol);
}
