/** Timing and memory helpers shared by the runners. */
import type { Hotspot } from './types.js';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Peak resident set of this process so far, in bytes (maxRSS is in KiB). */
export function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** A progress line on stderr (the parent prints it indented under the run). */
export function progress(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Runs `warmup` untimed then `steps` timed calls of `step`; returns per-step ms and losses. */
export async function timeSteps(step: () => number | Promise<number>, warmup: number, steps: number): Promise<{ stepMs: number[]; losses: number[] }> {
  const stepMs: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const loss = await step();
    const ms = performance.now() - t0;
    losses.push(loss);
    if (i >= warmup) stepMs.push(ms);
    progress(`${i < warmup ? 'warmup' : `step ${i - warmup + 1}/${steps}`}: ${ms.toFixed(0)} ms, loss ${loss.toFixed(4)}`);
  }
  return { stepMs, losses };
}

/** Summary fields of a list of step times. */
export function stepStats(stepMs: readonly number[]): { medianMs?: number; minMs?: number } {
  return stepMs.length ? { medianMs: median(stepMs), minMs: Math.min(...stepMs) } : {};
}

/** Accumulates time per name; `top` returns the largest. */
export class Hotspots {
  private readonly acc = new Map<string, { ms: number; count: number }>();
  add(name: string, ms: number): void {
    const e = this.acc.get(name) ?? { ms: 0, count: 0 };
    e.ms += ms;
    e.count++;
    this.acc.set(name, e);
  }
  top(n = 8): Hotspot[] {
    return [...this.acc]
      .map(([name, e]) => ({ name, ms: Math.round(e.ms * 10) / 10, count: e.count }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, n);
  }
}
