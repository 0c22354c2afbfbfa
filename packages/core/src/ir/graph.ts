import type { DType, QuantParams } from '../dtype.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** Static type of a value: dtype and shape (every shape is static at compile time). */
export interface TypeInfo {
  dtype: DType;
  shape: Shape;
  quant?: QuantParams;
}

/**
 * Roles of values:
 * - input: fed every step (images, token ids, labels, the learning rate);
 * - param: a trainable-capable weight of the model (may be frozen by a scheme);
 * - buffer: model state that is not trained (BN running statistics);
 * - const: folded constant data;
 * - state: state owned by the compiled program (optimizer moments, step counter);
 * - node: produced by a node.
 */
export type ValueRole = 'input' | 'param' | 'buffer' | 'const' | 'state' | 'node';

export type ValueId = number;

export interface Value extends TypeInfo {
  id: ValueId;
  role: ValueRole;
  /** Source-model name (parameter / input name, or producing node's output name). */
  name: string;
}

export type AttrValue = number | boolean | string | readonly number[] | readonly string[] | null;
export type Attrs = Readonly<Record<string, AttrValue | undefined>>;

export interface Node {
  id: number;
  op: string;
  attrs: Attrs;
  inputs: readonly ValueId[];
  outputs: readonly ValueId[];
  /** Name of the source model's node (for error messages), or a derived name like `grad(conv1)`. */
  name: string;
}

/** An update applied at the end of a step: `target` takes the value of `value`. */
export interface Update {
  target: ValueId;
  value: ValueId;
}

/**
 * A typed dataflow graph. `nodes` are in topological order; value ids index `values`.
 * Graphs are immutable data: passes build new graphs.
 */
export interface Graph {
  readonly name: string;
  readonly values: readonly Value[];
  readonly nodes: readonly Node[];
  readonly inputs: readonly ValueId[];
  readonly outputs: readonly { name: string; value: ValueId }[];
  /** Data of param, buffer, const and state values. */
  readonly init: ReadonlyMap<ValueId, Tensor>;
  readonly updates: readonly Update[];
}
