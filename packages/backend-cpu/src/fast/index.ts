/**
 * Fast float32 kernels for the heavy ops (matmul, conv2d and its backward ops, batch norm, layer
 * norm and their backward ops, where, in_range, add / sub / mul / div (same shape or one operand repeated along
 * middle axes), exp, erf, sigmoid, tanh, neg, abs, sqrt, rsqrt, reciprocal, softmax (last axis),
 * softmax_cross_entropy and its gradient, reduce_sum and reduce_mean (over one run of axes, or two
 * around kept ones: a conv's bias gradient), transpose, the copies slice, slice_grad, concat, split and expand, sgd_update and
 * matmul_sgd_update (the SGD step as the GEMM's epilogue)), as a partial kernel table that
 * overrides the reference kernels:
 *
 *   const backend = new CpuBackend({ ...CPU_KERNELS, ...FAST_KERNELS });
 *   await initFastKernels();          // optional: async compile + worker threads
 *
 * Every kernel defers to the reference kernel for non-float32 tensors, for layouts it does not
 * handle and when the engine's heap cannot hold the operands, so a table with them is correct
 * wherever the reference one is. The streaming kernels (norm, elementwise, unary, reductions,
 * copies, optimizer) need the engine's vector primitives; on the JS engine they are the
 * reference kernels.
 */
import type { AttrsOf, OpName } from '@pockengine/core';
import type { CpuKernel, CpuKernelTable } from '../kernel-table.js';
import { CPU_KERNELS } from '../kernels/index.js';
import type { CpuTensor } from '../tensor.js';
import { broadcastForm, broadcastForward } from './broadcast.js';
import { conv2dForward, conv2dGradInput, conv2dGradWeight } from './conv.js';
import { concatMoves, expandMoves, runMoves, sliceGradMoves, sliceMoves, splitMoves, type Move } from './copy.js';
import { binaryForward, binaryIsFast, inRangeForward, whereForward, whereLayout } from './elementwise.js';
import { HeapExhausted, type ArithmeticOp, type Engine, type UnaryOp, type VectorOps } from './engine.js';
import { crossEntropyForward, crossEntropyGrad, crossEntropyRows, softmaxLastAxis } from './loss.js';
import { matmulForward, matmulSgdUpdate } from './matmul.js';
import { batchNormForward, batchNormGrad, layerNormForward, layerNormGrad } from './norm.js';
import { sgdUpdate } from './optim.js';
import { reduceForward, reduceLayout } from './reduce.js';
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

type Io = [inputs: readonly CpuTensor[], outputs: readonly CpuTensor[]];

