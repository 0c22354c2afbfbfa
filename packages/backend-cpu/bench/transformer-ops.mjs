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
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const threadsArg = args.indexOf('--threads');
const out = join(tmpdir(), `pockengine-transformer-bench-${process.pid}.mjs`);
await build({
  entryPoints: [join(here, 'transformer-entry.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: out,
  logLevel: 'warning',
  alias: { '@pockengine/core': join(here, '../../core/src/index.ts') },
});
const { runBenchmarks } = await import(pathToFileURL(out).href);
rmSync(out);
await runBenchmarks(threadsArg >= 0 ? Number(args[threadsArg + 1]) : availableParallelism());
process.exit(0);
