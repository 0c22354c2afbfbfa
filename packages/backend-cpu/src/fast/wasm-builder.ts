/**
 * A tiny WebAssembly binary emitter: just enough of the MVP, bulk-memory and fixed-width SIMD
 * proposals to write the fast kernels from TypeScript (no AssemblyScript or emscripten in the
 * toolchain). Encodings follow the WebAssembly core spec 2.0, section 5 "Binary Format"
 * (https://webassembly.github.io/spec/core/binary/), SIMD opcodes from
 * https://github.com/WebAssembly/simd/blob/main/proposals/simd/BinarySIMD.md.
 *
 * Expressions are thunks that emit their operands then their opcode, so generator code reads
 * like the loop nest it builds: `f.set(p, f.add(p, 16))`. A plain number is an i32 constant, a
 * `Local` reads that local.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

export class Local {
  constructor(
    readonly index: number,
    readonly type: ValType,
  ) {}
}

/** An i32 constant, a local read, or a thunk that emits a value onto the stack. */
export type Ex = number | Local | (() => void);

function uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function str(out: number[], s: string): void {
  const b = new TextEncoder().encode(s);
  uleb(out, b.length);
  out.push(...b);
}

/** out.push(...src) without the argument-count limit of spreading a long array. */
function append(out: number[], src: readonly number[]): void {
  for (let i = 0; i < src.length; i++) out.push(src[i]!);
}

const SIMD = 0xfd;
const F32_BYTES = new Float32Array(1);

/** One function body under construction. */
export class Fn {
  readonly code: number[] = [];
  readonly params: Local[];
  private readonly extra: ValType[] = [];

  constructor(
    readonly index: number,
    paramTypes: readonly ValType[],
    readonly results: readonly ValType[],
  ) {
    this.params = paramTypes.map((t, i) => new Local(i, t));
  }

  /** A fresh local of the given type (zero-initialised by the engine). */
  local(type: ValType = I32): Local {
    this.extra.push(type);
    return new Local(this.params.length + this.extra.length - 1, type);
  }

  locals(n: number, type: ValType): Local[] {
    return Array.from({ length: n }, () => this.local(type));
  }

  /** Encoded body: local declarations, code, end. */
  body(): number[] {
    const out: number[] = [];
    const runs: [number, ValType][] = [];
    for (const t of this.extra) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(out, runs.length);
    for (const [n, t] of runs) {
      uleb(out, n);
      out.push(t);
    }
    append(out, this.code);
    out.push(0x0b);
    return out;
  }

  // ---- emission primitives
  emit(e: Ex): void {
    if (typeof e === 'number') {
      this.code.push(0x41);
      sleb(this.code, e | 0);
    } else if (e instanceof Local) {
      this.code.push(0x20);
      uleb(this.code, e.index);
    } else e();
  }
  private op(bytes: number[], ...args: Ex[]): () => void {
    return () => {
      for (const a of args) this.emit(a);
      this.code.push(...bytes);
    };
  }
  private simd(opcode: number, ...args: Ex[]): () => void {
    const b: number[] = [SIMD];
    uleb(b, opcode);
    return this.op(b, ...args);
  }
  private mem(bytes: number[], align: number, offset: number): number[] {
    const b = [...bytes];
    uleb(b, align);
    uleb(b, offset);
    return b;
  }

