import type { OpDef } from './op-def.js';

/** (being written) */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DropoutOpsAttrs {}

export const dropoutOps: { [K in keyof DropoutOpsAttrs]: OpDef<DropoutOpsAttrs[K]> } = {};
