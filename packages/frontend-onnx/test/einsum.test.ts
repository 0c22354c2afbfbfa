/**
 * Einsum against a direct evaluation of the equation (every index assignment, float64): matmuls,
 * batched attention products, broadcast ellipses, transposes, full and partial sums, implicit
 * output, three operands; a gradient check through central differences; repeated letters fail at
 * the node. PyTorch's torch.einsum export is checked in exporters.test.ts.
 */
import { CpuBackend } from '@pockengine/backend-cpu';
import { PockError, Program, compileTrainingGraph, tensor, type Tensor } from '@pockengine/core';
import { describe, expect, it } from 'vitest';
import { importOnnx } from '../src/index.js';
import { buildModel, node } from './build.js';

const vals = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 1.37 + seed * 2.1) * 0.9));
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Evaluates the equation over every assignment of its letters (numpy broadcasting for '...'). */
function reference(eq: string, shapes: number[][], data: number[][]): { shape: number[]; values: number[] } {
  const [lhs, rhs0] = eq.split('->') as [string, string | undefined];
  const specs = lhs.split(',');
  const ell = Math.max(0, ...specs.map((s, k) => (s.includes('...') ? shapes[k]!.length - s.replace('...', '').length : 0)));
  const E = Array.from({ length: ell }, (_, i) => String.fromCharCode(48 + i)); // '0', '1', ...
  const labelsOf = (s: string, rank: number) => {
    if (!s.includes('...')) return [...s];
    const [a, b] = s.split('...') as [string, string];
    const k = rank - a.length - b.length;
    return [...a, ...E.slice(ell - k), ...b];
  };
  const ins = specs.map((s, k) => labelsOf(s, shapes[k]!.length));
  const count = new Map<string, number>();
  for (const l of ins.flat()) if (/[a-z]/i.test(l)) count.set(l, (count.get(l) ?? 0) + 1);
  const out = rhs0 === undefined ? [...E, ...[...count].filter(([, c]) => c === 1).map(([l]) => l).sort()] : labelsOf(rhs0, rhs0.replace('...', '').length + (rhs0.includes('...') ? ell : 0));
  const sizes = new Map<string, number>();
  ins.forEach((ls, k) => ls.forEach((l, i) => sizes.set(l, Math.max(sizes.get(l) ?? 1, shapes[k]![i]!))));
  const letters = [...sizes.keys()];
  const outShape = out.map((l) => sizes.get(l)!);
  const values = new Array<number>(size(outShape)).fill(0);
  const idx = new Map<string, number>();
  const walk = (d: number) => {
    if (d === letters.length) {
      let p = 1;
      ins.forEach((ls, k) => {
        let off = 0;
        ls.forEach((l, i) => (off = off * shapes[k]![i]! + (shapes[k]![i] === 1 ? 0 : idx.get(l)!)));
        p *= data[k]![off]!;
      });
      let o = 0;
      out.forEach((l, i) => (o = o * outShape[i]! + idx.get(l)!));
      values[o]! += p;
      return;
    }
    for (let i = 0; i < sizes.get(letters[d]!)!; i++) {
      idx.set(letters[d]!, i);
      walk(d + 1);
    }
  };
  walk(0);
  return { shape: outShape, values };
}

function model(eq: string, shapes: number[][]): Uint8Array {
  const names = shapes.map((_, i) => `x${i}`);
  return buildModel({ nodes: [node('Einsum', names, ['y'], { equation: eq }, 'ein')], inputs: shapes.map((s, i) => [names[i]!, 'float32', s]), outputs: ['y'], opset: 12 });
}

async function check(eq: string, shapes: number[][]): Promise<void> {
  const data = shapes.map((s, k) => vals(size(s), k + 1));
  const m = importOnnx(model(eq, shapes), { floatType: 'float64' });
  const p = Program.create(m.graph, new CpuBackend());
  const got = (await p.step(Object.fromEntries(shapes.map((s, i) => [`x${i}`, tensor('float64', s, data[i]!)])))).y!;
  p.dispose();
  const want = reference(eq, shapes, data);
  expect([...got.shape]).toEqual(want.shape);
  const g = Array.from(got.data as Float64Array);
  expect(Math.max(0, ...g.map((v, i) => Math.abs(v - want.values[i]!)))).toBeLessThan(1e-12);
}

