/**
 * Recurrent layers against TF.js itself (prediction, loss, tf.grads of every weight): LSTM, GRU
 * and SimpleRNN with TF.js's default hardSigmoid gates and with sigmoid, returnSequences,
 * goBackwards (outputs in processing order, as TF.js), returnState, no bias; the Bidirectional and
 * TimeDistributed wrappers; the generic RNN layer over one cell and over stacked cells.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { tensor } from '@pockengine/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomInput, randomizeWeights, randomLabels, rng, useCpu } from './helpers.js';
import { checkParity } from './parity.js';

beforeAll(useCpu);

type ST = tfl.SymbolicTensor;
const L = tfl.layers;
// tfjs-layers' default orthogonal recurrent initializer fails with this tfjs-core; weights are randomized anyway
const init = { recurrentInitializer: 'glorotNormal' } as const;

describe('recurrent layers: parity with TF.js', () => {
  it('Embedding -> LSTM (sequences) -> GRU (backwards) -> Dense', async () => {
    const [batch, seq, vocab, classes] = [3, 5, 9, 4];
    const ids = tfl.input({ shape: [seq], name: 'rec_ids' });
    let x = L.embedding({ inputDim: vocab, outputDim: 6, name: 'rec_emb' }).apply(ids) as ST;
    x = L.lstm({ ...init, units: 5, returnSequences: true, name: 'rec_lstm' }).apply(x) as ST;
    x = L.gru({ ...init, units: 4, goBackwards: true, recurrentActivation: 'sigmoid', name: 'rec_gru' }).apply(x) as ST;
    const out = L.dense({ units: classes, activation: 'softmax', name: 'rec_head' }).apply(x) as ST;
    const model = tfl.model({ inputs: ids, outputs: out });
    randomizeWeights(model, 201, 0.5);
    const r = rng(202);
    const tokens = tensor('float32', [batch, seq], Float32Array.from({ length: batch * seq }, () => Math.floor(r() * vocab)));
    const rep = await checkParity({ model, inputs: { rec_ids: tokens }, labels: randomLabels(batch, classes, 203) });
    expect(rep.viaObject.graph.nodes.filter((n) => n.op === 'matmul').length).toBeGreaterThanOrEqual(2 * seq);
  });

  it('Embedding(maskZero) -> LSTM (sequences, backwards) -> Dense -> GRU: padded steps carry the states (TF.js masking)', async () => {
    const [batch, seq, vocab, classes] = [3, 6, 9, 4];
    const ids = tfl.input({ shape: [seq], name: 'mz_ids' });
    let x = L.embedding({ inputDim: vocab, outputDim: 5, maskZero: true, name: 'mz_emb' }).apply(ids) as ST;
    x = L.lstm({ ...init, units: 4, returnSequences: true, goBackwards: true, name: 'mz_lstm' }).apply(x) as ST;
    x = L.dense({ units: 3, activation: 'tanh', name: 'mz_dense' }).apply(x) as ST;
    x = L.gru({ ...init, units: 4, recurrentActivation: 'sigmoid', name: 'mz_gru' }).apply(x) as ST;
    const out = L.dense({ units: classes, activation: 'softmax', name: 'mz_head' }).apply(x) as ST;
    const model = tfl.model({ inputs: ids, outputs: out });
    randomizeWeights(model, 241, 0.5);
    // trailing and leading padding, a gap in the middle, and one unpadded row
    const rows = [[3, 5, 1, 0, 0, 0], [0, 0, 2, 7, 0, 4], [1, 2, 3, 4, 5, 6]];
    const tokens = tensor('float32', [batch, seq], rows.flat());
    await checkParity({ model, inputs: { mz_ids: tokens }, labels: randomLabels(batch, classes, 242) });
  });

  it('Masking -> Bidirectional(LSTM, concat sequences) -> SimpleRNN: masked steps as TF.js', async () => {
    const [batch, seq, classes] = [3, 5, 3];
    const inp = tfl.input({ shape: [seq, 2], name: 'mk_x' });
    let x = L.masking({ maskValue: 0, name: 'mk_mask' }).apply(inp) as ST;
    x = L.bidirectional({ layer: L.lstm({ ...init, units: 3, returnSequences: true }) as never, name: 'mk_bi' }).apply(x) as ST;
    x = L.simpleRNN({ ...init, units: 4, name: 'mk_rnn' }).apply(x) as ST;
    const out = L.dense({ units: classes, activation: 'softmax', name: 'mk_head' }).apply(x) as ST;
    const model = tfl.model({ inputs: inp, outputs: out });
    randomizeWeights(model, 251, 0.5);
    const data = Array.from(randomInput([batch, seq, 2], 252).data as Float32Array);
    for (const [r, t] of [[0, 3], [0, 4], [1, 0], [2, 2]]) data[(r! * seq + t!) * 2] = data[(r! * seq + t!) * 2 + 1] = 0;
    await checkParity({ model, inputs: { mk_x: tensor('float32', [batch, seq, 2], data) }, labels: randomLabels(batch, classes, 253) });
  });

  it('Embedding(maskZero) -> GlobalAveragePooling1D: a layer that takes no mask averages every step, as TF.js', async () => {
    const ids = tfl.input({ shape: [5], name: 'mg_ids' });
    const x = L.embedding({ inputDim: 7, outputDim: 4, maskZero: true, name: 'mg_emb' }).apply(ids) as ST;
    const out = L.dense({ units: 3, activation: 'softmax', name: 'mg_head' }).apply(L.globalAveragePooling1d({ name: 'mg_pool' }).apply(x) as ST) as ST;
    const model = tfl.model({ inputs: ids, outputs: out });
    randomizeWeights(model, 261, 0.5);
    await checkParity({ model, inputs: { mg_ids: tensor('float32', [2, 5], [1, 2, 0, 0, 0, 3, 0, 4, 5, 6]) }, labels: randomLabels(2, 3, 262) });
  });

  it('SimpleRNN (relu, backwards sequences) -> LSTM without bias, returnState (h and c both read)', async () => {
    const [batch, seq, classes] = [2, 4, 3];
    const inp = tfl.input({ shape: [seq, 3], name: 'rs_x' });
    let x = L.simpleRNN({ ...init, units: 4, activation: 'relu', returnSequences: true, goBackwards: true, name: 'rs_rnn' }).apply(inp) as ST;
    const [y, h, c] = L.lstm({ ...init, units: 3, useBias: false, returnState: true, recurrentActivation: 'sigmoid', name: 'rs_lstm' }).apply(x) as ST[];
    x = L.concatenate({ name: 'rs_cat' }).apply([y!, h!, c!]) as ST;
    const out = L.dense({ units: classes, activation: 'softmax', name: 'rs_head' }).apply(x) as ST;
    const model = tfl.model({ inputs: inp, outputs: out });
    randomizeWeights(model, 211, 0.6);
    await checkParity({ model, inputs: { rs_x: randomInput([batch, seq, 3], 212) }, labels: randomLabels(batch, classes, 213) });
  });

  it('RNN(LSTMCell) sequences -> RNN([GRUCell, SimpleRNNCell]) backwards with returnState, from model.json too', async () => {
    const [batch, seq, classes] = [2, 5, 3];
    const inp = tfl.input({ shape: [seq, 3], name: 'gr_x' });
    let x = L.rnn({ cell: L.lstmCell({ ...init, units: 4, recurrentActivation: 'sigmoid' }), returnSequences: true, name: 'gr_lstm' }).apply(inp) as ST;
    const cells = [L.gruCell({ ...init, units: 3 }), L.simpleRNNCell({ ...init, units: 2, activation: 'relu' })];
    const [y, h1, h2] = L.rnn({ cell: cells, goBackwards: true, returnState: true, name: 'gr_stack' }).apply(x) as ST[];
    x = L.concatenate({ name: 'gr_cat' }).apply([y!, h1!, h2!]) as ST;
    const out = L.dense({ units: classes, activation: 'softmax', name: 'gr_head' }).apply(x) as ST;
    const model = tfl.model({ inputs: inp, outputs: out });
    randomizeWeights(model, 231, 0.6);
    await checkParity({ model, inputs: { gr_x: randomInput([batch, seq, 3], 232) }, labels: randomLabels(batch, classes, 233) });
  });

  it('RNN(LSTMCell) backwards sequences and stacked cells returning sequences', async () => {
    const [batch, seq, classes] = [2, 4, 3];
    const inp = tfl.input({ shape: [seq, 2], name: 'gs_x' });
    let x = L.rnn({ cell: L.lstmCell({ ...init, units: 3 }), returnSequences: true, goBackwards: true, name: 'gs_lstm' }).apply(inp) as ST;
    x = L.rnn({ cell: [L.simpleRNNCell({ ...init, units: 3 }), L.lstmCell({ ...init, units: 2 })], returnSequences: true, name: 'gs_stack' }).apply(x) as ST;
    const out = L.dense({ units: classes, activation: 'softmax', name: 'gs_head' }).apply(L.flatten({ name: 'gs_flat' }).apply(x) as ST) as ST;
    const model = tfl.model({ inputs: inp, outputs: out });
    randomizeWeights(model, 241, 0.6);
    await checkParity({ model, inputs: { gs_x: randomInput([batch, seq, 2], 242) }, labels: randomLabels(batch, classes, 243) });
  });

  it('Bidirectional: LSTM sequences (concat) -> GRU last state (sum) -> SimpleRNN (ave), all from model.json too', async () => {
    const [batch, seq, classes] = [2, 4, 3];
    const inp = tfl.input({ shape: [seq, 3], name: 'bi_x' });
    let x = L.bidirectional({ layer: L.lstm({ ...init, units: 3, returnSequences: true }) as tfl.layers.RNN, name: 'bi_lstm' }).apply(inp) as ST; // [4, 6]
    const a = L.bidirectional({ layer: L.gru({ ...init, units: 4, recurrentActivation: 'sigmoid' }) as tfl.layers.RNN, mergeMode: 'sum', name: 'bi_gru' }).apply(x) as ST; // [4]
    const c = L.bidirectional({ layer: L.simpleRNN({ ...init, units: 4, goBackwards: true }) as tfl.layers.RNN, mergeMode: 'ave', name: 'bi_rnn' }).apply(x) as ST; // [4]
    x = L.concatenate({ name: 'bi_cat' }).apply([a, c]) as ST;
    const out = L.dense({ units: classes, activation: 'softmax', name: 'bi_head' }).apply(x) as ST;
    const model = tfl.model({ inputs: inp, outputs: out });
    randomizeWeights(model, 221, 0.6);
    await checkParity({ model, inputs: { bi_x: randomInput([batch, seq, 3], 222) }, labels: randomLabels(batch, classes, 223) });
  });

  it('TimeDistributed Conv2D / GlobalAveragePooling2D / Dense over frames -> LSTM', async () => {
    const [batch, frames, classes] = [2, 3, 3];
    const inp = tfl.input({ shape: [frames, 5, 5, 2], name: 'td_x' });
    let x = L.timeDistributed({ layer: L.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }), name: 'td_conv' }).apply(inp) as ST; // [3, 3, 3, 4]
    x = L.timeDistributed({ layer: L.globalAveragePooling2d({}), name: 'td_gap' }).apply(x) as ST; // [3, 4]
    x = L.timeDistributed({ layer: L.dense({ units: 5, activation: 'tanh' }), name: 'td_dense' }).apply(x) as ST; // [3, 5]
    x = L.lstm({ ...init, units: 4, name: 'td_lstm' }).apply(x) as ST;
    const out = L.dense({ units: classes, activation: 'softmax', name: 'td_head' }).apply(x) as ST;
    const model = tfl.model({ inputs: inp, outputs: out });
    randomizeWeights(model, 231, 0.6);
    await checkParity({ model, inputs: { td_x: randomInput([batch, frames, 5, 5, 2], 232) }, labels: randomLabels(batch, classes, 233) });
  });
});
