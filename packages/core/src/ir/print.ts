import { DTYPE_SHORT } from '../dtype.js';
import type { AttrValue, Graph, Value } from './graph.js';

/** Stable text form of a graph (snapshot tests, `pockengine inspect --ir`). */
export function printGraph(g: Graph): string {
  const lines: string[] = [`graph ${g.name} {`];
  const ty = (v: Value) => `${DTYPE_SHORT[v.dtype]}[${v.shape.join(',')}]`;
  const ref = (id: number) => `%${id}`;
  const used = liveValues(g);
  for (const v of g.values) {
    if (v.role === 'node' || !used.has(v.id)) continue;
    const label = v.role === 'const' ? constLabel(g, v) : JSON.stringify(v.name);
    lines.push(`  ${v.role.padEnd(6)} ${ref(v.id)}: ${ty(v)} ${label}`);
  }
  for (const n of g.nodes) {
    const outs = n.outputs.map((o) => `${ref(o)}: ${ty(g.values[o]!)}`).join(', ');
    const attrs = Object.entries(n.attrs)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${fmtAttr(v!)}`)
      .join(', ');
    const name = n.name ? `  # ${n.name}` : '';
    lines.push(`  ${outs} = ${n.op}(${n.inputs.map(ref).join(', ')})${attrs ? ` {${attrs}}` : ''}${name}`);
  }
  for (const u of g.updates) lines.push(`  update ${ref(u.target)} <- ${ref(u.value)}`);
  for (const o of g.outputs) lines.push(`  output ${JSON.stringify(o.name)} = ${ref(o.value)}`);
  lines.push('}');
  return lines.join('\n');
}

function fmtAttr(v: AttrValue): string {
  if (Array.isArray(v)) return `[${v.join(',')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function constLabel(g: Graph, v: Value): string {
  const t = g.init.get(v.id);
  if (t && t.data.length <= 4) return `= [${Array.from(t.data as ArrayLike<number | bigint>, (x) => String(x)).join(',')}]`;
  return v.name ? JSON.stringify(v.name) : '';
}

/** Values referenced by nodes, outputs or updates, plus inputs. */
export function liveValues(g: Graph): Set<number> {
  const s = new Set<number>(g.inputs);
  for (const n of g.nodes) {
    for (const i of n.inputs) s.add(i);
    for (const o of n.outputs) s.add(o);
  }
  for (const o of g.outputs) s.add(o.value);
  for (const u of g.updates) {
    s.add(u.target);
    s.add(u.value);
  }
  return s;
}
