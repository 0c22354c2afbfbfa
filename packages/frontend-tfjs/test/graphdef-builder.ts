/**
 * Writes small graph-model model.json files by hand (TF.js cannot save a GraphModel): GraphDef
 * nodes in the protobuf JSON form tfjs-converter emits (base64 strings, int64 as strings) plus a
 * weights manifest holding every Const.
 */
import type { TfjsModelJson, WeightSpec } from '../src/index.js';
import { concatShards } from '../src/index.js';

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

export const attr = {
  s: (v: string) => ({ s: b64(v) }),
  i: (v: number) => ({ i: String(v) }),
  f: (v: number) => ({ f: v }),
  b: (v: boolean) => ({ b: v }),
  type: (t: string) => ({ type: t }),
  ints: (v: number[]) => ({ list: { i: v.map(String) } }),
  strs: (v: string[]) => ({ list: { s: v.map(b64) } }),
  shape: (dims: number[]) => ({ shape: { dim: dims.map((d) => ({ size: String(d) })) } }),
};

type Attr = Record<string, unknown>;

export class GraphDefBuilder {
  readonly nodes: { name: string; op: string; input: string[]; attr: Attr }[] = [];
  readonly specs: WeightSpec[] = [];
  private readonly data: ArrayBuffer[] = [];

  node(name: string, op: string, input: string[], a: Attr = {}): string {
    this.nodes.push({ name, op, input, attr: { T: attr.type('DT_FLOAT'), ...a } });
    return name;
  }
  placeholder(name: string, shape: number[], dtype = 'DT_FLOAT'): string {
    this.nodes.push({ name, op: 'Placeholder', input: [], attr: { dtype: attr.type(dtype), shape: attr.shape(shape) } });
    return name;
  }
  /** A float32 Const whose data goes into the weights manifest. */
  weight(name: string, shape: number[], values: ArrayLike<number>): string {
    this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: attr.type('DT_FLOAT'), value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } } });
    this.specs.push({ name, shape, dtype: 'float32' });
    this.data.push(Float32Array.from(values).buffer);
    return name;
  }
  int(name: string, values: number[], shape = [values.length]): string {
    this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: attr.type('DT_INT32'), value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } } });
    this.specs.push({ name, shape, dtype: 'int32' });
    this.data.push(Int32Array.from(values).buffer);
    return name;
  }
  build(outputs: Record<string, string>): { modelJson: TfjsModelJson; weightData: ArrayBuffer } {
    const modelJson: TfjsModelJson = {
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'hand-written test graph',
      modelTopology: { node: this.nodes, library: {}, versions: { producer: 1700 } },
      signature: { outputs: Object.fromEntries(Object.entries(outputs).map(([alias, t]) => [alias, { name: t }])) },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: this.specs }],
    };
    return { modelJson, weightData: concatShards(this.data) };
  }
}
