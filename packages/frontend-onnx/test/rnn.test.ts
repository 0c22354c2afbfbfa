/**
 * RNN / GRU / LSTM attributes PyTorch's exporter never sets (layout 1, peepholes, clip, reverse,
 * GRU's linear_before_reset 0, initial states, other activations, sequence_lens constant or
 * computed, with the reverse direction starting at each sequence's end), on hand-built models in float64
 * against a direct transcription of the ONNX operator definitions; and the clear errors for what
 * is not supported. PyTorch's own exports are checked in exporters.test.ts.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, tensor, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node, type AttrValue } from './build.js';
import { gradCheck, oneNode } from './handler-helpers.js';

type Kind = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
type Fn = (x: number) => number;
const FNS: Record<string, (alpha?: number, beta?: number) => Fn> = {
  Sigmoid: () => (x) => 1 / (1 + Math.exp(-x)),
  Tanh: () => Math.tanh,
  Relu: () => (x) => Math.max(0, x),
  HardSigmoid: (a = 0.2, b = 0.5) => (x) => Math.max(0, Math.min(1, a * x + b)),
};

interface Spec {
  kind: Kind;
  T: number;
  B: number;
  I: number;
  H: number;
  dirs: 1 | 2;
  reverse?: boolean;
  layout?: 0 | 1;
  bias?: boolean;
  initial?: boolean;
  peepholes?: boolean;
  clip?: number;
  lbr?: 0 | 1;
  acts?: [string, number?, number?][];
  /** sequence_lens: a constant initializer, or with lensInput a graph input (computed). */
  lens?: number[];
  lensInput?: boolean;
}

/** Deterministic values in [-scale, scale). */
function vals(n: number, seed: number, scale = 0.6): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return Math.fround((s / 2 ** 32 - 0.5) * 2 * scale); // exact in the float32 initializers
  });
}

