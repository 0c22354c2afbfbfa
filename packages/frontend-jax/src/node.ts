/**
 * Node-only adapter: a model file is a JS module whose default export is
 * `{ apply, params, inputs: { name: [shape, dtype] } }` (or a function, possibly async, returning
 * it). The module must import the same @jax-js/jax as this package, since tracing runs on
 * jax-js's global trace state.
 */
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PockError, type Graph } from '@pockengine/core';
import { traceJax, type ApplyFn, type ImportJaxOptions, type InputSpec, type JaxImport } from './import.js';

export interface JaxModel {
  apply: ApplyFn;
  params: unknown;
  inputs: InputSpec;
  /** Optional import options carried by the model file (name, output, buffers). */
  options?: ImportJaxOptions;
}

/** Imports a model module and validates its default export. */
export async function loadJaxModel(path: string): Promise<JaxModel> {
  const file = basename(path);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  } catch (e) {
    throw new PockError('import', `cannot load '${path}': ${(e as Error).message}`, { file });
  }
  let model = mod.default;
  if (typeof model === 'function') model = await (model as () => unknown)();
  const m = model as Partial<JaxModel> | undefined;
  const problems: string[] = [];
  if (!m || typeof m !== 'object') problems.push('the default export is not an object');
  else {
    if (typeof m.apply !== 'function') problems.push('`apply` is not a function');
    if (m.params === undefined) problems.push('`params` is missing');
    if (!m.inputs || typeof m.inputs !== 'object') problems.push('`inputs` ({ name: [shape, dtype] }) is missing');
  }
  if (problems.length)
    throw new PockError('import', `'${path}' is not a jax-js model module: ${problems.join('; ')}. Default-export { apply, params, inputs: { x: [[8, 784], 'float32'] } }.`, { file });
  return m as JaxModel;
}

/** Loads a model module and traces it (graph, param paths, primitive counts, jaxpr). */
export async function traceJaxModule(path: string, opts: ImportJaxOptions = {}): Promise<JaxImport> {
  const m = await loadJaxModel(path);
  return traceJax(m.apply, m.params, m.inputs, { file: basename(path), ...m.options, ...opts });
}

/** Loads a model module and returns its IR graph. */
export async function loadJaxModule(path: string, opts: ImportJaxOptions = {}): Promise<Graph> {
  return (await traceJaxModule(path, opts)).graph;
}

export * from './index.js';
