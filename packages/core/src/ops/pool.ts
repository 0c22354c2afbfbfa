import type { OpDef } from './op-def.js';

/** (being written) */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PoolOpsAttrs {}

export const poolOps: { [K in keyof PoolOpsAttrs]: OpDef<PoolOpsAttrs[K]> } = {};
