/**
 * LayersModel import: a model.json + weights, or a `tf.LayersModel` in memory, to one IR graph.
 * The topology is evaluated from the outputs back (each call of each layer once, shared layers
 * included); every layer call becomes IR through its handler. Layers the importer cannot map are
 * collected and reported together in one error.
 */
import { GraphBuilder, PockError, dce, type ErrorLocation, type Tensor, type ValueId } from '@pockengine/core';
import { act, nhwc, type Act } from '../layout.js';
import type { TfjsImportOptions, TfjsImportResult, TfjsModelJson, WeightsSource } from '../types.js';
import { resolveWeights } from '../weights.js';
import { LayerContext, type LayersImportState } from './context.js';
import { LAYER_HANDLERS, SUPPORTED_LAYERS } from './handlers/index.js';
import { topologyFromJson, topologyFromModel, type LayerSpec, type LayersModelLike, type LayersTopology, type TensorRef } from './topology.js';

/** Imports a layers-model model.json (`format: 'layers-model'`) with its weights. */
export function importLayersModel(modelJson: TfjsModelJson, weights?: WeightsSource, opts: TfjsImportOptions = {}): TfjsImportResult {
  const topology = topologyFromJson(modelJson.modelTopology, opts.file);
  return new LayersImporter(topology, resolveWeights(modelJson, weights, opts.file), opts).run();
}

/** Imports a `tf.LayersModel` (or tf.Sequential) object in memory, reading its current weights. */
export function importLayersModelObject(model: LayersModelLike, opts: TfjsImportOptions = {}): TfjsImportResult {
  const { topology, weights } = topologyFromModel(model);
  return new LayersImporter(topology, weights, opts).run();
}

const NESTED = new Set(['Model', 'Functional', 'Sequential', 'LayersModel']);
const lastSegment = (n: string) => n.replace(/:\d+$/, '').split('/').at(-1)!;

class LayersImporter implements LayersImportState {
  readonly b: GraphBuilder;
  readonly opts: TfjsImportOptions;
  private readonly topo: LayersTopology;
  private readonly weights: ReadonlyMap<string, Tensor>;
  private readonly memo = new Map<string, (Act | null)[] | null>();
  private readonly pending = new Set<string>();
  private readonly params = new Map<string, ValueId>();
  private readonly trainable = new Set<string>();
  private readonly softmaxOf = new Map<Act, Act>();
  private readonly problems: string[] = [];

  constructor(topo: LayersTopology, weights: ReadonlyMap<string, Tensor>, opts: TfjsImportOptions) {
    this.topo = topo;
    this.weights = weights;
    this.opts = opts;
    this.b = new GraphBuilder(topo.name);
    this.b.file = opts.file;
  }

  run(): TfjsImportResult {
    // classes without a handler are listed up front, so layers behind one are reported too
    for (const spec of this.topo.layers.values()) {
      if (LAYER_HANDLERS[spec.className]) continue;
      const hint = NESTED.has(spec.className) ? ' (a nested model: flatten it into one functional model before saving)' : '';
      this.problems.push(`${spec.className} '${spec.name}'${hint}`);
    }
    const outs = this.topo.outputs.map((r) => ({ ref: r, t: this.evaluate(r) }));
    if (this.problems.length) {
      throw new PockError(
        'unsupported-op',
        `TF.js model '${this.topo.name}' has ${this.problems.length} unsupported layer(s):\n  ${this.problems.join('\n  ')}\n` +
          `Replace or remove these layers before saving the model (or convert it to a graph model), or add a handler ` +
          `in packages/frontend-tfjs/src/layers/handlers. Supported layer classes: ${SUPPORTED_LAYERS.join(', ')}.`,
        { file: this.opts.file },
      );
    }
    const single = outs.length === 1;
    const outputs: TfjsImportResult['outputs'] = [];
    for (const { ref, t } of outs) {
      const logits = this.opts.keepSoftmax ? undefined : this.softmaxOf.get(t!);
      const source = single || outs.filter((o) => o.ref.layer === ref.layer).length === 1 ? ref.layer : `${ref.layer}:${ref.tensor}`;
      const name = logits ? (single ? 'logits' : `${source}/logits`) : source;
      this.b.output(name, nhwc(this.b, logits ?? t!));
      outputs.push({ name, source, softmaxStripped: logits !== undefined });
    }
    return {
      graph: dce(this.b.build()),
      kind: 'layers',
      outputIsLogitsOfSoftmax: outputs[0]?.softmaxStripped ?? false,
      outputs,
      trainable: [...this.trainable],
      layout: 'nhwc',
    };
  }

  /** The tensor `ref` (null if its layer, or a layer it depends on, could not be imported). */
  private evaluate(ref: TensorRef): Act | null {
    const key = `${ref.layer}\u0000${ref.node}`;
    if (!this.memo.has(key)) this.memo.set(key, this.call(ref, key));
    const outs = this.memo.get(key);
    if (!outs) return null;
    const t = outs[ref.tensor];
    if (t === undefined) throw new PockError('import', `layer '${ref.layer}' has no output tensor ${ref.tensor}`, { file: this.opts.file });
    return t;
  }