  // ---- i32 arithmetic and comparisons (signed)
  add = (a: Ex, b: Ex) => this.op([0x6a], a, b);
  sub = (a: Ex, b: Ex) => this.op([0x6b], a, b);
  mul = (a: Ex, b: Ex) => this.op([0x6c], a, b);
  div = (a: Ex, b: Ex) => this.op([0x6d], a, b);
  rem = (a: Ex, b: Ex) => this.op([0x6f], a, b);
  and = (a: Ex, b: Ex) => this.op([0x71], a, b);
  or = (a: Ex, b: Ex) => this.op([0x72], a, b);
  shl = (a: Ex, b: Ex) => this.op([0x74], a, b);
  /** a * 4: element count to bytes. */
  x4 = (a: Ex) => this.shl(a, 2);
  eqz = (a: Ex) => this.op([0x45], a);
  eq = (a: Ex, b: Ex) => this.op([0x46], a, b);
  ne = (a: Ex, b: Ex) => this.op([0x47], a, b);
  lt = (a: Ex, b: Ex) => this.op([0x48], a, b);
  gt = (a: Ex, b: Ex) => this.op([0x4a], a, b);
  le = (a: Ex, b: Ex) => this.op([0x4c], a, b);
  ge = (a: Ex, b: Ex) => this.op([0x4e], a, b);
  /** cond ? a : b */
  select = (a: Ex, b: Ex, cond: Ex) => this.op([0x1b], a, b, cond);
  min = (a: Ex, b: Ex) => this.select(a, b, this.lt(a, b));
  max = (a: Ex, b: Ex) => this.select(a, b, this.gt(a, b));

  // ---- f32 scalars
  f32 = (v: number) => () => {
    F32_BYTES[0] = v;
    this.code.push(0x43, ...new Uint8Array(F32_BYTES.buffer));
  };
  fload = (addr: Ex, offset = 0) => this.op(this.mem([0x2a], 2, offset), addr);
  /** f64.load (8-byte aligned). */
  dload = (addr: Ex, offset = 0) => this.op(this.mem([0x2b], 3, offset), addr);
  iload = (addr: Ex, offset = 0) => this.op(this.mem([0x28], 2, offset), addr);
  /**
   * i32.atomic.rmw.add: adds v to the aligned i32 at addr and returns the old value, atomically
   * (threads proposal; shared memories).
   */
  atomicAdd = (addr: Ex, v: Ex) => this.op(this.mem([0xfe, 0x1e], 2, 0), addr, v);
  /** One byte, zero-extended to i32 (i32.load8_u). */
  load8 = (addr: Ex, offset = 0) => this.op(this.mem([0x2d], 0, offset), addr);
  fadd = (a: Ex, b: Ex) => this.op([0x92], a, b);
  fsub = (a: Ex, b: Ex) => this.op([0x93], a, b);
  fmul = (a: Ex, b: Ex) => this.op([0x94], a, b);
  fdiv = (a: Ex, b: Ex) => this.op([0x95], a, b);
  fabs = (a: Ex) => this.op([0x8b], a);
  fneg = (a: Ex) => this.op([0x8c], a);
  fnearest = (a: Ex) => this.op([0x90], a);
  /** f32 to i32, truncating (i32.trunc_f32_s: the value must be in range). */
  ftrunc = (a: Ex) => this.op([0xa8], a);
  fsqrt = (a: Ex) => this.op([0x91], a);
  /** NaN-propagating f32 min / max. */
  fmin = (a: Ex, b: Ex) => this.op([0x96], a, b);
  fmax = (a: Ex, b: Ex) => this.op([0x97], a, b);
  /** f32 comparisons, giving an i32 0 or 1 (false when either side is NaN). */
  flt = (a: Ex, b: Ex) => this.op([0x5d], a, b);
  fgt = (a: Ex, b: Ex) => this.op([0x5e], a, b);
  fle = (a: Ex, b: Ex) => this.op([0x5f], a, b);
  fge = (a: Ex, b: Ex) => this.op([0x60], a, b);
  /** The f32 whose bits are the i32 a (f32.reinterpret_i32): floats passed as i32 arguments. */
  fromBits = (a: Ex) => this.op([0xbe], a);
  /** Signed i32 to f32 (f32.convert_i32_s). */
  float = (a: Ex) => this.op([0xb2], a);

  // ---- f64 scalars (for sums that must not lose float32 precision)
  dadd = (a: Ex, b: Ex) => this.op([0xa0], a, b);
  dsub = (a: Ex, b: Ex) => this.op([0xa1], a, b);
  dmul = (a: Ex, b: Ex) => this.op([0xa2], a, b);
  ddiv = (a: Ex, b: Ex) => this.op([0xa3], a, b);
  dsqrt = (a: Ex) => this.op([0x9f], a);
  /** f32 to f64 (exact) and f64 to f32 (rounded to nearest). */
  promote = (a: Ex) => this.op([0xbb], a);
  demote = (a: Ex) => this.op([0xb6], a);
  /** Signed i32 to f64 (exact). */
  double = (a: Ex) => this.op([0xb7], a);

