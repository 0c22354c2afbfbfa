/**
 * Fast float32 kernels for the heavy ops (matmul, conv2d and its backward ops, batch norm and its
 * backward op, where, in_range, add / sub / mul / div (same shape or one operand repeated along
 * middle axes), exp, erf, sigmoid, softmax (last axis), softmax_cross_entropy and its gradient,
 * transpose, sgd_update), as a partial kernel table that
 * overrides the reference kernels:
 *
 *   const backend = new CpuBackend({ ...CPU_KERNELS, ...FAST_KERNELS });
 *   await initFastKernels();          // optional: async compile + worker threads
 *
 * Every kernel defers to the reference kernel for non-float32 tensors, for layouts it does not
 * handle and when the engine's heap cannot hold the operands, so a table with them is correct
 * wherever the reference one is. The streaming kernels (norm, elementwise, optimizer) need the
 * engine's vector primitives; on the JS engine they are the reference kernels.
 */
import type { AttrsOf } from '@pockengine/core';
import type { CpuKernel, CpuKernelTable } from '../kernel-table.js';
import { convKernels } from '../kernels/conv.js';
import { elementwiseKernels } from '../kernels/elementwise.js';
import { matmulKernels } from '../kernels/matmul.js';
import { normKernels } from '../kernels/norm.js';
import { optimKernels } from '../kernels/optim.js';
import { shapeOpsKernels } from '../kernels/shape-ops.js';
import type { CpuTensor } from '../tensor.js';
import { broadcastForm, broadcastForward } from './broadcast.js';
import { conv2dForward, conv2dGradInput, conv2dGradWeight } from './conv.js';
import { binaryForward, binaryIsFast, inRangeForward, whereForward, whereIsFast } from './elementwise.js';
import { HeapExhausted, type ArithmeticOp, type Engine, type VectorOps } from './engine.js';
import { matmulForward } from './matmul.js';
import { batchNormForward, batchNormGrad } from './norm.js';
import { lossKernels } from '../kernels/loss.js';
import { activationKernels } from '../kernels/activation.js';
import { reduceKernels } from '../kernels/reduce.js';
import { crossEntropyForward, crossEntropyGrad, crossEntropyRows, softmaxLastAxis } from './loss.js';
import { sgdUpdate } from './optim.js';
import { fastEngine } from './runtime.js';
import { transposeForward, transposeLayout } from './transpose.js';
import { unaryForward } from './unary.js';

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
  /** guarded, on the engine's vector primitives: the reference kernel where the engine has none. */
  const vectorGuarded = (tensors: readonly (CpuTensor | undefined)[], fast: (e: Engine, v: VectorOps) => void, reference: () => void) => {
    const e = engine();
    const v = e.vector;
    if (!v) return reference();
    guarded(tensors, () => fast(e, v), reference);
  };
  /** Same shapes, or one operand repeated along middle axes (broadcast.ts); other broadcasts: the reference kernel. */
  const binary = (op: ArithmeticOp): CpuKernel<AttrsOf<'add'>> => (inputs, outputs, attrs) => {
    const [a, b] = inputs as [CpuTensor, CpuTensor];
    const out = outputs[0]!;
    const kernel: CpuKernel<AttrsOf<'add'>> = elementwiseKernels[op];
    const reference = () => kernel(inputs, outputs, attrs);
    if (binaryIsFast(a, b, out)) return vectorGuarded([a, b, out], (e, v) => binaryForward(e, v, op, a, b, out), reference);
    const form = broadcastForm(a, b, out);
    if (!form) return reference();
    vectorGuarded([a, b, out], (e, v) => broadcastForward(e, v, op, a, b, out, form), reference);
  };
  const unary = (op: 'exp' | 'erf' | 'sigmoid'): CpuKernel<AttrsOf<'exp'>> => (inputs, outputs, attrs) =>
    vectorGuarded(
      [...inputs, ...outputs],
      (e, v) => unaryForward(e, v, op, inputs[0]!, outputs[0]!),
      () => (op === 'sigmoid' ? activationKernels.sigmoid : elementwiseKernels[op])(inputs, outputs, attrs),
    );
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
    batch_norm: (inputs, outputs, attrs) =>
      vectorGuarded(
        [...inputs, ...outputs],
        (e, v) => batchNormForward(e, v, inputs, outputs, attrs),
        () => normKernels.batch_norm(inputs, outputs, attrs),
      ),
    batch_norm_grad: (inputs, outputs, attrs) =>
      vectorGuarded(
        [...inputs, ...outputs],
        (e, v) => batchNormGrad(e, v, inputs, outputs, attrs),
        () => normKernels.batch_norm_grad(inputs, outputs, attrs),
      ),
    where: (inputs, outputs, attrs) => {
      const [cond, a, b] = inputs as [CpuTensor, CpuTensor, CpuTensor];
      const out = outputs[0]!;
      const reference = () => elementwiseKernels.where(inputs, outputs);
      if (!whereIsFast(cond, a, b, out)) return reference();
      vectorGuarded([a, b, out], (e, v) => whereForward(e, v, cond, a, b, out), reference);
    },
    in_range: (inputs, outputs, attrs) =>
      vectorGuarded(
        inputs,
        (e, v) => inRangeForward(e, v, inputs[0]!, outputs[0]!, attrs),
        () => elementwiseKernels.in_range(inputs, outputs, attrs),
      ),
    add: binary('add'),
    sub: binary('sub'),
    mul: binary('mul'),
    div: binary('div'),
    exp: unary('exp'),
    erf: unary('erf'),
    sigmoid: unary('sigmoid'),
    // labels (int64) stay on the JS side: only logits / dloss / outputs must be float32
    softmax_cross_entropy: (inputs, outputs, attrs) => {
      const [logits, labels] = inputs as [CpuTensor, CpuTensor];
      const reference = () => lossKernels.softmax_cross_entropy(inputs, outputs, attrs);
      const rc = crossEntropyRows(logits, labels, attrs);
      if (!rc) return reference();
      vectorGuarded([logits, ...outputs], (e, v) => crossEntropyForward(e, v, logits, labels, outputs[0]!, attrs, rc.rows, rc.classes, rc.count), reference);
    },
    softmax_cross_entropy_grad: (inputs, outputs, attrs) => {
      const [logits, labels, dloss] = inputs as [CpuTensor, CpuTensor, CpuTensor];
      const reference = () => lossKernels.softmax_cross_entropy_grad(inputs, outputs, attrs);
      const rc = crossEntropyRows(logits, labels, attrs);
      if (!rc) return reference();
      vectorGuarded(
        [logits, dloss, ...outputs],
        (e, v) => crossEntropyGrad(e, v, logits, labels, dloss, outputs[0]!, attrs, rc.rows, rc.classes, rc.count),
        reference,
      );
    },
    softmax: (inputs, outputs, attrs) => {
      const x = inputs[0]!;
      const reference = () => reduceKernels.softmax(inputs, outputs, attrs);
      const rank = x.shape.length;
      const last = rank > 0 && (attrs.axis === rank - 1 || attrs.axis === -1);
      if (!last || x.data.length === 0) return reference();
      vectorGuarded([x, ...outputs], (e, v) => softmaxLastAxis(e, v, x, outputs[0]!), reference);
    },
    transpose: (inputs, outputs, attrs) => {
      const reference = () => shapeOpsKernels.transpose(inputs, outputs, attrs);
      const layout = transposeLayout(inputs[0]!.shape, attrs.perm);
      if (!layout) return reference();
      vectorGuarded([...inputs, ...outputs], (e, v) => transposeForward(e, v, inputs[0]!, outputs[0]!, layout), reference);
    },
    sgd_update: (inputs, outputs, attrs) =>
      vectorGuarded(
        [...inputs, ...outputs],
        (e, v) => sgdUpdate(e, v, inputs, outputs, attrs),
        () => optimKernels.sgd_update(inputs, outputs, attrs),
      ),
  } satisfies Partial<CpuKernelTable>;
}

