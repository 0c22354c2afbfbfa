/**
 * Recurrent layers (tfjs-layers src/layers/recurrent.ts, wrappers.ts): SimpleRNN, GRU, LSTM and
 * the Bidirectional wrapper, unrolled over the static sequence by core's unrollRecurrent with
 * TF.js's kernels as they are ([in, gates * units], gates i f c o for LSTM, z r h for GRU; GRU has
 * no reset_after in TF.js). Outputs: the last hidden state, or every step's with returnSequences
 * (in processing order, so reversed for goBackwards, as TF.js), then the final states with
 * returnState. Bidirectional runs the wrapped layer forward and backward (flipping goBackwards),
 * re-reverses the backward sequence and merges by concat / sum / ave / mul, or returns both.
 *
 * dropout / recurrentDropout are identity, as for the Dropout layers (TF.js applies them only in
 * training). The generic RNN layer runs SimpleRNNCell / GRUCell / LSTMCell cells, stacked or not.
 * Masks (Embedding maskZero, Masking) reach SimpleRNN, GRU, LSTM and Bidirectional: masked steps
 * carry the states over. Not supported: stateful layers, initial states passed as layer inputs,
 * masks into the generic RNN layer.
 */
import { unrollRecurrent, type RecurrentKind, type ValueId } from '@pockengine/core';
import { activation } from '../../activations.js';
import { act, nhwc, type Act } from '../../layout.js';
import type { LayerContext } from '../context.js';
import type { LayerHandlerTable } from './types.js';

const GATES: Record<RecurrentKind, string[]> = { rnn: ['i'], gru: ['z', 'r', 'h'], lstm: ['i', 'f', 'c', 'o'] };
const KINDS: Record<string, RecurrentKind> = { SimpleRNN: 'rnn', GRU: 'gru', LSTM: 'lstm' };

/** One recurrent layer's configuration and weights, wherever they come from. */
interface Cell {
  kind: RecurrentKind;
  cfg: <T>(key: string, def: T) => T;
  weight: (role: string) => ValueId;
}

/**
 * The layer's outputs: [output, ...final states] (output = sequence or last hidden state). With a
 * mask ([batch, time] bool), masked steps carry the states over and output the carried hidden
 * state (tfjs-layers' rnn()).
 */
function run(ctx: LayerContext, cell: Cell, x: ValueId, mask?: ValueId): ValueId[] {
  const b = ctx.b;
  const { kind, cfg } = cell;
  if (cfg('stateful', false)) ctx.unsupported('stateful = true is not supported (states are not kept between steps)');
  if (kind === 'gru' && cfg('resetAfter', false)) ctx.unsupported('reset_after = true is not supported');
  const xs = b.shape(x);
  if (xs.length !== 3) ctx.fail(`expects a [batch, time, features] input, got [${xs}]`, 'shape');
  const n = xs[0]!;
  const units = cfg<number>('units', 0);
  const fn = (key: string, def: string) => {
    const name = cfg<string | null>(key, def) ?? 'linear';
    return (v: ValueId) => activation(b, act(v), name, ctx.where).v;
  };
  const candidateAct = fn('activation', 'tanh');
  const reverse = cfg('goBackwards', false);
  const r = unrollRecurrent(b, {
    kind,
    x: b.transpose(x, [1, 0, 2]),
    hidden: units,
    w: cell.weight('kernel'),
    r: cell.weight('recurrent_kernel'),
    transposed: false,
    gates: GATES[kind],
    inputBias: cfg('useBias', true) ? cell.weight('bias') : undefined,
    reverse,
    gateAct: kind === 'rnn' ? candidateAct : fn('recurrentActivation', 'hardSigmoid'),
    candidateAct,
    cellAct: kind === 'lstm' ? candidateAct : undefined,
    mask: mask === undefined ? undefined : b.transpose(mask, [1, 0]),
  });
  let y: ValueId;
  if (cfg('returnSequences', false)) {
    const order = reverse ? [...r.hs].reverse() : r.hs;
    y = b.op1('concat', order.map((h) => b.reshape(h, [n, 1, units])), { axis: 1 });
  } else y = r.h;
  return cfg('returnState', false) ? [y, r.h, ...(kind === 'lstm' ? [r.c!] : [])] : [y];
}

function recurrent(kind: RecurrentKind) {
  return (ctx: LayerContext): Act[] => {
    if (ctx.inputs.length > 1) ctx.unsupported('initial states given as layer inputs are not supported');
    const cell: Cell = { kind, cfg: (k, d) => ctx.cfg(k, d), weight: (role) => ctx.weight(role) };
    const mask = ctx.input().mask;
    return withMask(ctx, run(ctx, cell, nhwc(ctx.b, ctx.input()), mask), mask);
  };
}

/** Reverses axis 1 of v (a step -1 slice). */
function reverseTime(ctx: LayerContext, v: ValueId): ValueId {
  return ctx.b.op1('slice', [v], { starts: [-1], ends: [Number.MIN_SAFE_INTEGER], axes: [1], steps: [-1] });
}

