/**
 * A small transformer encoder written with tfjs-layers: Embedding, Dense on 3-D input, two
 * self-attention heads built from Dense + Dot + Rescaling + Softmax + Dot, Concatenate,
 * residual Add, LayerNormalization, a GELU feed-forward block, GlobalAveragePooling1D.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { tensor } from '@pockengine/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomizeWeights, randomLabels, rng, useCpu } from './helpers.js';
import { checkParity } from './parity.js';

beforeAll(useCpu);

type ST = tfl.SymbolicTensor;

function encoder(p: string, seq: number, vocab: number, d: number, classes: number): tfl.LayersModel {
  const n = (s: string) => `${p}_${s}`;
  const ids = tfl.input({ shape: [seq], name: n('ids') });
  const emb = tfl.layers.embedding({ inputDim: vocab, outputDim: d, name: n('embed') }).apply(ids) as ST;
  const dh = d / 2;
  const head = (h: number): ST => {
    const q = tfl.layers.dense({ units: dh, name: n(`q${h}`) }).apply(emb) as ST;
    const k = tfl.layers.dense({ units: dh, name: n(`k${h}`) }).apply(emb) as ST;
    const v = tfl.layers.dense({ units: dh, name: n(`v${h}`) }).apply(emb) as ST;
    let s = tfl.layers.dot({ axes: [2, 2], name: n(`scores${h}`) }).apply([q, k]) as ST; // [B, T, T]
    s = tfl.layers.rescaling({ scale: 1 / Math.sqrt(dh), name: n(`scale${h}`) }).apply(s) as ST;
    const a = tfl.layers.softmax({ axis: -1, name: n(`attn${h}`) }).apply(s) as ST;
    return tfl.layers.dot({ axes: [2, 1], name: n(`ctx${h}`) }).apply([a, v]) as ST; // [B, T, dh]
  };
  const heads = tfl.layers.concatenate({ axis: -1, name: n('heads') }).apply([head(0), head(1)]) as ST;
  const proj = tfl.layers.dense({ units: d, name: n('proj') }).apply(heads) as ST;
  let x = tfl.layers.add({ name: n('res1') }).apply([emb, proj]) as ST;
  x = tfl.layers.layerNormalization({ name: n('ln1') }).apply(x) as ST;
  let f = tfl.layers.dense({ units: 2 * d, activation: 'gelu', name: n('ff1') }).apply(x) as ST;
  f = tfl.layers.dense({ units: d, name: n('ff2') }).apply(f) as ST;
  x = tfl.layers.add({ name: n('res2') }).apply([x, f]) as ST;
  x = tfl.layers.layerNormalization({ epsilon: 1e-5, name: n('ln2') }).apply(x) as ST;
  x = tfl.layers.globalAveragePooling1d({ name: n('pool') }).apply(x) as ST;
  const out = tfl.layers.dense({ units: classes, activation: 'softmax', name: n('cls') }).apply(x) as ST;
  return tfl.model({ inputs: ids, outputs: out, name: p });
}

describe('transformer encoder parity with TF.js', () => {
  it('Embedding + 2-head self-attention + LayerNorm + GELU FFN: prediction, loss, gradients', async () => {
    const [batch, seq, vocab, d, classes] = [3, 6, 11, 8, 4];
    const model = encoder('tr', seq, vocab, d, classes);
    randomizeWeights(model, 71, 0.5);
    const r = rng(72);
    // token ids arrive as float32, as TF.js feeds an Input of default dtype
    const ids = tensor('float32', [batch, seq], Float32Array.from({ length: batch * seq }, () => Math.floor(r() * vocab)));
    const rep = await checkParity({ model, inputs: { tr_ids: ids }, labels: randomLabels(batch, classes, 73) });
    expect(rep.viaObject.outputIsLogitsOfSoftmax).toBe(true);
    const ops = new Set(rep.viaObject.graph.nodes.map((n) => n.op));
    for (const op of ['gather', 'layer_norm', 'gelu', 'softmax', 'concat', 'reduce_mean']) expect(ops.has(op)).toBe(true);
    // Dense on [B, T, D] stays a broadcast matmul with the [in, out] kernel: no transpose of any weight
    const g = rep.viaObject.graph;
    expect(g.nodes.filter((n) => n.op === 'transpose').length).toBe(0);
  });
});
