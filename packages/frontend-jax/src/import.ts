/**
 * importJax: a jax-js function `apply(params, ...inputs) -> logits` becomes an IR Graph.
 * The function is traced once with jax-js's makeJaxpr on abstract arrays of the declared input
 * shapes (the user's arrays are only read, through `.ref`, so import never frees them), then
 * every equation of the jaxpr is mapped by the handler of its primitive. Params are named by
 * their pytree paths (`layers.0.w`); constants the function closes over become IR constants.
 */
import { makeJaxpr, type Array as JaxArray, type JsTreeDef } from '@jax-js/jax';
import { GraphBuilder, PockError, dce, tensor, type DType, type Graph, type Tensor } from '@pockengine/core';
import { Importer, type UnsupportedUse } from './context.js';
import { HANDLERS, materializePool } from './handlers/index.js';
import { AbstractArray, irDtype, type JaxDType } from './jaxpr.js';
import { mapWithPaths, requireArrayLeaves, type JaxArrayLike } from './pytree.js';

/** Input dtypes a model may declare. */
export type InputDType = 'float32' | 'float64' | 'int32' | 'bool';
/** Inputs by name, in `apply`'s argument order: `{ x: [[8, 784], 'float32'] }`. */
export type InputSpec = Record<string, readonly [readonly number[], InputDType]>;

export interface ImportJaxOptions {
  /** Graph name (default: the function's name, else 'jax'). */
  name?: string;
  /** Name of the output when `apply` returns one array (default 'logits'). */
  output?: string;
  /** Param paths to import as buffers (state that is not trained). */
  buffers?: readonly string[];
  /** File name used in error messages. */
  file?: string;
}

export interface JaxImport {
  graph: Graph;
  /** Param paths, in pytree order. */
  params: string[];
  /** Mapped equations per primitive (`jit(tanh)`: jits replaced by one op). */
  counts: Record<string, number>;
  /** The traced jaxpr, printed. */
  jaxpr: string;
}

export type ApplyFn = (params: any, ...inputs: any[]) => unknown;

/** Traces and maps `apply`; see the module comment. */
export function traceJax(apply: ApplyFn, params: unknown, inputs: InputSpec, opts: ImportJaxOptions = {}): JaxImport {
  const where = { file: opts.file };
  if (typeof apply !== 'function') throw new PockError('input', '`apply` must be a function (params, ...inputs) => logits', where);
  const leaves = requireArrayLeaves(params, '`params`');
  const inputEntries = Object.entries(inputs ?? {});
  for (const [name, spec] of inputEntries) {
    const [shape, dtype] = (spec ?? []) as [readonly number[], string];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new PockError('input', `input '${name}': shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`, where);
    if (!irDtype(dtype)) throw new PockError('input', `input '${name}': dtype must be float32, float64, int32 or bool, got ${JSON.stringify(dtype)}`, where);
  }
  const bufferSet = new Set(opts.buffers ?? []);
  const unknownBuffers = [...bufferSet].filter((p) => !leaves.some((l) => l.path === p));
  if (unknownBuffers.length) throw new PockError('input', `buffers name unknown params: ${unknownBuffers.join(', ')}`, where);

  // trace on abstract arrays: jax-js reads shape/dtype only
  const paramAvals = mapWithPaths<JaxArrayLike, AbstractArray>(params, (a) => new AbstractArray([...a.shape], a.dtype as JaxDType, a.weakType === true));
  const inputAvals = inputEntries.map(([, [shape, dtype]]) => new AbstractArray([...shape], dtype as JaxDType));
  let traced: ReturnType<ReturnType<typeof makeJaxpr>>;
  try {
    traced = makeJaxpr(apply as (...a: unknown[]) => JaxArray)(paramAvals, ...inputAvals);
  } catch (e) {
    throw new PockError('import', `tracing the function with jax-js failed: ${(e as Error).message}`, where);
  }
  const closed = traced.jaxpr;
  try {
    const b = new GraphBuilder(opts.name ?? (apply.name || 'jax'));
    b.file = opts.file;
    const consts = closed.consts.map((c, i) => b.constant(readArray(c as unknown as JaxArrayLike, `constant ${i}`), `const${i}`));
    const paramIds = leaves.map(({ path, leaf }) => {
      const t = readArray(leaf, `param '${path}'`);
      return bufferSet.has(path) ? b.buffer(path, t) : b.param(path, t);
    });
    const inputIds = inputEntries.map(([name, [shape, dtype]]) => b.input(name, dtype as DType, shape));
    const imp = new Importer(b, HANDLERS, materializePool, opts.file);
    const outs = imp.run(closed.jaxpr, [...consts, ...paramIds, ...inputIds]);
    if (imp.unsupported.length) throw unsupportedError(imp.unsupported, opts.file);
    const names = outputNames(traced.treedef, opts.output ?? 'logits');
    outs.forEach((o, i) => b.output(names[i]!, imp.materialize(o)));
    return {
      graph: dce(b.build()),
      params: leaves.map((l) => l.path),
      counts: Object.fromEntries([...imp.counts].sort()),
      jaxpr: closed.toString(),
    };
  } finally {
    closed.dispose();
  }
}

/** `apply(params, ...inputs) -> logits` as an IR Graph (params named by pytree path). */
export function importJax(apply: ApplyFn, params: unknown, inputs: InputSpec, opts: ImportJaxOptions = {}): Graph {
  return traceJax(apply, params, inputs, opts).graph;
}

/** A host copy of a jax-js array's data; `.ref` first, because reading consumes a reference. */
export function readArray(a: JaxArrayLike, what: string): Tensor {
  const dtype = irDtype(a.dtype);
  if (!dtype) throw new PockError('input', `${what} has dtype ${a.dtype}, which the IR has no dtype for (use float32, float64, int32 or bool)`);
  let data: ArrayLike<number>;
  try {
    data = a.ref.dataSync();
  } catch (e) {
    throw new PockError('input', `${what} cannot be read (was it disposed?): ${(e as Error).message}`);
  }
  return tensor(dtype, a.shape, Array.prototype.slice.call(data) as number[]);
}

/** Output names: one array is `single`; a pytree of arrays is named by paths. */
function outputNames(td: JsTreeDef, single: string): string[] {
  if (td.nodeType === 'Leaf') return [single];
  const names: string[] = [];
  const walk = (t: JsTreeDef, path: string) => {
    if (t.nodeType === 'Leaf') return void names.push(path || single);
    t.childTreedefs.forEach((c, i) => {
      const key = String(t.nodeType === 'Object' ? t.nodeMetadata[i] : i);
      walk(c, path ? `${path}.${key}` : key);
    });
  };
  walk(td, '');
  return names;
}

const MAX_LISTED = 40;

function unsupportedError(uses: readonly UnsupportedUse[], file?: string): PockError {
  const prims = [...new Set(uses.map((u) => u.primitive))];
  const lines = uses.slice(0, MAX_LISTED).map((u) => `  equation ${u.eqn}: ${u.primitive}(${u.inputs}): ${u.reason}`);
  if (uses.length > MAX_LISTED) lines.push(`  ... and ${uses.length - MAX_LISTED} more`);
  return new PockError(
    'unsupported-op',
    `the jax-js function uses ${uses.length} equation(s) of ${prims.length} primitive(s) the IR cannot express (${prims.join(', ')}):\n${lines.join('\n')}\n` +
      'Equation numbers index the traced jaxpr (a/b: equation b inside the jit at equation a). Rewrite these parts with ' +
      'mapped jax-js operations (see PRIMITIVE_COVERAGE), or compute them outside `apply` and pass the results as inputs.',
    { file },
  );
}

