/**
 * Kernels borrowed from onnxruntime-node (MLAS: native AVX2 / AVX-512 / NEON GEMM on its own
 * thread pool) as one more candidate of backend switching in Node (`--borrow onnxruntime`):
 * matmul in every transpose combination and batched, and matmul_sgd_update (the product here,
 * the SGD step in JS). Each op instance gets a one-node ONNX model of its
 * exact shapes (Gemm, or MatMul behind Transposes when batched), loaded once into a session.
 *
 * Our kernels are synchronous; onnxruntime-node's public `InferenceSession.run` returns a
 * promise, but it only defers the native session's `run`, which is synchronous. This adapter
 * calls that native session directly (checked at load: if a future version makes it
 * asynchronous, the kernels report themselves unavailable instead of misbehaving).
 *
 * The native binding rejects views of shared memory (the fast kernels' heap), so such operands
 * are copied through staging buffers, reused across calls; others are read and written in place.
 * Switching times each candidate with those copies included and picks these kernels only where
 * they win. Instances they cannot express (not float32) throw, which switching records as never
 * chosen.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import type { CpuKernelTable, CpuTensor, KernelImpl } from '@pockengine/backend-cpu';
import { matmulDims, type MatmulAttrs } from '@pockengine/core';
import { encodeModel, type OnnxAttribute, type OnnxNode, type OnnxValueInfo } from '@pockengine/frontend-onnx';

interface OrtTensor {
  data: Float32Array;
}
type OrtTensorCtor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor>, options: object): unknown;
}
interface Ort {
  Tensor: OrtTensorCtor;
  newSession: () => NativeSession;
  version: string;
  threads: number;
}

/**
 * glibc malloc settings for processes that borrow these kernels. The native binding returns a
 * fresh copy of every output (even a preallocated one) in a new ArrayBuffer; with glibc's default
 * dynamic mmap / trim thresholds those megabyte-sized buffers come from fresh pages often enough
 * that page faults (~500 per 2 MB output here) made a 1.2 ms matmul take 7 ms, at random. With
 * large thresholds freed memory is reused. Read by glibc at process start only: `pockengine`
 * re-executes itself with them when `--borrow onnxruntime` is given (bin.ts), apps/bench sets them
 * for its ours-native runs.
 */
export const ORT_MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '1073741824', MALLOC_TRIM_THRESHOLD_: '2147483647' };

/** Whether this process started with ORT_MALLOC_ENV. */
export const ortMallocTuned = (): boolean => Object.entries(ORT_MALLOC_ENV).every(([k, v]) => process.env[k] === v);

const FLOAT = 1;
const OPSET = 13;

let loaded: Promise<Ort> | undefined;

async function loadOrt(): Promise<Ort> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('onnxruntime-node');
  const { Tensor } = require(entry) as { Tensor: OrtTensorCtor };
  // the native session behind the public async wrapper (dist/backend.js does the same)
  const { binding, initOrt } = require(join(dirname(entry), 'binding.js')) as {
    binding: { InferenceSession: new () => NativeSession };
    initOrt: () => void;
  };
  initOrt();
  const pkg = require(join(dirname(entry), '..', 'package.json')) as { version: string };
  const threads = availableParallelism();
  const ort: Ort = { Tensor, newSession: () => new binding.InferenceSession(), version: pkg.version, threads };
  // the adapter needs a synchronous run: check it once on a 1x1 product
  const probe = session(ort, gemmModel([1, 1], [1, 1], false, false));
  const y = new Float32Array(1);
  const r = probe.run({ A: new Tensor('float32', Float32Array.of(3), [1, 1]), B: new Tensor('float32', Float32Array.of(2), [1, 1]) }, { Y: new Tensor('float32', y, [1, 1]) }, {});
  if (r instanceof Promise || y[0] !== 6) throw new Error(`onnxruntime-node ${pkg.version}: its native session run is not synchronous; its kernels cannot be borrowed`);
  warmAllocator(ort);
  return ort;
}

