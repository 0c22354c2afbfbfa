/**
 * What a layer handler sees: the layer's class, name and (camelCase) config, its input tensors
 * for this call, its weights by Keras weight name ('kernel', 'bias', 'gamma', 'moving_mean'...)
 * and the graph being built. Errors name the layer as the user knows it:
 * `Conv2D 'block_1_expand': dilation_rate ...`.
 */
import type { ErrorLocation, GraphBuilder, ValueId } from '@pockengine/core';
import { HandlerContext } from '../handler-context.js';
import { activation, isSoftmaxName, normName } from '../activations.js';
import type { Act } from '../layout.js';
import type { TfjsImportOptions } from '../types.js';
import type { LayerSpec } from './topology.js';

/** The importer state a handler works against (implemented in import.ts). */
export interface LayersImportState {
  readonly b: GraphBuilder;
  readonly opts: TfjsImportOptions;
  /** The layer's weight `role` as a param or buffer value (cached by weight name), or null if absent. */
  weight(spec: LayerSpec, role: string, kind: 'param' | 'buffer', where: ErrorLocation): ValueId | null;
  /** Names of every weight of the layer (its own and those of layers it wraps). */
  weightNamesOf(spec: LayerSpec): string[];
  /** Creates the graph input of an InputLayer. */
  graphInput(spec: LayerSpec, where: ErrorLocation): Act;
  /** Records that `probs` is softmax(logits) over the last axis (an output may return the logits). */
  markSoftmax(probs: Act, logits: Act): void;
}

export class LayerContext extends HandlerContext<LayersImportState> {
  readonly spec: LayerSpec;
  readonly inputs: readonly Act[];

  constructor(state: LayersImportState, spec: LayerSpec, inputs: readonly Act[]) {
    super(state, { file: state.opts.file, node: spec.name, op: spec.className });
    this.spec = spec;
    this.inputs = inputs;
  }

  get name(): string {
    return this.spec.name;
  }

  input(i = 0): Act {
    const t = this.inputs[i];
    if (!t) this.fail(`expects at least ${i + 1} input(s), got ${this.inputs.length}`, 'import');
    return t;
  }

  /** config[key], or `def` when absent or null. */
  cfg<T>(key: string, def: T): T {
    const v = this.spec.config[key];
    return v === undefined || v === null ? def : (v as T);
  }
  /** A string option, normalized ('channels_last' and 'channelsLast' both give 'channelslast'). */
  str(key: string, def: string): string {
    return normName(String(this.cfg<unknown>(key, def)));
  }
  /** An int or int-tuple option as a list of `n` numbers (kernelSize: 3 -> [3, 3]). */
  ints(key: string, def: number | readonly number[], n = 2): number[] {
    const v = this.cfg<number | number[]>(key, def as number | number[]);
    const list = Array.isArray(v) ? v.map(Number) : new Array<number>(n).fill(Number(v));
    if (list.length !== n || list.some((x) => !Number.isInteger(x))) this.fail(`${key} must be ${n} integers, got ${JSON.stringify(v)}`);
    return list;
  }
  /** Layers that only support channels_last (the TF.js default). */
  requireChannelsLast(): void {
    const f = this.str('dataFormat', 'channels_last');
    if (f !== 'channelslast') this.unsupported(`data_format '${this.cfg('dataFormat', '')}' is not supported; use channels_last (the TF.js default)`);
  }

  weight(role: string): ValueId {
    return this.state.weight(this.spec, role, 'param', this.where) ?? this.fail(`weight '${this.name}/${role}' is missing from the weights`, 'import');
  }
  optionalWeight(role: string): ValueId | null {
    return this.state.weight(this.spec, role, 'param', this.where);
  }
  buffer(role: string): ValueId {
    return this.state.weight(this.spec, role, 'buffer', this.where) ?? this.fail(`weight '${this.name}/${role}' is missing from the weights`, 'import');
  }

  /**
   * Weight `role` of the layer this one wraps under the name segment starting with `prefix`
   * (Bidirectional's 'forward_' / 'backward_' layers: `bi/forward_lstm/kernel`, or Python Keras'
   * `bidirectional/forward_lstm/lstm_cell/kernel`). exact: the segment is `prefix` itself (a stacked
   * RNN's `rnn/RNNCell_1/kernel`, not `RNNCell_10`).
   */
  wrappedWeight(prefix: string, role: string, exact = false): ValueId {
    const names = this.state.weightNamesOf(this.spec).filter((n) => n.split('/').slice(0, -1).some((seg) => (exact ? seg === prefix : seg.startsWith(prefix))));
    return this.state.weight({ ...this.spec, weightNames: names }, role, 'param', this.where) ?? this.fail(`weight '${this.name}/${prefix}.../${role}' is missing from the weights`, 'import');
  }

  /** A context for a layer this one wraps (TimeDistributed), on the same importer state. */
  wrapping(spec: LayerSpec, inputs: readonly Act[]): LayerContext {
    return new LayerContext(this.state, spec, inputs);
  }

  graphInput(): Act {
    return this.state.graphInput(this.spec, this.where);
  }

  /** Applies the activation named by the `activation` config (or `name`), remembering a softmax's logits. */
  activate(x: Act, name = this.cfg<string>('activation', 'linear'), axis = -1): Act {
    const y = activation(this.b, x, name, this.where, axis);
    const r = this.b.rank(x.v);
    if (isSoftmaxName(name) && (axis === -1 || axis === r - 1)) this.state.markSoftmax(y, x);
    return y;
  }
}
