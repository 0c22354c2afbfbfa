import type { Act } from '../../layout.js';
import type { LayerContext } from '../context.js';

/**
 * A handler maps one call of a Keras layer to IR and returns its output tensors (one per
 * output of the layer). Handlers are named exactly after the TF.js layer class they handle.
 */
export type LayerHandler = (ctx: LayerContext) => Act[];
export type LayerHandlerTable = Record<string, LayerHandler>;