/** The ONNX equations, one scalar at a time (x is [T, B, I] whatever the layout). */
function reference(s: Spec, x: number[], W: number[], R: number[], Bv: number[] | undefined, h0: number[] | undefined, c0: number[] | undefined, P: number[] | undefined) {
  const { T, B, I, H, kind } = s;
  const G = GATES[kind];
  const per = kind === 'RNN' ? 1 : kind === 'GRU' ? 2 : 3;
  const Y = new Float64Array(T * s.dirs * B * H);
  const Yh = new Float64Array(s.dirs * B * H);
  const Yc = new Float64Array(s.dirs * B * H);
  for (let d = 0; d < s.dirs; d++) {
    const names = s.acts?.slice(d * per, d * per + per) ?? (kind === 'RNN' ? [['Tanh']] : kind === 'GRU' ? [['Sigmoid'], ['Tanh']] : [['Sigmoid'], ['Tanh'], ['Tanh']]);
    // float attributes are float32 in ONNX
    const fr = (v: number | undefined) => (v === undefined ? undefined : Math.fround(v));
    const [f, g, hAct] = names.map(([n, a, b]) => FNS[n!]!(fr(a), fr(b))) as [Fn, Fn, Fn];
    const lim = Math.fround(s.clip ?? 0);
    const clip = (v: number) => (s.clip === undefined ? v : Math.max(-lim, Math.min(lim, v)));
    const w = (gate: number, j: number, k: number) => W[((d * G + gate) * H + j) * I + k]!;
    const r = (gate: number, j: number, k: number) => R[((d * G + gate) * H + j) * H + k]!;
    const wb = (gate: number, j: number) => (Bv ? Bv[d * 2 * G * H + gate * H + j]! : 0);
    const rb = (gate: number, j: number) => (Bv ? Bv[d * 2 * G * H + G * H + gate * H + j]! : 0);
    const p = (k: number, j: number) => (P ? P[d * 3 * H + k * H + j]! : 0);
    for (let bi = 0; bi < B; bi++) {
      let h = Array.from({ length: H }, (_, j) => (h0 ? h0[(d * B + bi) * H + j]! : 0));
      let c = Array.from({ length: H }, (_, j) => (c0 ? c0[(d * B + bi) * H + j]! : 0));
      const reverse = d === 1 || s.reverse;
      // a sequence of length L runs its steps 0..L-1 (backwards from L-1 in reverse); Y is 0 past L
      const L = s.lens?.[bi] ?? T;
      for (let step = 0; step < L; step++) {
        const t = reverse ? L - 1 - step : step;
        const xt = (k: number) => x[(t * B + bi) * I + k]!;
        const xw = (gate: number, j: number) => { let v = 0; for (let k = 0; k < I; k++) v += xt(k) * w(gate, j, k); return v; };
        const hr = (gate: number, j: number, hv: number[]) => { let v = 0; for (let k = 0; k < H; k++) v += hv[k]! * r(gate, j, k); return v; };
        const nh = new Array<number>(H);
        const nc = new Array<number>(H);
        for (let j = 0; j < H; j++) {
          if (kind === 'RNN') nh[j] = f(clip(xw(0, j) + hr(0, j, h) + wb(0, j) + rb(0, j)));
          else if (kind === 'LSTM') {
            const i = f(clip(xw(0, j) + hr(0, j, h) + wb(0, j) + rb(0, j) + p(0, j) * c[j]!));
            const fg = f(clip(xw(2, j) + hr(2, j, h) + wb(2, j) + rb(2, j) + p(2, j) * c[j]!));
            const cc = g(clip(xw(3, j) + hr(3, j, h) + wb(3, j) + rb(3, j)));
            nc[j] = fg * c[j]! + i * cc;
            const o = f(clip(xw(1, j) + hr(1, j, h) + wb(1, j) + rb(1, j) + p(1, j) * nc[j]!));
            nh[j] = o * hAct(nc[j]!);
          }
        }
        if (kind === 'GRU') {
          const z = Array.from({ length: H }, (_, j) => f(clip(xw(0, j) + hr(0, j, h) + wb(0, j) + rb(0, j))));
          const rr = Array.from({ length: H }, (_, j) => f(clip(xw(1, j) + hr(1, j, h) + wb(1, j) + rb(1, j))));
          const rh = h.map((v, k) => rr[k]! * v);
          for (let j = 0; j < H; j++) {
            const cand = s.lbr ? g(clip(xw(2, j) + rr[j]! * (hr(2, j, h) + rb(2, j)) + wb(2, j))) : g(clip(xw(2, j) + hr(2, j, rh) + rb(2, j) + wb(2, j)));
            nh[j] = (1 - z[j]!) * cand + z[j]! * h[j]!;
          }
        }
        h = nh;
        if (kind === 'LSTM') c = nc;
        for (let j = 0; j < H; j++) Y[((t * s.dirs + d) * B + bi) * H + j] = h[j]!;
      }
      for (let j = 0; j < H; j++) {
        Yh[(d * B + bi) * H + j] = h[j]!;
        Yc[(d * B + bi) * H + j] = c[j]!;
      }
    }
  }
  return { Y, Yh, Yc };
}

/** [T, B, ...] <-> [B, T, ...] for layout 1 (the rest flattened to `inner`). */
function swap01(v: ArrayLike<number>, a: number, b: number, inner: number): number[] {
  const out = new Array<number>(v.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < inner; k++) out[(j * a + i) * inner + k] = v[(i * b + j) * inner + k]!;
  return out;
}

