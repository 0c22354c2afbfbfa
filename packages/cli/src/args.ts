import { PockError } from '@pockengine/core';

export interface Args {
  positional: string[];
  opts: Record<string, string[]>;
}

/** Parses `--key value`, `--key=value` and `--flag`; repeated keys collect into arrays. */
export function parseArgs(argv: readonly string[], flags: readonly string[] = []): Args {
  const positional: string[] = [];
  const opts: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
      let val: string;
      if (eq > 0) val = a.slice(eq + 1);
      else if (!flags.includes(key) && i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) val = argv[++i]!;
      else val = 'true';
      (opts[key] ??= []).push(val);
    } else positional.push(a);
  }
  return { positional, opts };
}

export function one(a: Args, key: string): string | undefined {
  return a.opts[key]?.at(-1);
}

export function flag(a: Args, key: string): boolean {
  const v = one(a, key);
  return v !== undefined && v !== 'false';
}

export function oneOf<T extends string>(a: Args, key: string, allowed: readonly T[], dflt: T): T {
  const v = one(a, key) ?? dflt;
  if (!allowed.includes(v as T)) throw new PockError('input', `--${key} must be one of ${allowed.join(', ')}, got '${v}'`);
  return v as T;
}

export function num(a: Args, key: string, dflt?: number): number | undefined {
  const v = one(a, key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new PockError('input', `--${key} must be a number, got '${v}'`);
  return n;
}

/** `--shape input=8x3x128x128` (repeatable) -> { input: [8,3,128,128] }. */
export function shapes(a: Args): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of a.opts.shape ?? []) {
    const m = /^([^=]+)=(\d+(?:[x,]\d+)*)$/.exec(s);
    if (!m) throw new PockError('input', `--shape must look like NAME=8x3x128x128, got '${s}'`);
    out[m[1]!] = m[2]!.split(/[x,]/).map(Number);
  }
  return out;
}

/** `--input name=file.npy` (repeatable) -> { name: file }. */
export function namedFiles(a: Args, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of a.opts[key] ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new PockError('input', `--${key} must look like NAME=FILE, got '${s}'`);
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

/** Parses sizes like 48MB, 1.5GiB, 1000000. */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i.exec(s.trim());
  if (!m) throw new PockError('input', `cannot read a byte size from '${s}' (e.g. 48MB, 512KiB)`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };
  return Math.round(Number(m[1]) * mult[unit]!);
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