/** The fast kernel table on the engine `engine()` returns (default: the shared one of initFastKernels). */
export function createFastKernels(engine: () => Engine = fastEngine) {
  const reference =
    <K extends OpName>(op: K) =>
    (inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], attrs: AttrsOf<K>) =>
    () =>
      (CPU_KERNELS[op] as CpuKernel<AttrsOf<K>>)(inputs, outputs, attrs);
  /** `fast` on the engine when every operand is float32 (else, or when the heap is full: the reference kernel). */
  const onEngine =
    <K extends OpName>(op: K, fast: (e: Engine, ...io: [...Io, AttrsOf<K>]) => void): CpuKernel<AttrsOf<K>> =>
    (inputs, outputs, attrs) =>
      guarded([...inputs, ...outputs], () => fast(engine(), inputs, outputs, attrs), reference(op)(inputs, outputs, attrs));
  /** guarded, on the engine's vector primitives: the reference kernel where the engine has none. */
  const vectorGuarded = (tensors: readonly (CpuTensor | undefined)[], fast: (e: Engine, v: VectorOps) => void, ref: () => void) => {
    const e = engine();
    const v = e.vector;
    if (!v) return ref();
    guarded(tensors, () => fast(e, v), ref);
  };
  /** `fast` on the vector primitives, when `applies` (default: always) accepts the operands. */
  const onVector =
    <K extends OpName>(
      op: K,
      fast: (e: Engine, v: VectorOps, ...io: [...Io, AttrsOf<K>]) => void,
      applies: (...io: [...Io, AttrsOf<K>]) => boolean = () => true,
    ): CpuKernel<AttrsOf<K>> =>
    (inputs, outputs, attrs) => {
      const ref = reference(op)(inputs, outputs, attrs);
      if (!applies(inputs, outputs, attrs)) return ref();
      vectorGuarded([...inputs, ...outputs], (e, v) => fast(e, v, inputs, outputs, attrs), ref);
    };
  /** Same shapes, or one operand repeated along middle axes (broadcast.ts); other broadcasts: the reference kernel. */
  const binary = (op: ArithmeticOp): CpuKernel<AttrsOf<'add'>> => (inputs, outputs, attrs) => {
    const [a, b] = inputs as [CpuTensor, CpuTensor];
    const out = outputs[0]!;
    const ref = reference(op)(inputs, outputs, attrs);
    if (binaryIsFast(a, b, out)) return vectorGuarded([a, b, out], (e, v) => binaryForward(e, v, op, a, b, out), ref);
    const form = broadcastForm(a, b, out);
    if (!form) return ref();
    vectorGuarded([a, b, out], (e, v) => broadcastForward(e, v, op, a, b, out, form), ref);
  };
  const unary = (op: UnaryOp) => onVector(op, (e, v, [x], [y]) => unaryForward(e, v, op, x!, y!));
  /** A data-movement op as strided copies (copy.ts): the reference kernel where `moves` gives none. */
  const movement =
    <K extends OpName>(op: K, moves: (...io: [...Io, AttrsOf<K>]) => Move[] | null, zeroFill = false): CpuKernel<AttrsOf<K>> =>
    (inputs, outputs, attrs) => {
      const ref = reference(op)(inputs, outputs, attrs);
      const m = allFloat32([...inputs, ...outputs]) ? moves(inputs, outputs, attrs) : null;
      if (!m) return ref();
      vectorGuarded([...inputs, ...outputs], (e, v) => runMoves(e, v, inputs, outputs, m, zeroFill), ref);
    };
  /** Over one run of axes or two around kept ones (reduce.ts); other axis sets: the reference kernel. */
  const reduce =
    (op: 'reduce_sum' | 'reduce_mean'): CpuKernel<AttrsOf<'reduce_sum'>> =>
    (inputs, outputs, attrs) => {
      const [x, out] = [inputs[0]!, outputs[0]!];
      const ref = reference(op)(inputs, outputs, attrs);
      const layout = reduceLayout(x.shape, attrs.axes);
      if (!layout) return ref();
      vectorGuarded([x, out], (e, v) => reduceForward(e, v, x, out, layout, op === 'reduce_mean'), ref);
    };
  return {
    matmul: onEngine('matmul', (e, [a, b], [out], attrs) => matmulForward(e, a!, b!, out!, attrs)),
    matmul_sgd_update: onEngine('matmul_sgd_update', (e, [p, a, b, lr], [out], attrs) => matmulSgdUpdate(e, p!, a!, b!, lr!, out!, attrs)),
    conv2d: onEngine('conv2d', (e, [x, w, bias], [y], attrs) => conv2dForward(e, x!, w!, bias, y!, attrs, attrs.activation ?? 'none')),
    conv2d_grad_input: onEngine('conv2d_grad_input', (e, [dy, w], [dx], attrs) => conv2dGradInput(e, dy!, w!, dx!, attrs)),
    conv2d_grad_weight: onEngine('conv2d_grad_weight', (e, [x, dy], [dw], attrs) => conv2dGradWeight(e, x!, dy!, dw!, attrs)),
    batch_norm: onVector('batch_norm', batchNormForward),
    batch_norm_grad: onVector('batch_norm_grad', batchNormGrad),
    layer_norm: onVector('layer_norm', layerNormForward),
    layer_norm_grad: onVector('layer_norm_grad', layerNormGrad),
    // the bool condition is not float32: only a, b and out are checked
    where: (inputs, outputs, attrs) => {
      const [cond, a, b] = inputs as [CpuTensor, CpuTensor, CpuTensor];
      const out = outputs[0]!;
      const ref = reference('where')(inputs, outputs, attrs);
      const layout = whereLayout(cond, a, b, out);
      if (!layout) return ref();
      vectorGuarded([a, b, out], (e, v) => whereForward(e, v, cond, a, b, out, layout.period), ref);
    },
    // the output is bool: only the input is checked
    in_range: (inputs, outputs, attrs) =>
      vectorGuarded(inputs, (e, v) => inRangeForward(e, v, inputs[0]!, outputs[0]!, attrs), reference('in_range')(inputs, outputs, attrs)),
    add: binary('add'),
    sub: binary('sub'),
    mul: binary('mul'),
    div: binary('div'),
    exp: unary('exp'),
    erf: unary('erf'),
    sigmoid: unary('sigmoid'),
    tanh: unary('tanh'),
    neg: unary('neg'),
    abs: unary('abs'),
    sqrt: unary('sqrt'),
    rsqrt: unary('rsqrt'),
    reciprocal: unary('reciprocal'),
    reduce_sum: reduce('reduce_sum'),
    reduce_mean: reduce('reduce_mean'),
    // labels (int64) stay on the JS side: only logits / dloss / outputs must be float32
    softmax_cross_entropy: (inputs, outputs, attrs) => {
      const [logits, labels] = inputs as [CpuTensor, CpuTensor];
      const ref = reference('softmax_cross_entropy')(inputs, outputs, attrs);
      const rc = crossEntropyRows(logits, labels, attrs);
      if (!rc) return ref();
      vectorGuarded([logits, ...outputs], (e, v) => crossEntropyForward(e, v, logits, labels, outputs[0]!, attrs, rc.rows, rc.classes, rc.count), ref);
    },
    softmax_cross_entropy_grad: (inputs, outputs, attrs) => {
      const [logits, labels, dloss] = inputs as [CpuTensor, CpuTensor, CpuTensor];
      const ref = reference('softmax_cross_entropy_grad')(inputs, outputs, attrs);
      const rc = crossEntropyRows(logits, labels, attrs);
      if (!rc) return ref();
      vectorGuarded([logits, dloss, ...outputs], (e, v) => crossEntropyGrad(e, v, logits, labels, dloss, outputs[0]!, attrs, rc.rows, rc.classes, rc.count), ref);
    },
    softmax: onVector(
      'softmax',
      (e, v, [x], [y]) => softmaxLastAxis(e, v, x!, y!),
      ([x], _o, attrs) => x!.shape.length > 0 && x!.data.length > 0 && (attrs.axis === x!.shape.length - 1 || attrs.axis === -1),
    ),
    transpose: (inputs, outputs, attrs) => {
      const ref = reference('transpose')(inputs, outputs, attrs);
      const layout = transposeLayout(inputs[0]!.shape, attrs.perm);
      if (!layout) return ref();
      vectorGuarded([...inputs, ...outputs], (e, v) => transposeForward(e, v, inputs[0]!, outputs[0]!, layout), ref);
    },
    slice: movement('slice', ([x], _o, attrs) => sliceMoves(x!, attrs)),
    slice_grad: movement('slice_grad', ([g], _o, attrs) => sliceGradMoves(g!, attrs), true),
    concat: movement('concat', (inputs, [out], attrs) => concatMoves(inputs, out!, attrs)),
    split: movement('split', ([x], outputs, attrs) => splitMoves(x!, outputs, attrs)),
    expand: movement('expand', ([x], [out]) => expandMoves(x!, out!)),
    sgd_update: onVector('sgd_update', sgdUpdate),
  } satisfies Partial<CpuKernelTable>;
}

