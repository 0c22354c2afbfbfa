/**
 * WASM-SIMD binary arithmetic where one operand repeats along middle axes: out, the full operand
 * `a` and the result are [outer, rep, inner], the repeated operand `b` is [outer, 1, inner]
 * (bias adds [B,S,D] + [D], attention masks [B,H,S,S] + [B,1,1,S], per-row scales
 * [B,S,D] / [B,S,1], scalars). Over an element range [start, end) of out (threads own disjoint
 * ranges), with `flags` = BROADCAST_OP[op] | BROADCAST_SWAP (out = b op a instead of a op b):
 *
 *   broadcast_block(a, b, out, start, end, rep, inner, flags)   inner > 1:
 *       out[i] = a[i] op b[(row / rep) * inner + i % inner],  row = i / inner
 *   broadcast_row(a, b, out, start, end, len, flags)            inner = 1 (len = rep):
 *       out[i] = a[i] op b[i / len]
 *
 * Each run of out that shares one stretch of b is one SIMD sweep (b's stretch unaligned, or one
 * splat value). Element i of `a` is read before out[i] is written, so out may be a.
 */
import { I32, Local, ModuleBuilder, V128, type Ex, type Fn } from './wasm-builder.js';
import { BINARY_OPS, binaryOp, type BinaryOp } from './wasm-elementwise.js';
import { lanes, sweep, type Lanes } from './wasm-lanes.js';

export const BROADCAST_EXPORTS = ['broadcast_block', 'broadcast_row'] as const;

/** flags: the op's index in BINARY_OPS, plus BROADCAST_SWAP for b op a. */
export const BROADCAST_SWAP = 4;
export const broadcastFlags = (op: BinaryOp, swap: boolean) => BINARY_OPS.indexOf(op) | (swap ? BROADCAST_SWAP : 0);

/** One loop per op and operand order, chosen once per call. */
function perVariant(f: Fn, flags: Local, body: (apply: (l: Lanes, x: Ex, y: Ex) => Ex) => void): void {
  const variants = BINARY_OPS.flatMap((op, k) => [k, k | BROADCAST_SWAP].map((v) => [v, op] as const));
  const emit = (rest: typeof variants): void => {
    const [[v, op], ...more] = rest as [(typeof variants)[number], ...typeof variants];
    const swap = (v & BROADCAST_SWAP) !== 0;
    const run = () => body((l, x, y) => (swap ? binaryOp(l, op)(y, x) : binaryOp(l, op)(x, y)));
    if (more.length === 0) return run();
    f.if(f.eq(flags, v), run, () => emit(more));
  };
  emit(variants);
}

/**
 * for (i = start; i < end;) { run = the stretch of out sharing one `row` of `unit` elements;
 * body(segEnd, row) sweeps it and the loop continues at its end }.
 */
function byRun(f: Fn, i: Local, start: Local, end: Local, unit: Local, body: (segEnd: Local, row: Local) => void): void {
  const [row, segEnd] = f.locals(2, I32);
  f.set(i, start);
  f.for(i, i, end, 0, () => {
    f.set(row, f.div(i, unit));
    f.set(segEnd, f.min(end, f.mul(f.add(row, 1), unit)));
    body(segEnd, row);
    f.set(i, segEnd);
  });
}

function addBlock(mod: ModuleBuilder): void {
  const f = mod.fn('broadcast_block', [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [a, b, out, start, end, rep, inner, flags] = f.params as [Local, Local, Local, Local, Local, Local, Local, Local];
  const [i, j, bAt] = f.locals(3, I32);
  perVariant(f, flags, (apply) =>
    byRun(f, i, start, end, inner, (segEnd, row) => {
      // b's element for out element j sits at bAt + 4 j: b + 4 ((row / rep - row) * inner)
      f.set(bAt, f.add(b, f.x4(f.mul(f.sub(f.div(row, rep), row), inner))));
      sweep(f, j, i, segEnd, (w) => {
        const l = lanes(f, w);
        const at = (p: Ex) => f.add(p, f.x4(j));
        for (let r = 0; r < l.regs; r++) l.store(at(out), r, apply(l, l.load(at(a), r), l.load(at(bAt), r)));
      });
    }),
  );
}

function addRow(mod: ModuleBuilder): void {
  const f = mod.fn('broadcast_row', [I32, I32, I32, I32, I32, I32, I32]);
  const [a, b, out, start, end, len, flags] = f.params as [Local, Local, Local, Local, Local, Local, Local];
  const [i, j] = f.locals(2, I32);
  const v = f.local(V128);
  perVariant(f, flags, (apply) =>
    byRun(f, i, start, end, len, (segEnd, row) => {
      f.set(v, f.vsplatLoad(f.add(b, f.x4(row))));
      sweep(f, j, i, segEnd, (w) => {
        const l = lanes(f, w);
        const at = (p: Ex) => f.add(p, f.x4(j));
        const y = w === 1 ? f.vlane(v, 0) : v;
        for (let r = 0; r < l.regs; r++) l.store(at(out), r, apply(l, l.load(at(a), r), y));
      });
    }),
  );
}

/** Adds broadcast_block and broadcast_row to the module. */
export function addBroadcastKernels(mod: ModuleBuilder): void {
  addBlock(mod);
  addRow(mod);
}
