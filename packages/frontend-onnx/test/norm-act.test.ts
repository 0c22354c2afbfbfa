/**
 * InstanceNormalization, GroupNormalization (opset 18 per-group and opset 21 per-channel affine)
 * and the Selu, Celu, Mish and Softsign activations: outputs in float64 against scalar loops
 * written from the ONNX operator pages, and parameter gradients of the compiled training program
 * against central finite differences of the loss.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { Program, compileTrainingGraph, size, tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node, type AttrValue, type ModelSpec } from './build.js';
import { expectClose, f32, f64, forward, gradCheck, importError, nums, oneNode, values } from './handler-helpers.js';

// ---- helpers ------------------------------------------------------------------------------------


// ---- references (ONNX operator pages, scalar loops in float64) ---------------------------------

/**
 * Group normalization of x [N, C, ...] with `groups` groups of C / groups channels, mean and
 * biased variance over each group's channels and spatial elements; then scale * xhat + bias with
 * `affine(c)` giving the scale / bias index of channel c. InstanceNormalization is groups = C.
 */
function groupNormRef(x: number[], shape: number[], groups: number, scale: number[], bias: number[], eps: number, affine: (c: number) => number): number[] {
  const [n, c] = shape as [number, number];
  const spatial = size(shape.slice(2));
  const per = (c / groups) * spatial;
  const y = new Array<number>(x.length);
  for (let i = 0; i < n; i++)
    for (let g = 0; g < groups; g++) {
      const base = (i * groups + g) * per;
      let mean = 0;
      for (let k = 0; k < per; k++) mean += x[base + k]!;
      mean /= per;
      let v = 0;
      for (let k = 0; k < per; k++) v += (x[base + k]! - mean) ** 2;
      v /= per;
      for (let k = 0; k < per; k++) {
        const ch = g * (c / groups) + Math.floor(k / spatial);
        y[base + k] = ((x[base + k]! - mean) / Math.sqrt(v + eps)) * scale[affine(ch)]! + bias[affine(ch)]!;
      }
    }
  return y;
}

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;
const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const ACT_REF: Record<string, (x: number, alpha?: number, gamma?: number) => number> = {
  Selu: (x, alpha = SELU_ALPHA, gamma = SELU_GAMMA) => (x > 0 ? gamma * x : gamma * (alpha * Math.exp(x) - alpha)),
  Celu: (x, alpha = 1) => Math.max(0, x) + Math.min(0, alpha * (Math.exp(x / alpha) - 1)),
  Mish: (x) => x * Math.tanh(softplus(x)),
  Softsign: (x) => x / (1 + Math.abs(x)),
};


// ---- InstanceNormalization -----------------------------------------------------------------------

describe('InstanceNormalization', () => {
  it('normalizes each (n, c) of a rank-4 input over H, W with per-channel scale and B (default epsilon)', async () => {
    const shape = [2, 3, 2, 3];
    const x = values(size(shape), 1);
    const scale = values(3, 2, 0.5, 1.5);
    const bias = values(3, 3);
    const out = await forward(oneNode('InstanceNormalization', shape, [['scale', f32([3], scale)], ['B', f32([3], bias)]], {}), { x: f64(shape, x) });
    expectClose(out.y!, groupNormRef(x, shape, 3, scale, bias, 1e-5, (c) => c));
  });

  it('rank 3 with an explicit epsilon; a constant row becomes its channel bias', async () => {
    const shape = [2, 4, 5];
    const x = values(size(shape), 4);
    for (let k = 0; k < 5; k++) x[5 + k] = 0.75; // (n=0, c=1) has zero variance
    const scale = values(4, 5, 0.5, 1.5);
    const bias = values(4, 6);
    const out = await forward(oneNode('InstanceNormalization', shape, [['scale', f32([4], scale)], ['B', f32([4], bias)]], { epsilon: 0.1 }), {
      x: f64(shape, x),
    });
    // float attributes are float32: the node's epsilon is fround(0.1)
    expectClose(out.y!, groupNormRef(x, shape, 4, scale, bias, Math.fround(0.1), (c) => c));
    expectClose(out.y!.slice(5, 10), new Array<number>(5).fill(bias[1]!));
  });

  it('maps onto layer_norm and elementwise IR ops (no op of its own)', () => {
    const m = importOnnx(buildModel(oneNode('InstanceNormalization', [1, 2, 3, 3], [['s', f32([2], [1, 2])], ['b', f32([2], [0, 1])]], {})));
    const ops = m.graph.nodes.map((n) => n.op);
    expect(ops.filter((o) => o === 'layer_norm')).toHaveLength(1);
    expect(ops.every((o) => ['reshape', 'expand', 'layer_norm', 'mul', 'add'].includes(o)), ops.join()).toBe(true);
    expect(m.params.sort()).toEqual(['b', 's']);
  });

  it('gradients of scale, B and a weight before it match finite differences', async () => {
    const shape = [2, 3, 2, 2];
    const spec: ModelSpec = {
      nodes: [node('Mul', ['x', 'w'], ['h']), node('InstanceNormalization', ['h', 'scale', 'B'], ['y'], { epsilon: 0.01 })],
      inputs: [['x', 'float32', shape]],
      outputs: ['y'],
      initializers: [
        ['w', f32([3, 2, 2], values(12, 7, 0.5, 1.5))],
        ['scale', f32([3], values(3, 8, 0.5, 1.5))],
        ['B', f32([3], values(3, 9))],
      ],
    };
    const g = await gradCheck(spec, f64(shape, values(size(shape), 10)), values(size(shape), 11));
    expect(Object.keys(g).sort()).toEqual(['B', 'scale', 'w']);
  });

  it('fails at the node on a bad scale shape or a rank-2 input', () => {
    const bad = importError(oneNode('InstanceNormalization', [2, 3, 4], [['s', f32([2], [1, 1])], ['b', f32([3], [0, 0, 0])]], {}));
    expect(bad.code).toBe('shape');
    expect(bad.message).toMatch(/InstanceNormalization 'n0'.*scale must have shape \[3\], got \[2\]/);
    const flat = importError(oneNode('InstanceNormalization', [2, 3], [['s', f32([3], [1, 1, 1])], ['b', f32([3], [0, 0, 0])]], {}));
    expect(flat.message).toMatch(/rank >= 3.*got shape \[2, ?3\]/);
  });
});

