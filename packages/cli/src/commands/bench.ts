/**
 * `pockengine bench MODEL --shape ... [--scheme S] [--steps N] [--optimizer sgd|adam] [--backend cpu] [--json]
 *   [--cpuprofile FILE]` (a V8 CPU profile of the timed steps only, for Chrome DevTools / speedscope)
 * Times training steps on a synthetic batch; prints one JSON object: median and min ms per
 * step, planned peak bytes, the backend's measured peak, and the process's peak RSS.
 */
import { Program, compileTrainingGraph } from '@pockengine/core';
import { flag, fmtBytes, num, one, oneOf, shapes, type Args } from '../args.js';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { syntheticBatch } from '../contribution.js';
import { loadModel } from '../load-model.js';
import { lossFromArgs, optimizerFromArgs, schemeFromArgs } from '../options.js';
import { borrowFromArgs, makeBackend } from '../backends.js';

export async function bench(a: Args): Promise<number> {
  const path = a.positional[0];
  if (!path) throw new Error('usage: pockengine bench MODEL --shape NAME=8x3x96x96 [--scheme S.json] [--steps N] [--json]');
  const backendName = oneOf(a, 'backend', ['cpu', 'cpu-reference'] as const, 'cpu');
  const steps = num(a, 'steps', 5)!;
  const m = await loadModel(path, { shapes: shapes(a) });
  const loss = lossFromArgs(a, m.graph);
  const t0 = performance.now();
  const { graph } = compileTrainingGraph(m.graph, { loss, optimizer: optimizerFromArgs(a), scheme: schemeFromArgs(a) });
  const backend = await makeBackend(backendName, borrowFromArgs(a));
  const prog = Program.create(graph, backend);
  const compileMs = performance.now() - t0;
  const feeds = syntheticBatch(m.graph, loss, 1);
  await prog.step(feeds); // warm-up
  const cpuProfile = one(a, 'cpuprofile');
  const session = cpuProfile ? await startCpuProfile() : null;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const s = performance.now();
    await prog.step(feeds);
    times.push(performance.now() - s);
  }
  if (session && cpuProfile) await stopCpuProfile(session, cpuProfile);
  times.sort((x, y) => x - y);
  // one more step with per-op timing: where the time goes
  prog.profile = new Map();
  await prog.step(feeds);
  const total = [...prog.profile.values()].reduce((p, e) => p + e.ms, 0);
  const profile = [...prog.profile].sort((x, y) => y[1].ms - x[1].ms).slice(0, 12).map(([k, e]) => ({ op: k, ms: +e.ms.toFixed(2), calls: e.calls, share: +(e.ms / total).toFixed(3) }));
  const r = {
    model: path,
    backend: backend.name,
    steps,
    medianMs: times[times.length >> 1]!,
    minMs: times[0]!,
    compileMs,
    plannedPeakBytes: prog.plan.memory.peakBytes,
    measuredPeakBytes: backend.peakBytes(),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    profile,
  };
  if (flag(a, 'json')) console.log(JSON.stringify(r));
  else
    console.log(
      `${path} on ${r.backend}: median ${r.medianMs.toFixed(1)} ms, min ${r.minMs.toFixed(1)} ms per step (${steps} steps); ` +
        `planned peak ${fmtBytes(r.plannedPeakBytes)}, measured ${fmtBytes(r.measuredPeakBytes)}, process RSS ${fmtBytes(r.peakRssBytes)}`,
    );
  if (!flag(a, 'json')) for (const p of profile) console.log(`  ${p.op.padEnd(34)} ${p.ms.toFixed(1).padStart(8)} ms  ${(100 * p.share).toFixed(1).padStart(5)}%  (${p.calls} calls)`);
  return 0;
}

async function startCpuProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return session;
}

async function stopCpuProfile(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
}
