/**
 * PyTorch, only where `/usr/bin/python3 -c "import torch"` works (never required), eager mode,
 * SGD, timed in Python with the same warmup / steps: the MLP 784-1024-1024-10 batch 64, and
 * (full backprop) the shared CNNs and transformers rebuilt in torch by ../shared/models/make_refs.py
 * (torch/torch_cnn.py: same architectures, frozen BN statistics as our import, dropout off; its own
 * random initial weights, so its losses differ from ours).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { modelsDir } from '../models.js';
import { stepStats } from '../measure.js';
import type { RunResult, RunSpec } from '../types.js';

const PYTHON = '/usr/bin/python3';

export function torchAvailable(): { ok: boolean; why?: string } {
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return { ok: true, why: r.stdout.trim() };
  return { ok: false, why: r.error ? r.error.message : (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`) };
}

const SCRIPT = `
import json, sys, time, resource, torch
warmup, steps, lr = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 10))
opt = torch.optim.SGD(model.parameters(), lr=lr)
x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
ms, losses = [], []
for i in range(warmup + steps):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    l = loss.item()
    if i >= warmup: ms.append((time.perf_counter() - t0) * 1000)
    losses.append(l)
print(json.dumps({"stepMs": ms, "losses": losses, "threads": torch.get_num_threads(), "version": torch.__version__,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
`;

export function runTorch(spec: RunSpec): RunResult {
  const base: RunResult = { framework: 'torch', model: spec.model, config: spec.config, status: 'skipped' };
  const avail = torchAvailable();
  if (!avail.ok) return { ...base, note: `torch not importable by ${PYTHON} (${avail.why}); skipped` };
  if (spec.config !== 'full') return { ...base, note: 'the torch runner covers full training only' };
  if (spec.model !== 'mlp') return runTorchModel(spec, base);
  const r = spawnSync(PYTHON, ['-c', SCRIPT, String(spec.warmup), String(spec.steps), String(spec.lr)], { encoding: 'utf8' });
  if (r.status !== 0) return { ...base, status: 'error', note: r.stderr.trim().split('\n').slice(-3).join(' ') };
  const o = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { stepMs: number[]; losses: number[]; threads: number; version: string; rss: number };
  return {
    ...base,
    status: 'ok',
    engine: `torch ${o.version}, ${o.threads} threads`,
    stepMs: o.stepMs,
    ...stepStats(o.stepMs),
    losses: o.losses,
    rssPeakBytes: o.rss,
    trainedTensors: 6,
  };
}

/** A shared model rebuilt in torch by make_refs.py (torch/torch_cnn.py). */
function runTorchModel(spec: RunSpec, base: RunResult): RunResult {
  const o = spec.options;
  const script = fileURLToPath(new URL('../../torch/torch_cnn.py', import.meta.url));
  const env = {
    ...process.env,
    POCKENGINE_MODELS: modelsDir(),
    RES: String(o.res),
    BATCH: String(o.batch),
    TEXT_BATCH: String(o.textBatch),
    SEQ: String(o.seq),
    WARMUP: String(spec.warmup),
    STEPS: String(spec.steps),
    LR: String(spec.lr),
  };
  const r = spawnSync(PYTHON, [script, spec.model], { encoding: 'utf8', env, timeout: 1_800_000 });
  // an optional Python module this architecture needs (torchvision for mobilenet_v2): a skip, said how to get it
  const missing = /No module named '([\w.]+)'/.exec(r.stderr ?? '')?.[1];
  if (r.status !== 0 && missing)
    return { ...base, note: `the torch ${spec.model} needs the Python module '${missing}' (Debian: apt-get install python3-${missing.split('.')[0]}); skipped` };
  if (r.status !== 0) return { ...base, status: 'error', note: r.stderr.trim().split('\n').slice(-3).join(' ') };
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { stepMs: number[]; losses: number[]; threads: number; torch: string; peakRssBytes: number };
  return {
    ...base,
    status: 'ok',
    engine: `torch ${out.torch}, ${out.threads} threads (make_refs.py architecture)`,
    stepMs: out.stepMs,
    ...stepStats(out.stepMs),
    losses: out.losses,
    rssPeakBytes: out.peakRssBytes,
  };
}
