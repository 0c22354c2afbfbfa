/** Builds small ONNX models in tests with the package's own protobuf writer. */
import type { Tensor } from '@pockengine/core';
import { AttrType, type OnnxAttribute, type OnnxGraph, type OnnxNode, type OnnxTensor } from '../src/proto/onnx.js';
import { encodeModel } from '../src/proto/encode.js';
import { DTYPE_TO_ONNX, tensorToProto } from '../src/tensor-proto.js';

/** Attribute values: integers are INT, other numbers FLOAT ({ f } forces FLOAT), arrays INTS / FLOATS. */
export type AttrValue = number | { f: number } | number[] | { floats: number[] } | { strings: string[] } | { graph: OnnxGraph } | string | Tensor;

function attribute(name: string, v: AttrValue): OnnxAttribute {
  const a: OnnxAttribute = { name, type: 0, floats: [], ints: [], strings: [], tensors: [], graphs: [] };
  if (typeof v === 'number') {
    if (Number.isInteger(v)) Object.assign(a, { type: AttrType.INT, i: v });
    else Object.assign(a, { type: AttrType.FLOAT, f: v });
  } else if (typeof v === 'string') Object.assign(a, { type: AttrType.STRING, s: new TextEncoder().encode(v) });
  else if (Array.isArray(v)) Object.assign(a, { type: AttrType.INTS, ints: v });
  else if ('f' in v) Object.assign(a, { type: AttrType.FLOAT, f: v.f });
  else if ('floats' in v) Object.assign(a, { type: AttrType.FLOATS, floats: v.floats });
  else if ('strings' in v) Object.assign(a, { type: AttrType.STRINGS, strings: v.strings.map((x) => new TextEncoder().encode(x)) });
  else if ('graph' in v) Object.assign(a, { type: AttrType.GRAPH, g: v.graph });
  else Object.assign(a, { type: AttrType.TENSOR, t: tensorToProto('', v) });
  return a;
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name = `${opType}_${outputs[0]}`, domain = ''): OnnxNode {
  return { name, opType, domain, inputs, outputs, attributes: Object.entries(attrs).map(([k, v]) => attribute(k, v)) };
}

export interface ModelSpec {
  nodes: OnnxNode[];
  inputs: [string, Tensor['dtype'], (number | string)[]][];
  outputs: string[];
  initializers?: [string, Tensor][];
  /** Extra raw initializers (to build broken ones). */
  rawInitializers?: OnnxTensor[];
  opset?: number;
  irVersion?: number;
}

export function buildModel(spec: ModelSpec): Uint8Array {
  return encodeModel({
    irVersion: spec.irVersion ?? 8,
    opsets: [{ domain: '', version: spec.opset ?? 17 }],
    producerName: 'pockengine-test',
    producerVersion: '1',
    graph: {
      name: 'test',
      nodes: spec.nodes,
      initializers: [...(spec.initializers ?? []).map(([n, t]) => tensorToProto(n, t)), ...(spec.rawInitializers ?? [])],
      sparseInitializers: 0,
      inputs: spec.inputs.map(([name, dtype, dims]) => ({ name, elemType: DTYPE_TO_ONNX[dtype], dims })),
      outputs: spec.outputs.map((name) => ({ name })),
      valueInfo: [],
    },
  });
}

/** A subgraph (an If branch): nodes, the names of its outputs, and its own initializers. */
export function subgraph(nodes: OnnxNode[], outputs: string[], initializers: [string, Tensor][] = []): { graph: OnnxGraph } {
  return {
    graph: {
      name: 'branch',
      nodes,
      initializers: initializers.map(([n, t]) => tensorToProto(n, t)),
      sparseInitializers: 0,
      inputs: [],
      outputs: outputs.map((name) => ({ name })),
      valueInfo: [],
    },
  };
}
