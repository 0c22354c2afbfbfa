/**
 * The fine-tuning loop as a library call: compile one training program (and one evaluation
 * program sharing nothing but weights), run epochs of full batches, evaluate before and after.
 * Browser-safe; the CLI and the demo are thin shells around it.
 */
import type { Graph } from '../ir/graph.js';
import type { MemoryPlan } from '../plan/memory.js';
import type { Backend } from '../runtime/backend.js';
import { Program } from '../runtime/program.js';
import type { SparseScheme } from '../sparse/scheme.js';
import type { Tensor } from '../tensor.js';
import { compileTrainingGraph } from './compile.js';
import { batches, datasetSize, type Dataset } from './dataset.js';
import { withLoss, type LossSpec } from './loss.js';
import type { OptimizerConfig } from './optimizer.js';

export interface Evaluation {
  loss: number;
  /** Fraction of correct argmax predictions (classification losses only). */
  accuracy?: number;
  examples: number;
}

export interface StepInfo {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  ms: number;
}

export interface FineTuneOptions<B> {
  loss: LossSpec;
  optimizer: OptimizerConfig;
  scheme?: SparseScheme;
  epochs: number;
  batch: number;
  seed?: number;
  /** A fresh backend (called once for training, once for evaluation). */
  backend: () => Backend<B>;
  val?: Dataset;
  onStep?: (s: StepInfo) => void;
}

export interface FineTuneResult {
  losses: number[];
  stepMs: number[];
  before?: Evaluation;
  after?: Evaluation;
  weights: Map<string, Tensor>;
  memory: MemoryPlan;
  /** Bytes the training backend really allocated at its peak. */
  measuredPeakBytes: number;
}

/** An evaluation program: loss (and logits) of a batch, no gradients. */
export class Evaluator<B> {
  private readonly prog: Program<B>;
  private readonly batch: number;
  private readonly classify: boolean;
  constructor(model: Graph, loss: LossSpec, batch: number, backend: Backend<B>) {
    const lg = withLoss(model, loss);
    const g = { ...lg.graph, outputs: [{ name: 'loss', value: lg.loss }, { name: 'prediction', value: lg.prediction }] };
    this.prog = Program.create(g, backend);
    this.batch = batch;
    this.classify = loss.kind === 'cross-entropy';
  }

  async run(data: Dataset, weights?: ReadonlyMap<string, Tensor>): Promise<Evaluation> {
    if (weights) this.prog.setWeights(weights);
    let loss = 0;
    let correct = 0;
    let n = 0;
    for (const b of batches(data, this.batch, 0)) {
      const out = await this.prog.step({ ...b.inputs, labels: b.labels });
      loss += Number(out.loss!.data[0]) * this.batch;
      if (this.classify) correct += countCorrect(out.prediction!, b.labels);
      n += this.batch;
    }
    return { loss: n ? loss / n : NaN, accuracy: this.classify && n ? correct / (n * positions(data.labels)) : undefined, examples: n };
  }
}

function positions(labels: Tensor): number {
  return labels.shape.slice(1).reduce((p, d) => p * d, 1);
}

/** argmax over the last axis of `logits` compared with integer `labels`. */
export function countCorrect(logits: Tensor, labels: Tensor): number {
  const c = logits.shape.at(-1)!;
  const d = logits.data as Float32Array;
  let correct = 0;
  for (let i = 0; i * c < d.length; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (d[i * c + k]! > d[i * c + best]!) best = k;
    if (best === Number(labels.data[i])) correct++;
  }
  return correct;
}

export async function fineTune<B>(model: Graph, train: Dataset, opts: FineTuneOptions<B>): Promise<FineTuneResult> {
  const { graph } = compileTrainingGraph(model, { loss: opts.loss, optimizer: opts.optimizer, scheme: opts.scheme });
  const trainBackend = opts.backend();
  const prog = Program.create(graph, trainBackend);
  const evaluator = opts.val && datasetSize(opts.val) >= opts.batch ? new Evaluator(model, opts.loss, opts.batch, opts.backend()) : undefined;
  const before = evaluator ? await evaluator.run(opts.val!) : undefined;
  const steps = Math.floor(datasetSize(train) / opts.batch) * opts.epochs;
  const losses: number[] = [];
  const stepMs: number[] = [];
  let step = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (const b of batches(train, opts.batch, (opts.seed ?? 0) + epoch)) {
      const t0 = performance.now();
      const out = await prog.step({ ...b.inputs, labels: b.labels });
      const ms = performance.now() - t0;
      const loss = Number(out.loss!.data[0]);
      losses.push(loss);
      stepMs.push(ms);
      opts.onStep?.({ epoch, step: ++step, steps, loss, ms });
    }
  }
  const weights = await prog.weights();
  const after = evaluator ? await evaluator.run(opts.val!, weights) : undefined;
  return { losses, stepMs, before, after, weights, memory: prog.plan.memory, measuredPeakBytes: trainBackend.peakBytes() };
}
