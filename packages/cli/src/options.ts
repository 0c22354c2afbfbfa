import { readFileSync } from 'node:fs';
import { PockError, parseScheme, type Graph, type LossSpec, type OptimizerConfig, type SparseScheme } from '@pockengine/core';
import { num, one, oneOf, type Args } from './args.js';

export function lossFromArgs(a: Args, model: Graph): LossSpec {
  const kind = oneOf(a, 'loss', ['cross-entropy', 'mse'] as const, 'cross-entropy');
  const output = one(a, 'output') ?? model.outputs[0]?.name;
  return kind === 'mse' ? { kind: 'mse', output } : { kind: 'cross-entropy', output };
}

export function schemeFromArgs(a: Args): SparseScheme | undefined {
  const file = one(a, 'scheme');
  if (!file) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PockError('scheme', `cannot read scheme: ${(e as Error).message}`, { file });
  }
  return parseScheme(json, file);
}

export function optimizerFromArgs(a: Args, dflt: 'sgd' | 'adam' = 'sgd'): OptimizerConfig {
  const kind = oneOf(a, 'optimizer', ['sgd', 'adam', 'adamw'] as const, dflt);
  const lr = num(a, 'lr', kind === 'sgd' ? 0.01 : 0.001)!;
  if (kind === 'sgd') return { kind, lr, momentum: num(a, 'momentum', 0.9)!, weightDecay: num(a, 'weight-decay', 0)! };
  return { kind, lr, weightDecay: num(a, 'weight-decay', kind === 'adamw' ? 0.01 : 0)! };
}

/** Applies `--batch N` to the first dim of every input given no explicit shape. */
export function withBatch(shapesIn: Record<string, number[]>, a: Args, inputNames: readonly string[], inputShapes: (n: string) => readonly number[] | undefined): Record<string, number[]> {
  const batch = num(a, 'batch');
  if (batch === undefined) return shapesIn;
  const out = { ...shapesIn };
  for (const n of inputNames) {
    if (out[n]) out[n] = [batch, ...out[n]!.slice(1)];
    else {
      const s = inputShapes(n);
      if (s) out[n] = [batch, ...s.slice(1)];
    }
  }
  return out;
}