  // ---- v128 / f32x4
  vload = (addr: Ex, offset = 0) => this.op(this.simdMem(0x00, offset), addr);
  /** Loads one f32 and splats it to all four lanes (v128.load32_splat). */
  vsplatLoad = (addr: Ex, offset = 0) => this.op(this.simdMem(0x09, offset, 2), addr);
  vsplat = (a: Ex) => this.simd(0x13, a);
  vzero = () => this.vsplat(this.f32(0));
  vadd = (a: Ex, b: Ex) => this.simd(0xe4, a, b);
  vsub = (a: Ex, b: Ex) => this.simd(0xe5, a, b);
  vmul = (a: Ex, b: Ex) => this.simd(0xe6, a, b);
  /** a * b + c, fused or not (relaxed SIMD f32x4.relaxed_madd: the runtime's choice, one rounding or two). */
  vmadd = (a: Ex, b: Ex, c: Ex) => this.simd(0x105, a, b, c);
  /** f32x4 comparisons: all-ones lanes where true, zero lanes where false (or NaN). */
  vlt = (a: Ex, b: Ex) => this.simd(0x43, a, b);
  vgt = (a: Ex, b: Ex) => this.simd(0x44, a, b);
  vle = (a: Ex, b: Ex) => this.simd(0x45, a, b);
  vge = (a: Ex, b: Ex) => this.simd(0x46, a, b);
  vand = (a: Ex, b: Ex) => this.simd(0x4e, a, b);
  /** Bits of a where mask is set, of b elsewhere (v128.bitselect). */
  vbitselect = (a: Ex, b: Ex, mask: Ex) => this.simd(0x52, a, b, mask);
  /** i8x16.ne: 0xff bytes where a and b differ. */
  vbytesNe = (a: Ex, b: Ex) => this.simd(0x24, a, b);
  /** i8x16.neg: turns 0xff / 0x00 byte masks into 1 / 0. */
  vbytesNeg = (a: Ex) => this.simd(0x61, a);
  /** Sign-extends the low / high eight bytes to i16x8 lanes. */
  vextendBytesLow = (a: Ex) => this.simd(0x87, a);
  vextendBytesHigh = (a: Ex) => this.simd(0x88, a);
  /** Sign-extends the low / high four i16 lanes to i32x4 lanes. */
  vextendShortsLow = (a: Ex) => this.simd(0xa7, a);
  vextendShortsHigh = (a: Ex) => this.simd(0xa8, a);
  /** Saturating signed narrowing: i32x4 a ++ b to i16x8, i16x8 a ++ b to i8x16. */
  vnarrowInts = (a: Ex, b: Ex) => this.simd(0x85, a, b);
  vnarrowShorts = (a: Ex, b: Ex) => this.simd(0x65, a, b);
  /** NaN-propagating min / max (IEEE semantics, so relu(NaN) stays NaN like PyTorch). */
  vmin = (a: Ex, b: Ex) => this.simd(0xe8, a, b);
  vmax = (a: Ex, b: Ex) => this.simd(0xe9, a, b);
  /** f32 lanes of the 8-lane concatenation a ++ b (i8x16.shuffle with the lanes' byte indices). */
  vshuffle = (a: Ex, b: Ex, lanes: readonly [number, number, number, number]) => {
    const bytes = lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
    return this.op([SIMD, 0x0d, ...bytes], a, b);
  };
  /** f64x2 of the two low f32 lanes (exact), f64x2.add and a lane of an f64x2. */
  vpromoteLow = (a: Ex) => this.simd(0x5f, a);
  vdadd = (a: Ex, b: Ex) => this.simd(0xf0, a, b);
  vdlane = (a: Ex, lane: 0 | 1) => this.op([SIMD, 0x21, lane], a);
  /** f32x4.div, abs, neg (sign bit only), sqrt (correctly rounded), round-to-nearest-even. */
  vdiv = (a: Ex, b: Ex) => this.simd(0xe7, a, b);
  vabs = (a: Ex) => this.simd(0xe0, a);
  vneg = (a: Ex) => this.simd(0xe1, a);
  vsqrt = (a: Ex) => this.simd(0xe3, a);
  vnearest = (a: Ex) => this.simd(0x6a, a);
  /** i32x4: splat, add, sub, shift left / arithmetic right by an i32, f32x4 to i32x4 (truncating, saturating). */
  visplat = (a: Ex) => this.simd(0x11, a);
  viadd = (a: Ex, b: Ex) => this.simd(0xae, a, b);
  visub = (a: Ex, b: Ex) => this.simd(0xb1, a, b);
  vishl = (a: Ex, bits: Ex) => this.simd(0xab, a, bits);
  vishr = (a: Ex, bits: Ex) => this.simd(0xac, a, bits);
  vtruncInts = (a: Ex) => this.simd(0xf8, a);
  /** f64x2: splat of an f64, sub, mul, div, sqrt; f32x4 of the two f64 lanes rounded, upper lanes zero (f32x4.demote_f64x2_zero). */
  vdsplat = (a: Ex) => this.simd(0x14, a);
  vdsub = (a: Ex, b: Ex) => this.simd(0xf1, a, b);
  vdmul = (a: Ex, b: Ex) => this.simd(0xf2, a, b);
  vddiv = (a: Ex, b: Ex) => this.simd(0xf3, a, b);
  vdsqrt = (a: Ex) => this.simd(0xef, a);
  vdemote = (a: Ex) => this.simd(0x5e, a);
  /** f64x2.abs and f64x2.lt (all-ones lanes where a < b). */
  vdabs = (a: Ex) => this.simd(0xec, a);
  vdlt = (a: Ex, b: Ex) => this.simd(0x49, a, b);
  /**
   * Pseudo-min / max (one minps / maxpd on x64, where the NaN-propagating ones take several
   * instructions): pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a, so a NaN in `a`
   * propagates and one in `b` is ignored.
   */
  vpmax = (a: Ex, b: Ex) => this.simd(0xeb, a, b);
  vdpmin = (a: Ex, b: Ex) => this.simd(0xf6, a, b);
  vdpmax = (a: Ex, b: Ex) => this.simd(0xf7, a, b);
  /** i64x2 shift left by an i32. */
  vlshl = (a: Ex, bits: Ex) => this.simd(0xcb, a, bits);
  /** An f64 constant. */
  f64 = (v: number) => () => {
    this.code.push(0x44, ...new Uint8Array(new Float64Array([v]).buffer));
  };
  /** Lane i of an f32x4 as an f32 (f32x4.extract_lane). */
  vlane = (a: Ex, i: number) => this.op([SIMD, 0x1f, i], a);
  /** Horizontal sum of the four lanes. */
  vsum = (a: Local) => {
    const lane = (i: number) => this.op([SIMD, 0x1f, i], a);
    return this.fadd(this.fadd(lane(0), lane(1)), this.fadd(lane(2), lane(3)));
  };
  private simdMem(opcode: number, offset: number, align = 4): number[] {
    const b: number[] = [SIMD];
    uleb(b, opcode);
    uleb(b, align);
    uleb(b, offset);
    return b;
  }

