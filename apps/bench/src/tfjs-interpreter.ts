/**
 * Runs a PockEngine IR graph (as imported from ONNX) with TF.js ops, and trains it the way a
 * TF.js user does: parameters are `tf.variable`s (frozen ones with trainable = false), one step
 * is `tf.variableGrads(loss, trainableVars)` followed by plain SGD (`v.assign(v - lr * g)`).
 * TF.js trains whole variables: it has no channel-partial updates, so a scheme that trains some
 * channels of a tensor trains the whole tensor here.
 *
 * Weights are stored as a TF.js model would hold them (setup, not per step): conv filters in
 * TF.js layout, and a 2-D weight read only through `transpose(W)` (ONNX's 3-D nn.Linear) stored
 * transposed. See tfjs-ops.ts for the per-op mapping and the NHWC layout.
 */
import type * as Tfc from '@tensorflow/tfjs-core';
import type { Graph, Node, Tensor, ValueId } from '@pockengine/core';
import { TF_OPS, asNchw, convFilter, isDepthwise, tfDtype, type Tf, type Val } from './tfjs-ops.js';

export interface TfGraphOptions {
  /** Names of the parameters trained (whole tensors). */
  trainable: ReadonlySet<string>;
  /** 'nhwc' (default): 4-D activations and images channels-last, as TF.js CNNs run. */
  layout?: 'nhwc' | 'nchw';
}

/** Kernels TF.js needs for the backward pass of an op, which some backends do not register. */
export interface GradKernelUse {
  kernel: string;
  node: string;
}

function toTf(tf: Tf, t: Tensor): Tfc.Tensor {
  const dtype = tfDtype(t.dtype);
  const data = t.data as ArrayLike<number | bigint>;
  const n = data.length;
  if (dtype === 'float32') return tf.tensor(t.data instanceof Float32Array ? t.data : Float32Array.from(data as ArrayLike<number>), [...t.shape], dtype);
  const out = dtype === 'bool' ? new Uint8Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(data[i]);
  return tf.tensor(out, [...t.shape], dtype);
}

export class TfGraph {
  readonly tf: Tf;
  readonly graph: Graph;
  /** The trainable variables, in graph order. */
  readonly variables: Tfc.Variable[] = [];
  private readonly stored = new Map<ValueId, Val>();
  /** transpose nodes folded into their (pre-transposed) parameter. */
  private readonly folded = new Map<number, ValueId>();
  private readonly layout: 'nhwc' | 'nchw';
  private readonly trainableIds = new Set<ValueId>();

  constructor(tf: Tf, graph: Graph, opts: TfGraphOptions) {
    this.tf = tf;
    this.graph = graph;
    this.layout = opts.layout ?? 'nhwc';
    const missing = [...new Set(graph.nodes.filter((n) => !TF_OPS[n.op]).map((n) => n.op))];
    if (missing.length) throw new Error(`no TF.js mapping for IR op(s): ${missing.join(', ')}`);
    const uses = new Map<ValueId, { node: Node; slot: number }[]>();
    for (const n of graph.nodes) n.inputs.forEach((i, slot) => uses.set(i, [...(uses.get(i) ?? []), { node: n, slot }]));
    const known = new Set(graph.values.filter((v) => v.role === 'param').map((v) => v.name));
    const unknown = [...opts.trainable].filter((n) => !known.has(n));
    if (unknown.length) throw new Error(`trainable names not in the graph: ${unknown.slice(0, 5).join(', ')}`);

    for (const v of graph.values) {
      const data = graph.init.get(v.id);
      if (!data || v.role === 'state') continue;
      let t = toTf(tf, data);
      let filter = false;
      const us = uses.get(v.id) ?? [];
      // weight layouts as a TF.js model stores them (all uses must agree)
      if (us.length && us.every((u) => u.node.op === 'conv2d' && u.slot === 1 && u.node.attrs.groups === us[0]!.node.attrs.groups)) {
        const groups = us[0]!.node.attrs.groups as number;
        const cin = graph.values[us[0]!.node.inputs[0]!]!.shape[1]!;
        const f = convFilter(tf, t, groups, cin);
        t.dispose();
        t = f;
        filter = true;
      } else if (v.shape.length === 2 && us.length && us.every((u) => u.node.op === 'transpose' && (u.node.attrs.perm as number[]).join() === '1,0')) {
        const tt = tf.transpose(t);
        t.dispose();
        t = tt;
        for (const u of us) this.folded.set(u.node.id, v.id);
      }
      if (v.role === 'param') {
        const trained = opts.trainable.has(v.name);
        const variable = tf.variable(t, trained, `${v.name}#${v.id}`);
        t.dispose();
        t = variable;
        if (trained) {
          this.variables.push(variable);
          this.trainableIds.add(v.id);
        }
      }
      this.stored.set(v.id, { t, nhwc: false, filter });
    }
  }

