#!/usr/bin/env node
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as Error & { code?: string };
    console.error(e?.name === 'PockError' ? `error [${e.code}]: ${e.message}` : (e?.stack ?? String(err)));
    process.exit(1);
  },
);
