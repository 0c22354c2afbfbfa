/**
 * Per-op copies of the elementwise loops. Every elementwise kernel calls its scalar function
 * from a loop; if all kernels shared one loop, that call site would see dozens of functions
 * (megamorphic) and V8 could inline none of them: ~8 ns per element. Each kernel gets its own
 * copy of the loop instead (a fresh function from the same source), so its call site sees one
 * function and is inlined: ~1 ns per element. Where `new Function` is not allowed (a strict
 * Content-Security-Policy), the shared loops are used: slower, same results.
 */
type Arr = { [i: number]: number; length: number };
export type BinaryLoop = (a: Arr, b: Arr, o: Arr, n: number, fn: (x: number, y: number) => number) => void;
export type UnaryLoop = (a: Arr, o: Arr, n: number, fn: (x: number) => number) => void;

export interface BinaryLoops {
  same: BinaryLoop;
  scalarRight: BinaryLoop;
  scalarLeft: BinaryLoop;
}

const SAME = 'return function (a, b, o, n, fn) { for (let i = 0; i < n; i++) o[i] = fn(a[i], b[i]); }';
const RIGHT = 'return function (a, b, o, n, fn) { const y = b[0]; for (let i = 0; i < n; i++) o[i] = fn(a[i], y); }';
const LEFT = 'return function (a, b, o, n, fn) { const x = a[0]; for (let i = 0; i < n; i++) o[i] = fn(x, b[i]); }';
const UNARY = 'return function (a, o, n, fn) { for (let i = 0; i < n; i++) o[i] = fn(a[i]); }';

const shared = {
  same: ((a, b, o, n, fn) => {
    for (let i = 0; i < n; i++) o[i] = fn(a[i]!, b[i]!);
  }) as BinaryLoop,
  scalarRight: ((a, b, o, n, fn) => {
    const y = b[0]!;
    for (let i = 0; i < n; i++) o[i] = fn(a[i]!, y);
  }) as BinaryLoop,
  scalarLeft: ((a, b, o, n, fn) => {
    const x = a[0]!;
    for (let i = 0; i < n; i++) o[i] = fn(x, b[i]!);
  }) as BinaryLoop,
  unary: ((a, o, n, fn) => {
    for (let i = 0; i < n; i++) o[i] = fn(a[i]!);
  }) as UnaryLoop,
};

function clone<T>(src: string, fallback: T): T {
  try {
    return new Function(src)() as T;
  } catch {
    return fallback;
  }
}

export function binaryLoops(): BinaryLoops {
  return { same: clone(SAME, shared.same), scalarRight: clone(RIGHT, shared.scalarRight), scalarLeft: clone(LEFT, shared.scalarLeft) };
}

export function unaryLoop(): UnaryLoop {
  return clone(UNARY, shared.unary);
}
