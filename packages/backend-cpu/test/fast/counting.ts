/**
 * An Engine that delegates to another and counts calls of its vector primitives, so the
 * conformance tests can check that a fast kernel really ran on the engine (and did not defer to
 * the reference kernel it is compared with).
 */
import type { Engine, VectorOps } from '../../src/fast/index.js';

export interface Counted {
  engine: Engine;
  /** Primitive name -> calls so far. */
  calls: Map<keyof VectorOps, number>;
}

export function counting(e: Engine): Counted {
  const calls = new Map<keyof VectorOps, number>();
  const v = e.vector;
  const count = <K extends keyof VectorOps>(name: K, fn: VectorOps[K]): VectorOps[K] =>
    ((...args: never[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return (fn as (...a: never[]) => void)(...args);
    }) as VectorOps[K];
  const vector: VectorOps | undefined = v && {
    batchNorm: count('batchNorm', (c) => v.batchNorm(c)),
    batchNormGrad: count('batchNormGrad', (c) => v.batchNormGrad(c)),
    layerNorm: count('layerNorm', (c) => v.layerNorm(c)),
    layerNormGrad: count('layerNormGrad', (c) => v.layerNormGrad(c)),
    select: count('select', (c) => v.select(c)),
    inRange: count('inRange', (c) => v.inRange(c)),
    binary: count('binary', (op, a, b, out, n) => v.binary(op, a, b, out, n)),
    broadcast: count('broadcast', (c) => v.broadcast(c)),
    unary: count('unary', (op, x, out, n) => v.unary(op, x, out, n)),
    rowStats: count('rowStats', (x, classes, stats, rows) => v.rowStats(x, classes, stats, rows)),
    rowSoftmax: count('rowSoftmax', (x, y, classes, stats, rows) => v.rowSoftmax(x, y, classes, stats, rows)),
    transpose: count('transpose', (c) => v.transpose(c)),
    copy: count('copy', (c) => v.copy(c)),
    reduceSum: count('reduceSum', (c) => v.reduceSum(c)),
    sgd: count('sgd', (c) => v.sgd(c)),
  };
  const engine: Engine = {
    name: e.name,
    threads: e.threads,
    heap: () => e.heap(),
    reset: () => e.reset(),
    alloc: (n) => e.alloc(n),
    gemm: (g) => e.gemm(g),
    im2col: (d) => e.im2col(d),
    col2im: (d) => e.col2im(d),
    depthwise: (kind, d) => e.depthwise(kind, d),
    ...(vector ? { vector } : {}),
    // the same heap identity, so tensors resident in e's heap are used in place through this engine too
    ...(e.tag ? { tag: e.tag } : {}),
  };
  return { engine, calls };
}
