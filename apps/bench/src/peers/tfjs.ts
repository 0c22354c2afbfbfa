/**
 * TF.js (tfjs-core 4.22 on the cpu or wasm backend) training the same imported graph through the
 * IR -> TF.js interpreter: `tf.variableGrads` + SGD, frozen parameters as non-trainable variables.
 * Memory: `tf.profile` of the first (untimed) step gives TF.js's peak tensor bytes (the engine's
 * byte count after every kernel: variables, the batch, forward tensors kept for the backward,
 * gradients); the timed steps run without profiling.
 */
import { createRequire, register } from 'node:module';
import { dirname } from 'node:path';
import type * as Tfc from '@tensorflow/tfjs-core';
import { Hotspots, peakRss, progress, stepStats, timeSteps } from '../measure.js';
import { fixedScheme, loadModel, syntheticBatch, trainableOf } from '../models.js';
import { TfGraph } from '../tfjs-interpreter.js';
import type { RunResult, RunSpec } from '../types.js';
import { ourKernels } from './ours.js';
import { searchBudget } from './budget.js';
import { CpuBackend } from '@pockengine/backend-cpu';

/**
 * tfjs-core's bundles register no gradients (the @tensorflow/tfjs union package and tfjs-layers
 * do, from tfjs-core's unbundled ESM build): load that registration file, with a resolve hook for
 * its extensionless imports. It brings a second copy of tfjs-core's ops (registries and the engine
 * are global, so both copies share them); that costs setup time and some RSS, not tensor bytes.
 */
async function registerGradients(): Promise<void> {
  register(new URL('../tfjs-gradients-hook.mjs', import.meta.url));
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js' as string);
}

export async function loadTf(backend: 'cpu' | 'wasm'): Promise<{ tf: typeof Tfc; engine: string }> {
  const tf = await import('@tensorflow/tfjs-core');
  await registerGradients();
  if (backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    return { tf, engine: 'tfjs-backend-cpu (JS kernels, 1 thread)' };
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // the .wasm binaries sit next to the package's main file (dist/); Node reads them by path
  const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(`${dist}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend failed to initialise');
  const env = tf.env();
  const simd = env.getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = env.getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  return { tf, engine: `tfjs-backend-wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : 'single-threaded'})` };
}

const MISSING_KERNEL = /Kernel '(\w+)' not registered for backend/;

export async function runTfjs(spec: RunSpec, backend: 'cpu' | 'wasm'): Promise<RunResult> {
  const rssBaseBytes = peakRss();
  const t0 = performance.now();
  const { tf, engine } = await loadTf(backend);
  const g = loadModel(spec.model, spec.options);
  const feeds = syntheticBatch(g);
  const base: RunResult = { framework: spec.framework, model: spec.model, config: spec.config, status: 'ok', engine };
  let names: string[];
  let partialNote: string | undefined;
  if (spec.config === 'budget') {
    partialNote = 'TF.js has no channel-partial training: tensors the scheme updates on some channels are trained whole';
    if (spec.trainableNames) names = spec.trainableNames;
    else {
      progress('no scheme from our budget run: searching it here ...');
      const s = await searchBudget(g, feeds, { kind: 'sgd', lr: spec.lr }, new CpuBackend((await ourKernels()).kernels), spec.budgetBytes);
      names = trainableOf(g, s.result.scheme).names;
    }
  } else {
    const t = trainableOf(g, fixedScheme(g, spec.config));
    names = t.names;
    if (t.partial.length) partialNote = `TF.js has no channel-partial training: ${t.partial.length} tensors trained whole`;
  }
  const model = new TfGraph(tf, g, { trainable: new Set(names) });
  const trainedParams = model.variables.reduce((s, v) => s + v.size, 0);
  Object.assign(base, { trainedTensors: names.length, trainedParams });
  const missing = model.missingKernels();
  if (missing.length) return { ...base, status: 'cannot-train', note: `cannot train: missing kernels ${missing.join(', ')}`, missingKernels: missing, rssPeakBytes: peakRss(), rssBaseBytes };

  const inputs = model.feeds(feeds);
  const oneHot = model.oneHot(feeds.labels!);
  const setupMs = performance.now() - t0;
  const persistentBytes = tf.memory().numBytes;
  try {
    // the untimed first step, profiled: peak tensor bytes and time per kernel
    progress('profiled warmup step (memory) ...');
    const p0 = performance.now();
    let first = NaN;
    const profile = await tf.profile(() => {
      first = model.step(inputs, oneHot, spec.lr);
    });
    progress(`profiled step: ${(performance.now() - p0).toFixed(0)} ms, loss ${first.toFixed(4)}, peak ${profile.peakBytes} bytes`);
    const hot = new Hotspots();
    for (const k of profile.kernels) hot.add(k.name, Number(k.kernelTimeMs) || 0);
    const { stepMs, losses } = await timeSteps(() => model.step(inputs, oneHot, spec.lr), Math.max(0, spec.warmup - 1), spec.steps);
    return {
      ...base,
      ...stepStats(stepMs),
      stepMs,
      losses: [first, ...losses],
      peakBytes: profile.peakBytes,
      persistentBytes,
      rssPeakBytes: peakRss(),
      rssBaseBytes,
      setupMs,
      hotspots: hot.top(),
      note: partialNote,
    };
  } catch (e) {
    const m = MISSING_KERNEL.exec((e as Error).message);
    if (m) return { ...base, status: 'cannot-train', note: `cannot train: missing kernels ${m[1]}`, missingKernels: [m[1]!], rssPeakBytes: peakRss(), rssBaseBytes };
    throw e;
  }
}