/** Fast float32 kernels on the process-wide engine (see initFastKernels). */
export const FAST_KERNELS: Partial<CpuKernelTable> = createFastKernels();

export { conv2dForward, conv2dGradInput, conv2dGradWeight, isDepthwise } from './conv.js';
export { matmulForward, matmulSgdUpdate } from './matmul.js';
export { batchNormForward, batchNormGrad } from './norm.js';
export { binaryForward, inRangeForward, whereForward } from './elementwise.js';
export { broadcastForm, broadcastForward, repeatLayout } from './broadcast.js';
export { transposeForward, transposeLayout } from './transpose.js';
export { copyLayout, runMoves, type CopyLayout, type Move } from './copy.js';
export { reduceForward, reduceLayout, type ReduceLayout } from './reduce.js';
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
  type CopyCall,
  type DepthwiseCall,
  type DepthwiseKind,
  type Engine,
  type FusedActivation,
  type GemmCall,
  type Im2colCall,
  type InRangeCall,
  type LayerNormCall,
  type LayerNormGradCall,
  type ReduceSumCall,
  type SelectCall,
  type SgdCall,
  type TransposeCall,
  type UnaryOp,
  type VectorOps,
} from './engine.js';
export { JsEngine } from './js-engine.js';
export { WasmEngine } from './wasm-engine.js';
export { GEMM_ACCUMULATE, GEMM_ROW_BIAS, GEMM_COL_BIAS, GEMM_RELU, GEMM_RELU6, GEMM_SCALE } from './wasm-gemm.js';
export {
  createThreadedEngine,
  createWasmEngine,
  disposeFastKernels,
  fastEngine,
  fastHeap,
  initFastKernels,
  relaxedSimdSupported,
  wasmSimdSupported,
  wasmThreadsSupported,
  type FastKernelInfo,
  type FastKernelOptions,
  type ThreadedEngineOptions,
} from './runtime.js';
export { browserSpawner, type SpawnWorker, type WorkerLike } from './thread-pool.js';
export { measureSimdPeak, type PeakResult } from './peak.js';