  // ---- statements
  set(l: Local, v: Ex): void {
    this.emit(v);
    this.code.push(0x21);
    uleb(this.code, l.index);
  }
  /** l += v (i32). */
  inc(l: Local, v: Ex): void {
    this.set(l, this.add(l, v));
  }
  fstore(addr: Ex, v: Ex, offset = 0): void {
    this.op(this.mem([0x38], 2, offset), addr, v)();
  }
  /** f64.store (8-byte aligned). */
  dstore(addr: Ex, v: Ex, offset = 0): void {
    this.op(this.mem([0x39], 3, offset), addr, v)();
  }
  istore(addr: Ex, v: Ex, offset = 0): void {
    this.op(this.mem([0x36], 2, offset), addr, v)();
  }
  /** Stores the low byte of an i32 (i32.store8). */
  store8(addr: Ex, v: Ex, offset = 0): void {
    this.op(this.mem([0x3a], 0, offset), addr, v)();
  }
  vstore(addr: Ex, v: Ex, offset = 0): void {
    this.op(this.simdMem(0x0b, offset), addr, v)();
  }
  /** memory.copy(dst, src, bytes) (bulk memory). */
  memcopy(dst: Ex, src: Ex, bytes: Ex): void {
    this.op([0xfc, 10, 0, 0], dst, src, bytes)();
  }
  /** memory.fill(dst, byte, bytes). */
  memfill(dst: Ex, byte: Ex, bytes: Ex): void {
    this.op([0xfc, 11, 0], dst, byte, bytes)();
  }
  call(fn: Fn, ...args: Ex[]): void {
    const b = [0x10];
    uleb(b, fn.index);
    this.op(b, ...args)();
    for (let i = 0; i < fn.results.length; i++) this.code.push(0x1a); // drop
  }

