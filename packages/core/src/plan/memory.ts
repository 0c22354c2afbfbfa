/**
 * Static memory planning: every temporary of a plan gets an offset in one arena, computed at
 * compile time from the buffers' lifetimes, so the peak is known before anything runs.
 * Offsets are assigned greedy-by-size with best fit (largest tensors first, each into the
 * smallest gap of the tensors whose lifetimes overlap it) — the strategy of TFLite's arena
 * planner (Pisarchyk & Lee, "Efficient Memory Management for Deep Neural Net Inference", 2020).
 */
import type { ValueId } from '../ir/graph.js';
import { rootOf, type Plan } from './plan.js';

export type MemoryCategory = 'parameters' | 'optimizerState' | 'inputs' | 'savedActivations' | 'gradients' | 'workspace';

export interface MemoryPlan {
  alignment: number;
  arenaBytes: number;
  /** Arena offset of every temporary. */
  offsets: Map<ValueId, number>;
  /** [first step, last step] (indices of run steps) during which each temporary is live. */
  lifetimes: Map<ValueId, [number, number]>;
  /** Bytes of persistent buffers (params, buffers, consts, state, inputs, folded constants). */
  persistentBytes: number;
  /** Bytes of weights needed only to compute folded constants (released before the arena exists). */
  initOnlyBytes: number;
  /** persistentBytes + max(arenaBytes, initOnlyBytes): all the backend ever holds at once. */
  peakBytes: number;
  /** The largest sum of live temporaries at any step (a lower bound for the arena). */
  liveBytesMax: number;
  /** Run-step index at which live temporaries peak. */
  peakStep: number;
  /** What occupies memory at the peak step (persistent categories counted whole). */
  breakdown: Record<MemoryCategory, number>;
}

type Phase = 'forward' | 'backward' | 'update';

/** Which part of the training step a node belongs to (from the names autodiff and optimizers give). */
export function nodePhase(name: string): Phase {
  if (name.startsWith('grad(')) return 'backward';
  if (name.startsWith('update(') || name === 'optimizer') return 'update';
  return 'forward';
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

export function planMemory(plan: Omit<Plan, 'memory'>, alignment: number): MemoryPlan {
  const runs = plan.steps.filter((s) => s.kind === 'run');
  const lifetimes = new Map<ValueId, [number, number]>();
  const producedIn = new Map<ValueId, Phase>();
  const readInBackward = new Set<ValueId>();
  const end = runs.length - 1;
  const keepToEnd = new Set<ValueId>([...plan.outputs.map((o) => o.value), ...plan.copies.map((u) => u.value)]);
  runs.forEach((s, k) => {
    const phase = nodePhase(s.name);
    for (const o of s.outputs) {
      const v = plan.values.get(o)!;
      if (v.role !== 'node' || plan.aliases.has(o) || plan.folded.has(o)) continue;
      lifetimes.set(o, [k, keepToEnd.has(o) ? end : k]);
      producedIn.set(o, phase);
    }
    // a value written in place over a temporary keeps that temporary's buffer alive
    for (const i of [...s.inputs, ...s.outputs]) {
      const lt = lifetimes.get(rootOf(plan.aliases, i));
      if (lt) lt[1] = Math.max(lt[1], k);
    }
    if (phase !== 'forward') for (const i of s.inputs) readInBackward.add(rootOf(plan.aliases, i));
  });

  // greedy by size, best fit
  const order = [...lifetimes.keys()].sort((a, b) => plan.values.get(b)!.bytes - plan.values.get(a)!.bytes || a - b);
  const placed: { id: ValueId; off: number; size: number; lt: [number, number] }[] = [];
  const offsets = new Map<ValueId, number>();
  let arenaBytes = 0;
  for (const id of order) {
    const bytes = align(Math.max(plan.values.get(id)!.bytes, 1), alignment);
    const lt = lifetimes.get(id)!;
    const overlapping = placed.filter((p) => p.lt[0] <= lt[1] && lt[0] <= p.lt[1]).sort((a, b) => a.off - b.off);
    let best = -1;
    let bestGap = Infinity;
    let cursor = 0;
    for (const p of overlapping) {
      const gap = p.off - cursor;
      if (gap >= bytes && gap < bestGap) {
        best = cursor;
        bestGap = gap;
      }
      cursor = Math.max(cursor, p.off + p.size);
    }
    const off = best >= 0 ? best : cursor;
    offsets.set(id, off);
    placed.push({ id, off, size: bytes, lt });
    arenaBytes = Math.max(arenaBytes, off + bytes);
  }

  // live bytes per step and the breakdown at the peak
  const live = new Array<number>(runs.length).fill(0);
  for (const [id, [a, b]] of lifetimes) for (let k = a; k <= b; k++) live[k]! += plan.values.get(id)!.bytes;
  let peakStep = 0;
  live.forEach((v, k) => {
    if (v > live[peakStep]!) peakStep = k;
  });
  const breakdown: Record<MemoryCategory, number> = {
    parameters: 0,
    optimizerState: 0,
    inputs: 0,
    savedActivations: 0,
    gradients: 0,
    workspace: 0,
  };
  let persistentBytes = 0;
  let initOnlyBytes = 0;
  for (const v of plan.values.values()) {
    if (plan.initOnly.has(v.id)) {
      initOnlyBytes += v.bytes;
      continue;
    }
    if (v.role === 'node' && !plan.folded.has(v.id)) continue;
    persistentBytes += v.bytes;
    if (v.role === 'node') {
      breakdown.parameters += v.bytes; // folded constants derived from frozen weights
      continue;
    }
    if (v.role === 'param' || v.role === 'buffer' || v.role === 'const') breakdown.parameters += v.bytes;
    else if (v.role === 'state') breakdown.optimizerState += v.bytes;
    else breakdown.inputs += v.bytes;
  }
  for (const [id, [a, b]] of lifetimes) {
    if (peakStep < a || peakStep > b) continue;
    const bytes = plan.values.get(id)!.bytes;
    const phase = producedIn.get(id)!;
    if (phase === 'forward' && readInBackward.has(id) && peakStep > a) breakdown.savedActivations += bytes;
    else if (phase === 'backward') breakdown.gradients += bytes;
    else breakdown.workspace += bytes;
  }
  return {
    alignment,
    arenaBytes,
    offsets,
    lifetimes,
    persistentBytes,
    initOnlyBytes,
    peakBytes: persistentBytes + Math.max(arenaBytes, initOnlyBytes),
    liveBytesMax: live.length ? live[peakStep]! : 0,
    peakStep,
    breakdown,
  };
}
