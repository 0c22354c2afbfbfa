/**
 * node:worker_threads adapter of the thread pool, loaded with a dynamic import only when the
 * runtime is Node, so the rest of the fast kernels stay free of Node imports.
 */
import { nodeImport } from './runtime.js';
import type { SpawnWorker } from './thread-pool.js';

export async function nodeSpawner(): Promise<SpawnWorker> {
  const { Worker } = (await nodeImport('node:worker_threads')) as typeof import('node:worker_threads');
  return (source) => {
    const w = new Worker(source, { eval: true });
    // blocked in Atomics.wait between tasks: must not keep the process alive
    w.unref();
    return {
      postMessage: (m) => w.postMessage(m),
      onMessage: (l) => {
        w.on('message', l);
        w.unref(); // adding a 'message' listener refs the worker's port again
      },
      terminate: () => void w.terminate(),
    };
  };
}
