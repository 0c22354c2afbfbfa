/**
 * What the layer and GraphDef handler contexts share: the importer state (graph builder,
 * options), the location every error names, and the two ways a handler gives up.
 */
import { PockError, type ErrorCode, type ErrorLocation, type GraphBuilder } from '@pockengine/core';
import type { TfjsImportOptions } from './types.js';

export abstract class HandlerContext<S extends { readonly b: GraphBuilder; readonly opts: TfjsImportOptions }> {
  protected constructor(
    protected readonly state: S,
    readonly where: ErrorLocation,
  ) {}

  get b(): GraphBuilder {
    return this.state.b;
  }
  get opts(): TfjsImportOptions {
    return this.state.opts;
  }

  fail(message: string, code: ErrorCode = 'attr'): never {
    throw new PockError(code, message, this.where);
  }
  /** A configuration the importer does not map: collected with the model's other unsupported ops / layers. */
  unsupported(message: string): never {
    throw new PockError('unsupported-op', message, this.where);
  }
}
