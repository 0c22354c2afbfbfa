/**
 * Scheme search under a memory budget (PockEngine §3.1 / tiny-training's sparse update search):
 * pick, per parameter group, how much to train — nothing, its per-channel vectors (biases and
 * norm scales), a fraction of its output channels, or everything — so that the compiled
 * program's planned peak fits the budget and the expected fine-tuning gain is largest.
 *
 * Gain: each parameter has a contribution score (by default the squared gradient norm measured
 * on a few batches — the first-order loss decrease of one SGD step — or a cheap proxy given by
 * the caller); training a fraction r of a weight's channels earns r of its score.
 * Memory: exact — every candidate is compiled and its static memory plan read.
 * Search: lazy greedy on gain per byte (upgrades are re-evaluated exactly only when they reach
 * the top of the queue), the standard approach for monotone budgeted selection.
 */
import { PockError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { lowerToPlan } from '../plan/plan.js';
import { compileTrainingGraph, type TrainingOptions } from '../train/compile.js';
import { groupKey, literalGlob } from './presets.js';
import type { SchemeRule, SparseScheme } from './scheme.js';

export const LEVELS = ['none', 'vectors', 'channels-0.25', 'channels-0.5', 'full'] as const;
export type Level = (typeof LEVELS)[number];

export interface SearchOptions extends Omit<TrainingOptions, 'scheme' | 'trainable'> {
  budgetBytes: number;
  /** Contribution score per parameter name (higher = more useful to train). */
  contribution: ReadonlyMap<string, number>;
  /** Report progress (candidates compiled). */
  onProgress?: (compiled: number, acceptedSteps: number) => void;
}

export interface SearchResult {
  scheme: SparseScheme;
  levels: Record<string, Level>;
  peakBytes: number;
  gain: number;
  compiled: number;
}

interface Unit {
  name: string;
  vectors: string[];
  weights: { name: string; score: number }[];
  vectorScore: number;
}

function unitsOf(model: Graph, contribution: ReadonlyMap<string, number>): Unit[] {
  const firstUse = new Map<number, number>();
  model.nodes.forEach((n, k) => n.inputs.forEach((i) => firstUse.has(i) || firstUse.set(i, k)));
  const params = model.values.filter((v) => v.role === 'param' && firstUse.has(v.id));
  params.sort((a, b) => firstUse.get(a.id)! - firstUse.get(b.id)!);
  const units = new Map<string, Unit>();
  for (const v of params) {
    const { key } = groupKey(v.name);
    const u = units.get(key) ?? { name: key, vectors: [], weights: [], vectorScore: 0 };
    const score = contribution.get(v.name) ?? 0;
    if (v.shape.length <= 1) {
      u.vectors.push(v.name);
      u.vectorScore += score;
    } else u.weights.push({ name: v.name, score });
    units.set(key, u);
  }
  return [...units.values()];
}

function gainAt(u: Unit, level: Level): number {
  switch (level) {
    case 'none':
      return 0;
    case 'vectors':
      return u.vectorScore;
    case 'channels-0.25':
      return u.vectorScore + 0.25 * u.weights.reduce((s, w) => s + w.score, 0);
    case 'channels-0.5':
      return u.vectorScore + 0.5 * u.weights.reduce((s, w) => s + w.score, 0);
    case 'full':
      return u.vectorScore + u.weights.reduce((s, w) => s + w.score, 0);
  }
}

export function schemeFromLevels(units: readonly Unit[], levels: ReadonlyMap<string, Level>): SparseScheme {
  const rules: SchemeRule[] = [];
  for (const u of units) {
    const level = levels.get(u.name) ?? 'none';
    if (level === 'none') continue;
    for (const v of u.vectors) rules.push({ params: literalGlob(v), update: 'full' });
    if (level === 'vectors') continue;
    const update = level === 'full' ? ('full' as const) : { channels: level === 'channels-0.25' ? 0.25 : 0.5, select: 'first' as const };
    for (const w of u.weights) rules.push({ params: literalGlob(w.name), update });
  }
  return { rules };
}

export function searchScheme(model: Graph, opts: SearchOptions): SearchResult {
  const units = unitsOf(model, opts.contribution).filter((u) => u.vectors.length + u.weights.length > 0);
  const levels = new Map<string, Level>(units.map((u) => [u.name, 'none']));
  let compiled = 0;
  const peakOf = (lv: ReadonlyMap<string, Level>): number => {
    compiled++;
    const scheme = schemeFromLevels(units, lv);
    // nothing trained: the same compile pipeline (loss, folded frozen weights, micro-batching) with
    // an empty trainable set, so the floor is measured like every scheme it is compared with
    const { graph } = compileTrainingGraph(model, scheme.rules.length === 0 ? { ...opts, scheme: undefined, trainable: [] } : { ...opts, scheme });
    return lowerToPlan(graph).memory.peakBytes;
  };
  let peak = peakOf(levels);
  if (peak > opts.budgetBytes)
    throw new PockError('budget', `even inference needs ${peak} bytes, over the budget of ${opts.budgetBytes} bytes; lower the batch size or the input resolution`);
  let gain = 0;
  // candidate upgrades with a cached (possibly stale) gain-per-byte ratio
  type Cand = { unit: Unit; to: Level; ratio: number; fresh: boolean };
  const next = (u: Unit): Level | null => {
    const i = LEVELS.indexOf(levels.get(u.name)!);
    // skip levels that add nothing for this unit (no vectors / no weights)
    for (let j = i + 1; j < LEVELS.length; j++) {
      const l = LEVELS[j]!;
      if (l === 'vectors' && u.vectors.length === 0) continue;
      if (l !== 'vectors' && u.weights.length === 0) continue;
      return l;
    }
    return null;
  };
  const queue: Cand[] = [];
  for (const u of units) {
    const to = next(u);
    if (to) queue.push({ unit: u, to, ratio: Infinity, fresh: false });
  }
  let accepted = 0;
  while (queue.length) {
    queue.sort((a, b) => b.ratio - a.ratio);
    const c = queue.shift()!;
    const dGain = gainAt(c.unit, c.to) - gainAt(c.unit, levels.get(c.unit.name)!);
    const trial = new Map(levels).set(c.unit.name, c.to);
    const p = peakOf(trial);
    opts.onProgress?.(compiled, accepted);
    if (p > opts.budgetBytes) continue; // cannot afford this upgrade (nor, roughly, the ones after it)
    const ratio = dGain / Math.max(p - peak, 1);
    if (!c.fresh && queue.length && ratio < queue.reduce((m, q) => Math.max(m, q.ratio), -Infinity)) {
      queue.push({ ...c, ratio, fresh: true });
      continue;
    }
    if (dGain <= 0 && p >= peak) continue;
    levels.set(c.unit.name, c.to);
    peak = p;
    gain += dGain;
    accepted++;
    for (const q of queue) q.fresh = false;
    const to = next(c.unit);
    if (to) queue.push({ unit: c.unit, to, ratio, fresh: false });
  }
  return {
    scheme: schemeFromLevels(units, levels),
    levels: Object.fromEntries([...levels].filter(([, l]) => l !== 'none')),
    peakBytes: peak,
    gain,
    compiled,
  };
}
