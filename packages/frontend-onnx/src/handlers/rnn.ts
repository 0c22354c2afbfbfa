/**
 * Recurrent ONNX ops — RNN, GRU, LSTM (https://onnx.ai/onnx/operators/onnx__LSTM.html) — unrolled
 * at import over the static sequence length into IR ops the rest of the engine already knows
 * (matmul, sigmoid, tanh, mul, add, slice, concat), so their gradients, memory plan and kernels
 * need nothing new. The input projection of every time step is one GEMM over the whole sequence;
 * each step adds one GEMM with the recurrent weights.
 *
 * Supported: directions forward / reverse / bidirectional, layout 0 and 1, optional bias,
 * initial states and peepholes, clip, GRU's linear_before_reset 0 and 1, the activations Sigmoid,
 * Tanh, Relu, HardSigmoid, LeakyRelu and Affine (activation_alpha / activation_beta). sequence_lens
 * must be constant and equal to the sequence length (padding is not masked): anything else fails
 * at the node with the reason.
 */
import { constInts } from '../const.js';
import type { NodeContext } from '../context.js';
import type { GraphBuilder, ValueId } from '@pockengine/core';
import type { HandlerTable } from './types.js';

type Kind = 'RNN' | 'GRU' | 'LSTM';

/** Gates per kind, in ONNX order: RNN i; GRU z r h; LSTM i o f c. */
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };
/** Activations per direction and their defaults. */
const DEFAULT_ACTS: Record<Kind, string[]> = { RNN: ['Tanh'], GRU: ['Sigmoid', 'Tanh'], LSTM: ['Sigmoid', 'Tanh', 'Tanh'] };

type Act = (x: ValueId) => ValueId;

interface Setup {
  b: GraphBuilder;
  kind: Kind;
  /** Sequence length, batch, input size, hidden size. */
  T: number;
  B: number;
  H: number;
  dirs: number;
  /** x as [T, B, I]. */
  x: ValueId;
  clip: number | undefined;
  /** 1: X, Y, initial and final states are batch-major. */
  layout: number;
}

/** Rows [from, from + n) of axis `axis` of v. */
function rows(b: GraphBuilder, v: ValueId, axis: number, from: number, n: number): ValueId {
  return b.op1('slice', [v], { starts: [from], ends: [from + n], axes: [axis], steps: [1] });
}

/** Direction d of a [dirs, ...rest] tensor, without the leading axis. */
function dir(b: GraphBuilder, v: ValueId, d: number): ValueId {
  const s = b.shape(v);
  return b.reshape(rows(b, v, 0, d, 1), s.slice(1));
}

function activations(ctx: NodeContext, kind: Kind, dirs: number): Act[][] {
  const names = ctx.stringList('activations') ?? [];
  const per = DEFAULT_ACTS[kind].length;
  const alphas = ctx.floatList('activation_alpha') ?? [];
  const betas = ctx.floatList('activation_beta') ?? [];
  if (names.length && names.length !== per * dirs) ctx.fail(`activations lists ${names.length} functions, ${kind} with ${dirs} direction(s) needs ${per * dirs}`);
  const b = ctx.b;
  const out: Act[][] = [];
  // alphas and betas are consumed in order by the functions that take them
  let k = 0;
  let ai = 0;
  let bi = 0;
  for (let d = 0; d < dirs; d++) {
    const acts: Act[] = [];
    for (let j = 0; j < per; j++, k++) {
      const name = names.length ? names[k]! : DEFAULT_ACTS[kind][j]!;
      const alpha = ['HardSigmoid', 'LeakyRelu', 'Affine'].includes(name) ? alphas[ai++] : undefined;
      const beta = ['HardSigmoid', 'Affine'].includes(name) ? betas[bi++] : undefined;
      switch (name) {
        case 'Sigmoid':
          acts.push((v) => b.op1('sigmoid', [v], {}));
          break;
        case 'Tanh':
          acts.push((v) => b.op1('tanh', [v], {}));
          break;
        case 'Relu':
          acts.push((v) => b.op1('relu', [v], {}));
          break;
        case 'HardSigmoid':
          acts.push((v) => b.op1('hard_sigmoid', [v], { alpha: alpha ?? 0.2, beta: beta ?? 0.5 }));
          break;
        case 'LeakyRelu':
          acts.push((v) => b.op1('leaky_relu', [v], { alpha: alpha ?? 0.01 }));
          break;
        case 'Affine':
          acts.push((v) => b.add(b.mulScalar(v, alpha ?? 1), b.scalarLike(beta ?? 0, v)));
          break;
        default:
          ctx.fail(`activation '${name}' is not supported in ${kind} (Sigmoid, Tanh, Relu, HardSigmoid, LeakyRelu, Affine)`);
      }
    }
    out.push(acts);
  }
  return out;
}

