/**
 * Picks and holds the engine the fast kernels run on. Without any setup the first kernel call
 * compiles the WASM module synchronously (fine in Node and in workers; browsers may refuse large
 * synchronous compiles on the main thread, in which case the JS engine is used) and runs single
 * threaded. `initFastKernels()` compiles asynchronously and can start a worker pool over shared
 * memory; await it once before running a program to get threads.
 */
import type { HeapAllocator } from '../tensor.js';
import type { Engine } from './engine.js';
import { JsEngine } from './js-engine.js';
import { DEFAULT_SPIN_MS, ThreadPool, browserSpawner, type PoolOptions, type SpawnWorker } from './thread-pool.js';
import { KERNEL_EXPORTS, MAX_PAGES, SHARED_MAX_PAGES, WasmEngine, kernelModuleBytes, type SplitTuning } from './wasm-engine.js';
import { ModuleBuilder, V128, type Local } from './wasm-builder.js';

const INITIAL_PAGES = 64;

/** True when this runtime validates the kernel module (fixed-width SIMD and bulk memory). */
export function wasmSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(kernelModuleBytes(false));
  } catch {
    return false;
  }
}

/** True when shared WebAssembly memory works here (threads proposal, SharedArrayBuffer, cross-origin isolation). */
export function wasmThreadsSupported(): boolean {
  try {
    if (typeof SharedArrayBuffer !== 'function') return false;
    const g = globalThis as { crossOriginIsolated?: boolean };
    if (g.crossOriginIsolated === false) return false;
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return WebAssembly.validate(kernelModuleBytes(true));
  } catch {
    return false;
  }
}

/**
 * True when relaxed SIMD's f32x4.relaxed_madd validates here (Chrome 114+, Node 20 with
 * --experimental-wasm-relaxed-simd, which initFastKernels turns on in Node).
 */
export function relaxedSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(maddProbe());
  } catch {
    return false;
  }
}

let probe: Uint8Array<ArrayBuffer> | undefined;
function maddProbe(): Uint8Array<ArrayBuffer> {
  if (!probe) {
    const mod = new ModuleBuilder({ shared: false, initial: 1, maximum: 1 });
    const f = mod.fn('madd', [V128, V128, V128], [V128]);
    const [a, b, c] = f.params as [Local, Local, Local];
    f.emit(f.vmadd(a, b, c));
    probe = mod.build();
  }
  return probe;
}

/** A single-threaded WASM engine compiled synchronously (GEMM on relaxed madd where supported). */
export function createWasmEngine(madd = relaxedSimdSupported()): WasmEngine {
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES });
  const module = new WebAssembly.Module(kernelModuleBytes(false, madd));
  return new WasmEngine(memory, new WebAssembly.Instance(module, { env: { memory } }), null, undefined, madd);
}

/** Options of createThreadedEngine beyond the thread count. */
export interface ThreadedEngineOptions extends PoolOptions {
  /** Worker factory; default: node:worker_threads in Node, Web Workers (blob URLs) elsewhere. */
  spawn?: SpawnWorker;
  /** When a primitive is split across threads (tests use tiny thresholds to exercise the split paths). */
  split?: SplitTuning;
  /** GEMM on relaxed SIMD multiply-add (default: where the runtime has it). */
  madd?: boolean;
}

/** A WASM engine on shared memory with `threads` threads (the caller plus threads - 1 workers). */
export async function createThreadedEngine(threads: number, opts: ThreadedEngineOptions = {}): Promise<WasmEngine> {
  const { spawn, split, madd = relaxedSimdSupported(), ...pool } = opts;
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: SHARED_MAX_PAGES, shared: true });
  const module = await WebAssembly.compile(kernelModuleBytes(true, madd));
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const spawner = spawn ?? (isNode() ? await (await import('./worker-node.js')).nodeSpawner() : browserSpawner);
  const local = instance.exports as unknown as Record<string, (...args: number[]) => void>;
  return new WasmEngine(memory, instance, await ThreadPool.create(threads, spawner, module, memory, KERNEL_EXPORTS, local, pool), split, madd);
}

/** POCKENGINE_SPIN_MS in Node's environment (the default spin of initFastKernels), else the default. */
function envSpinMs(): number {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.POCKENGINE_SPIN_MS;
  const ms = v === undefined || v === '' ? NaN : Number(v);
  return Number.isFinite(ms) && ms >= 0 ? ms : DEFAULT_SPIN_MS;
}

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

async function defaultThreads(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  if (isNode()) return ((await nodeImport('node:os')) as typeof import('node:os')).availableParallelism();
  return 1;
}

let current: Engine | null = null;
let currentPool: WasmEngine | null = null;

/** The engine the fast kernels use now (created on first use: WASM SIMD if supported, else JS). */
export function fastEngine(): Engine {
  if (!current) {
    try {
      current = wasmSimdSupported() ? createWasmEngine() : new JsEngine();
    } catch {
      current = new JsEngine();
    }
  }
  return current;
}

