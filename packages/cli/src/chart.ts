/** Minimal dependency-free SVG charts (loss curves, benchmark bars). */

export interface Series {
  name: string;
  values: readonly number[];
  color?: string;
}

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A line chart of one or more series over their index (e.g. loss per step). */
export function lineChartSvg(title: string, series: readonly Series[], xLabel = 'step', yLabel = 'loss'): string {
  const W = 640;
  const H = 360;
  const m = { l: 60, r: 20, t: 40, b: 45 };
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const yMax = Math.max(...all, 1e-9);
  const yMin = Math.min(0, ...all);
  const n = Math.max(...series.map((s) => s.values.length), 2);
  const x = (i: number) => m.l + (i / (n - 1)) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - ((v - yMin) / (yMax - yMin)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${W / 2}" y="${H - 10}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text x="15" y="${H / 2}" text-anchor="middle" transform="rotate(-90 15 ${H / 2})">${esc(yLabel)}</text>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = yMin + ((yMax - yMin) * k) / 4;
    parts.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toPrecision(3)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${y(v)}" x2="${W - m.r}" y2="${y(v)}" stroke="#eee"/>`);
  }
  parts.push(`<text x="${m.l}" y="${H - m.b + 16}" text-anchor="middle">0</text>`);
  parts.push(`<text x="${W - m.r}" y="${H - m.b + 16}" text-anchor="middle">${n - 1}</text>`);
  series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    parts.push(`<text x="${W - m.r - 150}" y="${m.t + 16 * k + 4}" fill="${color}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
