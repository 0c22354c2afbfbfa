export { CpuBackend } from './backend.js';
export { CPU_KERNELS } from './kernels/index.js';
export type { CpuKernel, CpuKernelTable } from './kernel-table.js';
export { cpuAlloc, type CpuTensor, type CpuData, type HeapAllocator } from './tensor.js';
export {
  FAST_KERNELS,
  createFastKernels,
  initFastKernels,
  disposeFastKernels,
  fastEngine,
  fastHeap,
  wasmSimdSupported,
  wasmThreadsSupported,
  relaxedSimdSupported,
  measureSimdPeak,
  createWasmEngine,
  createThreadedEngine,
  JsEngine,
  conv2dForward as fastConv2d,
  type Engine as FastEngine,
  type FastKernelOptions,
  type FastKernelInfo,
  type ThreadedEngineOptions,
  type FusedActivation,
  type SpawnWorker,
} from './fast/index.js';
export { chooseKernel, type KernelChoice, type KernelImpl } from './switching.js';
