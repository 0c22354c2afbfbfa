/**
 * Elementwise gradient cases: broadcasting in both directions (and against a scalar), inputs
 * kept away from each op's singularities and kinks, ForwardCases for the boolean-valued ops.
 */
import type { AttrsOf } from '@pockengine/core';
import type { ForwardCases, GradCase, GradCases, InputSpec } from '../harness.js';

type NoAttrs = AttrsOf<'add'>;
const none = {} as NoAttrs;
type Binary = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
type Unary = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'sin' | 'cos' | 'asin' | 'acos' | 'atan' | 'erf';

/** Binary-op cases over the broadcasting patterns that matter, with operand ranges lo/hi. */
function binaryCases<K extends Binary>(a: Partial<InputSpec> = {}, b: Partial<InputSpec> = {}): GradCase<K>[] {
  const pair = (label: string, sa: number[], sb: number[]): GradCase<K> => ({
    label,
    inputs: [{ ...a, shape: sa }, { ...b, shape: sb }],
    attrs: none,
  });
  return [
    pair('same shape', [2, 3], [2, 3]),
    pair('b broadcast over rows and leading axis', [2, 3, 4], [4]),
    pair('a broadcast (size-1 axis and rank)', [3, 1], [2, 3, 4]),
    pair('both broadcast', [3, 1], [1, 4]),
    pair('scalar b', [2, 3], []),
  ];
}

const unaryCase = <K extends Unary>(label: string, low: number, high: number): GradCase<K> => ({
  label,
  inputs: [{ shape: [3, 4], low, high }],
  attrs: none,
});

/** Values at least 0.1 from every integer and half-integer (the jumps of floor, ceil and round). */
const offGrid: InputSpec = {
  shape: [2, 5],
  values: [-2.3, -1.65, -0.8, -0.15, 0.2, 0.35, 0.9, 1.6, 2.2, 3.85],
};

/** Values in [-2, -0.3] U [0.3, 2]: away from 0 (abs, sign, reciprocal kinks and poles). */
const awayFromZero: InputSpec = {
  shape: [2, 5],
  values: [-2, -1.3, -0.7, -0.3, 0.4, 0.3, 0.9, 1.6, -1.1, 2],
};

export const elementwiseGrad: GradCases = {
  add: binaryCases(),
  sub: binaryCases(),
  mul: binaryCases(),
  // divisor in [0.5, 1.5]: away from the pole; one case with a negative divisor
  div: [
    ...binaryCases<'div'>({}, { low: 0.5, high: 1.5 }),
    { label: 'negative divisor', inputs: [{ shape: [2, 3] }, { shape: [2, 3], low: -1.5, high: -0.5 }], attrs: none },
  ],
  // positive base: d/dy x^y = x^y ln x is defined
  pow: binaryCases({ low: 0.5, high: 2 }, { low: -1.5, high: 1.5 }),
  // random operands never tie
  maximum: binaryCases(),
  minimum: binaryCases(),

  where: [
    {
      label: 'same shape',
      inputs: [{ shape: [2, 3], dtype: 'bool', values: [1, 0, 0, 1, 1, 0] }, { shape: [2, 3] }, { shape: [2, 3] }],
      attrs: none,
    },
    {
      label: 'broadcast condition and operands',
      inputs: [{ shape: [3, 1], dtype: 'bool', values: [1, 0, 1] }, { shape: [1, 4] }, { shape: [2, 3, 4] }],
      attrs: none,
    },
    {
      label: 'scalar operand',
      inputs: [{ shape: [2, 3], dtype: 'bool', values: [0, 1, 1, 0, 1, 0] }, { shape: [2, 3] }, { shape: [] }],
      attrs: none,
    },
  ],

  neg: [unaryCase('uniform', -2, 2)],
  abs: [{ label: 'away from 0', inputs: [awayFromZero], attrs: none }],
  sign: [{ label: 'away from 0 (zero gradient)', inputs: [awayFromZero], attrs: none }],
  floor: [{ label: 'away from integers (zero gradient)', inputs: [offGrid], attrs: none }],
  ceil: [{ label: 'away from integers (zero gradient)', inputs: [offGrid], attrs: none }],
  round: [{ label: 'away from halves (zero gradient)', inputs: [offGrid], attrs: none }],
  exp: [unaryCase('uniform', -2, 2)],
  log: [unaryCase('positive', 0.2, 3)],
  sqrt: [unaryCase('positive', 0.2, 3)],
  rsqrt: [unaryCase('positive', 0.2, 3)],
  reciprocal: [{ label: 'away from 0', inputs: [awayFromZero], attrs: none }],
  sin: [unaryCase('uniform', -3, 3)],
  cos: [unaryCase('uniform', -3, 3)],
  asin: [unaryCase('inside (-1, 1)', -0.9, 0.9)],
  acos: [unaryCase('inside (-1, 1)', -0.9, 0.9)],
  atan: [unaryCase('uniform', -3, 3)],
  erf: [unaryCase('uniform', -2.5, 2.5)],
  // float64 -> float64: a float32 output could not be compared at float64 precision
  cast: [{ label: 'float64 -> float64', inputs: [{ shape: [2, 3] }], attrs: { to: 'float64' } }],
};

