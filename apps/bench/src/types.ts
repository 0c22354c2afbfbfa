/** What a run is asked to do and what it reports (one JSON line from each child process). */
import type { MemoryCategory, SparseScheme } from '@pockengine/core';
import type { Config, ModelName, ModelOptions } from './models.js';

export const FRAMEWORKS = ['ours', 'ours-native', 'tfjs-cpu', 'tfjs-wasm', 'jax-js', 'torch'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
/**
 * Our engine: `ours` with its own kernels (reference JS + WASM SIMD, as in a browser);
 * `ours-native` the same engine in Node with onnxruntime-node's MLAS matmul borrowed as a backend
 * switching candidate (chosen per op instance where measured faster).
 */
export const OURS: readonly Framework[] = ['ours', 'ours-native'];

export interface RunSpec {
  framework: Framework;
  model: ModelName;
  config: Config;
  /** Untimed steps before the timed ones (TF.js: the profiled step that measures memory). */
  warmup: number;
  steps: number;
  lr: number;
  options: ModelOptions;
  /** budget config: the budget in bytes (default: defaultBudget in peers/budget.ts). */
  budgetBytes?: number;
  /** budget config for peers: the parameters our searched scheme touches (else searched again). */
  trainableNames?: string[];
}

export type RunStatus = 'ok' | 'cannot-train' | 'timeout' | 'error' | 'skipped';

export interface Hotspot {
  /** Op (ours) or kernel (TF.js) name. */
  name: string;
  ms: number;
  count: number;
}

export interface RunResult {
  framework: Framework;
  model: ModelName;
  config: Config;
  status: RunStatus;
  note?: string;
  /** Runtime detail: fast-kernel engine and threads, TF.js backend flags, jax-js device. */
  engine?: string;
  stepMs?: number[];
  medianMs?: number;
  minMs?: number;
  losses?: number[];
  /** The figure compared across frameworks: tensor bytes at the peak of a step (weights and inputs included). */
  peakBytes?: number;
  /** ours: the static plan's peak and what it holds at the peak step. */
  plannedPeakBytes?: number;
  plannedBreakdown?: Record<MemoryCategory, number>;
  /** ours: what the backend really allocated at its peak (backend.peakBytes()). */
  measuredPeakBytes?: number;
  /** ours: the fast kernels' scratch heap (WASM memory, outside the plan). */
  kernelHeapBytes?: number;
  /** TF.js: tensor bytes held before a step (variables, constants, the batch). */
  persistentBytes?: number;
  /** Process peak resident set (process.resourceUsage().maxRSS), and RSS before the model was loaded. */
  rssPeakBytes?: number;
  rssBaseBytes?: number;
  trainedTensors?: number;
  trainedParams?: number;
  budgetBytes?: number;
  budgetPass?: boolean;
  setupMs?: number;
  searchMs?: number;
  /** Where a step's time goes (one profiled step), largest first. */
  hotspots?: Hotspot[];
  missingKernels?: string[];
  /** budget config (ours): the searched scheme's touched parameters, handed to the peers. */
  trainableNames?: string[];
  scheme?: SparseScheme;
  wallMs?: number;
}

export const RESULT_PREFIX = 'BENCH_RESULT ';
