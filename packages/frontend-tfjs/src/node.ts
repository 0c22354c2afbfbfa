/**
 * Node adapter: read a model.json and its shards from disk, and write an exported model.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { importTfjsModelFrom } from './import.js';
import type { ExportedLayersModel } from './layers/export.js';
import type { TfjsImportOptions, TfjsImportResult, TfjsModelJson } from './types.js';

/** Imports `path` (a model.json, layers or graph model); shards are read relative to it. */
export async function loadTfjsModel(path: string, opts: TfjsImportOptions = {}): Promise<TfjsImportResult> {
  const modelJson = JSON.parse(await readFile(path, 'utf8')) as TfjsModelJson;
  const dir = dirname(path);
  return importTfjsModelFrom(modelJson, async (p) => new Uint8Array(await readFile(join(dir, p))), { file: path, ...opts });
}

/** Writes model.json and its shard into `dir`; returns the model.json path. */
export async function saveTfjsModel(dir: string, exported: ExportedLayersModel): Promise<string> {
  await mkdir(dir, { recursive: true });
  const shard = exported.modelJson.weightsManifest?.[0]?.paths[0] ?? 'group1-shard1of1.bin';
  await writeFile(join(dir, shard), new Uint8Array(exported.weightData));
  const path = join(dir, 'model.json');
  await writeFile(path, JSON.stringify(exported.modelJson));
  return path;
}

export * from './index.js';
