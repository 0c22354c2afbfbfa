/**
 * Decoder for the parts of onnx.proto the importer uses (field numbers from
 * https://github.com/onnx/onnx/blob/main/onnx/onnx.proto): ModelProto, OperatorSetIdProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto (raw_data, typed *_data fields, external
 * data), ValueInfoProto with tensor types and shapes. Every other field is skipped, so models of
 * newer IR versions still decode. Byte payloads are views into the input (copy before viewing
 * them as typed arrays: they may be unaligned).
 */
import { ProtoReader, Wire } from './wire.js';

export interface OnnxOpset {
  domain: string;
  version: number;
}

export interface OnnxModel {
  irVersion: number;
  opsets: OnnxOpset[];
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  /** Number of sparse initializers (not supported; reported at import). */
  sparseInitializers: number;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

/** AttributeProto.AttributeType. */
export const AttrType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: OnnxTensor[];
  graphs: OnnxGraph[];
  /** Set inside function bodies (attribute references); unsupported in graphs. */
  refAttrName?: string;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData?: Uint8Array;
  floatData: number[];
  int32Data: number[];
  int64Data: bigint[];
  doubleData: number[];
  uint64Data: bigint[];
  stringData: Uint8Array[];
  /** external_data entries (location, offset, length, checksum). */
  externalData: Record<string, string>;
  /** 0 = default, 1 = external. */
  dataLocation: number;
}

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType of a tensor type; undefined for non-tensor or missing types. */
  elemType?: number;
  /** Dims (number, symbolic name, or null for an unknown dim); undefined when the rank is unknown. */
  dims?: (number | string | null)[];
}

const MAX_DEPTH = 16;

export function decodeModel(bytes: Uint8Array): OnnxModel {
  const r = new ProtoReader(bytes, 'ModelProto');
  const m: OnnxModel = { irVersion: 0, opsets: [], producerName: '', producerVersion: '', graph: emptyGraph() };
  let sawGraph = false;
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === Wire.Varint) m.irVersion = r.varint();
    else if (field === 2 && wire === Wire.Bytes) m.producerName = r.string();
    else if (field === 3 && wire === Wire.Bytes) m.producerVersion = r.string();
    else if (field === 7 && wire === Wire.Bytes) {
      m.graph = decodeGraph(r.message('graph'), 0);
      sawGraph = true;
    } else if (field === 8 && wire === Wire.Bytes) m.opsets.push(decodeOpset(r.message('opset_import')));
    else r.skip(wire);
  }
  if (!sawGraph) r.fail('the model has no graph (is this an ONNX model?)');
  return m;
}

function emptyGraph(): OnnxGraph {
  return { name: '', nodes: [], initializers: [], sparseInitializers: 0, inputs: [], outputs: [], valueInfo: [] };
}

function decodeOpset(r: ProtoReader): OnnxOpset {
  const o: OnnxOpset = { domain: '', version: 0 };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === Wire.Bytes) o.domain = r.string();
    else if (field === 2 && wire === Wire.Varint) o.version = r.varint();
    else r.skip(wire);
  }
  return o;
}

export function decodeGraph(r: ProtoReader, depth: number): OnnxGraph {
  if (depth > MAX_DEPTH) r.fail('subgraphs nested too deeply');
  const g = emptyGraph();
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (wire !== Wire.Bytes) {
      r.skip(wire);
      continue;
    }
    switch (field) {
      case 1: g.nodes.push(decodeNode(r.message(`node[${g.nodes.length}]`), depth)); break;
      case 2: g.name = r.string(); break;
      case 5: g.initializers.push(decodeTensor(r.message(`initializer[${g.initializers.length}]`))); break;
      case 11: g.inputs.push(decodeValueInfo(r.message('input'))); break;
      case 12: g.outputs.push(decodeValueInfo(r.message('output'))); break;
      case 13: g.valueInfo.push(decodeValueInfo(r.message('value_info'))); break;
      case 15: r.skip(wire); g.sparseInitializers++; break;
      default: r.skip(wire);
    }
  }
  return g;
}

export function decodeNode(r: ProtoReader, depth: number): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (wire !== Wire.Bytes) {
      r.skip(wire);
      continue;
    }
    switch (field) {
      case 1: n.inputs.push(r.string()); break;
      case 2: n.outputs.push(r.string()); break;
      case 3: n.name = r.string(); break;
      case 4: n.opType = r.string(); break;
      case 5: n.attributes.push(decodeAttribute(r.message('attribute'), depth)); break;
      case 7: n.domain = r.string(); break;
      default: r.skip(wire);
    }
  }
  return n;
}

const readFloat = (r: ProtoReader) => r.float();
const readVarint = (r: ProtoReader) => r.varint();
const readBig = (r: ProtoReader) => r.varintBig();

