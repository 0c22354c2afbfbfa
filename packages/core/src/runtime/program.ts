/**
 * A compiled program bound to a backend. `create` lowers the graph, checks that the backend has
 * a kernel for every op instance (listing every missing one at once), binds kernels and uploads
 * persistent data. `step` then only feeds inputs, runs the bound kernels in order and reads the
 * outputs: no graph work per step.
 */
import { PockError } from '../errors.js';
import type { Graph, ValueId } from '../ir/graph.js';
import { lowerToPlan, type Plan } from '../plan/plan.js';
import { shapeEq, fmtShape } from '../shape.js';
import { tensor, type Tensor } from '../tensor.js';
import { LR_STATE } from '../train/optimizer.js';
import type { Backend, BoundKernel } from './backend.js';

type Exec<B> = { kind: 'run'; kernel: BoundKernel<B>; inputs: ValueId[]; outputs: ValueId[] } | { kind: 'free'; values: ValueId[] };

export type Feeds = Record<string, Tensor>;

export class Program<B = unknown> {
  readonly plan: Plan;
  readonly backend: Backend<B>;
  private readonly bufs = new Map<ValueId, B>();
  private readonly exec: Exec<B>[];
  private readonly inputByName: Map<string, ValueId>;

  private constructor(plan: Plan, backend: Backend<B>, exec: Exec<B>[]) {
    this.plan = plan;
    this.backend = backend;
    this.exec = exec;
    this.inputByName = new Map(plan.inputs.map((i) => [i.name, i.value]));
    for (const [id, v] of plan.values) {
      if (v.role === 'node') continue;
      const buf = backend.alloc(v);
      this.bufs.set(id, buf);
      const data = plan.init.get(id);
      if (data) backend.write(buf, data);
    }
  }

  static create<B>(graph: Graph, backend: Backend<B>): Program<B> {
    const plan = lowerToPlan(graph);
    const missing: string[] = [];
    const exec: Exec<B>[] = [];
    for (const s of plan.steps) {
      if (s.kind === 'free') {
        exec.push(s);
        continue;
      }
      const spec = {
        op: s.op,
        attrs: s.attrs,
        inputs: s.inputs.map((i) => plan.values.get(i)!),
        outputs: s.outputs.map((o) => plan.values.get(o)!),
        node: s.name,
      };
      const kernel = backend.prepare(spec);
      if (!kernel) missing.push(`${s.op}(${spec.inputs.map((t) => `${t.dtype}${fmtShape(t.shape)}`).join(', ')}) at '${s.name}'`);
      else exec.push({ kind: 'run', kernel, inputs: s.inputs, outputs: s.outputs });
    }
    if (missing.length) {
      const uniq = [...new Set(missing)];
      throw new PockError('unsupported-kernel', `backend '${backend.name}' has no kernel for ${uniq.length} op instance(s):\n  ${uniq.join('\n  ')}\nUse another backend or add these kernels to its table.`);
    }
    return new Program(plan, backend, exec);
  }

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
    const bufs = this.bufs;
    for (const e of this.exec) {
      if (e.kind === 'run') {
        const outs = e.outputs.map((o) => {
          const buf = be.alloc(this.plan.values.get(o)!);
          bufs.set(o, buf);
          return buf;
        });
        e.kernel(e.inputs.map((i) => bufs.get(i)!), outs);
      } else {
        for (const v of e.values) {
          be.free(bufs.get(v)!);
          bufs.delete(v);
        }
      }
    }
    const result: Record<string, Tensor> = {};
    for (const o of this.plan.outputs) result[o.name] = await be.read(bufs.get(o.value)!);
    const handedOver = new Set(this.plan.updates.map((u) => u.value));
    for (const u of this.plan.updates) {
      be.free(bufs.get(u.target)!);
      bufs.set(u.target, bufs.get(u.value)!);
      bufs.delete(u.value);
    }
    for (const o of this.plan.outputs) {
      if (handedOver.has(o.value) || this.plan.values.get(o.value)!.role !== 'node') continue;
      const buf = bufs.get(o.value);
      if (buf !== undefined) {
        be.free(buf);
        bufs.delete(o.value);
      }
    }
    return result;
  }

  /** The learning rate of a training program (state `@lr`); setting it takes effect next step. */
  get lr(): number {
    return Number(this.plan.init.get(this.stateId(LR_STATE))!.data[0]);
  }
  set lr(v: number) {
    const id = this.stateId(LR_STATE);
    const t = tensor(this.plan.values.get(id)!.dtype, [], [v]);
    this.backend.write(this.bufs.get(id)!, t);
    (this.plan.init as Map<ValueId, Tensor>).set(id, t);
  }

  private stateId(name: string): ValueId {
    for (const [id, v] of this.plan.values) if (v.name === name && v.role === 'state') return id;
    throw new PockError('input', `this program has no state '${name}' (is it a training program with an optimizer?)`);
  }

  /** Current value of a param, buffer or state, by source name. */
  async read(name: string): Promise<Tensor> {
    for (const [id, v] of this.plan.values)
      if (v.name === name && v.role !== 'node' && v.role !== 'input') return this.backend.read(this.bufs.get(id)!);
    throw new PockError('input', `no parameter, buffer or state named '${name}'`);
  }

  /** All params and buffers (the model's weights), by source name. */
  async weights(): Promise<Map<string, Tensor>> {
    const out = new Map<string, Tensor>();
    for (const [id, v] of this.plan.values)
      if (v.role === 'param' || v.role === 'buffer') out.set(v.name, await this.backend.read(this.bufs.get(id)!));
    return out;
  }

  dispose(): void {
    for (const b of this.bufs.values()) this.backend.free(b);
    this.bufs.clear();
  }
}
