/**
 * The handler table: one handler per jax-js primitive, named exactly after it. The table is typed
 * over jax-js's primitive union, so a primitive added to jax-js is a compile error here until it
 * has a handler (or an explicit `unsupported` one) and a coverage entry.
 */
import type { HandlerTable } from '../context.js';
import type { PrimitiveName } from '../jaxpr.js';
import { controlHandlers } from './control.js';
import { elementwiseHandlers } from './elementwise.js';
import { linalgHandlers } from './linalg.js';
import { reduceHandlers } from './reduce.js';
import { shapeHandlers } from './shape.js';

export { materializePool } from './reduce.js';

export const HANDLERS: HandlerTable = {
  ...elementwiseHandlers,
  ...shapeHandlers,
  ...reduceHandlers,
  ...linalgHandlers,
  ...controlHandlers,
};

export interface PrimitiveCoverage {
  primitive: PrimitiveName;
  /** mapped: every use maps; partial: some params / dtypes map (see note); unsupported: none. */
  status: 'mapped' | 'partial' | 'unsupported';
  /** IR ops it becomes. */
  ir: string;
  note?: string;
}

type Entry = Omit<PrimitiveCoverage, 'primitive'>;
const m = (ir: string, note?: string): Entry => ({ status: 'mapped', ir, note });
const p = (ir: string, note: string): Entry => ({ status: 'partial', ir, note });
const u = (note: string): Entry => ({ status: 'unsupported', ir: '', note });

const COVERAGE: { [P in PrimitiveName]: Entry } = {
  add: m('add / sub / logical_or', 'x + neg(y) becomes sub'),
  mul: m('mul / div / reduce_mean / logical_and', 'x * reciprocal(y) becomes div; sum * 1/n becomes reduce_mean'),
  idiv: u('no integer division op'),
  mod: u('no modulo op'),
  min: m('minimum / logical_and'),
  max: m('maximum / relu / logical_or', 'max(x, 0) becomes relu'),
  bit_combine: u('no bitwise ops'),
  bit_shift: u('no bitwise ops'),
  bit_count: u('no bitwise ops'),
  neg: m('neg'),
  reciprocal: m('reciprocal / sigmoid', '1 / (1 + exp(-x)) becomes sigmoid'),
  floor: m('floor', 'the identity on integers'),
  ceil: m('ceil', 'the identity on integers'),
  stop_gradient: m('stop_gradient', 'identity that autodiff does not differentiate'),
  cast: m('cast', 'to float32 / float64 / int32 / bool'),
  bitcast: u('no bitcast'),
  sin: m('sin'),
  cos: m('cos'),
  asin: m('asin'),
  atan: m('atan'),
  exp: m('exp'),
  log: m('log'),
  erf: m('erf'),
  erfc: m('sub(1, erf)'),
  sqrt: m('sqrt'),
  reduce: p('reduce_sum / reduce_max / neg+reduce_max', 'Add, Max, Min; Mul (prod) unsupported'),
  dot: m('matmul (+ transpose / reshape)', 'any batch / contraction layout'),
  conv: p('conv2d (+ transpose / reshape / slice); lhs dilation: conv2d_grad_input', '1-D and 2-D, vmapDims -> groups, negative padding; lhs dilation (conv_transpose) with unit window strides'),
  pool: m('max_pool2d / avg_pool2d, else strided slices + concat', 'fused with the following max / sum reduce'),
  pool_transpose: u('gradient-only primitive'),
  compare: m('less / equal / less_equal / logical_not(equal)'),
  where: m('where'),
  concatenate: m('concat'),
  split: m('split'),
  random_bits: u('no RNG inside the model: pass random values as an input'),
  gather: m('gather (+ transpose; several index arrays are linearised)'),
  transpose: m('transpose'),
  broadcast: m('reshape + expand'),
  reshape: m('reshape'),
  flip: m('slice (step -1)'),
  shrink: m('slice'),
  pad: m('pad / slice', 'zero padding; negative widths crop'),
  sort: u('no sort'),
  argsort: u('no sort'),
  scatter: p('scatter_add', "op 'add' over one indexed axis"),
  triangular_solve: u('no linear solvers'),
  cholesky: u('no matrix factorizations'),
  lu: u('no matrix factorizations'),
  jacobi_eigh: u('no eigendecomposition'),
  fft: u('no FFT'),
  jit: m('inlined; tanh / gelu / silu / power bodies become one op'),
};

/** Coverage of jax-js's primitives, sorted by name. */
export const PRIMITIVE_COVERAGE: readonly PrimitiveCoverage[] = (Object.keys(COVERAGE) as PrimitiveName[])
  .sort()
  .map((primitive) => ({ primitive, ...COVERAGE[primitive] }));