/**
 * The binding returns every output as a fresh ArrayBuffer; until the JS heap has collected a few
 * of them and malloc reuses their pages, each call page-faults on its output (here ~1.2 ms per
 * 400 KB). Churning that phase through once, at load, keeps it out of the switching measurements.
 */
function warmAllocator(ort: Ort): void {
  const n = 1 << 20;
  const s = session(ort, gemmModel([1, 1], [1, n], false, false));
  const a = new ort.Tensor('float32', Float32Array.of(1), [1, 1]);
  const b = new ort.Tensor('float32', new Float32Array(n), [1, n]);
  const y = new ort.Tensor('float32', new Float32Array(n), [1, n]);
  for (let i = 0; i < 64; i++) s.run({ A: a, B: b }, { Y: y }, {});
}

function session(ort: Ort, model: Uint8Array): NativeSession {
  const s = ort.newSession();
  s.loadModel(model.buffer, model.byteOffset, model.byteLength, {
    intraOpNumThreads: ort.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // no spinning after a call: the next kernel (ours, on our worker threads) needs the cores
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return s;
}

const valueInfo = (name: string, dims: readonly number[]): OnnxValueInfo => ({ name, elemType: FLOAT, dims: [...dims] });
const intAttr = (name: string, i: number): OnnxAttribute => ({ name, type: 2, i, floats: [], ints: [], strings: [], tensors: [], graphs: [] });
const intsAttr = (name: string, ints: number[]): OnnxAttribute => ({ name, type: 7, floats: [], ints, strings: [], tensors: [], graphs: [] });
const node = (opType: string, inputs: string[], outputs: string[], attributes: OnnxAttribute[] = []): OnnxNode => ({ name: outputs[0]!, opType, domain: '', inputs, outputs, attributes });

function model(nodes: OnnxNode[], inputs: OnnxValueInfo[], output: OnnxValueInfo): Uint8Array {
  return encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: OPSET }],
    producerName: 'pockengine',
    producerVersion: '',
    graph: { name: 'kernel', nodes, initializers: [], sparseInitializers: 0, inputs, outputs: [output], valueInfo: [] },
  });
}

/** Y = op(A) op(B), both 2-D. */
function gemmModel(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean): Uint8Array {
  const m = transA ? a[1]! : a[0]!;
  const n = transB ? b[0]! : b[1]!;
  return model([node('Gemm', ['A', 'B'], ['Y'], [intAttr('transA', +transA), intAttr('transB', +transB)])], [valueInfo('A', a), valueInfo('B', b)], valueInfo('Y', [m, n]));
}

/** Y = matmul(A, B) with numpy batch broadcasting, transposed operands through Transpose nodes (fused by ORT). */
function batchedModel(a: readonly number[], b: readonly number[], y: readonly number[], transA: boolean, transB: boolean): Uint8Array {
  const nodes: OnnxNode[] = [];
  const swap = (name: string, rank: number) => {
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
    nodes.push(node('Transpose', [name], [`${name}T`], [intsAttr('perm', perm)]));
    return `${name}T`;
  };
  const x = transA ? swap('A', a.length) : 'A';
  const w = transB ? swap('B', b.length) : 'B';
  nodes.push(node('MatMul', [x, w], ['Y']));
  return model(nodes, [valueInfo('A', a), valueInfo('B', b)], valueInfo('Y', y));
}

