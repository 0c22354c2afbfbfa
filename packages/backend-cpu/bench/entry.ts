/** Body of bench/fast-kernels.mjs (bundled by it); see that file for usage. */
import { convGeometry, rng, size, type ConvAttrs, type MatmulAttrs } from '@pockengine/core';
import { availableParallelism } from 'node:os';
import {
  JsEngine,
  createFastKernels,
  createThreadedEngine,
  createWasmEngine,
  get,
  measureSimdPeak,
  relaxedSimdSupported,
  put,
  type Engine,
} from '../src/fast/index.js';
import { CPU_KERNELS, type CpuTensor } from '../src/index.js';

function rand(shape: number[], seed: number): CpuTensor {
  const r = rng(seed);
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = 2 * r() - 1;
  return { dtype: 'float32', shape, data };
}

/** Best wall time in ms after one warm-up run, over at least `minReps` runs and `minMs` total. */
function time(fn: () => void, minReps = 3, minMs = 300): number {
  fn();
  let best = Infinity;
  let total = 0;
  for (let r = 0; r < minReps || total < minMs; r++) {
    const t0 = performance.now();
    fn();
    const t = performance.now() - t0;
    best = Math.min(best, t);
    total += t;
    if (r > 200) break;
  }
  return best;
}

const gflops = (flops: number, ms: number) => flops / ms / 1e6;
const f1 = (v: number) => v.toFixed(1).padStart(6);

interface KernelCase {
  name: string;
  op: 'matmul' | 'conv2d' | 'conv2d_grad_input' | 'conv2d_grad_weight';
  inputs: CpuTensor[];
  outputs: CpuTensor[];
  attrs: unknown;
  flops: number;
}

function convCases(label: string, x: number[], w: number[], attrs: ConvAttrs, bias = true): KernelCase[] {
  const g = convGeometry(x, w, attrs);
  const flops = 2 * g.n * g.m * g.oh * g.ow * g.cPerGroup * g.kh * g.kw;
  const y = [g.n, g.m, g.oh, g.ow];
  const xs = rand(x, 1);
  const ws = rand(w, 2);
  const dy = rand(y, 3);
  const empty = (s: number[]): CpuTensor => ({ dtype: 'float32', shape: s, data: new Float32Array(size(s)) });
  return [
    { name: `${label} fwd`, op: 'conv2d', inputs: bias ? [xs, ws, rand([g.m], 4)] : [xs, ws], outputs: [empty(y)], attrs, flops },
    { name: `${label} dx`, op: 'conv2d_grad_input', inputs: [dy, ws], outputs: [empty(x)], attrs: { ...attrs, inputShape: x }, flops },
    { name: `${label} dw`, op: 'conv2d_grad_weight', inputs: [xs, dy], outputs: [empty(w)], attrs: { ...attrs, weightShape: w }, flops },
  ];
}

function matmulCase(name: string, a: number[], b: number[], attrs: MatmulAttrs): KernelCase {
  const m = attrs.transA ? a[1]! : a[0]!;
  const k = attrs.transA ? a[0]! : a[1]!;
  const n = attrs.transB ? b[0]! : b[1]!;
  return { name, op: 'matmul', inputs: [rand(a, 5), rand(b, 6)], outputs: [{ dtype: 'float32', shape: [m, n], data: new Float32Array(m * n) }], attrs, flops: 2 * m * n * k };
}

const conv = (s: number, p: number, groups = 1): ConvAttrs => ({ strides: [s, s], pads: [p, p, p, p], dilations: [1, 1], groups });

function gemmInMemory(e: Engine, s: number): number {
  e.reset();
  const a = put(e, rand([s, s], 1).data);
  const b = put(e, rand([s, s], 2).data);
  const c = e.alloc(s * s);
  const ms = time(() => e.gemm({ m: s, n: s, k: s, a, rsA: s, csA: 1, b, rsB: s, csB: 1, c, ldc: s, flags: 0, bias: 0 }));
  return gflops(2 * s * s * s, ms);
}

/** ms spent copying a kernel's inputs into the engine heap and its outputs back. */
function copyMs(e: Engine, c: KernelCase): number {
  return time(() => {
    e.reset();
    for (const t of c.inputs) put(e, t.data);
    for (const t of c.outputs) get(e, e.alloc(t.data.length), t.data as Float32Array);
  });
}

