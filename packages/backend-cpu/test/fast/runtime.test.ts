/**
 * Engine selection of the fast kernels: feature detection, initFastKernels' options, falling back
 * to one thread when workers cannot start, and the lazy engine after disposeFastKernels.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FAST_KERNELS, disposeFastKernels, fastEngine, initFastKernels, wasmSimdSupported, wasmThreadsSupported, type SpawnWorker } from '../../src/index.js';
import { empty, rand } from './helpers.js';

/** A worker that reports a failed start (what a worker without WebAssembly would send). */
const failingSpawner: SpawnWorker = () => {
  let listener: (m: unknown) => void = () => {};
  return {
    postMessage: () => setTimeout(() => listener('failed: no WebAssembly here'), 0),
    onMessage: (l) => (listener = l),
    terminate: () => {},
  };
};

describe('fast kernel runtime', () => {
  afterAll(() => disposeFastKernels());

  it('detects WebAssembly SIMD and shared memory on Node 20', () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(wasmThreadsSupported()).toBe(true);
  });

  it('starts a worker pool, or the pure-JS engine on request', async () => {
    // Node 20: initFastKernels turns on V8's relaxed SIMD, and the GEMM uses its multiply-add
    expect(await initFastKernels({ threads: 3 })).toEqual({ engine: 'wasm-simd-threads', threads: 3, simd: true, sharedMemory: true, relaxedSimd: true });
    expect(await initFastKernels({ threads: 1 })).toEqual({ engine: 'wasm-simd', threads: 1, simd: true, sharedMemory: false, relaxedSimd: true });
    expect(await initFastKernels({ threads: 1, relaxedSimd: false })).toMatchObject({ engine: 'wasm-simd', relaxedSimd: false });
    expect((await initFastKernels({ engine: 'js' })).engine).toBe('js');
  });

  it('falls back to one thread when workers fail to start', async () => {
    const info = await initFastKernels({ threads: 4, spawnWorker: failingSpawner });
    expect(info).toMatchObject({ engine: 'wasm-simd', threads: 1, sharedMemory: false });
    // and says why
    expect(info.singleThreadReason).toMatch(/worker pool did not start: ThreadPool: worker \d+ failed: no WebAssembly here/);
    const out = empty([2, 2]);
    FAST_KERNELS.matmul!([rand([2, 3], 1), rand([3, 2], 2)], [out], { transA: false, transB: false });
    expect(Array.from(out.data).every(Number.isFinite)).toBe(true);
  });

  it('creates a single-threaded WASM engine lazily after dispose', () => {
    disposeFastKernels();
    expect(fastEngine().name).toBe('wasm-simd');
  });
});
