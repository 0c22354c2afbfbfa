/**
 * The TF GraphDef as tfjs-converter writes it into a graph-model model.json: the protobuf JSON
 * mapping of tensorflow/core/framework/graph.proto (node.attr values are AttrValue messages,
 * with int64 as strings and bytes as base64), read the way tfjs-converter's operation_mapper
 * reads it.
 */
import { PockError, type ErrorLocation } from '@pockengine/core';

export interface TfShape {
  dim?: { size?: string | number }[];
  unknownRank?: boolean;
}

export interface TfTensorProto {
  dtype?: string | number;
  tensorShape?: TfShape;
  floatVal?: number[];
  intVal?: number[];
  int64Val?: (string | number)[];
  boolVal?: boolean[];
}

export interface TfAttr {
  s?: string | number[];
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string | number;
  shape?: TfShape;
  tensor?: TfTensorProto;
  list?: { s?: (string | number[])[]; i?: (string | number)[]; f?: number[]; b?: boolean[]; type?: (string | number)[]; shape?: TfShape[] };
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
  device?: string;
}

export interface GraphDefJson {
  node: TfNode[];
  library?: { function?: unknown[] };
  versions?: unknown;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 to text (no atob / Buffer: this module is browser- and Node-safe). */
export function decodeBase64(s: string): string {
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const ch of s.replace(/[^A-Za-z0-9+/]/g, '')) {
    acc = (acc << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}

const bytesToString = (s: string | number[]) => (Array.isArray(s) ? String.fromCharCode(...s) : decodeBase64(s));

/** TF DataType enum (types.proto) by name and number, for the dtypes the importer maps. */
const DTYPES: Record<string, 'float32' | 'int32' | 'bool' | 'unsupported'> = {
  DT_FLOAT: 'float32', DT_DOUBLE: 'float32', DT_HALF: 'float32', DT_BFLOAT16: 'float32',
  DT_INT32: 'int32', DT_INT64: 'int32', DT_INT8: 'int32', DT_UINT8: 'int32', DT_INT16: 'int32', DT_UINT16: 'int32',
  DT_BOOL: 'bool', DT_STRING: 'unsupported', DT_COMPLEX64: 'unsupported',
  1: 'float32', 2: 'float32', 19: 'float32', 14: 'float32', 3: 'int32', 9: 'int32', 6: 'int32', 4: 'int32', 5: 'int32', 17: 'int32', 10: 'bool',
};

/** A TF dtype as the IR dtype TF.js computes it in (float32 / int32 / bool, as tfjs-converter). */
export function tfDtype(t: string | number | undefined): 'float32' | 'int32' | 'bool' | 'unsupported' {
  return t === undefined ? 'float32' : DTYPES[String(t)] ?? 'unsupported';
}

/** Dims of a TensorShapeProto (-1 for unknown); undefined for unknown rank. */
export function shapeOf(s: TfShape | undefined): number[] | undefined {
  if (!s || s.unknownRank) return undefined;
  // proto3 JSON omits zero values: a dim without size has size 0
  return (s.dim ?? []).map((d) => (d.size === undefined ? 0 : Number(d.size)));
}

/** "name", "name:1", "^ctrl" -> node name and output index (control inputs are flagged). */
export function parseInput(s: string): { node: string; index: number; control: boolean } {
  if (s.startsWith('^')) return { node: s.slice(1), index: 0, control: true };
  const m = /^(.*):(\d+)$/.exec(s);
  return m ? { node: m[1]!, index: Number(m[2]), control: false } : { node: s, index: 0, control: false };
}

/** Typed access to a node's attributes; missing attributes give the default (TF op defaults). */
export class NodeAttrs {
  private readonly attr: Record<string, TfAttr>;
  private readonly where: ErrorLocation;
  constructor(node: TfNode, where: ErrorLocation) {
    this.attr = node.attr ?? {};
    this.where = where;
  }
  has(name: string): boolean {
    return name in this.attr;
  }
  private bad(name: string, want: string): never {
    throw new PockError('attr', `attribute '${name}' must be ${want}, got ${JSON.stringify(this.attr[name])}`, this.where);
  }
  str(name: string, def: string): string {
    const a = this.attr[name];
    if (!a) return def;
    if (a.s === undefined) this.bad(name, 'a string');
    return bytesToString(a.s);
  }
  int(name: string, def: number): number {
    const a = this.attr[name];
    if (!a) return def;
    if (a.i === undefined) return a.f !== undefined ? a.f : def;
    return Number(a.i);
  }
  float(name: string, def: number): number {
    const a = this.attr[name];
    if (!a) return def;
    return a.f !== undefined ? Number(a.f) : a.i !== undefined ? Number(a.i) : def;
  }
  bool(name: string, def: boolean): boolean {
    const a = this.attr[name];
    return a ? Boolean(a.b) : def;
  }
  ints(name: string, def: number[]): number[] {
    const a = this.attr[name];
    if (!a) return def;
    if (!a.list) this.bad(name, 'a list');
    return (a.list.i ?? []).map(Number);
  }
  strs(name: string, def: string[]): string[] {
    const a = this.attr[name];
    if (!a) return def;
    return (a.list?.s ?? []).map(bytesToString);
  }
  dtype(name: string): ReturnType<typeof tfDtype> {
    return tfDtype(this.attr[name]?.type);
  }
  shape(name: string): number[] | undefined {
    return shapeOf(this.attr[name]?.shape);
  }
  tensor(name: string): TfTensorProto | undefined {
    return this.attr[name]?.tensor;
  }
}
