/**
 * Benchmark of the fast transformer kernels (broadcasting add / sub / mul / div, erf, exp,
 * transpose) against the reference kernels on bert_medium shapes (measures; asserts nothing).
 *
 *   node packages/backend-cpu/bench/transformer-ops.mjs [--threads N]
 *
 * Bundles bench/transformer-entry.ts with esbuild into a temp file, then prints median
 * microseconds per call: the reference kernel, the fast kernel on one WASM thread (operands
 * copied in and out), and on the worker pool with heap-resident operands (as a CpuBackend with
 * fastHeap() runs them), with the speedups over the reference.
 */
import { availableParallelism } from 'node:os';
import { importBundled } from './bundled.mjs';

const args = process.argv.slice(2);
const threadsArg = args.indexOf('--threads');
const { runBenchmarks } = await importBundled('transformer-entry.ts');
await runBenchmarks(threadsArg >= 0 ? Number(args[threadsArg + 1]) : availableParallelism());
process.exit(0);
