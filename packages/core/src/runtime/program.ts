/**
 * A compiled program bound to a backend. `create` lowers the graph and plans its memory, checks
 * that the backend has a kernel for every op instance (listing every missing one at once), binds
 * kernels to buffers, allocates the weights and ONE arena of the planned size and uploads the
 * persistent data. `step` then only feeds inputs, runs the bound kernels in order, copies the
 * updates not done in place and reads the outputs: no allocation and no graph work per step.
 */
import { PockError } from '../errors.js';
import type { Graph, ValueId } from '../ir/graph.js';
import { nodePhase } from '../plan/memory.js';
import { lowerToPlan, rootOf, type Plan } from '../plan/plan.js';
import { fmtShape, shapeEq } from '../shape.js';
import { tensor, type Tensor } from '../tensor.js';
import { LR_STATE } from '../train/optimizer.js';
import type { Backend, BoundKernel } from './backend.js';

export type Feeds = Record<string, Tensor>;

interface Bound<B> {
  kernel: BoundKernel<B>;
  inputs: B[];
  outputs: B[];
  /** `phase:op`, the profiling key */
  label: string;
}

export class Program<B = unknown> {
  readonly plan: Plan;
  readonly backend: Backend<B>;
  private readonly bufs = new Map<ValueId, B>();
  private readonly arena: B;
  private readonly bound: Bound<B>[];
  private readonly init: { kernel: BoundKernel<B>; inputs: ValueId[]; outputs: ValueId[] }[];
  /** Host data of the init-only weights (they live on the backend only while folding). */
  private readonly initOnlyData = new Map<ValueId, Tensor>();
  private readonly inputByName: Map<string, ValueId>;
  /** Weights the program never touches (frozen and unused): kept on the host for export. */
  private readonly untouched = new Map<string, Tensor>();

  private constructor(graph: Graph, plan: Plan, backend: Backend<B>, kernels: BoundKernel<B>[], initKernels: BoundKernel<B>[]) {
    this.plan = plan;
    for (const v of graph.values)
      if ((v.role === 'param' || v.role === 'buffer') && !plan.values.has(v.id)) this.untouched.set(v.name, graph.init.get(v.id)!);
    this.backend = backend;
    this.inputByName = new Map(plan.inputs.map((i) => [i.name, i.value]));
    // persistent buffers; then the weights only folding needs, the folding, their release; then the arena
    for (const [id, v] of plan.values) {
      if ((v.role === 'node' && !plan.folded.has(id)) || plan.initOnly.has(id)) continue;
      const buf = backend.alloc(v);
      this.bufs.set(id, buf);
      const data = plan.init.get(id);
      if (data) backend.write(buf, data);
    }
    this.init = plan.initSteps.map((s, k) => ({ kernel: initKernels[k]!, inputs: s.inputs, outputs: s.outputs }));
    for (const id of plan.initOnly) this.initOnlyData.set(id, plan.init.get(id)!);
    this.runInit();
    this.arena = backend.allocArena(plan.memory.arenaBytes);
    for (const [id, off] of plan.memory.offsets) this.bufs.set(id, backend.view(this.arena, off, plan.values.get(id)!));
    for (const [id, target] of plan.aliases) {
      // a reshaped alias gets a view of its own shape over the same bytes
      const root = rootOf(plan.aliases, id);
      const off = plan.memory.offsets.get(root);
      const sameShape = shapeEq(plan.values.get(id)!.shape, plan.values.get(root)!.shape);
      if (sameShape || off === undefined) this.bufs.set(id, this.bufs.get(sameShape ? root : target)!);
      else this.bufs.set(id, backend.view(this.arena, off, plan.values.get(id)!));
    }
    const runs = plan.steps.filter((s) => s.kind === 'run');
    this.bound = runs.map((s, k) => ({
      kernel: kernels[k]!,
      inputs: s.inputs.map((i) => this.buf(i)),
      outputs: s.outputs.map((o) => this.buf(o)),
      label: `${nodePhase(s.name)}:${s.op}`,
    }));
  }

  private runProfiled(prof: Map<string, { ms: number; calls: number }>): void {
    this.bound.forEach((b) => {
      const t0 = performance.now();
      b.kernel(b.inputs, b.outputs);
      const ms = performance.now() - t0;
      const key = b.label;
      const e = prof.get(key) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      prof.set(key, e);
    });
  }

  /** Computes the folded constants: uploads the init-only weights, runs the init steps, releases them. */
  private runInit(): void {
    if (this.init.length === 0) return;
    const temp: B[] = [];
    for (const [id, t] of this.initOnlyData) {
      const buf = this.backend.alloc(this.plan.values.get(id)!);
      this.backend.write(buf, t);
      this.bufs.set(id, buf);
      temp.push(buf);
    }
    for (const s of this.init) s.kernel(s.inputs.map((i) => this.buf(i)), s.outputs.map((o) => this.buf(o)));
    for (const id of this.initOnlyData.keys()) this.bufs.delete(id);
    for (const buf of temp) this.backend.free(buf);
  }

  private buf(id: ValueId): B {
    const b = this.bufs.get(id);
    if (b === undefined) throw new PockError('internal', `value %${id} has no buffer in the plan`);
    return b;
  }