async function check(s: Spec): Promise<void> {
  const { T, B, I, H, dirs, kind } = s;
  const G = GATES[kind];
  const x = vals(T * B * I, 1, 1);
  const W = vals(dirs * G * H * I, 2);
  const R = vals(dirs * G * H * H, 3);
  const Bv = s.bias ? vals(dirs * 2 * G * H, 4, 0.3) : undefined;
  const h0 = s.initial ? vals(dirs * B * H, 5) : undefined;
  const c0 = s.initial && kind === 'LSTM' ? vals(dirs * B * H, 6) : undefined;
  const P = s.peepholes ? vals(dirs * 3 * H, 7) : undefined;
  const layout = s.layout ?? 0;
  const attrs: Record<string, AttrValue> = { hidden_size: H, direction: dirs === 2 ? 'bidirectional' : s.reverse ? 'reverse' : 'forward' };
  if (layout) attrs.layout = 1;
  if (s.clip !== undefined) attrs.clip = { f: s.clip };
  if (s.lbr !== undefined) attrs.linear_before_reset = s.lbr;
  const outs = kind === 'LSTM' ? ['Y', 'Yh', 'Yc'] : ['Y', 'Yh'];
  if (s.acts) {
    attrs.activations = { strings: s.acts.map(([n]) => n) };
    const alphas = s.acts.filter(([, a]) => a !== undefined).map(([, a]) => a!);
    const betas = s.acts.filter(([, , b]) => b !== undefined).map(([, , b]) => b!);
    if (alphas.length) attrs.activation_alpha = { floats: alphas };
    if (betas.length) attrs.activation_beta = { floats: betas };
  }
  // layout 1: x [B, T, I], initial states [B, dirs, H]
  const f32 = (shape: number[], v: number[]) => tensor('float32', shape, v);
  const inits: [string, Tensor][] = [['W', f32([dirs, G * H, I], W)], ['R', f32([dirs, G * H, H], R)]];
  if (Bv) inits.push(['B', f32([dirs, 2 * G * H], Bv)]);
  if (h0) inits.push(['h0', layout ? f32([B, dirs, H], swap01(h0, dirs, B, H)) : f32([dirs, B, H], h0)]);
  if (c0) inits.push(['c0', layout ? f32([B, dirs, H], swap01(c0, dirs, B, H)) : f32([dirs, B, H], c0)]);
  if (P) inits.push(['P', f32([dirs, 3 * H], P)]);
  if (s.lens && !s.lensInput) inits.push(['lens', tensor('int32', [B], s.lens)]);
  const inputs = ['x', 'W', 'R', Bv ? 'B' : '', s.lens ? 'lens' : '', h0 ? 'h0' : '', c0 ? 'c0' : '', P ? 'P' : ''];
  while (inputs.at(-1) === '') inputs.pop();
  const model = buildModel({
    nodes: [node(kind, inputs, outs, attrs, 'rnn')],
    inputs: [['x', 'float32', layout ? [B, T, I] : [T, B, I]], ...(s.lensInput ? [['lens', 'int32', [B]] as ['lens', 'int32', number[]]] : [])],
    outputs: outs,
    initializers: inits,
  });
  const m = importOnnx(model, { floatType: 'float64' });
  const p = Program.create(m.graph, new CpuBackend());
  const feeds: Record<string, Tensor> = { x: tensor('float64', layout ? [B, T, I] : [T, B, I], layout ? swap01(x, T, B, I) : x) };
  if (s.lensInput) feeds.lens = tensor('int32', [B], s.lens!);
  const got = await p.step(feeds);
  p.dispose();
  const want = reference(s, x, W, R, Bv, h0, c0, P);
  expectClose(got.Y!, layout ? reorderY(Array.from(want.Y), T, dirs, B, H) : Array.from(want.Y));
  expectClose(got.Yh!, layout ? swap01(want.Yh, dirs, B, H) : Array.from(want.Yh));
  if (kind === 'LSTM') expectClose(got.Yc!, layout ? swap01(want.Yc, dirs, B, H) : Array.from(want.Yc));
}

/** Y [T, dirs, B, H] -> layout 1's [B, T, dirs, H]. */
function reorderY(y: number[], T: number, dirs: number, B: number, H: number): number[] {
  const out = new Array<number>(y.length);
  for (let t = 0; t < T; t++) for (let d = 0; d < dirs; d++) for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) out[((b * T + t) * dirs + d) * H + j] = y[((t * dirs + d) * B + b) * H + j]!;
  return out;
}

function expectClose(got: Tensor, want: number[]): void {
  const g = Array.from(got.data as Float64Array);
  expect(g.length).toBe(want.length);
  const worst = g.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0);
  expect(worst).toBeLessThan(1e-12);
}