/** The recurrence of one direction: [hidden states per step in time order], last h, last c. */
function direction(ctx: NodeContext, s: Setup, d: number, acts: Act[]): { hs: ValueId[]; h: ValueId; c?: ValueId } {
  const { b, kind, T, B, H } = s;
  const G = GATES[kind];
  const dt = b.dtype(s.x);
  const W = dir(b, ctx.value(1, 'W'), d); // [G H, I]
  const R = dir(b, ctx.value(2, 'R'), d); // [G H, H]
  const I = b.shape(W)[1]!;
  const bias = ctx.has(3) ? dir(b, ctx.value(3, 'B'), d) : undefined; // [2 G H]
  const Wb = bias ? rows(b, bias, 0, 0, G * H) : undefined;
  const Rb = bias ? rows(b, bias, 0, G * H, G * H) : undefined;
  const linearBeforeReset = kind === 'GRU' && ctx.int('linear_before_reset', 0) === 1;
  // the input projection of all steps at once: [T B, G H], with the biases that add outside any gate product
  let xw = b.matmul(b.reshape(s.x, [T * B, I]), W, false, true);
  let inBias = Wb;
  if (Rb && kind !== 'GRU') inBias = b.add(Wb!, Rb);
  // GRU with linear_before_reset: the candidate's recurrent bias stays inside r * (h Rh + Rbh)
  if (Rb && kind === 'GRU')
    inBias = linearBeforeReset
      ? b.op1('concat', [b.add(rows(b, Wb!, 0, 0, 2 * H), rows(b, Rb, 0, 0, 2 * H)), rows(b, Wb!, 0, 2 * H, H)], { axis: 0 })
      : b.add(Wb!, Rb);
  if (inBias) xw = b.add(xw, inBias);
  const zero = (): ValueId => b.expand(b.scalar(0, dt), [B, H]);
  // initial states: [dirs, B, H], or [B, dirs, H] with layout 1
  const initial = (i: number, what: string): ValueId => {
    if (!ctx.has(i)) return zero();
    const v = ctx.value(i, what);
    return dir(b, s.layout === 1 ? b.transpose(v, [1, 0, 2]) : v, d);
  };
  let h = initial(5, 'initial_h');
  let c = kind === 'LSTM' ? initial(6, 'initial_c') : undefined;
  const peep = kind === 'LSTM' && ctx.has(7) ? dir(b, ctx.value(7, 'P'), d) : undefined; // [3 H]: i o f
  const pre = (v: ValueId): ValueId => (s.clip === undefined ? v : b.op1('clip', [v], { min: -s.clip, max: s.clip }));
  const gate = (v: ValueId, k: number): ValueId => rows(b, v, 1, k * H, H);
  const reverse = d === 1 || ctx.string('direction', 'forward') === 'reverse';
  const hs: ValueId[] = new Array(T);
  for (let step = 0; step < T; step++) {
    const t = reverse ? T - 1 - step : step;
    const xt = rows(b, xw, 0, t * B, B); // [B, G H]
    if (kind === 'RNN') {
      h = acts[0]!(pre(b.add(xt, b.matmul(h, R, false, true))));
    } else if (kind === 'LSTM') {
      const g = b.add(xt, b.matmul(h, R, false, true));
      const withPeep = (v: ValueId, k: number, cell: ValueId) => (peep ? b.add(v, b.mul(rows(b, peep, 0, k * H, H), cell)) : v);
      const i = acts[0]!(pre(withPeep(gate(g, 0), 0, c!)));
      const f = acts[0]!(pre(withPeep(gate(g, 2), 2, c!)));
      const cc = acts[1]!(pre(gate(g, 3)));
      c = b.add(b.mul(f, c!), b.mul(i, cc));
      const o = acts[0]!(pre(withPeep(gate(g, 1), 1, c)));
      h = b.mul(o, acts[2]!(c));
    } else {
      // GRU: z and r from one product with R's first 2H rows; the candidate per linear_before_reset
      const Rzr = rows(b, R, 0, 0, 2 * H);
      const Rh = rows(b, R, 0, 2 * H, H);
      const zr = b.add(rows(b, xt, 1, 0, 2 * H), b.matmul(h, Rzr, false, true));
      const z = acts[0]!(pre(gate(zr, 0)));
      const r = acts[0]!(pre(gate(zr, 1)));
      const xh = gate(xt, 2);
      let hh: ValueId;
      if (linearBeforeReset) {
        let rec = b.matmul(h, Rh, false, true);
        if (Rb) rec = b.add(rec, rows(b, Rb, 0, 2 * H, H));
        hh = acts[1]!(pre(b.add(xh, b.mul(r, rec))));
      } else hh = acts[1]!(pre(b.add(xh, b.matmul(b.mul(r, h), Rh, false, true))));
      // h' = (1 - z) hh + z h = hh + z (h - hh)
      h = b.add(hh, b.mul(z, b.sub(h, hh)));
    }
    hs[t] = h;
  }
  return { hs, h, c };
}

