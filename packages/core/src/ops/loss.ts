import type { OpDef } from './op-def.js';

/** (being written) */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LossOpsAttrs {}

export const lossOps: { [K in keyof LossOpsAttrs]: OpDef<LossOpsAttrs[K]> } = {};
