/** Body of bench/transformer-ops.mjs (bundled by it); see that file for usage. */
import { rng, size, type OpName } from '@pockengine/core';
import { availableParallelism } from 'node:os';
import { createFastKernels, createThreadedEngine, createWasmEngine, type Engine, type WasmEngine } from '../src/fast/index.js';
import { CPU_KERNELS, type CpuTensor } from '../src/index.js';

type Kernel = (inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], attrs: never) => void;

interface Case {
  name: string;
  op: OpName;
  inputs: number[][];
  out: number[];
  attrs?: object;
}

/** bert_medium (hidden 512, 8 heads of 64, FFN 2048) at batch 4, sequence 32. */
const CASES: Case[] = [
  { name: 'bias add [4,32,512]+[512]', op: 'add', inputs: [[4, 32, 512], [512]], out: [4, 32, 512] },
  { name: 'bias add [4,32,2048]+[2048]', op: 'add', inputs: [[4, 32, 2048], [2048]], out: [4, 32, 2048] },
  { name: 'residual add [4,32,512]', op: 'add', inputs: [[4, 32, 512], [4, 32, 512]], out: [4, 32, 512] },
  { name: 'mask add [4,8,32,32]+[4,1,1,32]', op: 'add', inputs: [[4, 8, 32, 32], [4, 1, 1, 32]], out: [4, 8, 32, 32] },
  { name: 'scale div [4,8,32,32]/[]', op: 'div', inputs: [[4, 8, 32, 32], []], out: [4, 8, 32, 32] },
  { name: 'row div [4,8,32,32]/[4,8,32,1]', op: 'div', inputs: [[4, 8, 32, 32], [4, 8, 32, 1]], out: [4, 8, 32, 32] },
  { name: 'mul [4,32,2048]*[4,32,2048]', op: 'mul', inputs: [[4, 32, 2048], [4, 32, 2048]], out: [4, 32, 2048] },
  { name: 'sub [4,32,512]-[4,32,1]', op: 'sub', inputs: [[4, 32, 512], [4, 32, 1]], out: [4, 32, 512] },
  { name: 'erf [4,32,2048]', op: 'erf', inputs: [[4, 32, 2048]], out: [4, 32, 2048] },
  { name: 'exp [4,8,32,32]', op: 'exp', inputs: [[4, 8, 32, 32]], out: [4, 8, 32, 32] },
  { name: 'transpose [4,32,8,64] 0213', op: 'transpose', inputs: [[4, 32, 8, 64]], out: [4, 8, 32, 64], attrs: { perm: [0, 2, 1, 3] } },
  { name: 'transpose [4,8,32,64] 0213', op: 'transpose', inputs: [[4, 8, 32, 64]], out: [4, 32, 8, 64], attrs: { perm: [0, 2, 1, 3] } },
  { name: 'transpose [4,8,32,64] 0132', op: 'transpose', inputs: [[4, 8, 32, 64]], out: [4, 8, 64, 32], attrs: { perm: [0, 1, 3, 2] } },
];

function rand(shape: number[], seed: number): CpuTensor {
  const r = rng(seed);
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = 4 * r() - 2;
  return { dtype: 'float32', shape, data };
}

/** Median wall time in microseconds over `reps` runs after warm-up. */
function time(fn: () => void, reps = 200): number {
  for (let i = 0; i < 20; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1]! * 1000;
}

/** A resident copy of t in the engine's shared heap. */
function resident(e: WasmEngine, t: CpuTensor): CpuTensor {
  const heap = e.pinned()!;
  const at = heap.alloc(4 * Math.max(1, t.data.length));
  const data = new Float32Array(heap.buffer(), at, t.data.length);
  data.set(t.data);
  return { ...t, data, heap: heap.tag };
}

export async function runBenchmarks(threads: number): Promise<void> {
  const single = createWasmEngine();
  const pool = await createThreadedEngine(threads);
  console.log(`node ${process.version}, ${availableParallelism()} cores; median us per call`);
  console.log('case'.padEnd(36) + 'ref'.padStart(9) + 'wasm 1t'.padStart(9) + `pool ${threads}t res`.padStart(14) + '  speedups');
  const kernels = (e: Engine) => createFastKernels(() => e) as Record<string, Kernel>;
  const ref = CPU_KERNELS as unknown as Record<string, Kernel>;
  for (const c of CASES) {
    const inputs = c.inputs.map((s, i) => rand(s, i + 1));
    const out = { dtype: 'float32' as const, shape: c.out, data: new Float32Array(size(c.out)) };
    const attrs = (c.attrs ?? {}) as never;
    const tRef = time(() => ref[c.op]!(inputs, [out], attrs));
    const k1 = kernels(single)[c.op]!;
    const t1 = time(() => k1(inputs, [out], attrs));
    const rin = inputs.map((t) => resident(pool, t));
    const rout = resident(pool, out);
    const kp = kernels(pool)[c.op]!;
    const tp = time(() => kp(rin, [rout], attrs));
    const x = (t: number) => `${(tRef / t).toFixed(1)}x`.padStart(7);
    console.log(c.name.padEnd(36) + tRef.toFixed(1).padStart(9) + t1.toFixed(1).padStart(9) + tp.toFixed(1).padStart(14) + x(t1) + x(tp));
  }
  pool.dispose();
}
