/**
 * The layer handler table: one handler per TF.js layer class, named exactly after it
 * (`layer.getClassName()` / model.json `class_name`), grouped by family.
 */
import { ACTIVATIONS } from '../../activations.js';
import { convHandlers } from './conv.js';
import { coreHandlers } from './core.js';
import { mergeHandlers } from './merge.js';
import { normHandlers } from './norm.js';
import { poolHandlers } from './pool.js';
import { recurrentHandlers } from './recurrent.js';
import type { LayerHandler, LayerHandlerTable } from './types.js';
import { timeDistributed } from './wrappers.js';

const table: LayerHandlerTable = {
  ...coreHandlers,
  ...convHandlers,
  ...poolHandlers,
  ...mergeHandlers,
  ...normHandlers,
  ...recurrentHandlers,
  TimeDistributed: (ctx) => timeDistributed(ctx, table),
};
export const LAYER_HANDLERS: Readonly<LayerHandlerTable> = table;

/** Coverage of the layers importer: layer classes and `activation` names (normalized). */
export const SUPPORTED_LAYERS: readonly string[] = Object.keys(LAYER_HANDLERS).sort();
export const SUPPORTED_ACTIVATIONS = ACTIVATIONS;

export type { LayerHandler, LayerHandlerTable };