/** Fast float32 kernels on the process-wide engine (see initFastKernels). */
export const FAST_KERNELS: Partial<CpuKernelTable> = createFastKernels();

export { conv2dForward, conv2dGradInput, conv2dGradWeight, isDepthwise } from './conv.js';
export { matmulForward } from './matmul.js';
export { batchNormForward, batchNormGrad } from './norm.js';
export { binaryForward, inRangeForward, whereForward } from './elementwise.js';
export { broadcastForm, broadcastForward, repeatLayout } from './broadcast.js';
export { transposeForward, transposeLayout } from './transpose.js';
export { unaryForward } from './unary.js';
export { sgdUpdate } from './optim.js';
export { crossEntropyForward, crossEntropyGrad, crossEntropyRows, softmaxLastAxis } from './loss.js';
export {
  HeapExhausted,
  get,
  getBytes,
  put,
  putBytes,
  zeros,
  type BatchNormCall,
  type ArithmeticOp,
  type BatchNormGradCall,
  type BroadcastCall,
  type DepthwiseCall,
  type DepthwiseKind,
  type Engine,
  type FusedActivation,
  type GemmCall,
  type Im2colCall,
  type InRangeCall,
  type SelectCall,
  type SgdCall,
  type TransposeCall,
  type VectorOps,
} from './engine.js';
export { JsEngine } from './js-engine.js';
export { WasmEngine } from './wasm-engine.js';
export { GEMM_ACCUMULATE, GEMM_ROW_BIAS, GEMM_COL_BIAS, GEMM_RELU, GEMM_RELU6 } from './wasm-gemm.js';
export {
  createThreadedEngine,
  createWasmEngine,
  disposeFastKernels,
  fastEngine,
  fastHeap,
  initFastKernels,
  wasmSimdSupported,
  wasmThreadsSupported,
  type FastKernelInfo,
  type FastKernelOptions,
} from './runtime.js';
export { browserSpawner, type SpawnWorker, type WorkerLike } from './thread-pool.js';
export { measureSimdPeak, type PeakResult } from './peak.js';
