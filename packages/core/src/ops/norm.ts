import type { OpDef } from './op-def.js';

/** (being written) */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NormOpsAttrs {}

export const normOps: { [K in keyof NormOpsAttrs]: OpDef<NormOpsAttrs[K]> } = {};
