/**
 * Measures this machine's single-thread WASM-SIMD float32 peak: independent f32x4 mul+add chains
 * (see addPeak) with no memory traffic, for several chain counts; the best rate is the peak. With
 * too few chains the loop is latency bound, with too many the 16 xmm registers V8 allocates spill,
 * so the sweep finds the throughput bound of the multiply and add units as compiled by this engine.
 */
import { ModuleBuilder } from './wasm-builder.js';
import { addPeak } from './wasm-gemm.js';

export interface PeakResult {
  /** Best GFLOP/s over the sweep (a mul and an add per lane count as 2 flops). */
  gflops: number;
  /** GFLOP/s per number of chains. */
  byChains: Record<number, number>;
}

/**
 * `madd`: chains of relaxed SIMD multiply-adds instead (needs relaxedSimdSupported()); the
 * machine's peak is the higher of the two (on AMD Zen, separate multiply and add pipes make them
 * equal; where multiply and add share the FMA ports, multiply-add doubles it).
 */
export function measureSimdPeak(iterations = 2e7, repeats = 5, madd = false): PeakResult {
  const byChains: Record<number, number> = {};
  for (const chains of madd ? [4, 6, 8, 10, 12] : [4, 5, 6, 7, 8]) {
    const mod = new ModuleBuilder({ shared: false, initial: 1, maximum: 1 });
    addPeak(mod, chains, 1, madd);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const { peak } = new WebAssembly.Instance(new WebAssembly.Module(mod.build()), { env: { memory } }).exports as { peak: (n: number, s: number) => number };
    peak(1000, 1); // tier up before timing
    let best = 0;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      peak(iterations, 1);
      const s = (performance.now() - t0) / 1000;
      best = Math.max(best, (iterations * chains * 4 * 2) / s / 1e9);
    }
    byChains[chains] = best;
  }
  return { gflops: Math.max(...Object.values(byChains)), byChains };
}
