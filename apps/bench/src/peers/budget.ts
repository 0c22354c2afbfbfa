/**
 * The `budget` configuration: core's searchScheme under a memory budget, as `pockengine plan`
 * runs it. Contribution scores are the squared gradient norms of one full-backprop gradient step
 * on the benchmark's batch (the CLI averages a few synthetic batches; one is enough to rank).
 */
import { Program, compileTrainingGraph, lowerToPlan, searchScheme, type Backend, type Graph, type LossSpec, type OptimizerConfig, type SearchResult, type Tensor } from '@pockengine/core';

export const LOSS: LossSpec = { kind: 'cross-entropy' };

/** Planned peak of full backprop with this optimizer. */
export function fullPlannedPeak(g: Graph, optimizer: OptimizerConfig): number {
  return lowerToPlan(compileTrainingGraph(g, { loss: LOSS, optimizer }).graph).memory.peakBytes;
}

/** Planned peak of a step that trains nothing (inference and the loss): the floor of any budget. */
export function inferencePlannedPeak(g: Graph, optimizer: OptimizerConfig): number {
  return lowerToPlan(compileTrainingGraph(g, { loss: LOSS, optimizer, trainable: [] }).graph).memory.peakBytes;
}

/**
 * The default budget: a quarter of full backprop's peak, or, where the weights alone exceed
 * that (transformers: weights dominate), inference plus a quarter of what full backprop adds.
 */
export function defaultBudget(g: Graph, optimizer: OptimizerConfig): number {
  const full = fullPlannedPeak(g, optimizer);
  const inference = inferencePlannedPeak(g, optimizer);
  return Math.floor(full / 4 >= inference ? full / 4 : inference + (full - inference) / 4);
}

export async function gradientEnergy<B>(g: Graph, feeds: Record<string, Tensor>, backend: Backend<B>): Promise<Map<string, number>> {
  const prog = Program.create(compileTrainingGraph(g, { loss: LOSS }).graph, backend);
  const out = await prog.step(feeds);
  prog.dispose();
  const score = new Map<string, number>();
  for (const [k, t] of Object.entries(out)) {
    if (!k.startsWith('grad.')) continue;
    let s = 0;
    for (const x of t.data as Float32Array) s += x * x;
    score.set(k.slice(5), s);
  }
  return score;
}

export interface BudgetSearch {
  budgetBytes: number;
  result: SearchResult;
  searchMs: number;
}

export async function searchBudget<B>(
  g: Graph,
  feeds: Record<string, Tensor>,
  optimizer: OptimizerConfig,
  backend: Backend<B>,
  budgetBytes: number | undefined,
): Promise<BudgetSearch> {
  const t0 = performance.now();
  const budget = budgetBytes ?? defaultBudget(g, optimizer);
  const contribution = await gradientEnergy(g, feeds, backend);
  const result = searchScheme(g, { loss: LOSS, optimizer, budgetBytes: budget, contribution });
  return { budgetBytes: budget, result, searchMs: performance.now() - t0 };
}
