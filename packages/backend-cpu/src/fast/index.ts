/**
 * Fast float32 kernels for the heavy ops (matmul, conv2d and its backward ops), as a partial
 * kernel table that overrides the reference kernels:
 *
 *   const backend = new CpuBackend({ ...CPU_KERNELS, ...FAST_KERNELS });
 *   await initFastKernels();          // optional: async compile + worker threads
 *
 * Every kernel defers to the reference kernel for non-float32 tensors and when the engine's heap
 * cannot hold the operands, so a table with them is correct wherever the reference one is.
 */
import type { CpuKernelTable } from '../kernel-table.js';
import { convKernels } from '../kernels/conv.js';
import { matmulKernels } from '../kernels/matmul.js';
import type { CpuTensor } from '../tensor.js';
import { conv2dForward, conv2dGradInput, conv2dGradWeight } from './conv.js';
import { HeapExhausted, type Engine } from './engine.js';
import { matmulForward } from './matmul.js';
import { fastEngine } from './runtime.js';

const allFloat32 = (ts: readonly (CpuTensor | undefined)[]) => ts.every((t) => !t || t.dtype === 'float32');

/** Runs `fast`, or `reference` when the operands are not float32 or do not fit the heap. */
function guarded(tensors: readonly (CpuTensor | undefined)[], fast: () => void, reference: () => void): void {
  if (!allFloat32(tensors)) return reference();
  try {
    fast();
  } catch (e) {
    if (!(e instanceof HeapExhausted)) throw e;
    reference();
  }
}

/** The fast kernel table on the engine `engine()` returns (default: the shared one of initFastKernels). */
export function createFastKernels(engine: () => Engine = fastEngine) {
  return {
    matmul: (inputs, outputs, attrs) =>
      guarded(
        [...inputs, ...outputs],
        () => matmulForward(engine(), inputs[0]!, inputs[1]!, outputs[0]!, attrs),
        () => matmulKernels.matmul(inputs, outputs, attrs),
      ),
    conv2d: (inputs, outputs, attrs) =>
      guarded(
        [...inputs, ...outputs],
        () => conv2dForward(engine(), inputs[0]!, inputs[1]!, inputs[2], outputs[0]!, attrs, attrs.activation ?? 'none'),
        () => convKernels.conv2d(inputs, outputs, attrs),
      ),
    conv2d_grad_input: (inputs, outputs, attrs) =>
      guarded(
        [...inputs, ...outputs],
        () => conv2dGradInput(engine(), inputs[0]!, inputs[1]!, outputs[0]!, attrs),
        () => convKernels.conv2d_grad_input(inputs, outputs, attrs),
      ),
    conv2d_grad_weight: (inputs, outputs, attrs) =>
      guarded(
        [...inputs, ...outputs],
        () => conv2dGradWeight(engine(), inputs[0]!, inputs[1]!, outputs[0]!, attrs),
        () => convKernels.conv2d_grad_weight(inputs, outputs, attrs),
      ),
  } satisfies Partial<CpuKernelTable>;
}

/** Fast float32 kernels on the process-wide engine (see initFastKernels). */
export const FAST_KERNELS: Partial<CpuKernelTable> = createFastKernels();

export { conv2dForward, conv2dGradInput, conv2dGradWeight, isDepthwise, type FusedActivation } from './conv.js';
export { matmulForward } from './matmul.js';
export { HeapExhausted, get, put, zeros, type Engine, type GemmCall, type Im2colCall, type DepthwiseCall, type DepthwiseKind } from './engine.js';
export { JsEngine } from './js-engine.js';
export { WasmEngine } from './wasm-engine.js';
export { GEMM_ACCUMULATE, GEMM_ROW_BIAS, GEMM_COL_BIAS, GEMM_RELU, GEMM_RELU6 } from './wasm-gemm.js';
export {
  createThreadedEngine,
  createWasmEngine,
  disposeFastKernels,
  fastEngine,
  initFastKernels,
  wasmSimdSupported,
  wasmThreadsSupported,
  type FastKernelInfo,
  type FastKernelOptions,
} from './runtime.js';
export { browserSpawner, type SpawnWorker, type WorkerLike } from './thread-pool.js';
export { measureSimdPeak, type PeakResult } from './peak.js';