// ---- GroupNormalization ----------------------------------------------------------------------------

describe('GroupNormalization', () => {
  const shape = [2, 6, 2, 2];
  const x = values(size(shape), 12);
  for (const groups of [1, 2, 3, 6]) {
    it(`opset 18: num_groups=${groups} of 6 channels, scale and bias per group`, async () => {
      const scale = values(groups, 13 + groups, 0.5, 1.5);
      const bias = values(groups, 20 + groups);
      const spec = oneNode('GroupNormalization', shape, [['scale', f32([groups], scale)], ['bias', f32([groups], bias)]], { num_groups: groups }, 18);
      const out = await forward(spec, { x: f64(shape, x) });
      expectClose(out.y!, groupNormRef(x, shape, groups, scale, bias, 1e-5, (c) => Math.floor(c / (6 / groups))));
    });

    it(`opset 21: num_groups=${groups} of 6 channels, scale and bias per channel`, async () => {
      const scale = values(6, 30 + groups, 0.5, 1.5);
      const bias = values(6, 40 + groups);
      const spec = oneNode('GroupNormalization', shape, [['scale', f32([6], scale)], ['bias', f32([6], bias)]], { num_groups: groups, epsilon: 0.05 }, 21);
      const out = await forward(spec, { x: f64(shape, x) });
      expectClose(out.y!, groupNormRef(x, shape, groups, scale, bias, Math.fround(0.05), (c) => c));
    });
  }

  it('rank-3 input (opset 21)', async () => {
    const s3 = [3, 4, 5];
    const x3 = values(size(s3), 50);
    const scale = values(4, 51, 0.5, 1.5);
    const bias = values(4, 52);
    const out = await forward(oneNode('GroupNormalization', s3, [['scale', f32([4], scale)], ['bias', f32([4], bias)]], { num_groups: 2 }, 21), { x: f64(s3, x3) });
    expectClose(out.y!, groupNormRef(x3, s3, 2, scale, bias, 1e-5, (c) => c));
  });

  for (const opset of [18, 21]) {
    it(`opset ${opset}: gradients of scale, bias and a weight before it match finite differences`, async () => {
      const s = [2, 4, 3];
      const k = opset === 18 ? 2 : 4;
      const spec: ModelSpec = {
        nodes: [node('Mul', ['x', 'w'], ['h']), node('GroupNormalization', ['h', 'scale', 'bias'], ['y'], { num_groups: 2, epsilon: 0.01 })],
        inputs: [['x', 'float32', s]],
        outputs: ['y'],
        initializers: [
          ['w', f32([4, 3], values(12, 60, 0.5, 1.5))],
          ['scale', f32([k], values(k, 61, 0.5, 1.5))],
          ['bias', f32([k], values(k, 62))],
        ],
        opset,
      };
      const g = await gradCheck(spec, f64(s, values(size(s), 63)), values(size(s), 64));
      expect(Object.keys(g).sort()).toEqual(['bias', 'scale', 'w']);
    });
  }

  it('fails at the node with what to fix', () => {
    const s = [1, 6, 2];
    const per = (n: number, opset: number, groups = 3) =>
      importError(oneNode('GroupNormalization', s, [['scale', f32([n], values(n, 1))], ['bias', f32([n], values(n, 2))]], { num_groups: groups }, opset));
    expect(per(6, 18).message).toMatch(/scale must have shape \[3\], got \[6\]: opset 18 takes one value per group \(per-channel scale and bias are opset 21\)/);
    expect(per(3, 21).message).toMatch(/scale must have shape \[6\], got \[3\]: opset 21 takes one value per channel/);
    expect(per(4, 18, 4).message).toMatch(/num_groups=4 does not divide the 6 input channels/);
    expect(per(3, 17).message).toMatch(/GroupNormalization exists from opset 18/);
    const missing = importError(oneNode('GroupNormalization', s, [['scale', f32([6], values(6, 1))], ['bias', f32([6], values(6, 2))]], {}, 21));
    expect(missing.message).toMatch(/'num_groups' is required/);
  });
});

