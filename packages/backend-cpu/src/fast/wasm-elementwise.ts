/**
 * WASM-SIMD elementwise kernels over an element range [start, end) (threads own disjoint
 * ranges): select (where), in_range, add, sub, mul, div and the SGD update. Pointers are byte addresses;
 * float arguments arrive as their float32 bits in an i32 (the thread pool passes i32s only).
 * Bool tensors are bytes 0 / 1; where's condition counts any non-zero byte as true, like the
 * reference kernel.
 */
import { F32, I32, Local, ModuleBuilder, V128, type Ex, type Fn } from './wasm-builder.js';
import { constant, lanes, sweep, type Lanes } from './wasm-lanes.js';

export const ELEMENTWISE_EXPORTS = ['select', 'in_range', 'add', 'sub', 'mul', 'div', 'sgd'] as const;

/** The binary arithmetic ops: same-shape kernels here, broadcasting ones in wasm-broadcast.ts. */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** The f32 operation `op` at the width of `l`. */
export function binaryOp(l: Lanes, op: BinaryOp): (a: Ex, b: Ex) => Ex {
  return op === 'add' ? l.add : op === 'sub' ? l.sub : op === 'mul' ? l.mul : l.div;
}

/** in_range flags: exclude the lower / upper bound. */
export const IN_RANGE_STRICT_LO = 1;
export const IN_RANGE_STRICT_HI = 2;

/** sgd flags (see addSgd). */
export const SGD_MOMENTUM = 1;
export const SGD_FIRST = 2;
export const SGD_NESTEROV = 4;
export const SGD_DECAY = 8;

/** Emits variant(v) under a branch on the runtime value of `key`, for each of `variants` (the last one is the default). */
function dispatch(f: Fn, key: Ex, variants: readonly number[], variant: (v: number) => void): void {
  const [v, ...rest] = variants;
  if (rest.length === 0) return variant(v!);
  f.if(f.eq(key, v!), () => variant(v!), () => dispatch(f, key, rest, variant));
}

/** select's flags: b (a) is one element, used for every i; cond (a, b) is a block of `period` elements repeated along i. */
export const SELECT_SCALAR_B = 1;
export const SELECT_SCALAR_A = 2;
export const SELECT_BLOCK_COND = 4;
export const SELECT_BLOCK_A = 8;
export const SELECT_BLOCK_B = 16;

/**
 * select(cond, a, b, out, start, end, flags, period): out[i] = cond[i] ? a[i] : b[i], with a[0] /
 * b[0] for a scalar a / b (SELECT_SCALAR_A / _B: the masked gradient where(mask, dy, 0), a masked
 * fill where(mask, -inf, x)), and index i mod period for a block operand (SELECT_BLOCK_*: an
 * attention mask [1, 1, T, T] over [B, H, T, T]). [start, end) is walked in pieces that stay
 * within one repetition of the block, so any element range works (threads split by elements).
 * Branch-free: 16 condition bytes become four lane masks (compare with zero, sign-extend twice)
 * for v128.bitselect; values are moved as bits.
 */
