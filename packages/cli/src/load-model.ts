/**
 * Model files the CLI understands, by kind: `.onnx` (PyTorch exports), TF.js `model.json`,
 * and jax-js modules (`.mjs` / `.js` default-exporting { apply, params, inputs }).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { PockError, writeSafetensors, type Graph, type Tensor } from '@pockengine/core';
import { decodeOnnx, exportOnnx, exportWeights } from '@pockengine/frontend-onnx';
import { loadOnnxFile } from '@pockengine/frontend-onnx/node';
import { exportSafetensors, loadJaxModel, traceJax } from '@pockengine/frontend-jax/node';
import { exportLayersModel, loadTfjsModel, saveTfjsModel, type TfjsModelJson } from '@pockengine/frontend-tfjs/node';

export type ModelKind = 'onnx' | 'tfjs' | 'jax';

export interface LoadOptions {
  shapes?: Record<string, number[]>;
  batchNorm?: 'train' | 'frozen';
  dropout?: 'off' | 'on';
}

export interface LoadedModel {
  kind: ModelKind;
  file: string;
  graph: Graph;
  /** Writes the model with updated weights in its own format; returns the files written. */
  save(weights: ReadonlyMap<string, Tensor>, outDir: string): Promise<string[]>;
  /** A summary line for reports (opset, producer, ...). */
  describe: string;
}

/** A model's declared inputs, before any shape is fixed (null: a dynamic dim). */
export async function probeInputs(path: string): Promise<{ name: string; dims: (number | null)[] }[]> {
  const kind = modelKind(path);
  const dim = (d: unknown) => (typeof d === 'number' && d > 0 ? d : null);
  if (kind === 'onnx') {
    const m = decodeOnnx(new Uint8Array(readFileSync(path)), basename(path));
    const inits = new Set(m.graph.initializers.map((t) => t.name));
    return m.graph.inputs.filter((i) => !inits.has(i.name)).map((i) => ({ name: i.name, dims: (i.dims ?? []).map(dim) }));
  }
  if (kind === 'jax') {
    const m = await loadJaxModel(path);
    return Object.entries(m.inputs).map(([name, [shape]]) => ({ name, dims: [...shape] }));
  }
  const r = await loadTfjsModel(path, { batchSize: 1 });
  return r.graph.inputs.map((i) => ({ name: r.graph.values[i]!.name, dims: [null, ...r.graph.values[i]!.shape.slice(1)] }));
}

export function modelKind(path: string): ModelKind {
  if (path.endsWith('.onnx')) return 'onnx';
  if (path.endsWith('.json')) return 'tfjs';
  if (/\.(m?js|cjs)$/.test(path)) return 'jax';
  throw new PockError('input', `cannot tell the model kind of '${path}': expected an .onnx file, a TF.js model.json, or a jax-js module (.mjs)`, { file: path });
}

export async function loadModel(path: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  const kind = modelKind(path);
  if (kind === 'onnx') {
    const m = loadOnnxFile(path, { inputShapes: opts.shapes, batchNorm: opts.batchNorm, dropout: opts.dropout });
    return {
      kind,
      file: path,
      graph: m.graph,
      describe: `ONNX IR ${m.irVersion}, opset ${m.opset}, producer '${m.producer}', ${m.mapped} nodes mapped, ${m.folded} folded at import`,
      save: async (weights, outDir) => {
        const original = new Uint8Array(readFileSync(path));
        const stem = basename(path, '.onnx');
        const onnx = `${outDir}/${stem}.tuned.onnx`;
        const st = `${outDir}/${stem}.tuned.safetensors`;
        writeOut(onnx, exportOnnx(original, weights));
        writeOut(st, exportWeights(original, weights));
        return [onnx, st];
      },
    };
  }
  return loadOtherKinds(kind, path, opts);
}

export function writeOut(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

async function loadOtherKinds(kind: ModelKind, path: string, opts: LoadOptions): Promise<LoadedModel> {
  if (kind === 'jax') return loadJax(path, opts);
  return loadTfjs(path, opts);
}

async function loadTfjs(path: string, opts: LoadOptions): Promise<LoadedModel> {
  const r = await loadTfjsModel(path, { inputShapes: opts.shapes, batchNorm: opts.batchNorm });
  const modelJson = JSON.parse(readFileSync(path, 'utf8')) as TfjsModelJson;
  return {
    kind: 'tfjs',
    file: path,
    graph: r.graph,
    describe: `TF.js ${r.kind} model${r.outputIsLogitsOfSoftmax ? ' (final softmax fused into the loss)' : ''}`,
    save: async (weights, outDir) => {
      if (r.kind !== 'layers') {
        const st = `${outDir}/weights.tuned.safetensors`;
        writeOut(st, writeSafetensors(new Map(weights), { format: 'pockengine-tfjs/1' }));
        return [st];
      }
      return [await saveTfjsModel(outDir, exportLayersModel(modelJson, weights))];
    },
  };
}

async function loadJax(path: string, opts: LoadOptions): Promise<LoadedModel> {
  const m = await loadJaxModel(path);
  const inputs = { ...m.inputs };
  for (const [name, shape] of Object.entries(opts.shapes ?? {})) {
    if (!inputs[name]) throw new PockError('input', `--shape names '${name}', which is not an input of the model (inputs: ${Object.keys(inputs).join(', ')})`, { file: path });
    inputs[name] = [shape, inputs[name]![1]];
  }
  const t = traceJax(m.apply, m.params, inputs, { file: basename(path), ...m.options });
  const prims = Object.entries(t.counts).length;
  return {
    kind: 'jax',
    file: path,
    graph: t.graph,
    describe: `jax-js module, ${t.params.length} params, ${prims} primitive kinds traced`,
    save: async (weights, outDir) => {
      const stem = basename(path).replace(/\.(m?js|cjs)$/, '');
      const st = `${outDir}/${stem}.tuned.safetensors`;
      writeOut(st, exportSafetensors(weights, { format: 'pockengine-jax/1', model: basename(path) }));
      return [st];
    },
  };
}