/**
 * Memory for a CpuBackend inside the fast kernels' heap (`new CpuBackend(impls, { heap: fastHeap() })`),
 * so kernels use its buffers in place instead of copying operands in and out. Undefined where
 * the engine's memory is not shared (no threads; then buffers stay ordinary ArrayBuffers).
 * Tensors placed here belong to this engine: after initFastKernels() replaces it, kernels copy them.
 */
export function fastHeap(): HeapAllocator | undefined {
  const e = fastEngine();
  return e instanceof WasmEngine ? e.pinned() : undefined;
}

export interface FastKernelOptions {
  /** 'auto' (default): WASM SIMD when supported, else JS. 'js' forces the pure-JS engine. */
  engine?: 'auto' | 'wasm' | 'js';
  /** Threads including the caller; default: the machine's cores, capped at 8. 1 = no workers. */
  threads?: number;
  /** Worker factory; default: node:worker_threads in Node, Web Workers (blob URLs) elsewhere. */
  spawnWorker?: SpawnWorker;
  /**
   * GEMM on relaxed SIMD multiply-add where the runtime has it (default true; in Node this turns
   * on V8's --experimental-wasm-relaxed-simd first). Results differ from mul + add in rounding.
   */
  relaxedSimd?: boolean;
  /**
   * Milliseconds an idle worker spins on its mailbox before it sleeps, and the caller on a join
   * before it blocks (default 0.5). A training step forks a few hundred times with short
   * single-threaded kernels in between: spinning through those gaps saves a futex wake-up per
   * fork. 0 sleeps at once (least CPU while idle).
   */
  spinMs?: number;
  /**
   * Milliseconds to wait for the workers to start before running on one thread (default 10 000).
   * Under a virtual clock (headless Chromium's --virtual-time-budget) timers can fire long before
   * that much real time has passed: pass more there.
   */
  startTimeoutMs?: number;
}

export interface FastKernelInfo {
  engine: string;
  threads: number;
  simd: boolean;
  sharedMemory: boolean;
  /** The GEMM runs on relaxed SIMD multiply-add. */
  relaxedSimd: boolean;
  /** Why more than one thread was asked for but one runs (no shared memory here, workers failed to start). */
  singleThreadReason?: string;
}

/**
 * Prepares the engine of FAST_KERNELS: compiles the WASM module off the main thread's critical
 * path and, when threads are requested and shared memory works, starts the worker pool. Safe to
 * call again (replaces the engine; the old pool is stopped). Not required: without it the
 * kernels compile lazily and run on one thread.
 */
export async function initFastKernels(opts: FastKernelOptions = {}): Promise<FastKernelInfo> {
  disposeFastKernels();
  const simd = wasmSimdSupported();
  if ((opts.relaxedSimd ?? true) && isNode() && !relaxedSimdSupported()) {
    // Node 20's V8 has relaxed SIMD behind a flag (on by default from V8 11.4 / Chrome 114)
    try {
      ((await nodeImport('node:v8')) as typeof import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // not in this runtime: mul + add
    }
  }
  const madd = (opts.relaxedSimd ?? true) && relaxedSimdSupported();
  const threads = Math.max(1, Math.min(8, opts.threads ?? (await defaultThreads())));
  let singleThreadReason: string | undefined;
  if (opts.engine === 'js' || !simd) {
    if (opts.engine === 'wasm') throw new Error('initFastKernels: WebAssembly SIMD is not supported here');
    current = new JsEngine();
  } else {
    if (threads > 1 && !wasmThreadsSupported()) singleThreadReason = 'no shared WebAssembly memory here (SharedArrayBuffer needs a cross-origin-isolated page in browsers)';
    else if (threads > 1) {
      try {
        currentPool = await createThreadedEngine(threads, {
          spawn: opts.spawnWorker,
          madd,
          spinMs: opts.spinMs ?? envSpinMs(),
          startTimeoutMs: opts.startTimeoutMs,
        });
        current = currentPool;
      } catch (e) {
        // no workers here, or the shared memory's reservation failed: one thread still works
        currentPool = null;
        singleThreadReason = `worker pool did not start: ${(e as Error).message ?? String(e)}`;
      }
    }
    if (!current) {
      const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES });
      const module = await WebAssembly.compile(kernelModuleBytes(false, madd));
      current = new WasmEngine(memory, await WebAssembly.instantiate(module, { env: { memory } }), null, undefined, madd);
    }
  }
  const info: FastKernelInfo = { engine: current.name, threads: current.threads, simd, sharedMemory: currentPool !== null, relaxedSimd: current instanceof WasmEngine && current.madd };
  if (singleThreadReason) info.singleThreadReason = singleThreadReason;
  return info;
}

/** Stops the worker pool (if any); the next kernel call falls back to a lazily created engine. */
export function disposeFastKernels(): void {
  currentPool?.dispose();
  currentPool = null;
  current = null;
}

/**
 * Imports a Node built-in only when running in Node. The specifier is not a literal, so browser
 * bundlers leave it alone (a literal `import('node:os')` fails a browser bundle even if never run).
 */
export function nodeImport(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);
}
