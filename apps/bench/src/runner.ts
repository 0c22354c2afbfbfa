/**
 * Child-process entry: runs ONE (framework, model, configuration) and prints its result as one
 * JSON line (prefixed BENCH_RESULT) on stdout; progress goes to stderr. One process per run, so
 * the process's peak RSS belongs to that run alone.
 *
 *   node --import tsx src/runner.ts '<RunSpec as JSON>'
 */
import { peakRss } from './measure.js';
import { runJax } from './peers/jax.js';
import { runOurs } from './peers/ours.js';
import { runTfjs } from './peers/tfjs.js';
import { runTorch } from './peers/torch.js';
import { RESULT_PREFIX, type RunResult, type RunSpec } from './types.js';

async function run(spec: RunSpec): Promise<RunResult> {
  switch (spec.framework) {
    case 'ours':
      return runOurs(spec);
    case 'ours-native':
      return runOurs(spec, ['onnxruntime']);
    case 'tfjs-cpu':
      return runTfjs(spec, 'cpu');
    case 'tfjs-wasm':
      return runTfjs(spec, 'wasm');
    case 'jax-js':
      return runJax(spec);
    case 'torch':
      return runTorch(spec);
  }
}

const spec = JSON.parse(process.argv[2] ?? '{}') as RunSpec;
const t0 = performance.now();
let result: RunResult;
try {
  result = await run(spec);
} catch (e) {
  const err = e as Error;
  result = { framework: spec.framework, model: spec.model, config: spec.config, status: 'error', note: err.message.split('\n').slice(0, 3).join(' '), rssPeakBytes: peakRss() };
  process.stderr.write(`${err.stack ?? err.message}\n`);
}
result.wallMs = performance.now() - t0;
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
// worker pools (fast kernels, wasm threads) would keep the process alive
process.exit(0);
