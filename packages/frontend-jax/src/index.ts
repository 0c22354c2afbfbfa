/**
 * @pockengine/frontend-jax: jax-js functions `apply(params, ...inputs) -> logits` traced into
 * PockEngine's IR (params named by pytree path), and trained weights back into a jax-js params
 * pytree or safetensors. Browser-safe; loading a model module from disk lives in './node'.
 */
export { importJax, traceJax, readArray, type ApplyFn, type ImportJaxOptions, type InputDType, type InputSpec, type JaxImport } from './import.js';
export { exportParams, exportSafetensors, paramsToTensors } from './export.js';
export { HANDLERS, PRIMITIVE_COVERAGE, type PrimitiveCoverage } from './handlers/index.js';
export type { HandlerTable, JaxHandler, EqnContext, Importer } from './context.js';
export type { PrimitiveName } from './jaxpr.js';
export { leavesWithPaths, mapWithPaths } from './pytree.js';
