/**
 * Backend switching (PockEngine §3.4): several implementations of an op may be available (the
 * reference JS kernels, the WASM-SIMD ones, ...). For each op instance of a program the fastest
 * for its actual shapes and attributes is picked by measuring, once, at bind time, and the
 * choice is cached by (op, attrs, shapes). Candidates are timed on random float and bool operands
 * and zero integer ones (a valid label or index for every op).
 */
import { isFloat, randn, type KernelSpec, type TypeInfo } from '@pockengine/core';
import type { CpuKernel, CpuKernelTable } from './kernel-table.js';
import { cpuAlloc, type CpuTensor } from './tensor.js';

export interface KernelImpl {
  name: string;
  kernels: Partial<CpuKernelTable>;
}

export interface KernelChoice {
  node: string;
  op: string;
  impl: string;
  /** Median ms per call of each candidate, when they were measured. */
  timesMs?: Record<string, number>;
}

const cache = new Map<string, { impl: string; timesMs: Record<string, number> }>();

function key(spec: KernelSpec): string {
  return `${spec.op}|${JSON.stringify(spec.attrs)}|${spec.inputs.map((t) => `${t.dtype}[${t.shape}]`).join(';')}`;
}

/**
 * Median wall time of `run`: a first (warm-up) call, then calls until ~30 ms or 5 calls. A
 * candidate whose first call is already 4x slower than the best so far is not timed further.
 */
function time(run: () => void, best: number): number {
  const t = performance.now();
  run();
  const first = performance.now() - t;
  if (first > 4 * best) return first;
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 && (times.length < 2 || performance.now() - start < 30)) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

/**
 * The implementation to use for `spec`, measuring the candidates if there is a choice. `alloc` /
 * `release`: where the timing operands live (as the program's will, e.g. in the kernels' heap).
 */
export function chooseKernel(
  spec: KernelSpec,
  impls: readonly KernelImpl[],
  alloc: (t: TypeInfo) => CpuTensor = (t) => cpuAlloc(t.dtype, t.shape),
  release: (t: CpuTensor) => void = () => {},
): { kernel: CpuKernel<unknown>; choice: KernelChoice } | undefined {
  const cands = impls.filter((i) => i.kernels[spec.op] !== undefined);
  if (cands.length === 0) return undefined;
  const pick = (name: string, timesMs?: Record<string, number>) => ({
    kernel: cands.find((c) => c.name === name)!.kernels[spec.op] as CpuKernel<unknown>,
    choice: { node: spec.node, op: spec.op, impl: name, timesMs },
  });
  const distinct = new Set(cands.map((c) => c.kernels[spec.op]));
  if (distinct.size === 1) return pick(cands[0]!.name);
  const k = key(spec);
  const cached = cache.get(k);
  if (cached) return pick(cached.impl, cached.timesMs);
  const inputs = spec.inputs.map((t, i) => {
    const buf = alloc(t);
    // bool operands (masks) take random bytes; integer ones (labels, indices) zeros, valid for any op
    if (t.dtype === 'bool') buf.data.set(Array.from(randn(t.shape, 17 + i, 1, 'float32').data as Float32Array, (v) => +(v > 0)));
    else if (isFloat(t.dtype)) buf.data.set(randn(t.shape, 17 + i, 1, t.dtype).data as Float32Array);
    else buf.data.fill(0);
    return buf;
  });
  const outputs: CpuTensor[] = spec.outputs.map((t) => alloc(t));
  const timesMs: Record<string, number> = {};
  let best = Infinity;
  // specialised implementations are listed last: time them first so slow ones are cut short
  for (const c of [...cands].reverse()) {
    const kern = c.kernels[spec.op] as CpuKernel<unknown>;
    try {
      timesMs[c.name] = time(() => kern(inputs, outputs, spec.attrs), best);
      best = Math.min(best, timesMs[c.name]!);
    } catch {
      timesMs[c.name] = Infinity; // cannot run this instance: never chosen
    }
  }
  for (const t of [...inputs, ...outputs]) release(t);
  const fastest = Object.entries(timesMs).sort((a, b) => a[1] - b[1])[0]![0];
  cache.set(k, { impl: fastest, timesMs });
  return pick(fastest, timesMs);
}
