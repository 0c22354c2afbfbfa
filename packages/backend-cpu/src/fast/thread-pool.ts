/**
 * A fork-join pool of workers sharing the kernels' WebAssembly memory. Kernels stay synchronous:
 * the calling thread posts tasks through a SharedArrayBuffer mailbox (one slot per worker, woken
 * with Atomics.notify), runs the first task itself, then blocks on a done counter (Atomics.wait,
 * or a spin where the calling thread may not block, e.g. a browser main thread). No messages are
 * exchanged per task, so a fork-join costs microseconds.
 *
 * Workers are created by a `SpawnWorker` adapter from a self-contained source string, so this file
 * imports nothing platform-specific: worker-node.ts adapts node:worker_threads, `browserSpawner`
 * below adapts Web Workers (which need a cross-origin-isolated page for SharedArrayBuffer).
 */

/** Splits [0, total) into at most `parts` ranges whose starts are multiples of `align`. */
export function splitRange(total: number, parts: number, align: number): [number, number][] {
  const step = Math.ceil(Math.ceil(total / parts) / align) * align;
  const out: [number, number][] = [];
  for (let s = 0; s < total; s += step) out.push([s, Math.min(total, s + step)]);
  return out;
}

/** The part of a Worker the pool uses. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  terminate(): void;
}

/** Starts a worker running `source` (classic script; in Node, `require` is available). */
export type SpawnWorker = (source: string) => WorkerLike;

const DONE = 0;
const FAILED = 1;
const SLOT0 = 16;
const SLOT = 32;
const MAX_ARGS = SLOT - 3;
const START_TIMEOUT_MS = 10_000;

/** Worker body: instantiate the module on the shared memory, then serve tasks from its slot forever. */
const WORKER_SOURCE = `
const node = typeof self === 'undefined';
const port = node ? require('node:worker_threads').parentPort : null;
const post = (m) => (node ? port.postMessage(m) : self.postMessage(m));
const start = (msg) => {
  const { module, memory, control, slot, names, spinMs } = msg;
  let fns;
  try {
    const exp = new WebAssembly.Instance(module, { env: { memory } }).exports;
    fns = names.map((n) => exp[n]);
  } catch (e) {
    post('failed: ' + e);
    return;
  }
  const ctl = new Int32Array(control);
  const base = ${SLOT0} + slot * ${SLOT};
  post('ready');
  let seen = 0;
  const args = [];
  for (;;) {
    // spin a while before sleeping: a fork soon after the last one (the next kernel of a step)
    // then starts without a futex wake-up (tens of microseconds on a VM)
    if (spinMs > 0 && Atomics.load(ctl, base) === seen) {
      const until = performance.now() + spinMs;
      for (let i = 1; Atomics.load(ctl, base) === seen; i++) if ((i & 63) === 0 && performance.now() > until) break;
    }
    Atomics.wait(ctl, base, seen);
    const seq = Atomics.load(ctl, base);
    if (seq === seen) continue;
    seen = seq;
    const fn = ctl[base + 1];
    if (fn < 0) return;
    // one argument array for every task: a worker that allocates per task collects garbage
    // in the middle of a GEMM now and then
    args.length = ctl[base + 2];
    for (let i = 0; i < args.length; i++) args[i] = ctl[base + 3 + i];
    try {
      fns[fn].apply(null, args);
    } catch (e) {
      Atomics.store(ctl, ${FAILED}, 1);
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
};
if (node) port.once('message', start);
else self.onmessage = (e) => { self.onmessage = null; start(e.data); };
`;

/** Web Worker adapter (blob URL): the page must be cross-origin isolated to share memory. */
export const browserSpawner: SpawnWorker = (source) => {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const w = new Worker(url);
  return {
    postMessage: (m) => w.postMessage(m),
    onMessage: (l) => w.addEventListener('message', (e) => l(e.data)),
    terminate: () => {
      w.terminate();
      URL.revokeObjectURL(url);
    },
  };
};

/** How long an idle thread spins before it sleeps (and the caller before it blocks on a join). */
export const DEFAULT_SPIN_MS = 0.5;

export interface PoolOptions {
  /**
   * How long a worker spins on its mailbox after a task before it sleeps (and the caller on the
   * join before it blocks); 0 sleeps at once. Default DEFAULT_SPIN_MS.
   */
  spinMs?: number;
  /** How long to wait for every worker to report ready before giving up (default 10 000 ms). */
  startTimeoutMs?: number;
}