describe('recurrent ops against the ONNX definitions (float64)', () => {
  it('LSTM: bidirectional, bias, initial states, peepholes, clip', () => check({ kind: 'LSTM', T: 4, B: 2, I: 3, H: 5, dirs: 2, bias: true, initial: true, peepholes: true, clip: 0.9 }));
  it('LSTM: layout 1 (batch first), no bias', () => check({ kind: 'LSTM', T: 3, B: 2, I: 4, H: 3, dirs: 1, layout: 1 }));
  it('GRU: reverse, linear_before_reset 0, bias, initial state', () => check({ kind: 'GRU', T: 5, B: 3, I: 2, H: 4, dirs: 1, reverse: true, lbr: 0, bias: true, initial: true }));
  it('GRU: bidirectional, linear_before_reset 1, layout 1 with initial state, HardSigmoid / Relu', () =>
    check({ kind: 'GRU', T: 3, B: 2, I: 3, H: 4, dirs: 2, lbr: 1, bias: true, layout: 1, initial: true, acts: [['HardSigmoid', 0.3, 0.6], ['Tanh'], ['Sigmoid'], ['Relu']] }));
  it('LSTM: layout 1 with initial states, reverse', () => check({ kind: 'LSTM', T: 3, B: 3, I: 2, H: 2, dirs: 1, layout: 1, initial: true, reverse: true, bias: true }));
  it('RNN: bidirectional with bias and clip', () => check({ kind: 'RNN', T: 4, B: 2, I: 3, H: 3, dirs: 2, bias: true, clip: 0.5, initial: true }));
  it('LSTM: bidirectional with computed sequence_lens (one empty sequence), initial states', () =>
    check({ kind: 'LSTM', T: 4, B: 3, I: 2, H: 3, dirs: 2, bias: true, initial: true, lens: [2, 4, 0], lensInput: true }));
  it('GRU: reverse with constant sequence_lens, layout 1', () => check({ kind: 'GRU', T: 5, B: 2, I: 3, H: 2, dirs: 1, reverse: true, layout: 1, lbr: 1, bias: true, lens: [3, 1] }));
  it('RNN: forward with computed sequence_lens', () => check({ kind: 'RNN', T: 3, B: 2, I: 2, H: 4, dirs: 1, initial: true, lens: [1, 3], lensInput: true }));
});

describe('masked recurrence: gradients against central differences (float64)', () => {
  it('bidirectional LSTM with sequence_lens [2, 3, 1]: W, R and B', async () => {
    const f32 = (shape: number[], v: number[]) => tensor('float32', shape, v);
    const spec = oneNode('LSTM', [3, 3, 2], [
      ['W', f32([2, 8, 2], vals(32, 11))],
      ['R', f32([2, 8, 2], vals(32, 12))],
      ['B', f32([2, 16], vals(32, 13, 0.3))],
      ['lens', tensor('int32', [3], [2, 3, 1])],
    ], { hidden_size: 2, direction: 'bidirectional' });
    await gradCheck(spec, tensor('float64', [3, 3, 2], vals(18, 14, 1)), vals(3 * 2 * 3 * 2, 15, 1));
  });
});

describe('recurrent ops: what is not supported fails at the node, saying why', () => {
  const base = (attrs: Record<string, AttrValue>, extraInputs: string[] = [], extraInits: [string, Tensor][] = []) =>
    buildModel({
      nodes: [node('LSTM', ['x', 'W', 'R', ...extraInputs], ['Y'], { hidden_size: 2, ...attrs }, 'encoder/lstm')],
      inputs: [['x', 'float32', [3, 1, 2]]],
      outputs: ['Y'],
      initializers: [['W', tensor('float32', [1, 8, 2], vals(16, 1))], ['R', tensor('float32', [1, 8, 2], vals(16, 2))], ...extraInits],
    });
  const fails = (bytes: Uint8Array, pattern: RegExp) => {
    let err: unknown;
    try {
      importOnnx(bytes, { file: 'rnn.onnx' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PockError);
    expect((err as PockError).message).toMatch(pattern);
    expect((err as PockError).message).toMatch(/encoder\/lstm/);
    expect((err as PockError).message).toMatch(/rnn\.onnx/);
  };
  it('sequence_lens longer than the sequence', () => fails(base({}, ['', 'lens'], [['lens', tensor('int32', [1], [4])]]), /sequence_lens \[4\] must lie in \[0, 3\]/));
  it('an activation outside the supported list', () => fails(base({ activations: { strings: ['Sigmoid', 'Softsign', 'Tanh'] } }), /activation 'Softsign' is not supported/));
  it('coupled input and forget gates', () => fails(base({ input_forget: 1 }), /input_forget=1/));
  it('full-length constant sequence_lens is accepted', () => {
    const m = importOnnx(base({}, ['', 'lens'], [['lens', tensor('int32', [1], [3])]]));
    expect(m.graph.nodes.some((n) => n.op === 'matmul')).toBe(true);
  });
});
