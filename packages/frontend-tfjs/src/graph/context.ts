/**
 * What a GraphDef op handler sees: its node (attributes, name), its inputs as `Sym`s (an IR
 * tensor with its layout, or a constant known at import time) and the graph being built.
 * Constants become IR values only when a handler asks for one as a value: a float tensor
 * constant (a model weight) becomes a param (or a buffer, e.g. BN statistics) named after its
 * Const node, anything else an IR constant.
 */
import type { GraphBuilder, ValueId } from '@pockengine/core';
import { HandlerContext } from '../handler-context.js';
import { act, type Act } from '../layout.js';
import type { TfjsImportOptions } from '../types.js';
import { NodeAttrs, type TfNode } from './graphdef.js';
import type { HostConst } from './host.js';

export type Sym = Act | HostConst;

export const isConst = (s: Sym): s is HostConst => (s as HostConst).kind === 'const';

/** The importer state a handler works against (implemented in import.ts). */
export interface GraphImportState {
  readonly b: GraphBuilder;
  readonly opts: TfjsImportOptions;
  /** The IR value of a constant, created once per constant (role by first use). */
  materialize(c: HostConst, role: 'param' | 'buffer' | 'auto'): ValueId;
  /** Records that `probs` is softmax(logits) over the last axis. */
  markSoftmax(probs: Act, logits: Act): void;
}

export class OpContext extends HandlerContext<GraphImportState> {
  readonly node: TfNode;
  readonly attrs: NodeAttrs;
  readonly inputs: readonly Sym[];

  constructor(state: GraphImportState, node: TfNode, inputs: readonly Sym[]) {
    super(state, { file: state.opts.file, node: node.name, op: node.op });
    this.node = node;
    this.inputs = inputs;
    this.attrs = new NodeAttrs(node, this.where);
  }

  sym(i: number): Sym {
    const s = this.inputs[i];
    if (!s) this.fail(`expects at least ${i + 1} input(s), got ${this.inputs.length}`, 'import');
    return s;
  }
  /** Input i as a tensor (a constant is materialized: weights as params). */
  value(i: number, role: 'param' | 'buffer' | 'auto' = 'auto'): Act {
    const s = this.sym(i);
    return isConst(s) ? act(this.state.materialize(s, role)) : s;
  }
  /** Input i as a constant; `what` names it in the error when it is computed at run time. */
  const(i: number, what: string): HostConst {
    const s = this.sym(i);
    if (!isConst(s)) this.fail(`${what} (input ${i}) must be a constant known at import time`, 'unsupported-op');
    return s;
  }
  /** Input i as a list of integers (axes, shapes, paddings). */
  ints(i: number, what: string): number[] {
    return Array.from(this.const(i, what).data);
  }
  /** The first two attributes of NHWC 4-vectors (strides, ksize, dilations) as [h, w]. */
  hw(name: string, def: number[]): number[] {
    const v = this.attrs.ints(name, def);
    if (v.length !== 4 || v[0] !== 1 || v[3] !== 1) this.unsupported(`${name} ${JSON.stringify(v)} must be [1, h, w, 1]`);
    return [v[1]!, v[2]!];
  }
  requireNhwc(): void {
    const f = this.attrs.str('data_format', 'NHWC');
    if (f !== 'NHWC') this.unsupported(`data_format '${f}' is not supported (TF.js runs NHWC)`);
  }
  markSoftmax(probs: Act, logits: Act): void {
    this.state.markSoftmax(probs, logits);
  }
}
