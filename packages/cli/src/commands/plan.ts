/**
 * `pockengine plan MODEL --shape ... --budget 48MB [--optimizer sgd|adam] [--batches N] [--out S.json] [--json]`
 * Searches the sparse scheme that fits the memory budget with the largest expected gain,
 * prints it and its plan, and writes it for `--scheme`.
 */
import { compileTrainingGraph, lowerToPlan, searchScheme } from '@pockengine/core';
import { flag, fmtBytes, num, one, parseBytes, shapes, type Args } from '../args.js';
import { gradientContribution, syntheticBatch } from '../contribution.js';
import { loadModel, writeOut } from '../load-model.js';
import { lossFromArgs, optimizerFromArgs } from '../options.js';
import { Progress } from '../progress.js';

export async function plan(a: Args): Promise<number> {
  const path = a.positional[0];
  const budgetArg = one(a, 'budget');
  if (!path || !budgetArg) throw new Error('usage: pockengine plan MODEL --shape NAME=8x3x96x96 --budget 48MB [--optimizer sgd|adam] [--out scheme.json] [--json]');
  const budget = parseBytes(budgetArg);
  const m = await loadModel(path, { shapes: shapes(a) });
  const loss = lossFromArgs(a, m.graph);
  const optimizer = optimizerFromArgs(a);
  const nb = num(a, 'batches', 2)!;
  const batches = Array.from({ length: nb }, (_, i) => syntheticBatch(m.graph, loss, 1000 + i));
  const t0 = performance.now();
  const contribution = await gradientContribution(m.graph, loss, batches);
  const bar = new Progress('searching', 1);
  const res = searchScheme(m.graph, {
    loss,
    optimizer,
    budgetBytes: budget,
    contribution,
    onProgress: (compiled, accepted) => bar.update(0, `${compiled} candidates compiled, ${accepted} upgrades accepted`),
  });
  bar.update(1, `${res.compiled} candidates compiled`);
  bar.done();
  const { graph } = compileTrainingGraph(m.graph, { loss, optimizer, scheme: res.scheme });
  const memory = lowerToPlan(graph).memory;
  const full = lowerToPlan(compileTrainingGraph(m.graph, { loss, optimizer }).graph).memory;
  const out = one(a, 'out');
  if (out) writeOut(out, JSON.stringify(res.scheme, null, 2));
  const report = {
    model: path,
    budgetBytes: budget,
    peakBytes: memory.peakBytes,
    fullBackpropPeakBytes: full.peakBytes,
    contribution: `squared gradient norm on ${nb} synthetic batches`,
    levels: res.levels,
    scheme: res.scheme,
    breakdown: memory.breakdown,
    searchSeconds: (performance.now() - t0) / 1000,
    candidatesCompiled: res.compiled,
  };
  if (flag(a, 'json')) {
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  console.log(`${path}: budget ${fmtBytes(budget)} -> planned peak ${fmtBytes(memory.peakBytes)} (full backprop: ${fmtBytes(full.peakBytes)})`);
  console.log(`  ${res.compiled} candidates compiled in ${report.searchSeconds.toFixed(1)} s; contribution = ${report.contribution}`);
  for (const [unit, level] of Object.entries(res.levels)) console.log(`  ${unit.padEnd(28)} ${level}`);
  for (const [k, v] of Object.entries(memory.breakdown)) console.log(`    ${k.padEnd(17)} ${fmtBytes(v)}`);
  if (out) console.log(`scheme written to ${out}`);
  return 0;
}