  /** Converts a batch to TF.js tensors once, as a TF.js user's input pipeline delivers it (images NHWC). */
  feeds(feeds: Record<string, Tensor>): Map<ValueId, Val> {
    const out = new Map<ValueId, Val>();
    for (const id of this.graph.inputs) {
      const v = this.graph.values[id]!;
      const t = feeds[v.name];
      if (!t) throw new Error(`missing input '${v.name}'`);
      const x = toTf(this.tf, t);
      if (this.layout === 'nhwc' && x.rank === 4 && x.dtype === 'float32') {
        out.set(id, { t: this.tf.transpose(x, [0, 2, 3, 1]), nhwc: true });
        x.dispose();
      } else out.set(id, { t: x, nhwc: false });
    }
    return out;
  }

  /** One-hot labels for the cross-entropy of the first output (labels: integer class ids). */
  oneHot(labels: Tensor): Tfc.Tensor {
    const classes = this.graph.values[this.graph.outputs[0]!.value]!.shape.at(-1)!;
    const ids = toTf(this.tf, labels);
    const out = this.tf.oneHot(this.tf.reshape(ids, [-1]) as Tfc.Tensor1D, classes);
    ids.dispose();
    return out;
  }

  /** Runs the graph; returns every named output (IR layout). Call inside tf.tidy / variableGrads. */
  forward(inputs: ReadonlyMap<ValueId, Val>): Record<string, Tfc.Tensor> {
    const { tf, graph } = this;
    const env = new Map<ValueId, Val>([...this.stored, ...inputs]);
    for (const n of graph.nodes) {
      const folded = this.folded.get(n.id);
      if (folded !== undefined) {
        env.set(n.outputs[0]!, this.stored.get(folded)!);
        continue;
      }
      const ins = n.inputs.map((i) => {
        const v = env.get(i);
        if (!v) throw new Error(`value %${i} (${graph.values[i]!.name}) has no tensor at node '${n.name}'`);
        return v;
      });
      const ctx = { tf, inputs: n.inputs.map((i) => graph.values[i]!), outputs: n.outputs.map((o) => graph.values[o]!) };
      const outs = TF_OPS[n.op]!(ctx, ins, n.attrs);
      n.outputs.forEach((o, k) => env.set(o, outs[k]!));
    }
    return Object.fromEntries(graph.outputs.map((o) => [o.name, asNchw(tf, env.get(o.value)!)]));
  }

  /** Mean softmax cross-entropy of the first output against one-hot labels (tf.losses). */
  loss(inputs: ReadonlyMap<ValueId, Val>, oneHot: Tfc.Tensor): Tfc.Scalar {
    const logits = this.forward(inputs)[this.graph.outputs[0]!.name]!;
    const flat = this.tf.reshape(logits, [-1, logits.shape.at(-1)!]);
    return this.tf.losses.softmaxCrossEntropy(oneHot, flat) as Tfc.Scalar;
  }

  /** One SGD step; returns the loss. */
  step(inputs: ReadonlyMap<ValueId, Val>, oneHot: Tfc.Tensor, lr: number): number {
    const { tf } = this;
    const { value, grads } = tf.variableGrads(() => this.loss(inputs, oneHot), this.variables);
    tf.tidy(() => {
      for (const v of this.variables) v.assign(tf.sub(v, tf.mul(grads[v.name]!, lr)));
    });
    tf.dispose(Object.values(grads));
    const loss = value.dataSync()[0]!;
    value.dispose();
    return loss;
  }

  /**
   * The backward kernels this training step needs beyond elementwise ones: conv input / filter
   * gradients and gather's UnsortedSegmentSum, for the ops on a path from a trained variable.
   */
  gradKernels(): GradKernelUse[] {
    const grad = new Set(this.trainableIds);
    const out: GradKernelUse[] = [];
    for (const n of this.graph.nodes) {
      if (!n.inputs.some((i) => grad.has(i))) continue;
      n.outputs.forEach((o) => grad.add(o));
      if (n.op === 'conv2d') {
        const dw = isDepthwise(n.attrs.groups as number, this.graph.values[n.inputs[0]!]!.shape[1]!);
        const base = dw ? 'DepthwiseConv2dNative' : 'Conv2D';
        if (grad.has(n.inputs[0]!)) out.push({ kernel: `${base}BackpropInput`, node: n.name });
        if (grad.has(n.inputs[1]!)) out.push({ kernel: `${base}BackpropFilter`, node: n.name });
      } else if (n.op === 'gather' && grad.has(n.inputs[0]!)) out.push({ kernel: 'UnsortedSegmentSum', node: n.name });
    }
    return out;
  }

  /** Kernels of gradKernels() the active backend does not register. */
  missingKernels(): string[] {
    const be = this.tf.getBackend();
    return [...new Set(this.gradKernels().map((k) => k.kernel))].filter((k) => !this.tf.getKernel(k, be));
  }

  dispose(): void {
    for (const v of this.stored.values()) v.t.dispose();
    this.stored.clear();
  }
}