  // ---- structured control
  if(cond: Ex, then: () => void, otherwise?: () => void): void {
    this.emit(cond);
    this.code.push(0x04, 0x40);
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.code.push(0x0b);
  }
  /** for (i = from; i < to; i += step) body() — `to` and `step` are re-evaluated each iteration. */
  for(i: Local, from: Ex, to: Ex, step: Ex, body: () => void): void {
    this.set(i, from);
    this.code.push(0x02, 0x40, 0x03, 0x40); // block, loop
    this.emit(this.ge(i, to));
    this.code.push(0x0d, 1); // br_if to the block end
    body();
    this.inc(i, step);
    this.code.push(0x0c, 0, 0x0b, 0x0b); // br loop; end loop; end block
  }
  /** do { body() } while (--counter > 0): the counter must start >= 1. */
  countdown(counter: Local, body: () => void): void {
    this.code.push(0x03, 0x40);
    body();
    this.set(counter, this.sub(counter, 1));
    this.emit(this.gt(counter, 0));
    this.code.push(0x0d, 0, 0x0b);
  }
}

export interface MemoryImport {
  shared: boolean;
  /** Pages of 64 KiB. */
  initial: number;
  maximum: number;
}

/** A module: one imported memory ("env", "memory"), functions, and exports. */
export class ModuleBuilder {
  private readonly fns: Fn[] = [];
  private readonly exports: [string, number][] = [];

  constructor(private readonly memory: MemoryImport) {}

  /** Declares a function; generate its body with the returned Fn's methods. */
  fn(name: string | null, params: readonly ValType[], results: readonly ValType[] = []): Fn {
    const f = new Fn(this.fns.length, params, results);
    this.fns.push(f);
    if (name) this.exports.push([name, f.index]);
    return f;
  }

  build(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]) => {
      out.push(id);
      uleb(out, content.length);
      append(out, content);
    };
    // one type per function (duplicates are legal and keep indices trivial)
    const types: number[] = [];
    uleb(types, this.fns.length);
    for (const f of this.fns) {
      types.push(0x60);
      uleb(types, f.params.length);
      types.push(...f.params.map((p) => p.type));
      uleb(types, f.results.length);
      types.push(...f.results);
    }
    section(1, types);
    const imports: number[] = [1];
    str(imports, 'env');
    str(imports, 'memory');
    imports.push(0x02, this.memory.shared ? 0x03 : 0x01);
    uleb(imports, this.memory.initial);
    uleb(imports, this.memory.maximum);
    section(2, imports);
    const funcs: number[] = [];
    uleb(funcs, this.fns.length);
    this.fns.forEach((_, i) => uleb(funcs, i));
    section(3, funcs);
    const exps: number[] = [];
    uleb(exps, this.exports.length);
    for (const [name, idx] of this.exports) {
      str(exps, name);
      exps.push(0x00);
      uleb(exps, idx);
    }
    section(7, exps);
    const code: number[] = [];
    uleb(code, this.fns.length);
    for (const f of this.fns) {
      const body = f.body();
      uleb(code, body.length);
      append(code, body);
    }
    section(10, code);
    return new Uint8Array(out);
  }
}
