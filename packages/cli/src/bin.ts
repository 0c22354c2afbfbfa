#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { parseArgs } from './args.js';
import { ORT_MALLOC_ENV, ortMallocTuned } from './borrowed-ort.js';
import { main } from './main.js';

/** Exits once stdout is drained (a large --json output into a pipe is otherwise cut short). */
const exit = (code: number) => process.stdout.write('', () => process.exit(code));

const args = process.argv.slice(2);
const borrowsOrt = (parseArgs(args).opts.borrow ?? []).some((v) => v.split(',').includes('onnxruntime'));
if (borrowsOrt && !ortMallocTuned()) {
  // glibc reads its malloc settings at start: run again with them (see ORT_MALLOC_ENV)
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, ...ORT_MALLOC_ENV } });
  process.exit(r.status ?? 1);
}

main(args).then(
  (code) => exit(code),
  (err: unknown) => {
    const e = err as Error & { code?: string };
    console.error(e?.name === 'PockError' ? `error [${e.code}]: ${e.message}` : (e?.stack ?? String(err)));
    exit(1);
  },
);