  private call(ref: TensorRef, key: string): (Act | null)[] | null {
    const spec = this.topo.layers.get(ref.layer);
    const where: ErrorLocation = { file: this.opts.file, node: ref.layer };
    if (!spec) throw new PockError('import', `the topology references an unknown layer '${ref.layer}'`, where);
    if (this.pending.has(key)) throw new PockError('import', `layer '${ref.layer}' depends on itself`, where);
    const handler = LAYER_HANDLERS[spec.className];
    if (!handler) return null; // listed by run()
    const inboundRefs = spec.className === 'InputLayer' ? [] : spec.nodes[ref.node];
    if (!inboundRefs) throw new PockError('import', `layer '${spec.name}' has no call #${ref.node}`, where);
    this.pending.add(key);
    const inputs = inboundRefs.map((r) => this.evaluate(r));
    this.pending.delete(key);
    if (inputs.some((t) => t === null)) return null;
    try {
      return this.b.scoped(spec.name, () => withMasks(spec.className, handler(new LayerContext(this, spec, inputs as Act[])), inputs as Act[]));
    } catch (e) {
      if (e instanceof PockError && e.code === 'unsupported-op') {
        this.problems.push(e.message);
        return null;
      }
      throw e;
    }
  }

  // ---- LayersImportState ------------------------------------------------------------------------

  /** Finds the weight `role` of a layer: `layer/role`, or a scoped `.../layer/.../role`. */
  private weightName(spec: LayerSpec, role: string, where: ErrorLocation): string | undefined {
    if (spec.weightNames) return spec.weightNames.find((n) => lastSegment(n) === role);
    const exact = `${spec.name}/${role}`;
    if (this.weights.has(exact)) return exact;
    const found = [...this.weights.keys()].filter(
      (n) => lastSegment(n) === role && (n.startsWith(`${spec.name}/`) || n.includes(`/${spec.name}/`)),
    );
    if (found.length > 1) throw new PockError('import', `weight '${role}' is ambiguous: ${found.join(', ')}`, where);
    return found[0];
  }

  weight(spec: LayerSpec, role: string, kind: 'param' | 'buffer', where: ErrorLocation): ValueId | null {
    const name = this.weightName(spec, role, where);
    if (name === undefined) return null;
    const cached = this.params.get(name);
    if (cached !== undefined) return cached;
    const data = this.weights.get(name);
    if (!data) throw new PockError('import', `weight '${name}' has no data (a string or complex weight?)`, { ...where, param: name });
    const v = kind === 'param' ? this.b.param(name, data) : this.b.buffer(name, data);
    this.params.set(name, v);
    const trainable = spec.trainableWeights ? spec.trainableWeights.includes(name) : spec.config.trainable !== false;
    if (kind === 'param' && trainable) this.trainable.add(name);
    return v;
  }

  weightNamesOf(spec: LayerSpec): string[] {
    return spec.weightNames ?? [...this.weights.keys()].filter((n) => n.startsWith(`${spec.name}/`) || n.includes(`/${spec.name}/`));
  }

  graphInput(spec: LayerSpec, where: ErrorLocation): Act {
    const given = this.opts.inputShapes?.[spec.name];
    const cfg = spec.config;
    const declared = (cfg.batchInputShape ?? (cfg.inputShape ? [null, ...(cfg.inputShape as unknown[])] : undefined)) as (number | null)[] | undefined;
    let shape: number[];
    if (given) shape = [...given];
    else {
      if (!declared) throw new PockError('import', 'the input layer has no batch_input_shape; pass inputShapes', where);
      shape = declared.map((d, i) => {
        if (d !== null && d >= 0) return d;
        if (i === 0) return this.opts.batchSize ?? 1;
        throw new PockError('import', `input dimension ${i} is unknown ([${declared.map(String)}]); pass inputShapes: { '${spec.name}': [...] }`, where);
      });
    }
    const dtype = cfg.dtype === 'int32' ? 'int32' : 'float32';
    return act(this.b.input(spec.name, dtype, shape));
  }

  markSoftmax(probs: Act, logits: Act): void {
    this.softmaxOf.set(probs, logits);
  }
}

/** Layers a Keras mask passes through unchanged (tfjs-layers' supportsMasking without a computeMask of their own). */
const MASK_PASSES = new Set(['Dense', 'Dropout', 'Activation', 'ReLU', 'PReLU', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'BatchNormalization', 'LayerNormalization', 'TimeDistributed']);

/**
 * Carries a Keras mask (Act.mask) from a layer's single input to its outputs where tfjs-layers
 * does. Recurrent layers consume it (their handlers read it and set their own output's); any other
 * layer drops it and computes on the values as they are, as TF.js does (Masking has already
 * zeroed the padded steps; an Embedding's padding vectors stay as they are).
 */
function withMasks(className: string, outs: (Act | null)[], inputs: readonly Act[]): (Act | null)[] {
  if (inputs.length !== 1 || inputs[0]!.mask === undefined || !MASK_PASSES.has(className)) return outs;
  return outs.map((o) => (o && o.mask === undefined ? { ...o, mask: inputs[0]!.mask } : o));
}