export async function runBenchmarks(opts: { quick?: boolean; threads?: number; filter?: string; peak?: boolean }): Promise<void> {
  const threads = Math.max(1, Math.min(8, opts.threads ?? availableParallelism()));
  console.log(`node ${process.version}, ${availableParallelism()} cores, pool of ${threads} threads`);
  // relaxed SIMD (multiply-add GEMM) as initFastKernels turns it on in Node
  if (!relaxedSimdSupported()) (await import('node:v8')).setFlagsFromString('--experimental-wasm-relaxed-simd');
  const madd = relaxedSimdSupported();
  const single = createWasmEngine(madd);
  const pool = threads > 1 ? await createThreadedEngine(threads, { madd }) : null;
  console.log(`GEMM micro-kernel: ${madd ? 'relaxed SIMD multiply-add' : 'f32x4 mul + add'}`);
  const n = opts.quick ? 5e6 : 2e7;
  const r = opts.quick ? 5 : 15;
  const muladd = opts.peak === false ? { gflops: NaN, byChains: {} } : measureSimdPeak(n, r);
  const fma = opts.peak === false || !madd ? { gflops: NaN, byChains: {} } : measureSimdPeak(n, r, true);
  const chains = (p: { byChains: Record<number, number> }) => Object.entries(p.byChains).map(([c, g]) => `${c}:${g.toFixed(1)}`).join(' ');
  // the machine's peak: the better of the two instruction mixes
  const peak = { gflops: Math.max(muladd.gflops, Number.isNaN(fma.gflops) ? 0 : fma.gflops) };
  if (opts.peak !== false) {
    console.log(`WASM-SIMD f32x4 mul+add peak, 1 thread: ${muladd.gflops.toFixed(1)} GFLOP/s (chains:GFLOP/s ${chains(muladd)})`);
    if (madd) console.log(`WASM-SIMD f32x4 relaxed multiply-add peak, 1 thread: ${fma.gflops.toFixed(1)} GFLOP/s (chains:GFLOP/s ${chains(fma)})`);
    console.log(`peak used below: ${peak.gflops.toFixed(1)} GFLOP/s`);
  }
  for (const s of opts.filter ? [] : [512, 1024]) {
    const g1 = gemmInMemory(single, s);
    let line = `GEMM ${s}^3 in WASM memory: 1 thread ${g1.toFixed(1)} GFLOP/s (${((100 * g1) / peak.gflops).toFixed(0)}% of peak)`;
    if (pool) {
      const gn = gemmInMemory(pool, s);
      line += `, ${threads} threads ${gn.toFixed(1)} GFLOP/s (${((100 * gn) / (threads * peak.gflops)).toFixed(0)}% of ${threads}x peak)`;
    }
    console.log(line);
  }

  const cases: KernelCase[] = [
    matmulCase('matmul 64x1024x1024', [64, 1024], [1024, 1024], { transA: false, transB: false }),
    matmulCase('matmul 64x1024x1024 B^T', [64, 1024], [1024, 1024], { transA: false, transB: true }),
    ...convCases('stem 3x3/2 3->32 96x96', [8, 3, 96, 96], [32, 3, 3, 3], conv(2, 1)),
    ...convCases('pw 1x1 32->192 48x48', [8, 32, 48, 48], [192, 32, 1, 1], conv(1, 0)),
    ...convCases('dw 3x3 144ch 24x24', [8, 144, 24, 24], [144, 1, 3, 3], conv(1, 1, 144)),
    ...convCases('dw 3x3/2 96ch 48x48', [8, 96, 48, 48], [96, 1, 3, 3], conv(2, 1, 96)),
    ...convCases('pw 1x1 144->24 24x24', [8, 144, 24, 24], [24, 144, 1, 1], conv(1, 0), false),
    ...convCases('3x3 64->64 12x12', [8, 64, 12, 12], [64, 64, 3, 3], conv(1, 1)),
  ];
  const fast1 = createFastKernels(() => single);
  const fastN = pool ? createFastKernels(() => pool) : null;
  const js = new JsEngine();
  const fastJs = createFastKernels(() => js);
  const head = `${'kernel'.padEnd(30)} ${'MFLOP'.padStart(7)} ${'ref'.padStart(6)} ${'js'.padStart(6)} ${'fast1T'.padStart(6)} ${'x'.padStart(5)} ${`fast${threads}T`.padStart(6)} ${'x'.padStart(5)} copy%`;
  console.log(`\nGFLOP/s per kernel: reference, pure-JS engine, WASM SIMD on 1 and ${threads} threads (x = speedup over`);
  console.log(`the reference; copy% = share of the 1-thread time spent copying operands into / out of WASM memory)\n${head}`);
  for (const c of cases.filter((k) => !opts.filter || k.name.includes(opts.filter!))) {
    const run = (table: Record<string, unknown>) => () => (table[c.op] as (i: CpuTensor[], o: CpuTensor[], a: unknown) => void)(c.inputs, c.outputs, c.attrs);
    const ref = time(run(CPU_KERNELS), 1, opts.quick ? 0 : 200);
    const tj = time(run(fastJs), 1, opts.quick ? 0 : 200);
    const t1 = time(run(fast1));
    const tn = fastN ? time(run(fastN)) : NaN;
    const copy = copyMs(single, c);
    console.log(
      `${c.name.padEnd(30)} ${(c.flops / 1e6).toFixed(0).padStart(7)} ${f1(gflops(c.flops, ref))} ${f1(gflops(c.flops, tj))} ${f1(gflops(c.flops, t1))} ${(ref / t1).toFixed(0).padStart(5)} ${f1(gflops(c.flops, tn))} ${(ref / tn).toFixed(0).padStart(5)} ${((100 * copy) / t1).toFixed(0).padStart(4)}`,
    );
  }
  pool?.dispose();
}
