/**
 * `npm run bench -- [options]`: PockEngine against TF.js (cpu, wasm), jax-js and PyTorch on the
 * same models, in one run on one machine. Every (framework, model, configuration) runs in its own
 * child process (src/runner.ts), so each process's peak RSS is its own. Writes
 * out/bench/results.json (after every run), report.md and report.html, and prints the tables.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './args.js';
import { configsFor, repoRoot, type Config, type ModelName } from './models.js';
import { torchAvailable } from './peers/torch.js';
import { htmlReport, markdownReport, textReport, fmtBytes, fmtMs, type BenchResults } from './report.js';
import { FRAMEWORKS, OURS, RESULT_PREFIX, type Framework, type RunResult, type RunSpec } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = resolve(here, '..');
const a = parseArgs(process.argv.slice(2));
if (a.help) {
  console.log(a.usage);
  process.exit(0);
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const log = (s: string) => console.log(s);

async function runChild(spec: RunSpec, timeoutS: number): Promise<RunResult> {
  // ours-native borrows onnxruntime-node kernels: start it with their malloc settings (ORT_MALLOC_ENV)
  const env = spec.framework === 'ours-native' ? { ...process.env, ...(await import('@pockengine/cli')).ORT_MALLOC_ENV } : process.env;
  return new Promise((done) => {
    const t0 = Date.now();
    const child = fork(join(here, 'runner.ts'), [JSON.stringify(spec)], {
      cwd: benchDir,
      env,
      execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let result: RunResult | undefined;
    const tail: string[] = [];
    const lines = (chunk: Buffer, onLine: (l: string) => void) => chunk.toString().split('\n').filter((l) => l.trim()).forEach(onLine);
    child.stdout!.on('data', (c: Buffer) =>
      lines(c, (l) => {
        if (l.startsWith(RESULT_PREFIX)) result = JSON.parse(l.slice(RESULT_PREFIX.length)) as RunResult;
      }),
    );
    child.stderr!.on('data', (c: Buffer) =>
      lines(c, (l) => {
        tail.push(l);
        if (tail.length > 20) tail.shift();
        if (!/^\s+at |^=+$|Hi, looks like you are running TensorFlow\.js/.test(l)) log(`      [${((Date.now() - t0) / 1000).toFixed(1)} s] ${l}`);
      }),
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      result = { framework: spec.framework, model: spec.model, config: spec.config, status: 'timeout', note: `timed out after ${timeoutS} s (--timeout-s)`, wallMs: Date.now() - t0 };
    }, timeoutS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      done(
        result ?? {
          framework: spec.framework,
          model: spec.model,
          config: spec.config,
          status: 'error',
          note: `runner exited (${signal ?? `code ${code}`}) without a result: ${tail.slice(-3).join(' / ')}`,
          wallMs: Date.now() - t0,
        },
      );
    });
  });
}

function summary(r: RunResult): string {
  if (r.status !== 'ok') return `${r.status}: ${r.note ?? ''}`;
  const mem = OURS.includes(r.framework) ? `peak ${fmtBytes(r.peakBytes)} (planned ${fmtBytes(r.plannedPeakBytes)})` : r.peakBytes !== undefined ? `peak ${fmtBytes(r.peakBytes)}` : `RSS ${fmtBytes(r.rssPeakBytes)}`;
  return `ok: median ${fmtMs(r.medianMs)}, ${mem}${r.budgetBytes !== undefined ? `, budget ${fmtBytes(r.budgetBytes)} ${r.budgetPass ? 'pass' : 'FAIL'}` : ''}`;
}

const notes: string[] = [
  'Peak tensors: ours = bytes the CPU backend allocated at its peak (weights, inputs, the planned arena); TF.js = tf.profile peakBytes of one step (all live tensors after each kernel). Neither counts kernel-internal scratch; ours lists the fast kernels\' WASM heap in results.json (kernelHeapBytes).',
  'TF.js runs the same imported graph through src/tfjs-interpreter.ts (NHWC, filters stored in TF.js layout); the runner also loads tfjs-core\'s gradient registrations (a second copy of its ops), which adds setup time and RSS, not tensor bytes.',
];
const torch = a.frameworks.includes('torch') ? torchAvailable() : undefined;
if (torch && !torch.ok) notes.push(`torch: /usr/bin/python3 cannot import torch (${torch.why}); skipped.`);
if (a.frameworks.includes('jax-js') && !a.models.includes('mlp')) notes.push('jax-js runs the MLP only: add mlp to --models.');

interface Planned {
  framework: Framework;
  model: ModelName;
  config: Config;
}
const plan: Planned[] = [];
for (const model of a.models) {
  const configs = configsFor(model).filter((c) => a.configs.includes(c));
  for (const framework of FRAMEWORKS) {
    if (!a.frameworks.includes(framework)) continue;
    if (framework === 'jax-js' && model !== 'mlp') continue;
    if (framework === 'torch' && !torch?.ok) continue;
    // torch runs full backprop (its runner has no sparse schemes)
    for (const config of configs) if (framework !== 'torch' || config === 'full') plan.push({ framework, model, config });
  }
}

const outDir = resolve(repoRoot(), a.out);
mkdirSync(outDir, { recursive: true });
const results: BenchResults = {
  meta: { date: new Date().toISOString(), machine: `${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, ${fmtBytes(totalmem())} RAM`, node: process.version, args: process.argv.slice(2), notes },
  runs: [],
};
const save = () => writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

log(`bench: ${plan.length} runs on ${results.meta.machine}; output in ${outDir}`);
const budgetNames = new Map<ModelName, string[]>();
const budgetFailed = new Map<ModelName, string>();
for (const [k, p] of plan.entries()) {
  const tfjs = p.framework.startsWith('tfjs');
  const failed = p.config === 'budget' && p.framework !== 'ours' ? budgetFailed.get(p.model) : undefined;
  if (failed) {
    // the peers train the scheme our search found; without one there is nothing to compare
    results.runs.push({ ...p, status: 'skipped', note: `no budgeted scheme: our search failed (${failed})` });
    log(`[${k + 1}/${plan.length}] ${p.framework} ${p.model} ${p.config}: skipped (our budget search failed)`);
    continue;
  }
  const spec: RunSpec = {
    ...p,
    warmup: a.warmup,
    steps: tfjs ? a.tfjsSteps : a.steps,
    lr: a.lr,
    options: a.options,
    budgetBytes: a.budget,
    trainableNames: p.config === 'budget' ? budgetNames.get(p.model) : undefined,
  };
  log(`[${k + 1}/${plan.length}] ${p.framework} ${p.model} ${p.config} (${spec.steps} steps) — ${elapsed()} elapsed`);
  const r = await runChild(spec, a.timeoutS);
  if (r.framework === 'ours' && r.trainableNames) budgetNames.set(r.model, r.trainableNames);
  if (r.framework === 'ours' && r.config === 'budget' && r.status !== 'ok') budgetFailed.set(r.model, r.note ?? r.status);
  results.runs.push(r);
  save();
  log(`   -> ${summary(r)} (${((r.wallMs ?? 0) / 1000).toFixed(1)} s)`);
}

writeFileSync(join(outDir, 'report.md'), markdownReport(results));
writeFileSync(join(outDir, 'report.html'), htmlReport(results));
log(textReport(results));
log(`\nwrote ${join(outDir, 'results.json')}, report.md, report.html (${elapsed()})`);