function decodeAttribute(r: ProtoReader, depth: number): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0, floats: [], ints: [], strings: [], tensors: [], graphs: [] };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: r.expect(wire, Wire.Bytes, 'name'); a.name = r.string(); break;
      case 20: r.expect(wire, Wire.Varint, 'type'); a.type = r.varint(); break;
      case 21: r.expect(wire, Wire.Bytes, 'ref_attr_name'); a.refAttrName = r.string(); break;
      case 2: r.expect(wire, Wire.Fixed32, 'f'); a.f = r.float(); break;
      case 3: r.expect(wire, Wire.Varint, 'i'); a.i = r.varint(); break;
      case 4: r.expect(wire, Wire.Bytes, 's'); a.s = r.bytes(); break;
      case 5: r.expect(wire, Wire.Bytes, 't'); a.t = decodeTensor(r.message('t')); break;
      case 6: r.expect(wire, Wire.Bytes, 'g'); a.g = decodeGraph(r.message('g'), depth + 1); break;
      case 7: r.repeated(wire, Wire.Fixed32, readFloat, a.floats); break;
      case 8: r.repeated(wire, Wire.Varint, readVarint, a.ints); break;
      case 9: r.expect(wire, Wire.Bytes, 'strings'); a.strings.push(r.bytes()); break;
      case 10: r.expect(wire, Wire.Bytes, 'tensors'); a.tensors.push(decodeTensor(r.message('tensors'))); break;
      case 11: r.expect(wire, Wire.Bytes, 'graphs'); a.graphs.push(decodeGraph(r.message('graphs'), depth + 1)); break;
      default: r.skip(wire);
    }
  }
  // IR < 3 files may omit `type`: infer it from the field that is set
  if (a.type === 0) {
    if (a.f !== undefined) a.type = AttrType.FLOAT;
    else if (a.i !== undefined) a.type = AttrType.INT;
    else if (a.s !== undefined) a.type = AttrType.STRING;
    else if (a.t !== undefined) a.type = AttrType.TENSOR;
    else if (a.g !== undefined) a.type = AttrType.GRAPH;
    else if (a.floats.length) a.type = AttrType.FLOATS;
    else if (a.ints.length) a.type = AttrType.INTS;
    else if (a.strings.length) a.type = AttrType.STRINGS;
  }
  return a;
}

export function decodeTensor(r: ProtoReader): OnnxTensor {
  const t: OnnxTensor = {
    name: '', dims: [], dataType: 0, floatData: [], int32Data: [], int64Data: [], doubleData: [], uint64Data: [],
    stringData: [], externalData: {}, dataLocation: 0,
  };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: r.repeated(wire, Wire.Varint, readVarint, t.dims); break;
      case 2: r.expect(wire, Wire.Varint, 'data_type'); t.dataType = r.varint(); break;
      case 4: r.repeated(wire, Wire.Fixed32, readFloat, t.floatData); break;
      case 5: r.repeated(wire, Wire.Varint, readVarint, t.int32Data); break;
      case 6: r.expect(wire, Wire.Bytes, 'string_data'); t.stringData.push(r.bytes()); break;
      case 7: r.repeated(wire, Wire.Varint, readBig, t.int64Data); break;
      case 8: r.expect(wire, Wire.Bytes, 'name'); t.name = r.string(); break;
      case 9: r.expect(wire, Wire.Bytes, 'raw_data'); t.rawData = r.bytes(); break;
      case 10: r.repeated(wire, Wire.Fixed64, (x) => x.double(), t.doubleData); break;
      case 11: r.repeated(wire, Wire.Varint, (x) => x.varintBigU(), t.uint64Data); break;
      case 13: {
        r.expect(wire, Wire.Bytes, 'external_data');
        const e = r.message('external_data');
        let key = '';
        let value = '';
        while (!e.eof()) {
          const kv = e.tag();
          if (kv.field === 1 && kv.wire === Wire.Bytes) key = e.string();
          else if (kv.field === 2 && kv.wire === Wire.Bytes) value = e.string();
          else e.skip(kv.wire);
        }
        t.externalData[key] = value;
        break;
      }
      case 14: r.expect(wire, Wire.Varint, 'data_location'); t.dataLocation = r.varint(); break;
      default: r.skip(wire);
    }
  }
  return t;
}

function decodeValueInfo(r: ProtoReader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '' };
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === Wire.Bytes) v.name = r.string();
    else if (field === 2 && wire === Wire.Bytes) decodeType(r.message('type'), v);
    else r.skip(wire);
  }
  return v;
}

/** TypeProto: only tensor_type (field 1) matters: elem_type and the shape's dims. */
function decodeType(r: ProtoReader, v: OnnxValueInfo): void {
  while (!r.eof()) {
    const { field, wire } = r.tag();
    if (field !== 1 || wire !== Wire.Bytes) {
      r.skip(wire);
      continue;
    }
    const tt = r.message('tensor_type');
    while (!tt.eof()) {
      const f = tt.tag();
      if (f.field === 1 && f.wire === Wire.Varint) v.elemType = tt.varint();
      else if (f.field === 2 && f.wire === Wire.Bytes) {
        const shape = tt.message('shape');
        v.dims = [];
        while (!shape.eof()) {
          const d = shape.tag();
          if (d.field !== 1 || d.wire !== Wire.Bytes) {
            shape.skip(d.wire);
            continue;
          }
          const dim = shape.message('dim');
          let value: number | string | null = null;
          while (!dim.eof()) {
            const x = dim.tag();
            if (x.field === 1 && x.wire === Wire.Varint) value = dim.varint();
            else if (x.field === 2 && x.wire === Wire.Bytes) value = dim.string();
            else dim.skip(x.wire);
          }
          v.dims.push(value);
        }
      } else tt.skip(f.wire);
    }
  }
}