function addSelect(mod: ModuleBuilder): void {
  const f = mod.fn('select', [I32, I32, I32, I32, I32, I32, I32, I32]);
  const [cond, a, b, out, start, end, flags, period] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local];
  const [i, pos, len, stop, shift, cb, ab, bb] = f.locals(8, I32);
  const [m, lo, hi, av, bv] = f.locals(5, V128);
  const [as, bs] = f.locals(2, I32);
  const at = (p: Local) => f.add(p, f.x4(i));
  const loop = (scalarA: boolean, scalarB: boolean) => {
    if (scalarA) {
      f.set(as, f.iload(a));
      f.set(av, f.vsplatLoad(a));
    }
    if (scalarB) {
      f.set(bs, f.iload(b));
      f.set(bv, f.vsplatLoad(b));
    }
    sweep(
      f,
      i,
      pos,
      stop,
      (w) => {
        if (w === 1) return f.istore(at(out), f.select(scalarA ? as : f.iload(at(ab)), scalarB ? bs : f.iload(at(bb)), f.load8(f.add(cb, i))));
        f.set(m, f.vbytesNe(f.vload(f.add(cb, i)), f.vzero()));
        f.set(lo, f.vextendBytesLow(m));
        f.set(hi, f.vextendBytesHigh(m));
        const masks = [f.vextendShortsLow(lo), f.vextendShortsHigh(lo), f.vextendShortsLow(hi), f.vextendShortsHigh(hi)];
        masks.forEach((mask, r) =>
          f.vstore(at(out), f.vbitselect(scalarA ? av : f.vload(at(ab), 16 * r), scalarB ? bv : f.vload(at(bb), 16 * r), mask), 16 * r),
        );
      },
      [16, 1],
    );
  };
  // pieces [pos, stop) within one repetition: a block operand's base moves back by pos - (pos mod period)
  f.for(pos, start, end, len, () => {
    f.set(len, f.min(f.sub(end, pos), f.sub(period, f.rem(pos, period))));
    f.set(stop, f.add(pos, len));
    f.set(shift, f.sub(f.rem(pos, period), pos));
    f.set(cb, f.add(cond, f.select(shift, 0, f.and(flags, SELECT_BLOCK_COND))));
    f.set(ab, f.add(a, f.x4(f.select(shift, 0, f.and(flags, SELECT_BLOCK_A)))));
    f.set(bb, f.add(b, f.x4(f.select(shift, 0, f.and(flags, SELECT_BLOCK_B)))));
    f.if(
      f.and(flags, SELECT_SCALAR_A),
      () => f.if(f.and(flags, SELECT_SCALAR_B), () => loop(true, true), () => loop(true, false)),
      () => f.if(f.and(flags, SELECT_SCALAR_B), () => loop(false, true), () => loop(false, false)),
    );
  });
}

/**
 * in_range(x, y, start, end, lo, hi, flags): y[i] = 1 when lo <= x[i] <= hi (< with the strict
 * flags), else 0 (NaN is in no range). Lane masks of 16 elements narrow to 16 bytes of 0xff / 0,
 * negated to 1 / 0.
 */
function addInRange(mod: ModuleBuilder): void {
  const f = mod.fn('in_range', [I32, I32, I32, I32, I32, I32, I32]);
  const [x, y, start, end, loBits, hiBits, flags] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local];
  const i = f.local(I32);
  const v = f.locals(4, V128);
  const t = f.local(F32);
  const lo = constant(f, f.fromBits(loBits));
  const hi = constant(f, f.fromBits(hiBits));
  dispatch(f, f.and(flags, IN_RANGE_STRICT_LO | IN_RANGE_STRICT_HI), [0, IN_RANGE_STRICT_LO, IN_RANGE_STRICT_HI, 3], (strict) => {
    const strictLo = (strict & IN_RANGE_STRICT_LO) !== 0;
    const strictHi = (strict & IN_RANGE_STRICT_HI) !== 0;
    sweep(
      f,
      i,
      start,
      end,
      (w) => {
        if (w === 1) {
          f.set(t, f.fload(f.add(x, f.x4(i))));
          return f.store8(f.add(y, i), f.and(strictLo ? f.fgt(t, lo.s) : f.fge(t, lo.s), strictHi ? f.flt(t, hi.s) : f.fle(t, hi.s)));
        }
        v.forEach((r, k) => {
          f.set(r, f.vload(f.add(x, f.x4(i)), 16 * k));
          f.set(r, f.vand(strictLo ? f.vgt(r, lo.v) : f.vge(r, lo.v), strictHi ? f.vlt(r, hi.v) : f.vle(r, hi.v)));
        });
        f.vstore(f.add(y, i), f.vbytesNeg(f.vnarrowShorts(f.vnarrowInts(v[0]!, v[1]!), f.vnarrowInts(v[2]!, v[3]!))));
      },
      [16, 1],
    );
  });
}

