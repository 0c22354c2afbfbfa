/**
 * Recurrent layers (tfjs-layers src/layers/recurrent.ts): SimpleRNN, GRU, LSTM, unrolled over
 * the static sequence by core's unrollRecurrent with TF.js's kernels as they are ([in, gates *
 * units], gates i f c o for LSTM, z r h for GRU; GRU has no reset_after in TF.js). Outputs:
 * the last hidden state, or every step's with returnSequences (in processing order, so reversed
 * for goBackwards, as TF.js), then the final states with returnState.
 *
 * dropout / recurrentDropout are identity, as for the Dropout layers (TF.js applies them only in
 * training). Not supported: stateful layers, initial states passed as layer inputs, masking.
 */
import { unrollRecurrent, type RecurrentKind, type ValueId } from '@pockengine/core';
import { activation } from '../../activations.js';
import { act, nhwc, type Act } from '../../layout.js';
import type { LayerContext } from '../context.js';
import type { LayerHandlerTable } from './types.js';

const GATES: Record<RecurrentKind, string[]> = { rnn: ['i'], gru: ['z', 'r', 'h'], lstm: ['i', 'f', 'c', 'o'] };

function recurrent(kind: RecurrentKind) {
  return (ctx: LayerContext): Act[] => {
    const b = ctx.b;
    if (ctx.cfg('stateful', false)) ctx.unsupported('stateful = true is not supported (states are not kept between steps)');
    if (ctx.inputs.length > 1) ctx.unsupported('initial states given as layer inputs are not supported');
    if (kind === 'gru' && ctx.cfg('resetAfter', false)) ctx.unsupported('reset_after = true is not supported');
    const x = nhwc(b, ctx.input());
    const xs = b.shape(x);
    if (xs.length !== 3) ctx.fail(`expects a [batch, time, features] input, got [${xs}]`, 'shape');
    const n = xs[0]!;
    const units = ctx.cfg<number>('units', 0);
    const fn = (key: string, def: string) => {
      const name = ctx.cfg<string | null>(key, def) ?? 'linear';
      return (v: ValueId) => activation(b, act(v), name, ctx.where).v;
    };
    const candidateAct = fn('activation', 'tanh');
    const reverse = ctx.cfg('goBackwards', false);
    const r = unrollRecurrent(b, {
      kind,
      x: b.transpose(x, [1, 0, 2]),
      hidden: units,
      w: ctx.weight('kernel'),
      r: ctx.weight('recurrent_kernel'),
      transposed: false,
      gates: GATES[kind],
      inputBias: ctx.cfg('useBias', true) ? ctx.weight('bias') : undefined,
      reverse,
      gateAct: kind === 'rnn' ? candidateAct : fn('recurrentActivation', 'hardSigmoid'),
      candidateAct,
      cellAct: kind === 'lstm' ? candidateAct : undefined,
    });
    let y: ValueId;
    if (ctx.cfg('returnSequences', false)) {
      const order = reverse ? [...r.hs].reverse() : r.hs;
      y = b.op1('concat', order.map((h) => b.reshape(h, [n, 1, units])), { axis: 1 });
    } else y = r.h;
    const out = [act(y)];
    if (ctx.cfg('returnState', false)) out.push(act(r.h), ...(kind === 'lstm' ? [act(r.c!)] : []));
    return out;
  };
}

export const recurrentHandlers: LayerHandlerTable = {
  SimpleRNN: recurrent('rnn'),
  GRU: recurrent('gru'),
  LSTM: recurrent('lstm'),
};
