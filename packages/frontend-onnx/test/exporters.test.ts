/**
 * Exporter output the shared reference models do not cover, checked against PyTorch's own numbers
 * (fixtures/make_fixtures.py): torch.onnx.export's default eval mode (BatchNorm folded, equal
 * initializers deduplicated into Identity copies), its recurrent ops (GRU, LSTM, RNN;
 * bidirectional, two layers, batch-first and not, Y and Y_h read-outs) and ConvTranspose (2-D with
 * stride, padding, output padding, groups, dilation; 1-D) and Resize / Upsample (nearest by a factor,
 * bilinear with and without align_corners, bicubic; opsets 9, 10 and 13) and Einsum (attention
 * products, a bilinear form), and LocalResponseNorm (an If on a shape check, a 3-D AveragePool), and
 * index-driven idioms (grid_sample, topk, one_hot, argmin lookups, gather, scatter_add, logsumexp).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, compileTrainingGraph, readSafetensors } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { compare, refOf } from './refs.js';

const DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));

interface Fixture {
  name: string;
  /** Parameters whose gradients must be compared (eval exports rename folded recurrent weights). */
  mustCompare: string[] | 'all';
}

const FIXTURES: Fixture[] = [
  { name: 'tiny_cnn.eval', mustCompare: 'all' },
  // GridSample, TopK, OneHot, ArgMin + Gather, GatherElements, ScatterElements (add), ReduceLogSumExp, Floor, Atan
  { name: 'tiny_indexing.op16', mustCompare: 'all' },
  { name: 'tiny_decoder.eval', mustCompare: 'all' },
  { name: 'tiny_upsampler.eval', mustCompare: 'all' },
  { name: 'tiny_lrn.eval', mustCompare: 'all' },
  { name: 'tiny_einsum.eval', mustCompare: ['w', 'qkv.bias', 'fc.weight', 'fc.bias'] }, // qkv.weight is folded into a transposed constant
  { name: 'tiny_upsample_nearest.op9', mustCompare: 'all' },
  { name: 'tiny_upsample_nearest.op10', mustCompare: 'all' },
  { name: 'gru.eval', mustCompare: ['emb.weight', 'fc.weight', 'fc.bias'] },
  { name: 'lstm_hidden.eval', mustCompare: ['emb.weight', 'fc.weight', 'fc.bias'] },
  { name: 'bilstm2.train', mustCompare: 'all' },
  { name: 'bigru2.eval', mustCompare: ['emb.weight', 'fc.weight', 'fc.bias'] },
  { name: 'rnn_relu.eval', mustCompare: ['emb.weight', 'fc.weight', 'fc.bias'] },
  // make_norm_fixtures.py: GroupNorm (Reshape, InstanceNormalization, Mul, Add), InstanceNorm2d, Selu, Celu
  { name: 'norm_act.op13.train', mustCompare: 'all' },
  { name: 'norm_act.op17.train', mustCompare: 'all' },
  // make_space_fixtures.py: PixelShuffle (DepthToSpace CRD), torch.cumsum (CumSum over a middle and the last axis)
  { name: 'space_cumsum.op11.train', mustCompare: 'all' },
  { name: 'space_cumsum.op17.train', mustCompare: 'all' },
];

describe('PyTorch exports beyond the shared models', () => {
  for (const f of FIXTURES)
    it(`${f.name}: loss, logits and gradients match PyTorch`, async () => {
      const { tensors } = readSafetensors(new Uint8Array(readFileSync(`${DIR}${f.name}.ref.safetensors`)));
      const ref = refOf(tensors);
      const input = tensors.get('input')!;
      const m = importOnnx(new Uint8Array(readFileSync(`${DIR}${f.name}.onnx`)), { inputShapes: { input: [...input.shape] }, file: `${f.name}.onnx` });
      const { graph } = compileTrainingGraph(m.graph, { loss: { kind: 'cross-entropy', labelDtype: 'int64' }, keepPrediction: 'logits' });
      const p = Program.create(graph, new CpuBackend());
      const out = await p.step({ input, labels: tensors.get('labels')! });
      p.dispose();
      expect(Number(out.loss!.data[0])).toBeCloseTo(Number(tensors.get('loss')!.data[0]), 5);
      const compared: string[] = [];
      const failed: string[] = [];
      const logits = compare('logits', out.logits, ref);
      if (!logits.pass) failed.push(`logits: relative error ${logits.relErr.toExponential(2)}`);
      for (const k of tensors.keys()) {
        if (!k.startsWith('grad.') || !out[k]) continue;
        const c = compare(k, out[k], ref);
        compared.push(k.slice('grad.'.length));
        if (!c.pass) failed.push(`${k}: relative error ${c.relErr.toExponential(2)}`);
      }
      expect(failed).toEqual([]);
      const want = f.mustCompare === 'all' ? [...tensors.keys()].filter((k) => k.startsWith('grad.')).map((k) => k.slice(5)) : f.mustCompare;
      expect(compared).toEqual(expect.arrayContaining(want));
    });
});
