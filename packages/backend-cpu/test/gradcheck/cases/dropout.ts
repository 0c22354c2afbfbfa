/** Gradient checks of dropout: the counter is a fixed int32 input, so the mask is fixed too. */
import type { ForwardCases, GradCases } from '../harness.js';

const counter = (v: number) => ({ shape: [] as number[], dtype: 'int32' as const, values: [v] });

export const dropoutGrad: GradCases = {
  dropout: [
    { label: 'ratio 0.5 [4,5]', inputs: [{ shape: [4, 5] }, counter(7)], attrs: { ratio: 0.5, seed: 3 } },
    { label: 'ratio 0.2 [2,3,4]', inputs: [{ shape: [2, 3, 4] }, counter(123)], attrs: { ratio: 0.2, seed: 42 } },
    { label: 'ratio 0 (identity)', inputs: [{ shape: [6] }, counter(0)], attrs: { ratio: 0, seed: 1 } },
  ],
};

export const dropoutForward: ForwardCases = {};
