import type { OpDef } from './op-def.js';

/** (being written) */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ConvOpsAttrs {}

export const convOps: { [K in keyof ConvOpsAttrs]: OpDef<ConvOpsAttrs[K]> } = {};
