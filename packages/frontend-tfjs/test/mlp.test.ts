/** MLPs: Sequential and functional, with and without a final softmax. */
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomInput, randomizeWeights, randomLabels, useCpu } from './helpers.js';
import { checkParity } from './parity.js';

beforeAll(useCpu);

describe('MLP parity with TF.js', () => {
  it('Sequential Dense-relu-Dense-softmax: logits output, loss and gradients', async () => {
    const model = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 16, inputShape: [10], activation: 'relu', name: 'mlp_fc1' }),
        tfl.layers.dropout({ rate: 0.5, name: 'mlp_drop' }),
        tfl.layers.dense({ units: 8, activation: 'tanh', name: 'mlp_fc2' }),
        tfl.layers.dense({ units: 5, activation: 'softmax', name: 'mlp_out' }),
      ],
    });
    randomizeWeights(model, 1, 0.4);
    const rep = await checkParity({ model, inputs: { mlp_fc1_input: randomInput([6, 10], 2) }, labels: randomLabels(6, 5, 3) });
    expect(rep.viaObject.outputIsLogitsOfSoftmax).toBe(true);
    expect(rep.viaObject.outputs).toEqual([{ name: 'logits', source: 'mlp_out', softmaxStripped: true }]);
    expect(rep.viaObject.graph.values.filter((v) => v.role === 'param').map((v) => v.name).sort()).toEqual(
      ['mlp_fc1/bias', 'mlp_fc1/kernel', 'mlp_fc2/bias', 'mlp_fc2/kernel', 'mlp_out/bias', 'mlp_out/kernel'],
    );
    expect(rep.viaObject.graph.nodes.some((n) => n.op === 'softmax')).toBe(false);
  });

  it('functional MLP with a linear head and activation layers', async () => {
    const inp = tfl.input({ shape: [7], name: 'mlp2_x' });
    let h = tfl.layers.dense({ units: 12, name: 'mlp2_fc1' }).apply(inp) as tfl.SymbolicTensor;
    h = tfl.layers.activation({ activation: 'gelu', name: 'mlp2_gelu' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.dense({ units: 12, activation: 'swish', name: 'mlp2_fc2' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.dense({ units: 12, activation: 'elu', name: 'mlp2_fc3' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.leakyReLU({ alpha: 0.2, name: 'mlp2_leaky' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.dense({ units: 12, activation: 'relu6', name: 'mlp2_fc4' }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.dense({ units: 12, activation: 'sigmoid', useBias: false, name: 'mlp2_fc5' }).apply(h) as tfl.SymbolicTensor;
    const out = tfl.layers.dense({ units: 4, name: 'mlp2_head' }).apply(h) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: inp, outputs: out });
    randomizeWeights(model, 11, 0.6);
    const rep = await checkParity({ model, inputs: { mlp2_x: randomInput([5, 7], 12) }, labels: randomLabels(5, 4, 13) });
    expect(rep.viaObject.outputIsLogitsOfSoftmax).toBe(false);
    expect(rep.viaObject.outputs[0]!.name).toBe('mlp2_head');
  });
});