describe('Einsum against a direct evaluation (float64)', () => {
  const CASES: [string, number[][]][] = [
    ['ij,jk->ik', [[3, 4], [4, 5]]],
    ['bij,bjk->bik', [[2, 3, 4], [2, 4, 2]]],
    ['bhqd,bhkd->bhqk', [[2, 2, 3, 4], [2, 2, 5, 4]]],
    ['...ij,...jk->...ik', [[2, 1, 3, 4], [5, 4, 2]]],
    ['ij->ji', [[3, 5]]],
    ['ij->', [[3, 5]]],
    ['bij->bj', [[2, 3, 4]]],
    ['ij,jk', [[3, 4], [4, 2]]],
    ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 2]]],
    ['i,i->', [[6], [6]]],
    ['i,j->ij', [[3], [4]]],
    ['bi,oij,bj->bo', [[2, 3], [4, 3, 5], [2, 5]]],
    ['abc,cd->dba', [[2, 3, 4], [4, 3]]],
  ];
  for (const [eq, shapes] of CASES) it(`${eq} on ${shapes.map((s) => `[${s}]`).join(' ')}`, () => check(eq, shapes));

  it('gradients through a bilinear einsum match central differences', async () => {
    const w = vals(4 * 3 * 5, 9);
    const bytes = buildModel({
      nodes: [node('Einsum', ['a', 'W', 'c'], ['y'], { equation: 'bi,oij,bj->bo' }, 'bilinear')],
      inputs: [['a', 'float32', [2, 3]], ['c', 'float32', [2, 5]]],
      outputs: ['y'],
      initializers: [['W', tensor('float32', [4, 3, 5], w)]],
      opset: 12,
    });
    const m = importOnnx(bytes, { floatType: 'float64' });
    const feeds = { a: tensor('float64', [2, 3], vals(6, 1)), c: tensor('float64', [2, 5], vals(10, 2)), labels: tensor('int64', [2], [1, 3]) };
    const { graph } = compileTrainingGraph(m.graph, { loss: { kind: 'cross-entropy', labelDtype: 'int64' } });
    const p = Program.create(graph, new CpuBackend());
    const grad = Array.from((await p.step(feeds))['grad.W']!.data as Float64Array);
    p.dispose();
    const lossAt = async (wv: number[]) => {
      const g = importOnnx(
        buildModel({
          nodes: [node('Einsum', ['a', 'W', 'c'], ['y'], { equation: 'bi,oij,bj->bo' }, 'bilinear')],
          inputs: [['a', 'float32', [2, 3]], ['c', 'float32', [2, 5]], ['W', 'float64' as 'float32', [4, 3, 5]]],
          outputs: ['y'],
          opset: 12,
        }),
        { floatType: 'float64' },
      ).graph;
      const { graph: lg } = compileTrainingGraph(g, { loss: { kind: 'cross-entropy', labelDtype: 'int64' }, trainable: [] });
      const q = Program.create(lg, new CpuBackend());
      const l = Number((await q.step({ ...feeds, W: tensor('float64', [4, 3, 5], wv) })).loss!.data[0]);
      q.dispose();
      return l;
    };
    const wd = w.map(Number);
    for (const i of [0, 7, 23, 41, 59]) {
      const h = 1e-6;
      const up = wd.slice();
      up[i]! += h;
      const dn = wd.slice();
      dn[i]! -= h;
      const num = ((await lossAt(up)) - (await lossAt(dn))) / (2 * h);
      expect(Math.abs(grad[i]! - num) / Math.max(1, Math.abs(num))).toBeLessThan(1e-6);
    }
    expect(grad.some((g) => Math.abs(g) > 1e-4)).toBe(true);
  });

  it('repeated letters in one operand (a diagonal) fail at the node', () => {
    let err: unknown;
    try {
      importOnnx(model('ii->i', [[3, 3]]), { file: 'm.onnx' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PockError);
    expect((err as Error).message).toMatch(/Einsum 'ein'.*repeated letters/s);
  });
});