/** add / sub / mul / div(a, b, out, start, end): out = a op b. */
function addBinary(mod: ModuleBuilder, name: BinaryOp): void {
  const f = mod.fn(name, [I32, I32, I32, I32, I32]);
  const [a, b, out, start, end] = f.params as Local[] as [Local, Local, Local, Local, Local];
  const i = f.local(I32);
  sweep(f, i, start, end, (w) => {
    const l = lanes(f, w);
    const at = (p: Local) => f.add(p, f.x4(i));
    for (let r = 0; r < l.regs; r++) l.store(at(out), r, binaryOp(l, name)(l.load(at(a), r), l.load(at(b), r)));
  });
}

/**
 * sgd(param, grad, velocity, start, end, lr, momentum, 1 - dampening, weightDecay, flags), in
 * place, in torch.optim.SGD's order of operations:
 *   d = g + wd * p                                  (SGD_DECAY)
 *   buf = d (SGD_FIRST) or momentum * v + (1 - dampening) * d;  v = buf     (SGD_MOMENTUM)
 *   d = d + momentum * buf (SGD_NESTEROV) or buf
 *   p = p - lr * d
 * One loop per flag combination, so no element pays for a branch or for a term that is off.
 */
function addSgd(mod: ModuleBuilder): void {
  const f = mod.fn('sgd', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [p, g, vel, start, end, lrBits, momBits, keepBits, wdBits, flags] = f.params as Local[] as [
    Local, Local, Local, Local, Local, Local, Local, Local, Local, Local,
  ];
  const i = f.local(I32);
  const lr = constant(f, f.fromBits(lrBits));
  const mom = constant(f, f.fromBits(momBits));
  const keep = constant(f, f.fromBits(keepBits));
  const wd = constant(f, f.fromBits(wdBits));
  const block = (l: Lanes, variant: number) => {
    const pv = f.locals(l.regs, l.width === 1 ? F32 : V128);
    const d = f.locals(l.regs, l.width === 1 ? F32 : V128);
    const at = (ptr: Local) => f.add(ptr, f.x4(i));
    for (let r = 0; r < l.regs; r++) {
      f.set(pv[r]!, l.load(at(p), r));
      f.set(d[r]!, l.load(at(g), r));
      if (variant & SGD_DECAY) f.set(d[r]!, l.add(d[r]!, l.mul(l.of(wd), pv[r]!)));
      if (variant & SGD_MOMENTUM) {
        const buf = variant & SGD_FIRST ? d[r]! : l.add(l.mul(l.of(mom), l.load(at(vel), r)), l.mul(l.of(keep), d[r]!));
        if (variant & SGD_NESTEROV) {
          const b = f.local(l.width === 1 ? F32 : V128);
          f.set(b, buf);
          l.store(at(vel), r, b);
          f.set(d[r]!, l.add(d[r]!, l.mul(l.of(mom), b)));
        } else {
          f.set(d[r]!, buf);
          l.store(at(vel), r, d[r]!);
        }
      }
      l.store(at(p), r, l.sub(pv[r]!, l.mul(l.of(lr), d[r]!)));
    }
  };
  const momentumVariants = [SGD_MOMENTUM, SGD_MOMENTUM | SGD_FIRST, SGD_MOMENTUM | SGD_NESTEROV, SGD_MOMENTUM | SGD_FIRST | SGD_NESTEROV];
  const variants = [0, ...momentumVariants].flatMap((v) => [v | SGD_DECAY, v]);
  dispatch(f, flags, variants, (variant) => sweep(f, i, start, end, (w) => block(lanes(f, w), variant)));
}

/** Adds the elementwise kernels to the module. */
export function addElementwiseKernels(mod: ModuleBuilder): void {
  addSelect(mod);
  addInRange(mod);
  for (const op of BINARY_OPS) addBinary(mod, op);
  addSgd(mod);
}
