/**
 * Pytree paths. jax-js flattens a JsTree depth-first: JS arrays by index, plain objects in key
 * order, anything else is a leaf (tree.ts in jax-js). These helpers walk the same order and name
 * each leaf by its path (`layers.0.w`, `head.b`), which becomes the IR parameter name.
 */
import { PockError } from '@pockengine/core';

export interface PathLeaf<T> {
  path: string;
  leaf: T;
}

function isNode(x: unknown): x is unknown[] | Record<string, unknown> {
  return Array.isArray(x) || (typeof x === 'object' && x !== null && (x as object).constructor === Object);
}

const join = (prefix: string, key: string | number) => (prefix ? `${prefix}.${key}` : String(key));

/** The leaves of `tree` with their dotted paths, in jax-js's flattening order. */
export function leavesWithPaths<T = unknown>(tree: unknown, prefix = ''): PathLeaf<T>[] {
  const out: PathLeaf<T>[] = [];
  const walk = (x: unknown, path: string) => {
    if (Array.isArray(x)) x.forEach((c, i) => walk(c, join(path, i)));
    else if (isNode(x)) for (const [k, c] of Object.entries(x)) walk(c, join(path, k));
    else out.push({ path, leaf: x as T });
  };
  walk(tree, prefix);
  return out;
}

/** A tree of the same structure with every leaf replaced by `fn(leaf, path)`. */
export function mapWithPaths<T, U>(tree: unknown, fn: (leaf: T, path: string) => U, prefix = ''): unknown {
  const walk = (x: unknown, path: string): unknown => {
    if (Array.isArray(x)) return x.map((c, i) => walk(c, join(path, i)));
    if (isNode(x)) return Object.fromEntries(Object.entries(x).map(([k, c]) => [k, walk(c, join(path, k))]));
    return fn(x as T, path);
  };
  return walk(tree, prefix);
}

/** Duck-typed jax-js array (avoids `instanceof` across two copies of the library). */
export interface JaxArrayLike {
  shape: number[];
  dtype: string;
  weakType?: boolean;
  readonly ref: JaxArrayLike;
  dataSync(): ArrayLike<number>;
}

export function isJaxArray(x: unknown): x is JaxArrayLike {
  return typeof x === 'object' && x !== null && Array.isArray((x as JaxArrayLike).shape) && typeof (x as JaxArrayLike).dataSync === 'function' && 'ref' in x;
}

/** Checks that every leaf of a params tree is a jax-js array; names the offending paths. */
export function requireArrayLeaves(tree: unknown, what: string): PathLeaf<JaxArrayLike>[] {
  const leaves = leavesWithPaths(tree);
  const bad = leaves.filter((l) => !isJaxArray(l.leaf));
  if (bad.length)
    throw new PockError('input', `${what} must be a pytree of jax-js arrays; not arrays: ${bad.map((l) => `'${l.path || '<root>'}' (${typeof l.leaf})`).join(', ')}`);
  const dup = leaves.map((l) => l.path).filter((p, i, a) => a.indexOf(p) !== i);
  if (dup.length) throw new PockError('input', `${what} has several leaves named ${dup.join(', ')} (keys containing '.' collide with nesting)`);
  return leaves as PathLeaf<JaxArrayLike>[];
}
