/**
 * Parity with PyTorch: every reference model of ../shared/models is imported, compiled into a
 * gradient program (loss and grad.<param>, no optimizer), run on the CPU backend in float32 with
 * the reference inputs, and its logits, loss and every parameter gradient are checked with the
 * README's tolerance rule. The sparse_example set of each file is checked too: training only
 * those params must give the same gradients (sparse backprop prunes, it does not approximate).
 *
 * Each model also runs in float64 (floatType 'float64'), where it must match the references to
 * about their float32 rounding (rtol 1e-6): that checks the import's semantics independently of
 * the float32 accuracy of the kernels.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, compileTrainingGraph, type Graph, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { compare, haveModels, loadRef, modelBytes, type Comparison, type RefFile } from './refs.js';

interface Case {
  onnx: string;
  ref: string;
  batchNorm: 'train' | 'frozen';
  /** Check the sparse_example set as well (once per model and mode). */
  sparse: boolean;
}

const CNN = ['mcunet_tiny', 'mcunet', 'mobilenet_v2_035', 'mobilenet_v2'];
const TEXT = ['bert_tiny', 'llama_tiny', 'bert_medium', 'llama_medium'];
const OP13 = new Set(['mcunet_tiny', 'bert_tiny', 'llama_tiny']);

const CASES: Case[] = [];
for (const m of CNN)
  for (const [mode, batchNorm] of [['eval_bn', 'frozen'], ['train_bn', 'train']] as const) {
    CASES.push({ onnx: `${m}.onnx`, ref: `${m}.${mode}.ref.safetensors`, batchNorm, sparse: true });
    if (OP13.has(m)) CASES.push({ onnx: `${m}.op13.onnx`, ref: `${m}.${mode}.ref.safetensors`, batchNorm, sparse: false });
  }
for (const m of TEXT) {
  CASES.push({ onnx: `${m}.onnx`, ref: `${m}.ref.safetensors`, batchNorm: 'frozen', sparse: true });
  if (OP13.has(m)) CASES.push({ onnx: `${m}.op13.onnx`, ref: `${m}.ref.safetensors`, batchNorm: 'frozen', sparse: false });
}

async function runGrad(model: Graph, ref: RefFile, trainable?: readonly string[]): Promise<Record<string, Tensor>> {
  const { graph } = compileTrainingGraph(model, { loss: { kind: 'cross-entropy' }, keepPrediction: 'logits', trainable });
  const program = Program.create(graph, new CpuBackend());
  try {
    return await program.step({ ...ref.inputs, labels: ref.tensors.get('labels')! });
  } finally {
    program.dispose();
  }
}

function failures(cs: Comparison[]): string[] {
  return cs.filter((c) => !c.pass).map((c) => `${c.name}: ${c.ratio.toFixed(2)}x tolerance (rel err ${c.relErr.toExponential(2)})`);
}

// CI checks out ../shared beside the repository: its absence is a failure, not a reason to skip
it('finds the shared PyTorch reference models', () => {
  expect(haveModels, 'expected ../shared/models (PyTorch references) beside the repository').toBe(true);
});

describe.skipIf(!haveModels)('ONNX parity with PyTorch references', () => {
  for (const c of CASES) {
    it(`${c.onnx} (${c.batchNorm} BN) matches ${c.ref}`, { timeout: 900_000 }, async () => {
      const ref = loadRef(c.ref);
      const inputShapes = Object.fromEntries(Object.entries(ref.inputs).map(([k, t]) => [k, [...t.shape]]));
      const model = importOnnx(modelBytes(c.onnx), { inputShapes, batchNorm: c.batchNorm, dropout: 'off', file: c.onnx });

      const refGrads = [...ref.tensors.keys()].filter((k) => k.startsWith('grad.')).sort();
      expect(model.params.map((p) => `grad.${p}`).sort()).toEqual(refGrads);

      const out = await runGrad(model.graph, ref);
      const checks = ['logits', 'loss', ...refGrads].map((n) => compare(n, out[n], ref));
      expect(failures(checks)).toEqual([]);

      if (c.sparse) {
        const sparseOut = await runGrad(model.graph, ref, ref.sparse);
        expect(Object.keys(sparseOut).filter((k) => k.startsWith('grad.')).sort()).toEqual(ref.sparse.map((p) => `grad.${p}`).sort());
        const sparseChecks = ['loss', ...ref.sparse.map((p) => `grad.${p}`)].map((n) => compare(n, sparseOut[n], ref));
        expect(failures(sparseChecks)).toEqual([]);
      }
    });

    it(`${c.onnx} (${c.batchNorm} BN) in float64 matches ${c.ref} to float32 rounding`, { timeout: 900_000 }, async () => {
      const ref = loadRef(c.ref);
      const inputShapes = Object.fromEntries(Object.entries(ref.inputs).map(([k, t]) => [k, [...t.shape]]));
      const model = importOnnx(modelBytes(c.onnx), { inputShapes, batchNorm: c.batchNorm, file: c.onnx, floatType: 'float64' });
      const out = await runGrad(model.graph, ref);
      const names = ['logits', 'loss', ...[...ref.tensors.keys()].filter((k) => k.startsWith('grad.'))];
      expect(failures(names.map((n) => compare(n, out[n], ref, 1e-6)))).toEqual([]);
    });
  }
});