const cmpInputs = [
  { shape: [2, 3], dtype: 'float64', values: [1, 2, 3, 4, 5, 6] },
  { shape: [3], dtype: 'float64', values: [1, 5, 2] },
] as const;

export const elementwiseForward: ForwardCases = {
  in_range: [
    { label: 'closed [0,6]', inputs: [{ shape: [6], values: [-1, 0, 3, 6, 6.5, NaN] }], attrs: { min: 0, max: 6, strictMin: false }, expected: [[0, 1, 1, 1, 0, 0]] },
    { label: 'relu (0, inf)', inputs: [{ shape: [4], values: [-1, 0, 1e-9, 5] }], attrs: { min: 0, max: null, strictMin: true }, expected: [[0, 0, 1, 1]] },
    { label: 'open (0,6)', inputs: [{ shape: [5], values: [0, 1e-7, 3, 6, 5.9999] }], attrs: { min: 0, max: 6, strictMin: true, strictMax: true }, expected: [[0, 1, 1, 0, 1]] },
    { label: 'unbounded', inputs: [{ shape: [2], values: [-1e30, 1e30] }], attrs: { min: null, max: null, strictMin: false }, expected: [[1, 1]] },
  ],
  stop_gradient: [{ label: 'identity', inputs: [{ shape: [2, 2], values: [1, -2, 3.5, 0] }], attrs: none, expected: [[1, -2, 3.5, 0]] }],
  equal: [
    { label: 'broadcast', inputs: cmpInputs, attrs: none, expected: [[1, 0, 0, 0, 1, 0]] },
    {
      label: 'int64',
      inputs: [{ shape: [4], dtype: 'int64', values: [3, -1, 0, 7] }, { shape: [], dtype: 'int64', values: [-1] }],
      attrs: none,
      expected: [[0, 1, 0, 0]],
    },
  ],
  less: [{ label: 'broadcast', inputs: cmpInputs, attrs: none, expected: [[0, 1, 0, 0, 0, 0]] }],
  less_equal: [{ label: 'broadcast', inputs: cmpInputs, attrs: none, expected: [[1, 1, 0, 0, 1, 0]] }],
  greater: [{ label: 'broadcast', inputs: cmpInputs, attrs: none, expected: [[0, 0, 1, 1, 0, 1]] }],
  greater_equal: [{ label: 'broadcast', inputs: cmpInputs, attrs: none, expected: [[1, 0, 1, 1, 1, 1]] }],
  logical_and: [
    {
      label: 'broadcast',
      inputs: [{ shape: [2, 2], dtype: 'bool', values: [1, 0, 1, 1] }, { shape: [2, 1], dtype: 'bool', values: [1, 0] }],
      attrs: none,
      expected: [[1, 0, 0, 0]],
    },
  ],
  logical_or: [
    {
      label: 'broadcast',
      inputs: [{ shape: [2, 2], dtype: 'bool', values: [1, 0, 0, 0] }, { shape: [2, 1], dtype: 'bool', values: [0, 1] }],
      attrs: none,
      expected: [[1, 0, 1, 1]],
    },
  ],
  logical_not: [
    { label: 'plain', inputs: [{ shape: [3], dtype: 'bool', values: [1, 0, 1] }], attrs: none, expected: [[0, 1, 0]] },
  ],
};