function recurrent(kind: Kind) {
  return (ctx: NodeContext) => {
    const b = ctx.b;
    if (ctx.int('input_forget', 0) !== 0) ctx.fail('input_forget=1 (coupled input and forget gates) is not supported');
    const direction_ = ctx.string('direction', 'forward');
    if (!['forward', 'reverse', 'bidirectional'].includes(direction_)) ctx.fail(`direction '${direction_}' is not one of forward, reverse, bidirectional`);
    const dirs = direction_ === 'bidirectional' ? 2 : 1;
    const layout = ctx.int('layout', 0);
    if (layout !== 0 && layout !== 1) ctx.fail(`layout=${layout} is not 0 or 1`);
    const xs = ctx.shape(0);
    if (xs.length !== 3) ctx.fail(`X must be 3-D, got [${xs}]`, 'shape');
    let x = ctx.value(0, 'X');
    if (layout === 1) x = b.transpose(x, [1, 0, 2]);
    const [T, B] = b.shape(x) as [number, number, number];
    const G = GATES[kind];
    const ws = ctx.shape(1);
    const H = ctx.int('hidden_size') ?? ws[1]! / G;
    if (ws.length !== 3 || ws[0] !== dirs || ws[1] !== G * H || ws[2] !== xs[2])
      ctx.fail(`W has shape [${ws}], expected [${dirs}, ${G * H}, ${xs[2]}] (directions, ${G} gates x hidden_size ${H}, input size)`, 'shape');
    if (ctx.has(4)) {
      const lens = ctx.maybeConst(4);
      if (!lens) ctx.fail('sequence_lens is computed at run time; only full-length sequences are supported (omit sequence_lens, or make it a constant equal to the sequence length)', 'import');
      const v = constInts(lens);
      if (v.some((n) => n !== T)) ctx.fail(`sequence_lens [${v}] has sequences shorter than ${T}; padded sequences are not supported (their padding is not masked)`, 'import');
    }
    const clip = ctx.float('clip');
    const acts = activations(ctx, kind, dirs);
    const setup: Setup = { b, kind, T, B, H, dirs, x, clip, layout };
    const runs = Array.from({ length: dirs }, (_, d) => direction(ctx, setup, d, acts[d]!));
    // Y: [T, dirs, B, H] (layout 1: [B, T, dirs, H]); Y_h, Y_c: [dirs, B, H] (layout 1: [B, dirs, H])
    const last = (v: (r: (typeof runs)[number]) => ValueId): ValueId => {
      const parts = runs.map((r) => b.reshape(v(r), [1, B, H]));
      const y = parts.length === 1 ? parts[0]! : b.op1('concat', parts, { axis: 0 });
      return layout === 1 ? b.transpose(y, [1, 0, 2]) : y;
    };
    let Y: ValueId | null = null;
    if (ctx.wantsOutput(0)) {
      const steps = Array.from({ length: T }, (_, t) => {
        const perDir = runs.map((r) => b.reshape(r.hs[t]!, [1, 1, B, H]));
        return perDir.length === 1 ? perDir[0]! : b.op1('concat', perDir, { axis: 1 });
      });
      Y = steps.length === 1 ? steps[0]! : b.op1('concat', steps, { axis: 0 });
      if (layout === 1) Y = b.transpose(Y, [2, 0, 1, 3]);
    }
    const out = [Y, last((r) => r.h)];
    if (kind === 'LSTM') out.push(last((r) => r.c!));
    return out;
  };
}

export const rnnHandlers: HandlerTable = {
  RNN: recurrent('RNN'),
  GRU: recurrent('GRU'),
  LSTM: recurrent('LSTM'),
};
