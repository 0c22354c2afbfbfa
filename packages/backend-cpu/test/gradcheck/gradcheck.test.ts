/**
 * Registry-driven gradient checks. Every op must be covered:
 * - an op with a vjp rule has gradient cases (central differences, float64);
 * - a backward-only op must appear in the gradient program of some checked case;
 * - an integer-valued op has forward cases;
 * - optimizer ops are checked against hand-computed updates in optimizer.test.ts.
 */
import { OP_NAMES, OPS, type OpDef, type OpName } from '@pockengine/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_FORWARD_CASES, ALL_GRAD_CASES } from './cases/index.js';
import { forwardCheck, gradCheck, opsSeenInGradients } from './harness.js';

const defs = OPS as unknown as Record<OpName, OpDef>;

describe('gradient check (float64 central differences)', () => {
  for (const op of OP_NAMES) {
    const def = defs[op];
    if (def.vjp) {
      const cases = ALL_GRAD_CASES[op] ?? [];
      it(`${op} has gradient cases`, () => {
        expect(cases.length, `op '${op}' has a gradient rule but no gradient check case`).toBeGreaterThan(0);
      });
      cases.forEach((c, k) => {
        it(`${op} ${c.label ?? `#${k}`}`, async () => {
          const r = await gradCheck(op, c as never);
          expect(r.worst, r.where).toBeLessThan(c.tol ?? 1e-6);
        });
      });
    } else if (def.nondiff === 'integer' || def.nondiff === 'stop') {
      const cases = ALL_FORWARD_CASES[op] ?? [];
      it(`${op} has forward cases`, () => expect(cases.length, `op '${op}' has no forward check case`).toBeGreaterThan(0));
      cases.forEach((c, k) => {
        it(`${op} forward ${c.label ?? `#${k}`}`, async () => {
          expect(await forwardCheck(op, c as never)).toBeLessThan(1e-9);
        });
      });
    }
  }

  afterAll(() => {
    // checked after all cases ran: each backward-only op was exercised by some gradient check
    const unseen = OP_NAMES.filter((op) => defs[op].nondiff === 'backward' && !opsSeenInGradients.has(op));
    expect(unseen, 'backward-only ops never exercised by a gradient check').toEqual([]);
  });

  it('every op is covered by some check', () => {
    const uncovered = OP_NAMES.filter((op) => {
      const d = defs[op];
      if (d.vjp) return !(ALL_GRAD_CASES[op]?.length);
      if (d.nondiff === 'integer' || d.nondiff === 'stop') return !(ALL_FORWARD_CASES[op]?.length);
      return !['backward', 'optimizer'].includes(d.nondiff ?? '');
    });
    expect(uncovered).toEqual([]);
  });
});
