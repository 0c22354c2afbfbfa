/**
 * Fast float32 data movement on the engine's strided copy (wasm-copy.ts): slice, slice_grad,
 * concat, split and expand. Each op is a list of moves (input -> output, a strided
 * layout); the index arithmetic is the reference kernels' (core's sliceParams and stridesOf, the
 * broadcast strides of kernels/broadcast.ts). `copyLayout` drops size-1 axes and merges axes
 * contiguous in both source and destination, so a last-axis slice or concat of [B,H,S,D] is
 * B H S rows of D floats and an expand over a trailing axis one splat per row. Layouts still
 * above rank 4 stay with the reference kernels. Results are bit-identical to them.
 *
 * reshape is not here: the plan makes most reshapes views (the reference kernel then copies
 * nothing), and the remaining contiguous copies were faster as the reference's one
 * TypedArray.set than as a WASM memory.copy in whole training steps (bert_medium: 0.46 against
 * 0.98 ms per step), though not in isolation.
 */
import { normAxis, sliceParams, stridesOf, type AttrsOf, type Shape } from '@pockengine/core';
import { broadcastStrides } from '../kernels/broadcast.js';
import type { CpuTensor } from '../tensor.js';
import { load, place, put, store, zeros, type CopyCall, type Engine, type VectorOps } from './engine.js';

type Four = [number, number, number, number];

/** A strided copy relative to its operands' starts (offsets in elements). */
export interface CopyLayout extends Omit<CopyCall, 'x' | 'y'> {
  xOffset: number;
  yOffset: number;
}

/** One copy of a data-movement op: from input `from` to output `to`. */
export interface Move {
  from: number;
  to: number;
  layout: CopyLayout;
}

/**
 * The copy over `shape` with per-axis strides of the source and the destination, size-1 axes
 * dropped and neighbours merged where both sides are contiguous across them, padded to rank 4;
 * null above rank 4.
 */
export function copyLayout(shape: Shape, xStrides: readonly number[], yStrides: readonly number[], xOffset = 0, yOffset = 0): CopyLayout | null {
  const dims: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  shape.forEach((d, a) => {
    if (d === 1) return;
    const last = dims.length - 1;
    if (last >= 0 && xs[last] === xStrides[a]! * d && ys[last] === yStrides[a]! * d) {
      dims[last]! *= d;
      xs[last] = xStrides[a]!;
      ys[last] = yStrides[a]!;
    } else {
      dims.push(d);
      xs.push(xStrides[a]!);
      ys.push(yStrides[a]!);
    }
  });
  if (dims.length > 4) return null;
  while (dims.length < 4) {
    dims.unshift(1);
    xs.unshift(0);
    ys.unshift(0);
  }
  // a single element: any unit strides do (the contiguous path)
  if (dims[3] === 1) xs[3] = ys[3] = 1;
  return { dims: dims as Four, xStrides: xs as Four, yStrides: ys as Four, xOffset, yOffset };
}

/** Moves, or null when one of them does not fit rank 4. */
function all(moves: (Move | null)[]): Move[] | null {
  return moves.every((m) => m !== null) ? (moves as Move[]) : null;
}

const move = (from: number, to: number, layout: CopyLayout | null): Move | null => layout && { from, to, layout };

/** The elements a slice reads, as an offset and strides of its input (the reference's sliceView). */
function sliceOf(shape: Shape, attrs: AttrsOf<'slice'>) {
  const p = sliceParams(shape, attrs);
  const strides = stridesOf(shape);
  const offset = p.start.reduce((acc, s, i) => acc + s * strides[i]!, 0);
  return { offset, strides: strides.map((s, i) => s * p.step[i]!), shape: p.shape };
}

export function sliceMoves(x: CpuTensor, attrs: AttrsOf<'slice'>): Move[] | null {
  const s = sliceOf(x.shape, attrs);
  return all([move(0, 0, copyLayout(s.shape, s.strides, stridesOf(s.shape), s.offset, 0))]);
}

/** The gradient written back where the slice read (runMoves zero-fills the rest first). */
export function sliceGradMoves(g: CpuTensor, attrs: AttrsOf<'slice_grad'>): Move[] | null {
  const s = sliceOf(attrs.inputShape, attrs);
  return all([move(0, 0, copyLayout(g.shape, stridesOf(g.shape), s.strides, 0, s.offset))]);
}

export function concatMoves(inputs: readonly CpuTensor[], out: CpuTensor, attrs: AttrsOf<'concat'>): Move[] | null {
  const ax = normAxis(attrs.axis, out.shape.length);
  const ys = stridesOf(out.shape);
  let at = 0;
  return all(
    inputs.map((x, i) => {
      const m = move(i, 0, copyLayout(x.shape, stridesOf(x.shape), ys, 0, at * ys[ax]!));
      at += x.shape[ax]!;
      return m;
    }),
  );
}

export function splitMoves(x: CpuTensor, outputs: readonly CpuTensor[], attrs: AttrsOf<'split'>): Move[] | null {
  const ax = normAxis(attrs.axis, x.shape.length);
  const xs = stridesOf(x.shape);
  let at = 0;
  return all(
    outputs.map((out, i) => {
      const m = move(0, i, copyLayout(out.shape, xs, stridesOf(out.shape), at * xs[ax]!, 0));
      at += out.shape[ax]!;
      return m;
    }),
  );
}

export function expandMoves(x: CpuTensor, out: CpuTensor): Move[] | null {
  return all([move(0, 0, copyLayout(out.shape, broadcastStrides(x.shape, out.shape), stridesOf(out.shape)))]);
}

/** Byte ranges [p, p + n) and [q, q + m) of the heap (floats) overlap. */
const overlap = (p: number, n: number, q: number, m: number) => p < q + m && q < p + n;

/**
 * Runs `moves` from inputs into outputs; with `zeroFill`, output 0 is zeroed first (slice_grad:
 * the moves write only part of it). Every element of every output is written.
 */
export function runMoves(e: Engine, v: VectorOps, inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], moves: readonly Move[], zeroFill = false): void {
  e.reset();
  const outs = outputs.map((t) => place(e, t));
  // inputs overlapping an output (never in a plan: these ops do not run in place) are read from a copy
  const ins = inputs.map((t) => {
    const p = load(e, t);
    const n = t.data.length;
    return outs.some((q, i) => overlap(p, n, q, outputs[i]!.data.length)) ? put(e, e.heap().slice(p, p + n)) : p;
  });
  const filled = zeroFill && outputs[0]!.data.length > inputs[0]!.data.length;
  if (filled) {
    const zero = zeros(e, 1);
    v.copy({ x: zero, y: outs[0]!, dims: [1, 1, 1, outputs[0]!.data.length], xStrides: [0, 0, 0, 0], yStrides: [0, 0, 0, 1] });
  }
  for (const { from, to, layout: l } of moves) v.copy({ x: ins[from]! + l.xOffset, y: outs[to]! + l.yOffset, dims: l.dims, xStrides: l.xStrides, yStrides: l.yStrides });
  outputs.forEach((t, i) => store(e, outs[i]!, t));
}

