/**
 * Backends the CLI can run on. `cpu` switches per op instance between the reference JS kernels
 * and the WASM-SIMD ones by measuring them at bind time; `cpu-reference` uses only the former.
 * `--borrow tfjs-wasm` adds TF.js's XNNPACK kernels (borrowed.ts) to the candidates, `--borrow
 * onnxruntime` onnxruntime-node's MLAS matmul (borrowed-ort.ts; Node only).
 */
import { CPU_KERNELS, CpuBackend, type CpuKernelTable, type HeapAllocator, type KernelImpl } from '@pockengine/backend-cpu';
import * as cpu from '@pockengine/backend-cpu';
import { PockError } from '@pockengine/core';
import type { Args } from './args.js';
import { ortKernels } from './borrowed-ort.js';
import { tfjsWasmKernels } from './borrowed.js';

export type BackendName = 'cpu' | 'cpu-reference';
export type Borrowed = 'tfjs-wasm' | 'onnxruntime';
export const BORROWABLE: readonly Borrowed[] = ['tfjs-wasm', 'onnxruntime'];

let fastInit: Promise<unknown> | undefined;

/** A factory of fresh backends (each program measures its own memory). */
export async function backendFactory(name: BackendName, borrow: readonly Borrowed[] = []): Promise<() => CpuBackend> {
  const mod = cpu as unknown as { FAST_KERNELS?: Partial<CpuKernelTable>; initFastKernels?: () => Promise<unknown>; fastHeap?: () => HeapAllocator | undefined };
  if (name === 'cpu-reference' || !mod.FAST_KERNELS) return () => new CpuBackend(CPU_KERNELS);
  // once per process: a second initFastKernels would replace the engine whose heap holds the
  // buffers of programs already bound (they would then be copied in and out on every call)
  fastInit ??= (async () => {
    const info = (await mod.initFastKernels?.()) as { singleThreadReason?: string } | undefined;
    // said once: why the kernels run on one thread when more were asked for (workers failed to start, ...)
    if (info?.singleThreadReason) process.stderr.write(`pockengine: fast kernels run on one thread: ${info.singleThreadReason}\n`);
  })();
  await fastInit;
  const impls: KernelImpl[] = [
    { name: 'js', kernels: CPU_KERNELS },
    { name: 'wasm-simd', kernels: mod.FAST_KERNELS },
  ];
  if (borrow.includes('tfjs-wasm')) impls.push((await tfjsWasmKernels()).impl);
  if (borrow.includes('onnxruntime')) impls.push((await ortKernels()).impl);
  // buffers in the kernels' heap (when it is shared memory): the fast kernels use them in place
  return () => new CpuBackend(impls, { heap: mod.fastHeap?.() });
}

/** `--borrow a,b` (repeatable): borrowed kernel sets to add to backend switching. */
export function borrowFromArgs(a: Args): Borrowed[] {
  const names = (a.opts.borrow ?? []).flatMap((v) => v.split(',')).filter((v) => v.length > 0);
  const bad = names.filter((n) => !BORROWABLE.includes(n as Borrowed));
  if (bad.length) throw new PockError('input', `--borrow takes ${BORROWABLE.join(', ')}; got ${bad.join(', ')}`);
  return names as Borrowed[];
}

export async function makeBackend(name: BackendName, borrow: readonly Borrowed[] = []): Promise<CpuBackend> {
  return (await backendFactory(name, borrow))();
}
