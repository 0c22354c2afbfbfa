import type { ErrorLocation } from '../errors.js';
import type { Attrs, TypeInfo, ValueId } from '../ir/graph.js';
import type { GraphBuilder } from '../ir/builder.js';

/** Cost hints: floating point operations and bytes moved by one execution. */
export interface Cost {
  flops: number;
  bytes: number;
}

export interface VjpArgs<A> {
  inputs: readonly ValueId[];
  outputs: readonly ValueId[];
  attrs: A;
  /** needs[i]: whether the gradient of input i is wanted (skip work for the others). */
  needs: readonly boolean[];
  name: string;
}

/**
 * Vector-Jacobian product rule: given the cotangents of the outputs (null where an output
 * has no cotangent), emit IR computing the cotangent of each input (null where not needed).
 */
export type VjpRule<A> = (b: GraphBuilder, args: VjpArgs<A>, cts: readonly (ValueId | null)[]) => (ValueId | null)[];

/**
 * One op definition: everything the compiler knows about an op, in one place.
 * Kernels live in backends; they receive the attrs type A.
 */
export interface OpDef<A extends Attrs = Attrs> {
  name: string;
  /** Allowed input counts: [min, max]. */
  arity: readonly [number, number];
  /** Number of outputs (function of attrs for multi-output ops like split). */
  outputs?: (attrs: A, inputs: readonly TypeInfo[]) => number;
  /** Shape and dtype inference; throws PockError('shape'|'dtype'|'attr') on bad input. */
  infer(inputs: readonly TypeInfo[], attrs: A, where: ErrorLocation): TypeInfo[];
  /** Gradient rule. Absent iff `nondiff` says why. */
  vjp?: VjpRule<A>;
  /**
   * Why the op has no gradient rule: 'integer' (discrete output), 'backward' (a gradient op,
   * checked through the forward op's gradient check), 'optimizer' (update op), 'stop' (an
   * identity that autodiff treats as a constant: stop_gradient).
   */
  nondiff?: 'integer' | 'backward' | 'optimizer' | 'stop';
  /** Inputs through which no gradient flows (indices, labels, counters). */
  nondiffInputs?: readonly number[];
  cost(inputs: readonly TypeInfo[], outputs: readonly TypeInfo[], attrs: A): Cost;
  /** True for elementwise ops (fusion candidates, 1:1 in-place eligible). */
  elementwise?: boolean;
}

export function defineOp<A extends Attrs = Record<string, never>>(def: OpDef<A>): OpDef<A> {
  return def;
}
