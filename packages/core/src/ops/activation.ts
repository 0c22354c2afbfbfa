import type { OpDef } from './op-def.js';

/** (being written) */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ActivationOpsAttrs {}

export const activationOps: { [K in keyof ActivationOpsAttrs]: OpDef<ActivationOpsAttrs[K]> } = {};
