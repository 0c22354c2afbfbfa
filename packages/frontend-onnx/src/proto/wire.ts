/**
 * A small protobuf wire-format reader and writer (https://protobuf.dev/programming-guides/encoding/).
 * The reader is bounds-checked everywhere: a truncated or corrupt buffer raises
 * PockError('import') naming the byte offset and the message being decoded, never a RangeError
 * from a DataView or an endless loop. Unknown fields are skipped by wire type, which is what
 * lets files of newer ONNX IR versions parse.
 */
import { PockError } from '@pockengine/core';

/** Wire types (a plain object rather than a const enum, so isolated-module builds inline nothing). */
export const Wire = { Varint: 0, Fixed64: 1, Bytes: 2, StartGroup: 3, EndGroup: 4, Fixed32: 5 } as const;
export type Wire = (typeof Wire)[keyof typeof Wire];

const utf8 = new TextDecoder('utf-8');

export class ProtoReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  /** Name of the message being decoded (for error messages). */
  readonly what: string;
  private readonly dv: DataView;

  constructor(buf: Uint8Array, what: string, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.what = what;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(message: string, at = this.pos): never {
    throw new PockError('import', `corrupt or truncated protobuf at byte ${at} while decoding ${this.what}: ${message}`);
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.fail(`needs ${n} more byte(s), ${this.end - this.pos} left`);
  }

  /** Reads a field key: field number and wire type. */
  tag(): { field: number; wire: Wire } {
    const at = this.pos;
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field <= 0 || wire > 5) this.fail(`invalid field key ${key}`, at);
    return { field, wire: wire as Wire };
  }

  /** A varint as an unsigned 64-bit value, split in two 32-bit halves. */
  private varintParts(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('varint runs past the end');
      const b = this.buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) return [lo >>> 0, hi >>> 0];
    }
    this.fail('varint longer than 10 bytes');
  }

  /** A varint read as a signed int64 (two's complement) converted to a JS number (exact below 2^53). */
  varint(): number {
    const [lo, hi] = this.varintParts();
    if (hi & 0x80000000) return -((~hi >>> 0) * 4294967296 + (~lo >>> 0) + 1);
    return hi * 4294967296 + lo;
  }

  /** A varint as an exact signed int64. */
  varintBig(): bigint {
    const [lo, hi] = this.varintParts();
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** A varint as an unsigned 64-bit value (uint64 fields). */
  varintBigU(): bigint {
    const [lo, hi] = this.varintParts();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  float(): number {
    this.need(4);
    const v = this.dv.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    this.need(8);
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited payload, as a view into the buffer (not a copy). */
  bytes(): Uint8Array {
    const at = this.pos;
    const n = this.varint();
    if (n < 0 || n > this.end - this.pos) this.fail(`length ${n} exceeds the ${this.end - this.pos} bytes left`, at);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** A reader over an embedded message. */
  message(what: string): ProtoReader {
    const at = this.pos;
    const n = this.varint();
    if (n < 0 || n > this.end - this.pos) this.fail(`length ${n} of ${what} exceeds the ${this.end - this.pos} bytes left`, at);
    const r = new ProtoReader(this.buf, `${this.what}.${what}`, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /**
   * Reads a repeated scalar field in either encoding: packed (one length-delimited run) or one
   * element per key. `read` decodes one element.
   */
  repeated<T>(wire: Wire, scalarWire: Wire, read: (r: ProtoReader) => T, out: T[]): void {
    if (wire === Wire.Bytes && scalarWire !== Wire.Bytes) {
      const sub = this.message('packed');
      while (!sub.eof()) out.push(read(sub));
    } else if (wire === scalarWire) out.push(read(this));
    else this.fail(`wire type ${wire} where ${scalarWire} was expected`);
  }

  /** Skips one field's value of the given wire type (groups are skipped to their end key). */
  skip(wire: Wire, depth = 0): void {
    switch (wire) {
      case Wire.Varint:
        this.varintParts();
        return;
      case Wire.Fixed64:
        this.need(8);
        this.pos += 8;
        return;
      case Wire.Fixed32:
        this.need(4);
        this.pos += 4;
        return;
      case Wire.Bytes:
        this.bytes();
        return;
      case Wire.StartGroup:
        if (depth > 32) this.fail('groups nested too deeply');
        for (;;) {
          if (this.eof()) this.fail('unterminated group');
          const t = this.tag();
          if (t.wire === Wire.EndGroup) return;
          this.skip(t.wire, depth + 1);
        }
      default:
        this.fail(`unexpected wire type ${wire}`);
    }
  }

  /** Checks that a field has the expected wire type before decoding it. */
  expect(wire: Wire, want: Wire, field: string): void {
    if (wire !== want) this.fail(`field ${field} has wire type ${wire}, expected ${want}`);
  }
}

/** A growable protobuf writer. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes an unsigned varint; negative numbers as 10-byte two's complement (int64 semantics). */
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
    return this;
  }

  tag(field: number, wire: Wire): this {
    return this.varint(field * 8 + wire);
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  // ---- fields ---------------------------------------------------------------------------------
  int(field: number, v: number | bigint): this {
    return this.tag(field, Wire.Varint).varint(v);
  }
  float(field: number, v: number): this {
    this.tag(field, Wire.Fixed32);
    this.reserve(4);
    new DataView(this.buf.buffer).setFloat32(this.len, v, true);
    this.len += 4;
    return this;
  }
  bytes(field: number, v: Uint8Array): this {
    return this.tag(field, Wire.Bytes).varint(v.length).raw(v);
  }
  string(field: number, v: string): this {
    return this.bytes(field, new TextEncoder().encode(v));
  }
  message(field: number, build: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    build(w);
    return this.bytes(field, w.finish());
  }
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const w = new ProtoWriter();
    for (const v of vs) w.varint(v);
    return this.bytes(field, w.finish());
  }
  packedFloats(field: number, vs: ArrayLike<number>): this {
    const f = Float32Array.from(vs);
    return this.bytes(field, new Uint8Array(f.buffer));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** One top-level field of an encoded message, by byte range (for surgical re-encoding). */
export interface RawField {
  field: number;
  wire: Wire;
  /** Bytes of the whole field: key and value. */
  start: number;
  end: number;
  /** For length-delimited fields, the payload range. */
  payloadStart: number;
  payloadEnd: number;
}

/** Lists the fields of a message without decoding them. */
export function scanFields(buf: Uint8Array, what: string): RawField[] {
  const r = new ProtoReader(buf, what);
  const out: RawField[] = [];
  while (!r.eof()) {
    const start = r.pos;
    const { field, wire } = r.tag();
    let payloadStart = r.pos;
    let payloadEnd = r.pos;
    if (wire === Wire.Bytes) {
      const p = r.bytes();
      payloadStart = p.byteOffset - buf.byteOffset;
      payloadEnd = payloadStart + p.length;
    } else r.skip(wire);
    out.push({ field, wire, start, end: r.pos, payloadStart, payloadEnd });
  }
  return out;
}
