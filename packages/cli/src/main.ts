import { demo } from './commands/demo.js';

const USAGE = `pockengine — compile-first sparse fine-tuning

usage:
  pockengine demo [--steps N] [--out FILE.svg]   train the built-in CNN, print loss per step
  pockengine help                                 this text
`;

/** Parses `--key value` and `--flag` options; repeated keys collect into arrays. */
export function parseArgs(argv: readonly string[]): { positional: string[]; opts: Record<string, string[]> } {
  const positional: string[] = [];
  const opts: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
      let val: string;
      if (eq > 0) val = a.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) val = argv[++i]!;
      else val = 'true';
      (opts[key] ??= []).push(val);
    } else positional.push(a);
  }
  return { positional, opts };
}

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const { opts } = parseArgs(rest);
  switch (cmd) {
    case 'demo':
      await demo({ steps: opts.steps ? Number(opts.steps[0]) : undefined, out: opts.out?.[0] });
      return 0;
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}