/** Reusable non-shared buffers for operands that live in shared memory. */
class Staging {
  private bufs: Float32Array[] = [];
  /** `t`'s data as the native binding can read it (copied into staging slot `slot` if shared). */
  input(slot: number, t: CpuTensor): Float32Array {
    const d = t.data as Float32Array;
    if (!(d.buffer instanceof SharedArrayBuffer)) return d;
    const s = this.take(slot, d.length);
    s.set(d);
    return s;
  }
  output(slot: number, t: CpuTensor): Float32Array {
    const d = t.data as Float32Array;
    return d.buffer instanceof SharedArrayBuffer ? this.take(slot, d.length) : d;
  }
  /** A non-shared scratch array of n floats (slot `slot`). */
  scratch(slot: number, n: number): Float32Array {
    return this.take(slot, n);
  }
  bytes(): number {
    return this.bufs.reduce((s, b) => s + (b?.byteLength ?? 0), 0);
  }
  private take(slot: number, n: number): Float32Array {
    const have = this.bufs[slot];
    if (!have || have.length < n) this.bufs[slot] = new Float32Array(Math.max(n, Math.ceil((have?.length ?? 0) * 1.5)));
    return this.bufs[slot]!.subarray(0, n);
  }
}

function kernels(ort: Ort): Partial<CpuKernelTable> {
  const sessions = new Map<string, { s: NativeSession; a: number[]; b: number[]; y: number[] }>();
  const staging = new Staging();
  const f32 = (t: CpuTensor) => {
    if (t.dtype !== 'float32') throw new Error('onnxruntime kernels take float32 only');
    return t;
  };
  const matmul = (a: CpuTensor, b: CpuTensor, out: CpuTensor, attrs: MatmulAttrs) => {
    f32(a), f32(b), f32(out);
    const key = `${a.shape}|${b.shape}|${+attrs.transA}${+attrs.transB}`;
    let entry = sessions.get(key);
    if (!entry) {
      const { k, batch } = matmulDims(a.shape, b.shape, attrs);
      const ra = a.shape.length;
      if (a.data.length === 0 || b.data.length === 0) throw new Error('empty matmul');
      if (ra === 2 && b.shape.length === 2) entry = { s: session(ort, gemmModel(a.shape, b.shape, attrs.transA, attrs.transB)), a: [...a.shape], b: [...b.shape], y: [...out.shape] };
      else if (b.shape.length === 2 && !attrs.transA && a.shape.slice(0, -2).length === batch.length) {
        // a linear layer on [..., rows, k]: fold the batch into the rows of one Gemm
        const rows = [a.data.length / k, k];
        entry = { s: session(ort, gemmModel(rows, b.shape, false, attrs.transB)), a: rows, b: [...b.shape], y: [rows[0]!, out.shape.at(-1)!] };
      } else {
        entry = { s: session(ort, batchedModel(a.shape, b.shape, out.shape, attrs.transA, attrs.transB)), a: [...a.shape], b: [...b.shape], y: [...out.shape] };
      }
      sessions.set(key, entry);
    }
    const y = staging.output(2, out);
    entry.s.run(
      { A: new ort.Tensor('float32', staging.input(0, a), entry.a), B: new ort.Tensor('float32', staging.input(1, b), entry.b) },
      { Y: new ort.Tensor('float32', y, entry.y) },
      {},
    );
    if (y !== out.data) (out.data as Float32Array).set(y);
  };
  return {
    matmul: ([a, b], [out], attrs) => matmul(a!, b!, out!, attrs),
    // the product on onnxruntime, then the SGD step in JS (no GEMM epilogue to borrow)
    matmul_sgd_update: ([p, a, b, lr], [out], attrs) => {
      f32(p!);
      const g = { dtype: 'float32' as const, shape: p!.shape, data: staging.scratch(3, p!.data.length) };
      matmul(a!, b!, g, attrs);
      const l = Number(lr!.data[0]);
      const pd = p!.data as Float32Array;
      const od = out!.data as Float32Array;
      const gd = g.data;
      for (let i = 0; i < gd.length; i++) od[i] = pd[i]! - l * gd[i]!;
    },
  };
}

/** The borrowed kernels as a switching candidate, or why they are unavailable here. */
export async function ortKernels(): Promise<{ impl: KernelImpl; engine: string }> {
  loaded ??= loadOrt();
  const ort = await loaded;
  return { impl: { name: 'onnxruntime', kernels: kernels(ort) }, engine: `onnxruntime-node ${ort.version} (MLAS, ${ort.threads} threads)` };
}