// ---- activations ---------------------------------------------------------------------------------

describe('Selu, Celu, Mish, Softsign', () => {
  // negative, zero and positive; large magnitudes where exp would overflow in an unselected branch
  const xs = [-800, -30, -3.5, -1, -0.25, 0, 0.25, 1, 2.5, 30, 800, ...values(9, 70, -4, 4)];
  const cases: [string, Record<string, AttrValue>, (x: number) => number, number][] = [
    ['Selu', {}, (x) => ACT_REF.Selu!(x), 7],
    ['Selu', { alpha: 1.5, gamma: 0.75 }, (x) => ACT_REF.Selu!(x, 1.5, 0.75), 7],
    ['Celu', {}, (x) => ACT_REF.Celu!(x), 12],
    ['Celu', { alpha: 0.7 }, (x) => ACT_REF.Celu!(x, Math.fround(0.7)), 12],
    ['Celu', { alpha: 2.5 }, (x) => ACT_REF.Celu!(x, 2.5), 12],
    ['Mish', {}, (x) => ACT_REF.Mish!(x), 18],
    ['Softsign', {}, (x) => ACT_REF.Softsign!(x), 7],
  ];
  for (const [op, attrs, ref, opset] of cases)
    it(`${op} ${JSON.stringify(attrs)} (opset ${opset}) on negative and positive inputs`, async () => {
      const out = await forward(oneNode(op, [xs.length], [], attrs, opset), { x: f64([xs.length], xs) });
      expect(out.y!.every(Number.isFinite)).toBe(true);
      expectClose(out.y!, xs.map(ref));
    });

  it('Selu and Celu agree with their piecewise definitions at the branch point', async () => {
    const out = await forward(
      {
        nodes: [node('Selu', ['x'], ['s'], {}, 'selu'), node('Celu', ['x'], ['c'], { alpha: 2.5 }, 'celu')],
        inputs: [['x', 'float32', [3]]],
        outputs: ['s', 'c'],
        opset: 12,
      },
      { x: f64([3], [-1e-9, 0, 1e-9]) },
    );
    expectClose(out.s!, [SELU_GAMMA * SELU_ALPHA * Math.expm1(-1e-9), 0, SELU_GAMMA * 1e-9]);
    expectClose(out.c!, [2.5 * Math.expm1(-1e-9 / 2.5), 0, 1e-9]);
  });

  for (const [op, opset] of [['Mish', 18], ['Selu', 7], ['Celu', 12], ['Softsign', 7]] as const)
    it(`${op}: the gradient of a weight before it matches finite differences`, async () => {
      const n = 10;
      const spec: ModelSpec = {
        nodes: [node('Mul', ['x', 'w'], ['h']), node(op, ['h'], ['y'], op === 'Celu' ? { alpha: 0.7 } : {})],
        inputs: [['x', 'float32', [n]]],
        outputs: ['y'],
        // h = x * w spans both branches: w in [0.5, 1.5], x in [-3, 3]
        initializers: [['w', f32([n], values(n, 80, 0.5, 1.5))]],
        opset,
      };
      await gradCheck(spec, f64([n], values(n, 81, -3, 3)), values(n, 82));
    });

  it('Selu, Celu and Elu gradients stay finite where exp(x) overflows', async () => {
    for (const op of ['Selu', 'Celu', 'Elu']) {
      const spec: ModelSpec = {
        nodes: [node('Mul', ['x', 'w'], ['h']), node(op, ['h'], ['y'])],
        inputs: [['x', 'float32', [2]]],
        outputs: ['y'],
        initializers: [['w', f32([2], [1, 1])]],
        opset: 12,
      };
      const m = importOnnx(buildModel(spec), { floatType: 'float64' });
      const { graph } = compileTrainingGraph(m.graph, { loss: { kind: 'mse' } });
      const p = Program.create(graph, new CpuBackend());
      const out = await p.step({ x: f64([2], [1000, -1000]), labels: f64([2], [0, 0]) });
      p.dispose();
      // dL/dw = 2/2 * (y - 0) * dy/dh * x: y = gamma * 1000 (or 1000), dy/dh = gamma (or 1) at +1000, ~0 at -1000
      const slope = op === 'Selu' ? SELU_GAMMA : 1;
      expectClose(nums(out['grad.w']!), [slope * 1000 * slope * 1000, 0]);
    }
  });

  it('Celu with alpha 0 and Softsign of an integer fail at the node', () => {
    expect(importError(oneNode('Celu', [2], [], { alpha: { f: 0 } }, 12)).message).toMatch(/Celu 'n0'.*alpha must be a finite nonzero number/);
    const int = importError({ nodes: [node('Softsign', ['x'], ['y'], {}, 'ss')], inputs: [['x', 'int32', [2]]], outputs: ['y'] });
    expect(int.code).toBe('dtype');
    expect(int.message).toMatch(/input X must be a float tensor, got int32/);
  });
});
