/**
 * Recurrent ONNX ops — RNN, GRU, LSTM (https://onnx.ai/onnx/operators/onnx__LSTM.html) — unrolled
 * at import over the static sequence length by core's unrollRecurrent into IR ops the rest of the
 * engine already knows (matmul, sigmoid, tanh, mul, add, slice, concat), so their gradients,
 * memory plan and kernels need nothing new.
 *
 * Supported: directions forward / reverse / bidirectional, layout 0 and 1, optional bias,
 * initial states and peepholes, clip, GRU's linear_before_reset 0 and 1, the activations Sigmoid,
 * Tanh, Relu, HardSigmoid, LeakyRelu and Affine (activation_alpha / activation_beta), and
 * sequence_lens, constant or computed: steps past a sequence's length leave its states unchanged
 * (core's masked recurrence) and read 0 in Y; the reverse direction runs each sequence backwards
 * from its own last step (a per-sequence time reversal by gather, as ReverseSequence), so Y_h / Y_c
 * are the states after each sequence's last valid step. Anything else fails at the node with the reason.
 */
import { constInts } from '../const.js';
import type { NodeContext } from '../context.js';
import { gatherElements, tensor, unrollRecurrent, type GraphBuilder, type RecurrentResult, type ValueId } from '@pockengine/core';
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
  /** With sequence_lens shorter than T: which steps are valid, and the per-sequence time reversal. */
  seq?: Sequences;
}

interface Sequences {
  /** Bool [T, B]: step t < length of sequence b. */
  valid: ValueId;
  /** v [T, B, K] with each sequence's valid steps reversed in place (padding steps stay). */
  reverse: (v: ValueId) => ValueId;
}

/** The masks of sequence_lens ([B], int32 or int64; constant or computed). */
function sequences(b: GraphBuilder, lens: ValueId, T: number, B: number): Sequences {
  const len = b.reshape(b.cast(lens, 'int64'), [1, B]);
  const t = b.constant(tensor('int64', [T, 1], Array.from({ length: T }, (_, i) => i)));
  const valid = b.op1('less', [t, len], {});
  // step t of sequence b reads step len_b - 1 - t while t < len_b
  const rev = b.reshape(b.where(valid, b.sub(b.sub(len, b.scalar(1, 'int64')), t), b.expand(t, [T, B])), [T, B, 1]);
  return { valid, reverse: (v) => gatherElements(b, v, b.expand(rev, b.shape(v)), 0) };
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

/** The recurrence of one direction (core's unrollRecurrent on ONNX's [G H, *] weights, gates i o f c / z r h). */
function direction(ctx: NodeContext, s: Setup, d: number, acts: Act[]): RecurrentResult {
  const { b, kind, H } = s;
  const G = GATES[kind];
  const bias = ctx.has(3) ? dir(b, ctx.value(3, 'B'), d) : undefined; // [2 G H]: Wb then Rb
  // initial states: [dirs, B, H], or [B, dirs, H] with layout 1
  const initial = (i: number, what: string): ValueId | undefined => {
    if (!ctx.has(i)) return undefined;
    const v = ctx.value(i, what);
    return dir(b, s.layout === 1 ? b.transpose(v, [1, 0, 2]) : v, d);
  };
  const reverse = d === 1 || ctx.string('direction', 'forward') === 'reverse';
  // with sequence lengths, the reverse direction runs forward over each sequence reversed in place
  const flip = reverse && s.seq !== undefined;
  const run = unrollRecurrent(b, {
    kind: kind === 'RNN' ? 'rnn' : kind === 'GRU' ? 'gru' : 'lstm',
    x: flip ? s.seq!.reverse(s.x) : s.x,
    hidden: H,
    w: dir(b, ctx.value(1, 'W'), d),
    r: dir(b, ctx.value(2, 'R'), d),
    transposed: true,
    gates: kind === 'RNN' ? ['i'] : kind === 'GRU' ? ['z', 'r', 'h'] : ['i', 'o', 'f', 'c'],
    inputBias: bias ? rows(b, bias, 0, 0, G * H) : undefined,
    recurrentBias: bias ? rows(b, bias, 0, G * H, G * H) : undefined,
    h0: initial(5, 'initial_h'),
    c0: kind === 'LSTM' ? initial(6, 'initial_c') : undefined,
    peepholes: kind === 'LSTM' && ctx.has(7) ? dir(b, ctx.value(7, 'P'), d) : undefined,
    reverse: reverse && !flip,
    resetAfter: kind === 'GRU' && ctx.int('linear_before_reset', 0) === 1,
    gateAct: acts[0]!,
    candidateAct: kind === 'RNN' ? acts[0]! : acts[1]!,
    cellAct: kind === 'LSTM' ? acts[2]! : undefined,
    clip: s.clip,
    mask: s.seq?.valid,
  });
  if (!s.seq) return run;
  // Y: back in time order, 0 past each sequence's end
  let hs = run.hs;
  if (flip) {
    const back = s.seq.reverse(b.op1('concat', hs.map((h) => b.reshape(h, [1, s.B, H])), { axis: 0 }));
    hs = hs.length === 1 ? [b.reshape(back, [s.B, H])] : b.op('split', [back], { axis: 0, sizes: hs.map(() => 1) }).map((h) => b.reshape(h, [s.B, H]));
  }
  const steps = s.T === 1 ? [s.seq.valid] : b.op('split', [s.seq.valid], { axis: 0, sizes: hs.map(() => 1) });
  const zero = b.scalarLike(0, hs[0]!);
  return { ...run, hs: hs.map((h, t) => b.where(b.reshape(steps[t]!, [s.B, 1]), h, zero)) };
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
    let seq: Sequences | undefined;
    if (ctx.has(4)) {
      if (ctx.shape(4).join() !== String(B)) ctx.fail(`sequence_lens has shape [${ctx.shape(4)}], expected [${B}]`, 'shape');
      const lens = ctx.maybeConst(4);
      if (lens && constInts(lens).some((n) => n < 0 || n > T)) ctx.fail(`sequence_lens [${constInts(lens)}] must lie in [0, ${T}]`, 'shape');
      // constant full-length sequences need no masks
      if (!lens || constInts(lens).some((n) => n !== T)) seq = sequences(b, ctx.value(4, 'sequence_lens'), T, B);
    }
    const clip = ctx.float('clip');
    const acts = activations(ctx, kind, dirs);
    const setup: Setup = { b, kind, T, B, H, dirs, x, clip, layout, seq };
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