function Bidirectional(ctx: LayerContext): Act[] {
  const b = ctx.b;
  if (ctx.inputs.length > 1) ctx.unsupported('initial states given as layer inputs are not supported');
  const inner = ctx.cfg<{ className?: string; class_name?: string; config?: Record<string, unknown> } | null>('layer', null);
  const className = inner?.className ?? inner?.class_name ?? '';
  const kind = KINDS[className];
  if (!kind || !inner?.config) return ctx.unsupported(`wraps '${className || '?'}'; only SimpleRNN, GRU and LSTM are supported`);
  const config = inner.config;
  const get = <T>(key: string, def: T, backward: boolean): T => {
    if (key === 'goBackwards') return ((config.goBackwards === true) !== backward) as T;
    const v = config[key];
    return v === undefined || v === null ? def : (v as T);
  };
  const x = nhwc(b, ctx.input());
  const mask = ctx.input().mask;
  const fwd = run(ctx, { kind, cfg: (k, d) => get(k, d, false), weight: (role) => ctx.wrappedWeight('forward_', role) }, x, mask);
  const bwd = run(ctx, { kind, cfg: (k, d) => get(k, d, true), weight: (role) => ctx.wrappedWeight('backward_', role) }, x, mask);
  const y = fwd[0]!;
  let yRev = bwd[0]!;
  if (get('returnSequences', false, false)) yRev = reverseTime(ctx, yRev);
  const mode = ctx.cfg<string | null>('mergeMode', 'concat');
  let outs: ValueId[];
  if (mode === null) outs = [y, yRev];
  else if (mode === 'concat') outs = [b.op1('concat', [y, yRev], { axis: b.rank(y) - 1 })];
  else if (mode === 'sum') outs = [b.add(y, yRev)];
  else if (mode === 'ave') outs = [b.mulScalar(b.add(y, yRev), 0.5)];
  else if (mode === 'mul') outs = [b.mul(y, yRev)];
  else return ctx.unsupported(`mergeMode '${mode}' is not supported (concat, sum, ave, mul, null)`);
  if (mask !== undefined && mode === null) ctx.unsupported('a mask with mergeMode null is not supported');
  return withMask(ctx, [...outs, ...fwd.slice(1), ...bwd.slice(1)], mask, get('returnSequences', false, false));
}

/** Outputs as acts; a returnSequences output keeps the input's mask (as TF.js's computeMask). */
function withMask(ctx: LayerContext, outs: ValueId[], mask: ValueId | undefined, sequences = ctx.cfg('returnSequences', false)): Act[] {
  return outs.map((v, i) => act(v, false, i === 0 && sequences ? mask : undefined));
}

const CELL_KINDS: Record<string, RecurrentKind> = { SimpleRNNCell: 'rnn', GRUCell: 'gru', LSTMCell: 'lstm' };
type Spec = { className?: string; class_name?: string; config?: Record<string, unknown> };

/**
 * The generic RNN layer over a SimpleRNNCell, GRUCell or LSTMCell, or a StackedRNNCells of them
 * (`tf.layers.rnn({ cell: [..] })`; weights under `RNNCell_<i>/`). Stacked cells step together in
 * TF.js; cell i + 1 reads cell i's output at the same step, which is running them one after the
 * other over whole sequences. goBackwards reverses the input once, for the whole stack.
 * returnState: the final states of every cell, last cell first as TF.js flattens them ([h] or
 * [h, c] each).
 */
function RNN(ctx: LayerContext): Act[] {
  const b = ctx.b;
  if (ctx.inputs.length > 1) ctx.unsupported('initial states given as layer inputs are not supported');
  const top = ctx.cfg<Spec | Spec[] | null>('cell', null) ?? ctx.cfg<Spec[] | null>('cells', null);
  const nameOf = (c: Spec) => c.className ?? c.class_name ?? '?';
  const single = top && !Array.isArray(top) && nameOf(top) !== 'StackedRNNCells';
  const cells: Spec[] = !top ? [] : Array.isArray(top) ? top : single ? [top] : ((top.config?.cells as Spec[] | undefined) ?? []);
  if (!cells.length) return ctx.unsupported('has no cell in its config');
  const bad = cells.map(nameOf).filter((n) => !CELL_KINDS[n]);
  if (bad.length) return ctx.unsupported(`cells ${bad.map((n) => `'${n}'`).join(', ')} are not supported (SimpleRNNCell, GRUCell, LSTMCell)`);
  const backwards = ctx.cfg('goBackwards', false);
  const sequences = ctx.cfg('returnSequences', false);
  if (ctx.input().mask !== undefined) ctx.unsupported('a mask into the generic RNN layer is not supported (use LSTM / GRU / SimpleRNN layers)');
  let x = nhwc(b, ctx.input());
  if (backwards) x = reverseTime(ctx, x);
  const states: ValueId[] = [];
  cells.forEach((spec, i) => {
    const config = spec.config ?? {};
    const last = i === cells.length - 1;
    const own: Record<string, unknown> = { returnSequences: !last || sequences, returnState: true, goBackwards: false };
    const cfg = <T>(key: string, def: T): T => {
      if (key in own) return own[key] as T;
      if (key === 'stateful') return ctx.cfg(key, def);
      const v = config[key];
      return v === undefined || v === null ? def : (v as T);
    };
    const weight = (role: string) => (single ? ctx.weight(role) : ctx.wrappedWeight(`RNNCell_${i}`, role, true));
    const [y, ...st] = run(ctx, { kind: CELL_KINDS[nameOf(spec)]!, cfg, weight }, x);
    x = y!;
    states.unshift(...st);
  });
  return [x, ...(ctx.cfg('returnState', false) ? states : [])].map((v) => act(v));
}

export const recurrentHandlers: LayerHandlerTable = {
  RNN,
  SimpleRNN: recurrent('rnn'),
  GRU: recurrent('gru'),
  LSTM: recurrent('lstm'),
  Bidirectional,
};
