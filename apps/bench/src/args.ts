/** Command-line options of `npm run bench`. */
import { CONFIGS, DEFAULT_MODEL_OPTIONS, MODEL_NAMES, type Config, type ModelName, type ModelOptions } from './models.js';
import { FRAMEWORKS, type Framework } from './types.js';

export const USAGE = `npm run bench -- [options]

  --models LIST       ${MODEL_NAMES.join(',')}  (default mcunet,mobilenet_v2,bert_medium,llama_medium,mlp)
  --frameworks LIST   ${FRAMEWORKS.join(',')}  (default: all)
  --configs LIST      ${CONFIGS.join(',')}  (default: all; the MLP runs full only)
  --steps N           timed steps per run after the warmup (default 3)
  --tfjs-steps N      timed steps for TF.js runs (default: --steps; TF.js cpu takes tens of seconds per CNN step)
  --warmup N          untimed steps first (default 1; for TF.js the first one is profiled for memory)
  --res N             CNN input resolution (default 96);  --batch N  CNN batch (default 8)
  --text-batch N      BERT / LLaMA batch (default 4);    --seq N    sequence length (default 32)
  --budget BYTES      budget config's memory budget, e.g. 12MB (default: 1/4 of our full-backprop planned peak, or
                      inference + 1/4 of what full backprop adds where weights exceed that)
  --lr X              SGD learning rate, every framework (default 0.01)
  --timeout-s N       per-run limit; a run past it is killed and reported "timed out" (default 1800)
  --out DIR           output folder, relative to the repository root (default out/bench)`;

export interface BenchArgs {
  help: boolean;
  usage: string;
  models: ModelName[];
  frameworks: Framework[];
  configs: Config[];
  steps: number;
  tfjsSteps: number;
  warmup: number;
  options: ModelOptions;
  budget?: number;
  lr: number;
  timeoutS: number;
  out: string;
}

/** "12MB", "1.5GiB", "4096" -> bytes (decimal and binary units both accepted as 1024-based). */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?)?$/i.exec(s.trim());
  if (!m) throw new Error(`cannot read '${s}' as a byte count (e.g. 12MB, 512KB, 1GB)`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Math.round(Number(m[1]) * mult);
}

function list<T extends string>(v: string | undefined, all: readonly T[], dflt: readonly T[], what: string): T[] {
  if (v === undefined) return [...dflt];
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((i) => !all.includes(i as T));
  if (bad.length) throw new Error(`unknown ${what}: ${bad.join(', ')} (known: ${all.join(', ')})`);
  return items as T[];
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const kv = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) kv.set(arg.slice(2, eq), arg.slice(eq + 1));
      else if (i + 1 < argv.length) kv.set(arg.slice(2), argv[++i]!);
      else throw new Error(`option ${arg} needs a value`);
    } else throw new Error(`unexpected argument '${arg}'\n\n${USAGE}`);
  }
  const known = new Set(['models', 'frameworks', 'configs', 'steps', 'tfjs-steps', 'warmup', 'res', 'batch', 'text-batch', 'seq', 'budget', 'lr', 'timeout-s', 'out']);
  const unknown = [...kv.keys()].filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`unknown option(s): ${unknown.map((k) => `--${k}`).join(', ')}\n\n${USAGE}`);
  const int = (k: string, d: number, min = 0) => {
    const v = kv.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer >= ${min}, got '${v}'`);
    return n;
  };
  const steps = int('steps', 3, 1);
  const lr = Number(kv.get('lr') ?? 0.01);
  if (!(lr > 0)) throw new Error(`--lr must be a positive number`);
  return {
    help,
    usage: USAGE,
    models: list(kv.get('models'), MODEL_NAMES, ['mcunet', 'mobilenet_v2', 'bert_medium', 'llama_medium', 'mlp'], 'models'),
    frameworks: list(kv.get('frameworks'), FRAMEWORKS, FRAMEWORKS, 'frameworks'),
    configs: list(kv.get('configs'), CONFIGS, CONFIGS, 'configs'),
    steps,
    tfjsSteps: int('tfjs-steps', steps, 1),
    warmup: int('warmup', 1, 0),
    options: {
      res: int('res', DEFAULT_MODEL_OPTIONS.res, 8),
      batch: int('batch', DEFAULT_MODEL_OPTIONS.batch, 1),
      textBatch: int('text-batch', DEFAULT_MODEL_OPTIONS.textBatch, 1),
      seq: int('seq', DEFAULT_MODEL_OPTIONS.seq, 1),
    },
    budget: kv.has('budget') ? parseBytes(kv.get('budget')!) : undefined,
    lr,
    timeoutS: int('timeout-s', 1800, 1),
    out: kv.get('out') ?? 'out/bench',
  };
}
