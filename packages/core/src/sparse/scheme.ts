/**
 * Sparse update schemes: which parameters a fine-tuning run updates, and how much of each.
 *
 *   { "rules": [ { "params": "<glob>", "update": "full" | "none" | { "channels": R, "select": "first" | "magnitude" } } ] }
 *
 * The first rule whose glob matches a parameter name wins; unmatched parameters are frozen.
 * `R` is a fraction in (0, 1] or a count of output channels (dim 0 of a conv weight [O,I,kh,kw]
 * or of a PyTorch linear weight [out, in]). Globs: `*` matches any run of characters (dots
 * included), `?` one character, `{a,b}` alternatives, `[...]` a character class.
 */
import { PockError } from '../errors.js';
import type { Graph, Value, ValueId } from '../ir/graph.js';

export type RuleUpdate = 'full' | 'none' | { channels: number; select?: 'first' | 'magnitude' };

export interface SchemeRule {
  params: string;
  update: RuleUpdate;
}

export interface SparseScheme {
  rules: SchemeRule[];
}

/** What one parameter gets: the full gradient, or the gradient of some of its output channels. */
export type ParamUpdate = { kind: 'full' } | { kind: 'channels'; rows: number[] };

export function globToRegExp(glob: string): RegExp {
  let re = '';
  let inClass = false;
  let braces = 0;
  for (const ch of glob) {
    if (inClass) {
      re += ch === '\\' ? '\\\\' : ch;
      if (ch === ']') inClass = false;
      continue;
    }
    switch (ch) {
      case '*':
        re += '.*';
        break;
      case '?':
        re += '.';
        break;
      case '[':
        inClass = true;
        re += '[';
        break;
      case '{':
        braces++;
        re += '(?:';
        break;
      case '}':
        if (braces === 0) throw new PockError('scheme', `unbalanced '}' in glob '${glob}'`);
        braces--;
        re += ')';
        break;
      case ',':
        re += braces > 0 ? '|' : ',';
        break;
      default:
        re += ch.replace(/[.+^$()|\\]/g, '\\$&');
    }
  }
  if (inClass || braces) throw new PockError('scheme', `unterminated '${inClass ? '[' : '{'}' in glob '${glob}'`);
  return new RegExp(`^${re}$`);
}

/** Validates a scheme given as parsed JSON; errors name the offending rule. */
export function parseScheme(json: unknown, file?: string): SparseScheme {
  const where = { file };
  const fail = (msg: string): never => {
    throw new PockError('scheme', `${msg}. A scheme is { "rules": [ { "params": "<glob>", "update": "full" | "none" | { "channels": R } } ] }`, where);
  };
  if (typeof json !== 'object' || json === null || !Array.isArray((json as SparseScheme).rules)) fail('missing "rules" array');
  const rules = (json as { rules: unknown[] }).rules.map((r, i): SchemeRule => {
    if (typeof r !== 'object' || r === null) return fail(`rule ${i} is not an object`);
    const { params, update } = r as { params?: unknown; update?: unknown };
    if (typeof params !== 'string' || !params) return fail(`rule ${i}: "params" must be a non-empty glob string`);
    globToRegExp(params);
    if (update === 'full' || update === 'none') return { params, update };
    if (typeof update === 'object' && update !== null) {
      const { channels, select } = update as { channels?: unknown; select?: unknown };
      if (typeof channels !== 'number' || !(channels > 0) || (channels > 1 && !Number.isInteger(channels)))
        return fail(`rule ${i} ('${params}'): "channels" must be a fraction in (0, 1] or a whole number of channels, got ${JSON.stringify(channels)}`);
      if (select !== undefined && select !== 'first' && select !== 'magnitude')
        return fail(`rule ${i} ('${params}'): "select" must be "first" or "magnitude"`);
      return { params, update: { channels, select: (select as 'first' | 'magnitude' | undefined) ?? 'first' } };
    }
    return fail(`rule ${i} ('${params}'): "update" must be "full", "none" or { "channels": R }`);
  });
  return { rules };
}

/** Rows kept for a channel rule on a weight of `n` output channels. */
function chooseRows(v: Value, graph: Graph, u: { channels: number; select?: 'first' | 'magnitude' }): number[] {
  const n = v.shape[0] ?? 1;
  const count = Math.max(1, Math.min(n, u.channels <= 1 ? Math.round(u.channels * n) : u.channels));
  if (count === n) return [...Array(n).keys()];
  if ((u.select ?? 'first') === 'first') return [...Array(count).keys()];
  // magnitude: the rows with the largest L2 norm (ties by index), in increasing order
  const data = graph.init.get(v.id)!.data;
  const per = data.length / n;
  const norms = [...Array(n).keys()].map((r) => {
    let s = 0;
    for (let i = r * per; i < (r + 1) * per; i++) s += Number(data[i]) ** 2;
    return { r, s };
  });
  norms.sort((a, b) => b.s - a.s || a.r - b.r);
  return norms.slice(0, count).map((x) => x.r).sort((a, b) => a - b);
}

/** Applies a scheme to a graph's parameters: the update of every trained parameter. */
export function resolveScheme(graph: Graph, scheme: SparseScheme): Map<ValueId, ParamUpdate> {
  const compiled = scheme.rules.map((r) => ({ re: globToRegExp(r.params), rule: r, hits: 0 }));
  const out = new Map<ValueId, ParamUpdate>();
  for (const v of graph.values) {
    if (v.role !== 'param') continue;
    const m = compiled.find((c) => c.re.test(v.name));
    if (!m) continue;
    m.hits++;
    const u = m.rule.update;
    if (u === 'none') continue;
    if (u === 'full' || v.shape.length === 0) {
      out.set(v.id, { kind: 'full' });
      continue;
    }
    const rows = chooseRows(v, graph, u);
    out.set(v.id, rows.length === v.shape[0] ? { kind: 'full' } : { kind: 'channels', rows });
  }
  const unused = compiled.filter((c) => c.hits === 0).map((c) => `'${c.rule.params}'`);
  if (unused.length === compiled.length && compiled.length > 0)
    throw new PockError('scheme', `no rule matches any parameter (rules: ${unused.join(', ')}); parameter names look like '${graph.values.find((v) => v.role === 'param')?.name ?? '?'}'`);
  return out;
}
