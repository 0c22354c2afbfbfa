/**
 * Helpers of the streaming kernels (wasm-norm.ts, wasm-elementwise.ts): a sweep over an element
 * range in blocks of four f32x4 registers, one f32x4, then scalars, and f32 arithmetic written
 * once for all three block widths, so a kernel body is one function of the block's `Lanes`.
 */
import { F32, F64, Fn, I32, Local, V128, type Ex } from './wasm-builder.js';

/** Elements per block: four f32x4 registers, one, or a scalar. */
export type Width = 16 | 4 | 1;

/**
 * for (i = from; i < to; i += width) body(width), taking the widest block that fits first: the
 * body handles elements [i, i + width) and nothing past `to` is touched. `to` is re-evaluated
 * per iteration, so pass a local. `widths` must end with 1.
 */
export function sweep(f: Fn, i: Local, from: Ex, to: Ex, body: (w: Width) => void, widths: readonly Width[] = [16, 4, 1]): void {
  widths.forEach((w, n) => f.for(i, n === 0 ? from : i, w === 1 ? to : f.sub(to, w - 1), w, () => body(w)));
}

/** A value held both as an f32 and as its f32x4 splat (or a register used at either width). */
export interface Pair {
  s: Local;
  v: Local;
}

export function pair(f: Fn): Pair {
  return { s: f.local(F32), v: f.local(V128) };
}

export function pairs(f: Fn, n: number): Pair[] {
  return Array.from({ length: n }, () => pair(f));
}

/** A constant of the kernel: `value` (an f32 expression) and its splat. */
export function constant(f: Fn, value: Ex): Pair {
  const p = pair(f);
  f.set(p.s, value);
  f.set(p.v, f.vsplat(p.s));
  return p;
}

/** f32 arithmetic on one block: `regs` registers (f32x4 or scalar) at byte offsets 16 * k. */
export interface Lanes {
  width: Width;
  regs: number;
  load(addr: Ex, k: number): Ex;
  store(addr: Ex, k: number, v: Ex): void;
  add(a: Ex, b: Ex): Ex;
  sub(a: Ex, b: Ex): Ex;
  mul(a: Ex, b: Ex): Ex;
  div(a: Ex, b: Ex): Ex;
  /** NaN-propagating max / min. */
  max(a: Ex, b: Ex): Ex;
  min(a: Ex, b: Ex): Ex;
  /** The local of a pair at this width. */
  of(p: Pair): Local;
  /** Zero of this width. */
  zero(): Ex;
}

export function lanes(f: Fn, width: Width): Lanes {
  if (width === 1)
    return {
      width,
      regs: 1,
      load: (a) => f.fload(a),
      store: (a, _k, v) => f.fstore(a, v),
      add: f.fadd,
      sub: f.fsub,
      mul: f.fmul,
      div: f.fdiv,
      max: f.fmax,
      min: f.fmin,
      of: (p) => p.s,
      zero: () => f.f32(0),
    };
  return {
    width,
    regs: width / 4,
    load: (a, k) => f.vload(a, 16 * k),
    store: (a, k, v) => f.vstore(a, v, 16 * k),
    add: f.vadd,
    sub: f.vsub,
    mul: f.vmul,
    div: f.vdiv,
    max: f.vmax,
    min: f.vmin,
    of: (p) => p.v,
    zero: () => f.vzero(),
  };
}

/** Elements per lane of a block of `Sum.sweep` before the float32 partial sums move into float64. */
const SUM_BLOCK = 256;

/**
 * A float32 sum that keeps float64 accuracy at float32 speed: terms go into 16 float32 partial
 * sums (four f32x4 accumulators, one scalar for tails), which `Sum.sweep` moves into a float64
 * total every SUM_BLOCK elements (16 terms per lane) and at the end of each range. A float32
 * chain of 16 terms loses a few ulps at most; the float64 total loses nothing that matters, so
 * a sum of millions of terms stays as accurate as the reference kernels' float64 sums.
 */
export class Sum {
  readonly acc: Pair[];
  private readonly t: Local;
  private readonly wide: Local;
  private readonly wideTail: Local;

  constructor(private readonly f: Fn) {
    this.acc = pairs(f, 4);
    this.t = f.local(V128);
    this.wide = f.local(V128);
    this.wideTail = f.local(F64);
  }

  /** Starts a new total. */
  reset(): void {
    this.clear();
    this.f.set(this.wide, this.f.vzero());
    this.f.set(this.wideTail, this.f.double(0));
  }

  private clear(): void {
    for (const a of this.acc) {
      this.f.set(a.s, this.f.f32(0));
      this.f.set(a.v, this.f.vzero());
    }
  }

  /** Moves the float32 partial sums into the float64 total. */
  private flush(): void {
    const f = this.f;
    const [a, b, c, d] = this.acc as [Pair, Pair, Pair, Pair];
    f.set(this.t, f.vadd(f.vadd(a.v, b.v), f.vadd(c.v, d.v)));
    f.set(this.wide, f.vdadd(f.vdadd(this.wide, f.vpromoteLow(this.t)), f.vpromoteLow(f.vshuffle(this.t, this.t, [2, 3, 2, 3]))));
    f.set(this.wideTail, f.dadd(this.wideTail, f.promote(a.s)));
    this.clear();
  }

  /** acc += term(k) for each register k of the block (term must not emit statements). */
  add(l: Lanes, term: (k: number) => Ex): void {
    for (let k = 0; k < l.regs; k++) this.f.set(l.of(this.acc[k]!), l.add(l.of(this.acc[k]!), term(k)));
  }

  /**
   * `sweep` whose body adds terms with `add` to this sum (and to the sums of `also`), flushing
   * them every SUM_BLOCK elements and at the end.
   */
  sweep(i: Local, from: Ex, to: Local, body: (w: Width) => void, ...also: Sum[]): void {
    const f = this.f;
    const flush = () => [this, ...also].forEach((s) => s.flush());
    const [j, lim] = f.locals(2, I32);
    f.set(i, from);
    f.for(j, i, f.sub(to, 15), SUM_BLOCK, () => {
      f.set(lim, f.min(f.add(j, SUM_BLOCK), f.sub(to, 15)));
      f.for(i, j, lim, 16, () => body(16));
      flush();
    });
    sweep(f, i, i, to, body, [4, 1]);
    flush();
  }

  /** Stores the float64 total into the f64 local `out`. */
  total(out: Local): void {
    const f = this.f;
    f.set(out, f.dadd(f.dadd(f.vdlane(this.wide, 0), f.vdlane(this.wide, 1)), this.wideTail));
  }
}
