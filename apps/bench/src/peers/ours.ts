/**
 * PockEngine: compile the training program (forward + loss + backward + SGD) once, bind it to
 * the CPU backend (fast WASM kernels over the reference ones when the backend exports them) and
 * time `program.step`. Memory: the static plan's peak, the backend's measured peak, the fast
 * kernels' scratch heap, and the process RSS.
 */
import * as cpu from '@pockengine/backend-cpu';
import { Program, compileTrainingGraph, type Backend, type BoundKernel, type KernelSpec, type SparseScheme } from '@pockengine/core';
import { Hotspots, peakRss, progress, stepStats, timeSteps } from '../measure.js';
import { fixedScheme, loadModel, syntheticBatch, trainableOf } from '../models.js';
import type { RunResult, RunSpec } from '../types.js';
import { LOSS, searchBudget } from './budget.js';

type CpuKernels = Partial<cpu.CpuKernelTable>;

/** The kernel table: reference kernels, overridden by FAST_KERNELS when this build has them. */
export async function ourKernels(): Promise<{ kernels: CpuKernels; engine: string }> {
  const mod = cpu as Record<string, unknown>;
  const fast = mod.FAST_KERNELS as CpuKernels | undefined;
  if (!fast) return { kernels: cpu.CPU_KERNELS, engine: 'reference kernels' };
  const init = mod.initFastKernels as (() => Promise<{ engine: string; threads: number; singleThreadReason?: string }>) | undefined;
  const info = init ? await init() : undefined;
  return { kernels: { ...cpu.CPU_KERNELS, ...fast }, engine: info ? `fast kernels: ${info.engine} x${info.threads}${info.singleThreadReason ? ` (${info.singleThreadReason})` : ''}` : 'fast kernels' };
}

/** Where the program's buffers live: in the fast kernels' heap when it is shared (zero-copy operands). */
function programHeap(): cpu.HeapAllocator | undefined {
  const f = (cpu as Record<string, unknown>).fastHeap as (() => cpu.HeapAllocator | undefined) | undefined;
  return f?.();
}

/** The fast kernels' scratch: their heap, less the program buffers placed in it. */
function kernelHeapBytes(): number | undefined {
  const engine = (cpu as Record<string, unknown>).fastEngine as (() => { heap(): Float32Array }) | undefined;
  try {
    const bytes = engine?.().heap().byteLength;
    return bytes === undefined ? undefined : bytes - (programHeap()?.extent() ?? 0);
  } catch {
    return undefined;
  }
}

/** Our kernels (one table), plus borrowed ones as backend switching candidates (chosen per op instance by measuring). */
async function ourBackendKernels(kernels: CpuKernels, engine: string, borrow: readonly 'onnxruntime'[]): Promise<{ impls: CpuKernels | cpu.KernelImpl[]; engine: string }> {
  if (!borrow.length) return { impls: kernels, engine };
  const { ortKernels } = await import('@pockengine/cli');
  const ort = await ortKernels();
  return { impls: [{ name: 'ours', kernels }, ort.impl], engine: `${engine} + ${ort.engine} matmul by switching` };
}

/** Delegates to a backend; while `profiling`, times every bound kernel by op name. */
class TimedBackend<B> implements Backend<B> {
  profiling = false;
  readonly hot = new Hotspots();
  constructor(private readonly be: Backend<B>) {}
  get name() { return this.be.name; }
  get arenaAlignment() { return this.be.arenaAlignment; }
  prepare(spec: KernelSpec): BoundKernel<B> | undefined {
    const k = this.be.prepare(spec);
    if (!k) return k;
    return (inputs, outputs) => {
      if (!this.profiling) return k(inputs, outputs);
      const t0 = performance.now();
      k(inputs, outputs);
      this.hot.add(spec.op, performance.now() - t0);
    };
  }
  alloc: Backend<B>['alloc'] = (t) => this.be.alloc(t);
  allocArena: Backend<B>['allocArena'] = (n) => this.be.allocArena(n);
  view: Backend<B>['view'] = (a, o, t) => this.be.view(a, o, t);
  free: Backend<B>['free'] = (b) => this.be.free(b);
  write: Backend<B>['write'] = (b, d) => this.be.write(b, d);
  copy: Backend<B>['copy'] = (s, d) => this.be.copy(s, d);
  read: Backend<B>['read'] = (b) => this.be.read(b);
  allocatedBytes = () => this.be.allocatedBytes();
  peakBytes = () => this.be.peakBytes();
  resetPeak = () => this.be.resetPeak();
}