  static create<B>(graph: Graph, backend: Backend<B>): Program<B> {
    const plan = lowerToPlan(graph, { alignment: backend.arenaAlignment });
    const missing: string[] = [];
    const bind = (s: Extract<Plan['steps'][number], { kind: 'run' }>): BoundKernel<B> => {
      const spec = {
        op: s.op,
        attrs: s.attrs,
        inputs: s.inputs.map((i) => plan.values.get(i)!),
        outputs: s.outputs.map((o) => plan.values.get(o)!),
        inPlace: s.inPlace,
        node: s.name,
      };
      const kernel = backend.prepare(spec);
      if (!kernel) missing.push(`${s.op}(${spec.inputs.map((t) => `${t.dtype}${fmtShape(t.shape)}`).join(', ')}) at '${s.name}'`);
      return kernel!;
    };
    const initKernels = plan.initSteps.map(bind);
    const kernels = plan.steps.flatMap((s) => (s.kind === 'run' ? [bind(s)] : []));
    if (missing.length) {
      const uniq = [...new Set(missing)];
      throw new PockError(
        'unsupported-kernel',
        `backend '${backend.name}' has no kernel for ${uniq.length} op instance(s):\n  ${uniq.join('\n  ')}\nUse another backend or add these kernels to its table.`,
      );
    }
    return new Program(graph, plan, backend, kernels, initKernels);
  }

  /**
   * Time per op kind (and per phase) when profiling is on: wall time of each bound kernel.
   * Exact for synchronous backends (CPU); for asynchronous ones it measures enqueueing.
   */
  profile: Map<string, { ms: number; calls: number }> | null = null;

  /** Runs one step: forward, backward and update for a training program. */
  async step(feeds: Feeds): Promise<Record<string, Tensor>> {
    const be = this.backend;
    for (const [name, id] of this.inputByName) {
      const t = feeds[name];
      if (!t) throw new PockError('input', `missing input '${name}' (inputs: ${[...this.inputByName.keys()].join(', ')})`);
      const v = this.plan.values.get(id)!;
      if (!shapeEq(t.shape, v.shape))
        throw new PockError('input', `input '${name}' has shape ${fmtShape(t.shape)}, the program was compiled for ${fmtShape(v.shape)}`);
      be.write(this.bufs.get(id)!, t.dtype === v.dtype ? t : tensor(v.dtype, t.shape, t.data));
    }
    if (this.profile) this.runProfiled(this.profile);
    else for (const b of this.bound) b.kernel(b.inputs, b.outputs);
    const result: Record<string, Tensor> = {};
    for (const o of this.plan.outputs) result[o.name] = await be.read(this.buf(o.value));
    for (const u of this.plan.copies) be.copy(this.buf(u.value), this.buf(u.target));
    return result;
  }

  /** The learning rate of a training program (state `@lr`); setting it takes effect next step. */
  get lr(): number {
    return Number(this.plan.init.get(this.stateId(LR_STATE))!.data[0]);
  }
  set lr(v: number) {
    const id = this.stateId(LR_STATE);
    const t = tensor(this.plan.values.get(id)!.dtype, [], [v]);
    this.backend.write(this.buf(id), t);
    (this.plan.init as Map<ValueId, Tensor>).set(id, t);
  }

  private stateId(name: string): ValueId {
    for (const [id, v] of this.plan.values) if (v.name === name && v.role === 'state') return id;
    throw new PockError('input', `this program has no state '${name}' (is it a training program with an optimizer?)`);
  }

  /** Current value of a param, buffer or state, by source name. */
  async read(name: string): Promise<Tensor> {
    for (const [id, v] of this.plan.values) {
      if (v.name !== name || v.role === 'node' || v.role === 'input') continue;
      const host = this.initOnlyData.get(id);
      return host ?? this.backend.read(this.buf(id));
    }
    const t = this.untouched.get(name);
    if (t) return t;
    throw new PockError('input', `no parameter, buffer or state named '${name}'`);
  }

  /** All params and buffers (the model's weights, trained or not), by source name. */
  async weights(): Promise<Map<string, Tensor>> {
    const out = new Map<string, Tensor>(this.untouched);
    for (const [id, v] of this.plan.values)
      if (v.role === 'param' || v.role === 'buffer') out.set(v.name, this.initOnlyData.get(id) ?? (await this.backend.read(this.buf(id))));
    return out;
  }

  /** Overwrites params and buffers by name (e.g. to evaluate weights trained by another program). */
  setWeights(weights: ReadonlyMap<string, Tensor>): void {
    for (const [id, v] of this.plan.values) {
      if (v.role !== 'param' && v.role !== 'buffer') continue;
      const t = weights.get(v.name);
      if (!t) continue;
      if (this.initOnlyData.has(id)) this.initOnlyData.set(id, t);
      else this.backend.write(this.buf(id), t);
    }
    this.runInit(); // folded constants derived from the weights
  }

  dispose(): void {
    for (const [id, v] of this.plan.values)
      if ((v.role !== 'node' || this.plan.folded.has(id)) && !this.plan.initOnly.has(id)) this.backend.free(this.bufs.get(id)!);
    this.backend.free(this.arena);
    this.bufs.clear();
  }
}
