#!/usr/bin/env node
import { main } from './main.js';

/** Exits once stdout is drained (a large --json output into a pipe is otherwise cut short). */
const exit = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(
  (code) => exit(code),
  (err: unknown) => {
    const e = err as Error & { code?: string };
    console.error(e?.name === 'PockError' ? `error [${e.code}]: ${e.message}` : (e?.stack ?? String(err)));
    exit(1);
  },
);