export async function runOurs(spec: RunSpec, borrow: readonly 'onnxruntime'[] = []): Promise<RunResult> {
  const rssBaseBytes = peakRss();
  const t0 = performance.now();
  const own = await ourKernels();
  const kernels = own.kernels;
  const { impls, engine } = await ourBackendKernels(kernels, own.engine, borrow);
  const g = loadModel(spec.model, spec.options);
  const feeds = syntheticBatch(g);
  const optimizer = { kind: 'sgd' as const, lr: spec.lr };
  const base: RunResult = { framework: spec.framework, model: spec.model, config: spec.config, status: 'ok', engine };
  let scheme: SparseScheme | undefined;
  if (spec.config === 'budget') {
    progress('searching the budgeted scheme ...');
    const s = await searchBudget(g, feeds, optimizer, new cpu.CpuBackend(kernels), spec.budgetBytes);
    scheme = s.result.scheme;
    Object.assign(base, { budgetBytes: s.budgetBytes, searchMs: s.searchMs, scheme });
    progress(`search: ${s.result.compiled} candidates in ${(s.searchMs / 1000).toFixed(1)} s, planned ${s.result.peakBytes} <= ${s.budgetBytes}`);
  } else scheme = fixedScheme(g, spec.config);
  const trainable = trainableOf(g, scheme);
  const { graph } = compileTrainingGraph(g, { loss: LOSS, optimizer, scheme });
  const cpuBackend = new cpu.CpuBackend(impls, { heap: programHeap() });
  const backend = new TimedBackend(cpuBackend);
  const program = Program.create(graph, backend);
  const setupMs = performance.now() - t0;
  progress(`compiled in ${setupMs.toFixed(0)} ms; planned peak ${program.plan.memory.peakBytes} bytes`);

  const { stepMs, losses } = await timeSteps(async () => Number((await program.step(feeds)).loss!.data[0]), spec.warmup, spec.steps);
  backend.profiling = true;
  await program.step(feeds);
  backend.profiling = false;

  const measured = backend.peakBytes();
  const borrowed = borrow.length ? cpuBackend.choices.filter((c) => c.impl !== 'ours') : [];
  const switched = borrow.length ? `switching: ${borrowed.length} of ${cpuBackend.choices.filter((c) => c.timesMs).length} measured op instances run borrowed kernels` : undefined;
  const memory = program.plan.memory;
  return {
    ...base,
    ...stepStats(stepMs),
    stepMs,
    losses,
    peakBytes: measured,
    plannedPeakBytes: memory.peakBytes,
    plannedBreakdown: memory.breakdown,
    measuredPeakBytes: measured,
    kernelHeapBytes: kernelHeapBytes(),
    rssPeakBytes: peakRss(),
    rssBaseBytes,
    trainedTensors: trainable.names.length,
    trainedParams: trainable.params,
    budgetPass: base.budgetBytes === undefined ? undefined : measured <= base.budgetBytes,
    setupMs,
    hotspots: backend.hot.top(),
    trainableNames: spec.config === 'budget' ? trainable.names : undefined,
    note: [trainable.partial.length ? `${trainable.partial.length} tensors updated on some channels only` : undefined, switched].filter(Boolean).join('; ') || undefined,
  };
}
