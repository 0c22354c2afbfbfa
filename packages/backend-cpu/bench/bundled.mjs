/**
 * Shared by the benchmark scripts: bundles a TypeScript entry of this folder (and the sources it
 * imports) with esbuild into a temp file and imports it.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export async function importBundled(entry) {
  const out = join(tmpdir(), `pockengine-bench-${process.pid}-${entry.replace(/\W/g, '_')}.mjs`);
  await build({
    entryPoints: [join(here, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'warning',
    alias: { '@pockengine/core': join(here, '../../core/src/index.ts') },
  });
  try {
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(out);
  }
}
