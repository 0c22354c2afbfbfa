/**
 * Results -> report: a table per model (framework x configuration), ratios of each peer against
 * our engine from the same run, the issue's targets with pass / fail, and the same as HTML with
 * inline SVG bar charts (log scale). Pure functions of the results object (tested with fakes).
 */
import type { Config, ModelName } from './models.js';
import { OURS, type Framework, type RunResult } from './types.js';

export interface BenchMeta {
  date: string;
  machine: string;
  node: string;
  args: string[];
  /** Free-form notes: skipped frameworks and why, fairness caveats. */
  notes: string[];
}

export interface BenchResults {
  meta: BenchMeta;
  runs: RunResult[];
}

const MiB = 1024 * 1024;
export const fmtBytes = (n: number | undefined): string => (n === undefined ? '—' : n >= 10 * MiB ? `${(n / MiB).toFixed(0)} MiB` : `${(n / MiB).toFixed(1)} MiB`);
export const fmtMs = (ms: number | undefined): string => (ms === undefined ? '—' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const fmtX = (x: number | undefined): string => (x === undefined ? '—' : x >= 100 ? `${x.toFixed(0)}x` : `${x.toFixed(1)}x`);
const fmtCount = (n: number | undefined): string => (n === undefined ? '—' : n.toLocaleString('en'));

const TFJS: readonly Framework[] = ['tfjs-cpu', 'tfjs-wasm'];
const ok = (r: RunResult | undefined): r is RunResult => r?.status === 'ok';

function find(runs: readonly RunResult[], model: ModelName, framework: Framework, config: Config): RunResult | undefined {
  return runs.find((r) => r.model === model && r.framework === framework && r.config === config);
}

export interface Ratio {
  /** peer ms / our ms (same model and configuration, same run). */
  speedup?: number;
  /** peer peak / our peak. */
  memory?: number;
}

export function ratioVsOurs(runs: readonly RunResult[], r: RunResult): Ratio {
  const ours = find(runs, r.model, 'ours', r.config);
  // ours-native is shown against ours as well (below 1x: faster than our own kernels alone)
  if (r.framework === 'ours' || !ok(ours) || !ok(r)) return {};
  return {
    speedup: r.medianMs !== undefined && ours.medianMs ? r.medianMs / ours.medianMs : undefined,
    memory: r.peakBytes !== undefined && ours.peakBytes ? r.peakBytes / ours.peakBytes : undefined,
  };
}

export interface TargetCheck {
  model: ModelName;
  target: string;
  value?: number;
  threshold: number;
  /** null: not measurable from this run (a side is missing or could not train). */
  pass: boolean | null;
  detail: string;
  /** Shown for information: the issue states this target for another model (issue 4: MobileNetV2). */
  info?: boolean;
}

/** Issue 4 states its memory targets for MobileNetV2 1.0 at 96x96, batch 8. */
const MEMORY_TARGET_MODELS: readonly ModelName[] = ['mobilenet_v2'];

/** Best (lowest) value of `pick` over the TF.js backends that trained this configuration. */
function bestTfjs(runs: readonly RunResult[], model: ModelName, config: Config, pick: (r: RunResult) => number | undefined) {
  const vals = TFJS.map((f) => find(runs, model, f, config))
    .filter(ok)
    .map((r) => ({ f: r.framework, v: pick(r) }))
    .filter((x): x is { f: Framework; v: number } => x.v !== undefined);
  return vals.sort((a, b) => a.v - b.v)[0];
}

function ratioCheck(model: ModelName, target: string, threshold: number, num: { v: number; f: string } | undefined, den: number | undefined, what: string, us: Framework = 'ours'): TargetCheck {
  const label = us === 'ours' ? target : `[${us}] ${target}`;
  if (!num || den === undefined) return { model, target: label, threshold, pass: null, detail: `not measured (${what})` };
  const value = num.v / den;
  return { model, target: label, threshold, value, pass: value >= threshold, detail: `${num.f} / ${us}` };
}

/** The issue's targets, evaluated on this run's numbers. */
export function targets(res: BenchResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const models = [...new Set(res.runs.map((r) => r.model))];
  for (const m of models) {
    const ours = (c: Config) => find(res.runs, m, 'ours', c);
    const peak = (r: RunResult) => r.peakBytes;
    const ms = (r: RunResult) => r.medianMs;
    const o = (c: Config) => (ok(ours(c)) ? ours(c) : undefined);
    const memory = (t: TargetCheck) => out.push(MEMORY_TARGET_MODELS.includes(m) ? t : { ...t, info: true });
    if (ours('sparse') || bestTfjs(res.runs, m, 'sparse', peak))
      memory(ratioCheck(m, 'sparse peak >= 10x below TF.js (same trainable set)', 10, bestTfjs(res.runs, m, 'sparse', peak), o('sparse')?.peakBytes, 'ours or a TF.js sparse run'));
    if (ours('full') || bestTfjs(res.runs, m, 'full', peak))
      memory(ratioCheck(m, 'full peak >= 3x below TF.js full', 3, bestTfjs(res.runs, m, 'full', peak), o('full')?.peakBytes, 'ours or a TF.js full run'));
    if (ours('bias-last-half')) {
      const f = o('full')?.peakBytes;
      memory(ratioCheck(m, 'ours bias-last-half peak >= 5.6x below ours full', 5.6, f === undefined ? undefined : { v: f, f: 'ours full' }, o('bias-last-half')?.peakBytes, 'ours full and bias-last-half'));
    }
    const b = ours('budget');
    if (b)
      out.push({
        model: m,
        target: 'budgeted run never exceeds its budget',
        threshold: 1,
        value: b.measuredPeakBytes !== undefined && b.budgetBytes ? b.measuredPeakBytes / b.budgetBytes : undefined,
        pass: b.budgetPass ?? null,
        detail: b.budgetBytes ? `measured ${fmtBytes(b.measuredPeakBytes)} vs budget ${fmtBytes(b.budgetBytes)} (value = measured / budget, pass if <= 1)` : `no budget result (${b.status}: ${b.note ?? ''})`,
      });
    // speed: for our own kernels, and for the Node build that borrows native matmuls (when run)
    for (const us of OURS) {
      if (us !== 'ours' && !res.runs.some((r) => r.model === m && r.framework === us)) continue;
      const mine = (c: Config) => find(res.runs, m, us, c);
      const om = (c: Config) => (ok(mine(c)) ? mine(c) : undefined);
      if (mine('full') || bestTfjs(res.runs, m, 'full', ms))
        out.push(ratioCheck(m, 'full backprop >= 15x faster than the best working TF.js backend', 15, bestTfjs(res.runs, m, 'full', ms), om('full')?.medianMs, `${us} or a working TF.js full run`, us));
      if (mine('sparse') || bestTfjs(res.runs, m, 'sparse', ms))
        out.push(ratioCheck(m, 'sparse >= 30x faster than the best working TF.js backend', 30, bestTfjs(res.runs, m, 'sparse', ms), om('sparse')?.medianMs, `${us} or a working TF.js sparse run`, us));
      const torch = find(res.runs, m, 'torch', 'full');
      if (ok(torch) && torch.medianMs !== undefined)
        out.push(ratioCheck(m, `full backprop within 2x of PyTorch CPU (value = torch ms / ${us} ms)`, 0.5, { v: torch.medianMs, f: 'torch' }, om('full')?.medianMs, `${us} full`, us));
    }
  }
  return out;
}

const CONFIG_ORDER: readonly Config[] = ['full', 'sparse', 'bias-last-half', 'budget'];
const FRAMEWORK_ORDER: readonly Framework[] = ['ours', 'ours-native', 'tfjs-cpu', 'tfjs-wasm', 'jax-js', 'torch'];

function sortedRuns(runs: readonly RunResult[], model: ModelName): RunResult[] {
  return runs
    .filter((r) => r.model === model)
    .sort((a, b) => CONFIG_ORDER.indexOf(a.config) - CONFIG_ORDER.indexOf(b.config) || FRAMEWORK_ORDER.indexOf(a.framework) - FRAMEWORK_ORDER.indexOf(b.framework));
}

const HEADER = ['framework', 'config', 'status', 'trained params', 'median step', 'min step', 'speedup (peer/ours)', 'peak tensors', 'ours planned', 'memory (peer/ours)', 'peak RSS', 'note'];

function row(runs: readonly RunResult[], r: RunResult): string[] {
  const q = ratioVsOurs(runs, r);
  const n = r.stepMs?.length ?? 0;
  const status = r.status === 'ok' ? `ok (${n} step${n === 1 ? '' : 's'})` : r.status;
  const note = [r.note, r.budgetBytes !== undefined ? `budget ${fmtBytes(r.budgetBytes)}: ${r.budgetPass ? 'pass' : 'FAIL'}` : undefined].filter(Boolean).join('; ');
  return [r.framework, r.config, status, fmtCount(r.trainedParams), fmtMs(r.medianMs), fmtMs(r.minMs), fmtX(q.speedup), fmtBytes(r.peakBytes), fmtBytes(r.plannedPeakBytes), fmtX(q.memory), fmtBytes(r.rssPeakBytes), note];
}

function mdTable(header: readonly string[], rows: readonly string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function modelTables(res: BenchResults): { model: ModelName; header: string[]; rows: string[][] }[] {
  const models = [...new Set(res.runs.map((r) => r.model))];
  return models.map((m) => ({ model: m, header: HEADER, rows: sortedRuns(res.runs, m).filter((r) => r.status !== 'skipped').map((r) => row(res.runs, r)) }));
}

function targetRows(res: BenchResults): string[][] {
  return targets(res).map((t) => [t.model, t.target, t.value === undefined ? '—' : t.value.toFixed(2), String(t.threshold), t.pass === null ? 'n/a' : t.info ? 'info' : t.pass ? 'PASS' : 'FAIL', t.info ? `${t.detail}; the issue states this target for ${MEMORY_TARGET_MODELS.join(', ')}` : t.detail]);
}

function hotspotLines(res: BenchResults): string[] {
  const lines: string[] = [];
  for (const r of res.runs) {
    if (!r.hotspots?.length || r.status !== 'ok') continue;
    const total = r.hotspots.reduce((s, h) => s + h.ms, 0);
    lines.push(`- ${r.model} / ${r.config} / ${r.framework}: ${r.hotspots.slice(0, 5).map((h) => `${h.name} ${fmtMs(h.ms)} (${h.count}x)`).join(', ')} (top ${r.hotspots.length}: ${fmtMs(total)})`);
  }
  return lines;
}

export function markdownReport(res: BenchResults): string {
  const parts = [
    '# PockEngine-JS benchmark',
    '',
    `${res.meta.date} on ${res.meta.machine}, Node ${res.meta.node}. Command: \`npm run bench -- ${res.meta.args.join(' ')}\``,
    '',
    'speedup = peer median step / our median step; memory = peer peak tensor bytes / our measured peak (same model, configuration and run).',
    '',
  ];
  const engines = [...new Set(res.runs.filter((r) => r.engine).map((r) => `- ${r.framework}: ${r.engine}`))];
  if (engines.length) parts.push('Runtimes:', '', ...engines, '');
  for (const t of modelTables(res)) parts.push(`## ${t.model}`, '', mdTable(t.header, t.rows), '');
  parts.push('## Targets', '', mdTable(['model', 'target', 'value', 'threshold', 'result', 'detail'], targetRows(res)), '');
  const hot = hotspotLines(res);
  if (hot.length) parts.push('## Where the time goes (one profiled step, largest ops / kernels)', '', ...hot, '');
  const skipped = res.runs.filter((r) => r.status === 'skipped').map((r) => `- ${r.framework} ${r.model} ${r.config}: ${r.note ?? 'skipped'}`);
  if (res.meta.notes.length || skipped.length) parts.push('## Notes', '', ...res.meta.notes.map((n) => `- ${n}`), ...skipped, '');
  return parts.join('\n');
}

/** Plain-text tables for the terminal. */
export function textReport(res: BenchResults): string {
  const pad = (rows: string[][]) => {
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
  };
  const out: string[] = [];
  for (const t of modelTables(res)) out.push(`\n== ${t.model}`, pad([t.header.slice(0, -1), ...t.rows.map((r) => r.slice(0, -1))]));
  out.push('\n== targets', pad([['model', 'target', 'value', 'threshold', 'result'], ...targetRows(res).map((r) => r.slice(0, 5))]));
  return out.join('\n');
}

// ---- HTML with inline SVG charts ------------------------------------------------------------

const COLORS: Record<Framework, string> = { ours: '#d9480f', 'ours-native': '#f59f00', 'tfjs-cpu': '#1c7ed6', 'tfjs-wasm': '#37b24d', 'jax-js': '#7048e8', torch: '#868e96' };
const escHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A grouped bar chart (groups = configurations, bars = frameworks) on a log10 axis. */
export function barChart(title: string, runs: readonly RunResult[], value: (r: RunResult) => number | undefined, fmt: (v: number) => string): string {
  const configs = CONFIG_ORDER.filter((c) => runs.some((r) => r.config === c));
  const fws = FRAMEWORK_ORDER.filter((f) => runs.some((r) => r.framework === f && r.status !== 'skipped'));
  const vals = runs.map(value).filter((v): v is number => v !== undefined && v > 0);
  if (!configs.length || !fws.length || !vals.length) return '';
  const lo = Math.floor(Math.log10(Math.min(...vals)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...vals))));
  const W = 760, H = 300, L = 70, B = 40, T = 30, plotH = H - B - T;
  const groupW = (W - L - 10) / configs.length;
  const barW = Math.min(40, (groupW - 20) / fws.length);
  const y = (v: number) => T + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH;
  const svg: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<text x="${L}" y="16" font-size="13" font-weight="bold">${escHtml(title)} (log scale)</text>`];
  for (let e = lo; e <= hi; e++) svg.push(`<line x1="${L}" x2="${W - 10}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#ddd"/><text x="${L - 6}" y="${y(10 ** e) + 4}" text-anchor="end">${escHtml(fmt(10 ** e))}</text>`);
  configs.forEach((c, gi) => {
    const x0 = L + gi * groupW + (groupW - barW * fws.length) / 2;
    svg.push(`<text x="${L + gi * groupW + groupW / 2}" y="${H - B + 18}" text-anchor="middle">${c}</text>`);
    fws.forEach((f, fi) => {
      const r = runs.find((q) => q.config === c && q.framework === f);
      const x = x0 + fi * barW;
      const v = r ? value(r) : undefined;
      if (r && v !== undefined && v > 0) {
        svg.push(`<rect x="${x}" y="${y(v)}" width="${barW - 3}" height="${T + plotH - y(v)}" fill="${COLORS[f]}"><title>${escHtml(`${f} ${c}: ${fmt(v)}`)}</title></rect>`);
        svg.push(`<text x="${x + (barW - 3) / 2}" y="${y(v) - 3}" text-anchor="middle" font-size="9">${escHtml(fmt(v))}</text>`);
      } else if (r && r.status !== 'skipped' && r.status !== 'ok')
        svg.push(`<text x="${x + (barW - 3) / 2}" y="${T + plotH - 4}" text-anchor="middle" font-size="9" fill="${COLORS[f]}">✕<title>${escHtml(`${f} ${c}: ${r.note ?? r.status}`)}</title></text>`);
    });
  });
  fws.forEach((f, i) => svg.push(`<rect x="${W - 130}" y="${T + i * 16}" width="10" height="10" fill="${COLORS[f]}"/><text x="${W - 115}" y="${T + i * 16 + 9}">${f}</text>`));
  svg.push('</svg>');
  return svg.join('\n');
}

function htmlTable(header: readonly string[], rows: readonly string[][]): string {
  return `<table><tr>${header.map((h) => `<th>${escHtml(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${escHtml(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

export function htmlReport(res: BenchResults): string {
  const body: string[] = [`<h1>PockEngine-JS benchmark</h1><p>${escHtml(`${res.meta.date} on ${res.meta.machine}, Node ${res.meta.node}`)}. Command: <code>npm run bench -- ${escHtml(res.meta.args.join(' '))}</code></p>`];
  body.push('<p>speedup = peer median step / our median step; memory = peer peak tensor bytes / our measured peak. ✕ = could not train / timed out / error (hover for why).</p>');
  for (const t of modelTables(res)) {
    const runs = res.runs.filter((r) => r.model === t.model);
    body.push(`<h2>${t.model}</h2>`, barChart(`${t.model}: median step time`, runs, (r) => r.medianMs, fmtMs), barChart(`${t.model}: peak tensor memory`, runs, (r) => r.peakBytes, fmtBytes), htmlTable(t.header, t.rows));
  }
  body.push('<h2>Targets</h2>', htmlTable(['model', 'target', 'value', 'threshold', 'result', 'detail'], targetRows(res)));
  const hot = hotspotLines(res);
  if (hot.length) body.push('<h2>Where the time goes</h2><ul>', ...hot.map((l) => `<li>${escHtml(l.slice(2))}</li>`), '</ul>');
  if (res.meta.notes.length) body.push('<h2>Notes</h2><ul>', ...res.meta.notes.map((n) => `<li>${escHtml(n)}</li>`), '</ul>');
  const css = 'body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;font-size:12px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}svg{display:block;margin:1em 0}';
  return `<!doctype html><html><head><meta charset="utf-8"><title>PockEngine-JS benchmark</title><style>${css}</style></head><body>${body.join('\n')}</body></html>\n`;
}
