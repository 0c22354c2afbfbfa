/**
 * Encoder for the same onnx.proto subset the decoder reads (see onnx.ts). Used to write
 * re-exported tensors and to build small models in tests; exportOnnx itself re-encodes only the
 * fields it changes and copies every other byte of the original file.
 */
import { AttrType, type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx.js';
import { ProtoWriter } from './wire.js';

export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, m.irVersion);
  if (m.producerName) w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  w.message(7, (g) => writeGraph(g, m.graph));
  for (const o of m.opsets)
    w.message(8, (x) => {
      if (o.domain) x.string(1, o.domain);
      x.int(2, o.version);
    });
  return w.finish();
}

function writeGraph(w: ProtoWriter, g: OnnxGraph): void {
  for (const n of g.nodes) w.message(1, (x) => writeNode(x, n));
  if (g.name) w.string(2, g.name);
  for (const t of g.initializers) w.bytes(5, encodeTensor(t));
  for (const v of g.inputs) w.message(11, (x) => writeValueInfo(x, v));
  for (const v of g.outputs) w.message(12, (x) => writeValueInfo(x, v));
  for (const v of g.valueInfo) w.message(13, (x) => writeValueInfo(x, v));
}

export function encodeNode(n: OnnxNode): Uint8Array {
  const w = new ProtoWriter();
  writeNode(w, n);
  return w.finish();
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes) w.message(5, (x) => writeAttribute(x, a));
  if (n.domain) w.string(7, n.domain);
}

function writeAttribute(w: ProtoWriter, a: OnnxAttribute): void {
  w.string(1, a.name);
  switch (a.type) {
    case AttrType.FLOAT: w.float(2, a.f ?? 0); break;
    case AttrType.INT: w.int(3, a.i ?? 0); break;
    case AttrType.STRING: w.bytes(4, a.s ?? new Uint8Array()); break;
    case AttrType.TENSOR: if (a.t) w.bytes(5, encodeTensor(a.t)); break;
    case AttrType.GRAPH: if (a.g) w.message(6, (x) => writeGraph(x, a.g!)); break;
    case AttrType.FLOATS: w.packedFloats(7, a.floats); break;
    case AttrType.INTS: w.packedInts(8, a.ints); break;
    case AttrType.STRINGS: for (const s of a.strings) w.bytes(9, s); break;
    case AttrType.TENSORS: for (const t of a.tensors) w.bytes(10, encodeTensor(t)); break;
    case AttrType.GRAPHS: for (const g of a.graphs) w.message(11, (x) => writeGraph(x, g)); break;
  }
  w.int(20, a.type);
}

export function encodeTensor(t: OnnxTensor): Uint8Array {
  const w = new ProtoWriter();
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  if (t.floatData.length) w.packedFloats(4, t.floatData);
  if (t.int32Data.length) w.packedInts(5, t.int32Data);
  for (const s of t.stringData) w.bytes(6, s);
  if (t.int64Data.length) w.packedInts(7, t.int64Data);
  if (t.name) w.string(8, t.name);
  if (t.rawData) w.bytes(9, t.rawData);
  if (t.doubleData.length) {
    const d = Float64Array.from(t.doubleData);
    w.bytes(10, new Uint8Array(d.buffer));
  }
  if (t.uint64Data.length) w.packedInts(11, t.uint64Data);
  for (const [k, v] of Object.entries(t.externalData))
    w.message(13, (x) => {
      x.string(1, k);
      x.string(2, v);
    });
  if (t.dataLocation) w.int(14, t.dataLocation);
  return w.finish();
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  if (v.elemType === undefined) return;
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, v.elemType!);
      if (v.dims)
        tt.message(2, (shape) => {
          for (const d of v.dims!)
            shape.message(1, (dim) => {
              if (typeof d === 'number') dim.int(1, d);
              else if (typeof d === 'string') dim.string(2, d);
            });
        });
    }),
  );
}

