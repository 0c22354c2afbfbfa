/**
 * einsum as transposes, reshapes, sums and batched matmuls, for frontends (ONNX Einsum, TF Einsum):
 * operands are folded left to right; each pair becomes one matmul [batch, M, K] x [batch, K, N]
 * over its shared batch letters (kept by the output or a later operand), contracted letters
 * (shared, needed nowhere else) and each side's free letters. Letters of one operand needed
 * nowhere else are summed first; the result is transposed to the output order. Ellipses broadcast
 * like numpy; no '->' means numpy's implicit output. Repeated letters within one operand
 * (diagonals, traces) are not supported.
 */
import { PockError, type ErrorLocation } from '../errors.js';
import type { GraphBuilder } from '../ir/builder.js';
import type { ValueId } from '../ir/graph.js';

function fail(where: ErrorLocation, message: string, code: 'attr' | 'shape' = 'attr'): never {
  throw new PockError(code, message, where);
}

interface Term {
  v: ValueId;
  /** One label per axis. */
  labels: string[];
}

/** Parses the equation into input label lists and the output list ('...' expanded per operand rank). */
function parse(where: ErrorLocation, equation: string, ranks: readonly number[]): { inputs: string[][]; output: string[] } {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.includes('->') ? (eq.split('->') as [string, string]) : [eq, undefined];
  const specs = lhs.split(',');
  if (specs.length !== ranks.length) fail(where, `equation '${equation}' has ${specs.length} operand(s), the node ${ranks.length}`);
  // ellipsis dims get labels that no letter uses: '0', '1', ... counted from the right
  let ellRank = 0;
  const inputs = specs.map((s, k) => {
    const letters = s.replace('...', '');
    if (!/^[a-zA-Z]*$/.test(letters) || s.split('...').length > 2) fail(where, `equation '${equation}': operand ${k} '${s}' is not letters with at most one '...'`);
    const ell = s.includes('...') ? ranks[k]! - letters.length : 0;
    if (ell < 0 || (!s.includes('...') && letters.length !== ranks[k])) fail(where, `equation '${equation}': operand ${k} '${s}' does not match its rank ${ranks[k]}`);
    ellRank = Math.max(ellRank, ell);
    const [before, after] = s.includes('...') ? (s.split('...') as [string, string]) : [s, ''];
    const e = Array.from({ length: ell }, (_, i) => String(ell - 1 - i));
    const out = [...before, ...e, ...after];
    if (new Set(out).size !== out.length) fail(where, `equation '${equation}': repeated letters in one operand (diagonals, traces) are not supported`);
    return out;
  });
  const ellLabels = Array.from({ length: ellRank }, (_, i) => String(ellRank - 1 - i));
  let output: string[];
  if (rhs === undefined) {
    // implicit mode: the ellipsis dims, then letters appearing exactly once, alphabetically
    const count = new Map<string, number>();
    for (const l of inputs.flat()) if (/[a-zA-Z]/.test(l)) count.set(l, (count.get(l) ?? 0) + 1);
    output = [...ellLabels, ...[...count.entries()].filter(([, c]) => c === 1).map(([l]) => l).sort()];
  } else {
    if (!/^[a-zA-Z]*(\.\.\.)?[a-zA-Z]*$/.test(rhs)) fail(where, `equation '${equation}': output '${rhs}' is not letters with at most one '...'`);
    const [before, after] = rhs.includes('...') ? (rhs.split('...') as [string, string]) : [rhs, ''];
    output = [...before, ...(rhs.includes('...') ? ellLabels : []), ...after];
    const all = new Set(inputs.flat());
    for (const l of output) if (!all.has(l)) fail(where, `equation '${equation}': output letter '${l}' is in no operand`);
    if (new Set(output).size !== output.length) fail(where, `equation '${equation}': repeated output letters`);
  }
  return { inputs, output };
}

function sizesOf(b: GraphBuilder, where: ErrorLocation, terms: readonly Term[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const t of terms) {
    const s = b.shape(t.v);
    t.labels.forEach((l, i) => {
      const d = s[i]!;
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, d);
      else if (d !== 1 && d !== prev) fail(where, `letter '${l}' has sizes ${prev} and ${d}`, 'shape');
    });
  }
  return sizes;
}

/** Sums out the labels of t not in `keep`. */
function sumOut(b: GraphBuilder, t: Term, keep: ReadonlySet<string>): Term {
  const axes = t.labels.map((l, i) => (keep.has(l) ? -1 : i)).filter((i) => i >= 0);
  if (!axes.length) return t;
  return { v: b.reduceSum(t.v, axes), labels: t.labels.filter((l) => keep.has(l)) };
}

/** t's axes in `order`, broadcast to the sizes of `sizes` (a size-1 axis of an ellipsis). */
function arrange(b: GraphBuilder, t: Term, order: readonly string[], sizes: ReadonlyMap<string, number>): ValueId {
  const v = b.transpose(t.v, order.map((l) => t.labels.indexOf(l)));
  const want = order.map((l) => sizes.get(l)!);
  const have = b.shape(v);
  return have.every((d, i) => d === want[i]) ? v : b.expand(v, want);
}

function contract(bb: GraphBuilder, a: Term, b: Term, later: ReadonlySet<string>, sizes: ReadonlyMap<string, number>): Term {
  const inB = new Set(b.labels);
  const inA = new Set(a.labels);
  const batch = a.labels.filter((l) => inB.has(l) && later.has(l));
  const k = a.labels.filter((l) => inB.has(l) && !later.has(l));
  const m = a.labels.filter((l) => !inB.has(l));
  const n = b.labels.filter((l) => !inA.has(l));
  const size = (ls: readonly string[]) => ls.reduce((p, l) => p * sizes.get(l)!, 1);
  const av = bb.reshape(arrange(bb, a, [...batch, ...m, ...k], sizes), [size(batch), size(m), size(k)]);
  const bv = bb.reshape(arrange(bb, b, [...batch, ...k, ...n], sizes), [size(batch), size(k), size(n)]);
  const y = bb.matmul(av, bv);
  const labels = [...batch, ...m, ...n];
  return { v: bb.reshape(y, labels.map((l) => sizes.get(l)!)), labels };
}

/** The einsum of float `operands` (ranks as the equation says) under `equation`. */
export function einsum(b: GraphBuilder, equation: string, operands: readonly ValueId[], where: ErrorLocation = {}): ValueId {
  if (!operands.length) fail(where, `einsum '${equation}' has no operands`);
  const { inputs, output } = parse(where, equation, operands.map((v) => b.rank(v)));
  let terms: Term[] = operands.map((v, i) => ({ v, labels: inputs[i]! }));
  const sizes = sizesOf(b, where, terms);
  const needed = (from: number): Set<string> => new Set([...output, ...terms.slice(from).flatMap((t) => t.labels)]);
  // letters of one operand needed nowhere else are summed at once
  terms = terms.map((t, i) => sumOut(b, t, new Set([...output, ...terms.filter((_, j) => j !== i).flatMap((u) => u.labels)])));
  let acc = terms[0]!;
  for (let i = 1; i < terms.length; i++) {
    const later = needed(i + 1);
    acc = sumOut(b, acc, new Set([...later, ...terms[i]!.labels]));
    const next = sumOut(b, terms[i]!, new Set([...later, ...acc.labels]));
    acc = contract(b, acc, next, later, sizes);
  }
  acc = sumOut(b, acc, new Set(output));
  return arrange(b, acc, output, sizes);
}
