/**
 * Layer-level conveniences over sparse schemes: they produce ordinary schemes (one rule per
 * parameter name), so "last N blocks" compiles to exactly what the same rules written by hand do.
 *
 * A block is a numbered group of parameters (`features.16`, `encoder.layer.1`, `layers.3`,
 * `blocks.13`, `conv2d_4`) holding at least two weight matrices or kernels; what runs after the
 * last block (final conv, pooler, norm, classifier) is the head. Blocks are ordered by where
 * their parameters are first used in the forward pass.
 */
import type { Graph, ValueId } from '../ir/graph.js';
import type { SchemeRule, SparseScheme } from './scheme.js';

export interface Block {
  name: string;
  params: string[];
}

export interface ModelBlocks {
  /** The blocks, in forward order. */
  blocks: Block[];
  /** Parameters used after the last block (the head). */
  head: string[];
  /** All parameters in order of first use. */
  ordered: string[];
}

/**
 * The group a parameter belongs to: the path up to its first number — a numeric path segment
 * (`features.16.conv.0.weight` -> `features.16`, PyTorch) or a `_<n>` inside a segment
 * (`block_16_project_BN/gamma` -> `block_16`, Keras) — else its module path.
 */
export function groupKey(name: string): { key: string; numbered: boolean } {
  const parts = name.split(/[./]/);
  const i = parts.findIndex((p) => /^\d+$/.test(p));
  if (i >= 0) return { key: parts.slice(0, i + 1).join('.'), numbered: true };
  const k = parts.findIndex((p) => /^[A-Za-z][A-Za-z0-9]*_\d+(_|$)/.test(p));
  if (k >= 0) return { key: [...parts.slice(0, k), /^[A-Za-z][A-Za-z0-9]*_\d+/.exec(parts[k]!)![0]].join('.'), numbered: true };
  return { key: parts.length > 1 ? parts.slice(0, -1).join('.') : name, numbered: false };
}

export function findBlocks(g: Graph): ModelBlocks {
  const firstUse = new Map<ValueId, number>();
  g.nodes.forEach((n, k) => n.inputs.forEach((i) => firstUse.has(i) || firstUse.set(i, k)));
  const params = g.values.filter((v) => v.role === 'param' && firstUse.has(v.id));
  params.sort((a, b) => firstUse.get(a.id)! - firstUse.get(b.id)! || a.id - b.id);
  const groups = new Map<string, { params: string[]; numbered: boolean; matrices: number; last: number }>();
  for (const v of params) {
    const { key, numbered } = groupKey(v.name);
    const gr = groups.get(key) ?? { params: [], numbered, matrices: 0, last: 0 };
    gr.params.push(v.name);
    if (v.shape.length >= 2) gr.matrices++;
    gr.last = Math.max(gr.last, firstUse.get(v.id)!);
    groups.set(key, gr);
  }
  const blocks = [...groups].filter(([, gr]) => gr.numbered && gr.matrices >= 2).map(([name, gr]) => ({ name, params: gr.params }));
  const lastBlockUse = Math.max(-1, ...[...groups].filter(([, gr]) => gr.numbered && gr.matrices >= 2).map(([, gr]) => gr.last));
  const inBlock = new Set(blocks.flatMap((b) => b.params));
  const head = params.filter((v) => !inBlock.has(v.name) && firstUse.get(v.id)! > lastBlockUse).map((v) => v.name);
  return { blocks, head, ordered: params.map((v) => v.name) };
}

/** Escapes a parameter name so it matches itself as a scheme glob. */
export function literalGlob(name: string): string {
  return name.replace(/[*?[\]{},]/g, (c) => `[${c}]`);
}

export interface LastBlocksOptions {
  /** Also train the bias of every parameter group (PockEngine's "+ biases"). Default true. */
  allBiases?: boolean;
  /** Train the head. Default true. */
  head?: boolean;
}

const isBias = (name: string) => /(^|[./])bias$/.test(name);

/** Train the last `n` blocks fully, the head, and (by default) every bias. */
export function lastBlocksScheme(g: Graph, n: number, opts: LastBlocksOptions = {}): SparseScheme {
  const { blocks, head, ordered } = findBlocks(g);
  const chosen = new Set([...blocks.slice(Math.max(0, blocks.length - n)).flatMap((b) => b.params), ...(opts.head ?? true ? head : [])]);
  const rules: SchemeRule[] = ordered.filter((p) => chosen.has(p)).map((p) => ({ params: literalGlob(p), update: 'full' as const }));
  if (opts.allBiases ?? true) rules.push({ params: '*.bias', update: 'full' }, { params: '*/bias', update: 'full' });
  return { rules };
}

/** Train only biases (of the given blocks, or of the whole model), plus the head if asked. */
export function biasOnlyScheme(g: Graph, opts: { blocks?: readonly string[]; head?: boolean } = {}): SparseScheme {
  const { blocks, head } = findBlocks(g);
  const rules: SchemeRule[] = [];
  if (opts.head) rules.push(...head.map((p) => ({ params: literalGlob(p), update: 'full' as const })));
  const chosen = opts.blocks ? blocks.filter((b) => opts.blocks!.includes(b.name)) : null;
  if (chosen) for (const b of chosen) rules.push(...b.params.filter(isBias).map((p) => ({ params: literalGlob(p), update: 'full' as const })));
  else rules.push({ params: '*.bias', update: 'full' }, { params: '*/bias', update: 'full' });
  return { rules };
}