export class ThreadPool {
  private readonly control: Int32Array;
  private seq = 0;
  private canBlock = true;

  private constructor(
    private readonly workers: WorkerLike[],
    control: SharedArrayBuffer,
    private readonly names: readonly string[],
    private readonly local: Record<string, (...args: number[]) => void>,
    private readonly spinMs: number,
  ) {
    this.control = new Int32Array(control);
  }

  /**
   * Starts `size - 1` workers (the caller is the size-th thread) on `memory`, each with its own
   * instance of `module`, resolving once all are ready. `local` holds the caller's exports.
   */
  static async create(
    size: number,
    spawn: SpawnWorker,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    names: readonly string[],
    local: Record<string, (...args: number[]) => void>,
    { spinMs = DEFAULT_SPIN_MS, startTimeoutMs = START_TIMEOUT_MS }: PoolOptions = {},
  ): Promise<ThreadPool> {
    const control = new SharedArrayBuffer(4 * (SLOT0 + SLOT * size));
    const workers: WorkerLike[] = [];
    const ready: Promise<void>[] = [];
    for (let slot = 0; slot < size - 1; slot++) {
      const w = spawn(WORKER_SOURCE);
      workers.push(w);
      ready.push(
        new Promise((resolve, reject) =>
          w.onMessage((m) => (m === 'ready' ? resolve() : reject(new Error(`ThreadPool: worker ${slot} ${String(m)}`)))),
        ),
      );
      w.postMessage({ module, memory, control, slot, names, spinMs });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`ThreadPool: workers not ready after ${startTimeoutMs} ms`)), startTimeoutMs);
    });
    try {
      await Promise.race([Promise.all(ready), timeout]);
    } catch (e) {
      workers.forEach((w) => w.terminate());
      throw e;
    } finally {
      clearTimeout(timer);
    }
    return new ThreadPool(workers, control, names, local, spinMs);
  }

  /** Threads including the caller. */
  get size(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs export `name` once per argument list, in parallel: the first on the calling thread, the
   * rest on workers. Returns when all are done; throws if any trapped.
   */
  run(name: string, tasks: readonly (readonly number[])[]): void {
    if (tasks.length > this.size) throw new Error(`ThreadPool.run: ${tasks.length} tasks for ${this.size} threads`);
    const fn = this.names.indexOf(name);
    const ctl = this.control;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, FAILED, 0);
    this.seq++;
    for (let t = 1; t < tasks.length; t++) {
      const args = tasks[t]!;
      if (args.length > MAX_ARGS) throw new Error(`ThreadPool.run: more than ${MAX_ARGS} arguments`);
      const base = SLOT0 + (t - 1) * SLOT;
      ctl[base + 1] = fn;
      ctl[base + 2] = args.length;
      args.forEach((a, i) => (ctl[base + 3 + i] = a));
      Atomics.store(ctl, base, this.seq);
      Atomics.notify(ctl, base);
    }
    let failure: unknown = null;
    try {
      if (tasks.length > 0) this.local[name]!(...tasks[0]!);
    } catch (e) {
      failure = e;
    }
    this.waitFor(tasks.length - 1);
    if (failure) throw failure;
    if (Atomics.load(ctl, FAILED)) throw new Error(`ThreadPool.run: '${name}' trapped in a worker`);
  }

  private waitFor(count: number): void {
    const ctl = this.control;
    if (this.spinMs > 0 && Atomics.load(ctl, DONE) < count) {
      const until = performance.now() + this.spinMs;
      for (let i = 1; Atomics.load(ctl, DONE) < count; i++) if ((i & 63) === 0 && performance.now() > until) break;
    }
    for (let done = Atomics.load(ctl, DONE); done < count; done = Atomics.load(ctl, DONE)) {
      if (!this.canBlock) continue;
      try {
        Atomics.wait(ctl, DONE, done);
      } catch {
        this.canBlock = false; // a browser main thread may not block: spin instead
      }
    }
  }

  /** Stops every worker (tasks in flight are abandoned). */
  terminate(): void {
    this.seq++;
    this.workers.forEach((w, slot) => {
      const base = SLOT0 + slot * SLOT;
      this.control[base + 1] = -1;
      Atomics.store(this.control, base, this.seq);
      Atomics.notify(this.control, base);
      w.terminate();
    });
  }
}
