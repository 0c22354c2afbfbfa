import type { Graph } from '../ir/graph.js';
import { compileTrainingGraph, type TrainingOptions } from '../train/compile.js';
import type { Backend } from './backend.js';
import { Program } from './program.js';

/**
 * One call from a model to a runnable training step on a backend:
 * derive forward + backward + update as one graph, lower it to a plan, bind kernels.
 */
export function compileTraining<B>(model: Graph, opts: TrainingOptions, backend: Backend<B>): Program<B> {
  const { graph } = compileTrainingGraph(model, opts);
  return Program.create(graph, backend);
}
