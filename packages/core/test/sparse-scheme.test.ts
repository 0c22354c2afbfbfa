import { describe, expect, it } from 'vitest';
import { GraphBuilder, PockError, compileTrainingGraph, findBlocks, globToRegExp, groupKey, lastBlocksScheme, lowerToPlan, nn, parseScheme, resolveScheme, searchScheme, tensor } from '../src/index.js';

describe('scheme parsing and globs', () => {
  it('matches globs with *, ?, classes and alternatives', () => {
    expect(globToRegExp('features.1[67].*').test('features.16.conv.0.weight')).toBe(true);
    expect(globToRegExp('features.1[67].*').test('features.18.0.weight')).toBe(false);
    expect(globToRegExp('*.{weight,bias}').test('head.bias')).toBe(true);
    expect(globToRegExp('layer?.w').test('layer1.w')).toBe(true);
    expect(globToRegExp('a.b').test('aXb')).toBe(false);
  });

  it('rejects malformed schemes with the rule named', () => {
    expect(() => parseScheme({ rules: [{ params: 'x', update: { channels: 1.5 } }] })).toThrow(/rule 0 \('x'\).*channels/);
    expect(() => parseScheme({ rules: [{ params: 'x', update: 'half' }] })).toThrow(PockError);
    expect(() => parseScheme({})).toThrow(/missing "rules"/);
  });

  it('first matching rule wins; unmatched params are frozen; channels resolve to rows', () => {
    const b = new GraphBuilder('m');
    const x = b.input('x', 'float32', [2, 4]);
    b.output('y', nn.dense(b, nn.dense(b, x, 8, 'a', { seed: 1 }), 3, 'b', { seed: 2 }));
    const g = b.build();
    const u = resolveScheme(g, parseScheme({ rules: [{ params: 'a.bias', update: 'none' }, { params: 'a.*', update: { channels: 0.25 } }, { params: 'b.weight', update: 'full' }] }));
    const byName = new Map([...u].map(([id, v]) => [g.values[id]!.name, v]));
    expect(byName.get('a.weight')).toEqual({ kind: 'channels', rows: [0, 1] });
    expect(byName.has('a.bias')).toBe(false);
    expect(byName.get('b.weight')).toEqual({ kind: 'full' });
    expect(byName.has('b.bias')).toBe(false);
    expect(() => resolveScheme(g, parseScheme({ rules: [{ params: 'nothing.*', update: 'full' }] }))).toThrow(/no rule matches/);
  });

  it('selects channels by magnitude', () => {
    const b = new GraphBuilder('m');
    const x = b.input('x', 'float32', [2, 2]);
    const w = b.param('w', tensor('float32', [4, 2], [0, 0, 5, 5, 1, 1, 9, 0]));
    b.output('y', b.matmul(x, w, false, true));
    const u = resolveScheme(b.build(), parseScheme({ rules: [{ params: 'w', update: { channels: 2, select: 'magnitude' } }] }));
    expect([...u.values()][0]).toEqual({ kind: 'channels', rows: [1, 3] });
  });
});

describe('blocks', () => {
  it('groups PyTorch and Keras names', () => {
    expect(groupKey('features.16.conv.0.0.weight').key).toBe('features.16');
    expect(groupKey('block_16_project_BN/gamma').key).toBe('block_16');
    expect(groupKey('Conv_1/kernel').key).toBe('Conv_1');
    expect(groupKey('classifier.weight')).toEqual({ key: 'classifier', numbered: false });
    expect(groupKey('layers.0.w').key).toBe('layers.0');
  });

  it('finds blocks in forward order and the head after them', () => {
    const b = new GraphBuilder('m');
    let h = b.input('x', 'float32', [2, 4]);
    h = nn.dense(b, h, 4, 'stem', { seed: 1 });
    for (let i = 0; i < 3; i++) h = nn.dense(b, nn.dense(b, h, 4, `blocks.${i}.fc1`, { seed: 2 + i }), 4, `blocks.${i}.fc2`, { seed: 9 + i });
    b.output('y', nn.dense(b, h, 2, 'head', { seed: 20 }));
    const g = b.build();
    const { blocks, head } = findBlocks(g);
    expect(blocks.map((x) => x.name)).toEqual(['blocks.0', 'blocks.1', 'blocks.2']);
    expect(head).toEqual(['head.weight', 'head.bias']);
    const s = lastBlocksScheme(g, 2, { allBiases: false });
    const trained = [...resolveScheme(g, s).keys()].map((id) => g.values[id]!.name);
    expect(trained.filter((n) => n.startsWith('blocks.0'))).toEqual([]);
    expect(trained).toContain('blocks.1.fc1.weight');
    expect(trained).toContain('head.weight');
  });
});

describe('budget search', () => {
  it('measures its floor (nothing trained) with the same compile pipeline as the schemes it compares', () => {
    // nn.Linear as PyTorch exports it: matmul(x, Transpose(W)); compiled, the frozen transposes
    // fold away, so the raw model's plan would overstate what training nothing costs
    const b = new GraphBuilder('m');
    const x = b.input('x', 'float32', [8, 64]);
    let h = x;
    for (let i = 0; i < 3; i++) {
      const w = b.param(`l${i}.weight`, tensor('float32', [64, 64], new Float32Array(64 * 64).fill(0.01)));
      h = b.matmul(h, b.transpose(w, [1, 0]));
    }
    b.output('logits', h);
    const g = b.build();
    const opts = { loss: { kind: 'cross-entropy' as const }, optimizer: { kind: 'sgd' as const, lr: 0.1 } };
    const inference = lowerToPlan(compileTrainingGraph(g, { ...opts, trainable: [] }).graph).memory.peakBytes;
    expect(lowerToPlan(g).memory.peakBytes).toBeGreaterThan(inference);
    const contribution = new Map(['l0.weight', 'l1.weight', 'l2.weight'].map((n, i) => [n, i + 1]));
    const r = searchScheme(g, { ...opts, budgetBytes: inference, contribution });
    expect(r.peakBytes).toBeLessThanOrEqual(inference);
    expect(() => searchScheme(g, { ...opts, budgetBytes: inference - 1, contribution })).toThrow(/even inference needs/);
  });
});
