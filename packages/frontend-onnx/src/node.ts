/**
 * Node-only adapter: load an .onnx file and its external data files from disk. External data
 * locations are resolved relative to the model's folder and may not leave it.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import { PockError } from '@pockengine/core';
import type { ImportOptions } from './context.js';
import { importOnnx, type ImportedModel } from './import.js';

/** A resolver reading external data files next to `modelPath` (each file read once). */
export function externalDataFrom(modelPath: string): (location: string) => Uint8Array {
  const dir = dirname(resolve(modelPath));
  const cache = new Map<string, Uint8Array>();
  return (location) => {
    const full = resolve(dir, location);
    const rel = relative(dir, full);
    if (isAbsolute(location) || rel.startsWith('..') || isAbsolute(rel))
      throw new PockError('import', `external data location '${location}' points outside the model's folder`, { file: basename(modelPath) });
    let bytes = cache.get(full);
    if (!bytes) {
      try {
        bytes = new Uint8Array(readFileSync(full));
      } catch (e) {
        throw new PockError('import', `cannot read external data file '${location}': ${(e as Error).message}`, { file: basename(modelPath) });
      }
      cache.set(full, bytes);
    }
    return bytes;
  };
}

/** Reads and imports an .onnx file (with external data files beside it). */
export function loadOnnxFile(path: string, opts: ImportOptions = {}): ImportedModel {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new PockError('import', `cannot read '${path}': ${(e as Error).message}`, { file: path });
  }
  return importOnnx(bytes, { file: basename(path), externalData: externalDataFrom(path), ...opts });
}

export { importOnnx, type ImportedModel, type ImportOptions };
