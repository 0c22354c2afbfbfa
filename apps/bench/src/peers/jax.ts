/**
 * jax-js (0.1.25, wasm device) on the MLP 784-1024-1024-10, batch 64: one jit-compiled SGD step
 * of `valueAndGrad` of the mean softmax cross-entropy, the idiomatic jax-js training loop. The
 * weights are the same initial values as our MLP (core's nn.dense), stored [in, out] as a jax-js
 * user would. jax-js exposes no tensor-byte counter, so memory is the process RSS only.
 */
import { init, jit, nn, numpy as np, tree, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import { peakRss, stepStats, timeSteps } from '../measure.js';
import { loadModel, syntheticBatch } from '../models.js';
import type { RunResult, RunSpec } from '../types.js';

type Layer = { w: JaxArray; b: JaxArray };
type Params = Layer[];

export async function runJax(spec: RunSpec): Promise<RunResult> {
  const base: RunResult = { framework: 'jax-js', model: spec.model, config: spec.config, status: 'ok' };
  if (spec.model !== 'mlp' || spec.config !== 'full')
    return { ...base, status: 'skipped', note: 'the jax-js runner covers the MLP (full training) only' };
  const rssBaseBytes = peakRss();
  const t0 = performance.now();
  const devices = await init('wasm');
  const g = loadModel('mlp', spec.options);
  const feeds = syntheticBatch(g);
  const byName = new Map(g.values.filter((v) => v.role === 'param').map((v) => [v.name, v]));
  let params: Params = ['fc1', 'fc2', 'fc3'].map((l) => {
    const w = byName.get(`${l}.weight`)!;
    const b = byName.get(`${l}.bias`)!;
    const wt = np.array(g.init.get(w.id)!.data as Float32Array, { shape: [...w.shape] });
    return { w: np.transpose(wt), b: np.array(g.init.get(b.id)!.data as Float32Array, { shape: [...b.shape] }) };
  });
  const x = np.array(feeds.x!.data as Float32Array, { shape: [...feeds.x!.shape] });
  const labels = np.array(Int32Array.from(feeds.labels!.data as ArrayLike<number>, Number), { dtype: np.int32 });
  const y = nn.oneHot(labels, 10);
  const lr = spec.lr;

  const lossFn = (p: Params, xs: JaxArray, ys: JaxArray): JaxArray => {
    let h = xs;
    p.forEach((l, i) => {
      h = np.matmul(h, l.w).add(l.b);
      if (i < p.length - 1) h = nn.relu(h);
    });
    return np.mean(np.sum(nn.logSoftmax(h, -1).mul(ys), -1)).mul(-1);
  };
  const step = jit((p: Params, xs: JaxArray, ys: JaxArray) => {
    const [loss, grads] = valueAndGrad(lossFn)(tree.ref(p), xs, ys) as unknown as [JaxArray, Params];
    const next = tree.map((a: JaxArray, d: JaxArray) => a.sub(d.mul(lr)), p, grads) as Params;
    return [next, loss] as const;
  });
  const setupMs = performance.now() - t0;
  const { stepMs, losses } = await timeSteps(async () => {
    const [next, loss] = step(params, x.ref, y.ref) as unknown as [Params, JaxArray];
    params = next;
    return (await loss.data())[0]!;
  }, spec.warmup, spec.steps);
  return {
    ...base,
    engine: `jax-js ${devices.includes('wasm') ? 'wasm' : 'cpu'} device, jit`,
    ...stepStats(stepMs),
    stepMs,
    losses,
    rssPeakBytes: peakRss(),
    rssBaseBytes,
    trainedTensors: 6,
    trainedParams: [...byName.values()].reduce((s, v) => s + v.shape.reduce((a, d) => a * d, 1), 0),
    setupMs,
  };
}
