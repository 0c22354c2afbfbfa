/**
 * Benchmark of the fast float32 kernels against the reference kernels (measures; asserts nothing).
 *
 *   node packages/backend-cpu/bench/fast-kernels.mjs [--threads N] [--quick] [--filter TEXT] [--no-peak]
 *
 * Bundles the TypeScript sources with esbuild (a dev dependency of the workspace) into a temp
 * file, then prints: the machine's single-thread WASM-SIMD peak (independent f32x4 mul+add
 * chains), GEMM GFLOP/s on operands already in WASM memory (512^3, 1024^3; one thread and the
 * pool), and per-kernel GFLOP/s with speedups over the reference kernels for MobileNetV2-like
 * shapes, including the cost of copying operands into and out of WASM memory.
 */
import { importBundled } from './bundled.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const threadsArg = args.indexOf('--threads');
const filterArg = args.indexOf('--filter');
const { runBenchmarks } = await importBundled('entry.ts');
await runBenchmarks({
  quick,
  threads: threadsArg >= 0 ? Number(args[threadsArg + 1]) : undefined,
  filter: filterArg >= 0 ? args[filterArg + 1] : undefined,
  peak: !args.includes('--no-peak'),
});
process.exit(0);
