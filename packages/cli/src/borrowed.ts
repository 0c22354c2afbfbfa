/**
 * Kernels borrowed from TF.js's WebAssembly backend (XNNPACK, SIMD) as one more candidate of
 * backend switching (`--borrow tfjs-wasm`): matmul and conv2d forward (dense and depthwise; NCHW
 * is transposed to TF.js's NHWC and back, a fused bias and relu / relu6 ride on XNNPACK's
 * epilogue). Each kernel copies its operands into TF.js tensors and the result out, and is used
 * only where measuring at bind time finds it fastest (`pockengine compile --json` lists the times).
 * Instances these kernels cannot express throw, which switching records as never chosen.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { CpuKernelTable, CpuTensor, KernelImpl } from '@pockengine/backend-cpu';
import { convGeometry } from '@pockengine/core';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tensor = import('@tensorflow/tfjs-core').Tensor;

let loaded: Promise<{ tf: Tf; engine: string }> | undefined;

/** tfjs-core on its wasm backend (the .wasm binaries are read from the package's dist folder). */
async function loadTfWasm(): Promise<{ tf: Tf; engine: string }> {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend failed to initialise');
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  return { tf, engine: `tfjs-backend-wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'threads' : '1 thread'})` };
}

const f32 = (t: CpuTensor) => {
  if (t.dtype !== 'float32') throw new Error('tfjs-wasm kernels take float32 only');
  return t.data as Float32Array;
};

function kernels(tf: Tf): Partial<CpuKernelTable> {
  return {
    matmul: ([a, b], [out], attrs) => {
      const ra = a!.shape.length;
      const rb = b!.shape.length;
      if (ra < 2 || rb < 2) throw new Error('matmul of vectors');
      const r: Tensor = tf.tidy(() => {
        let x: Tensor = tf.tensor(f32(a!), [...a!.shape]);
        let y: Tensor = tf.tensor(f32(b!), [...b!.shape]);
        // batched x plain: fold the batch into the rows (x not transposed), else broadcast the batch
        if (ra > 2 && rb === 2 && !attrs.transA) {
          const rows = a!.shape.slice(0, -1).reduce((p, d) => p * d, 1);
          return tf.matMul(tf.reshape(x, [rows, a!.shape[ra - 1]!]), y, false, attrs.transB);
        }
        const batch = out!.shape.slice(0, -2);
        if (ra - 2 !== batch.length || !a!.shape.slice(0, -2).every((d, i) => d === batch[i])) x = tf.broadcastTo(x, [...batch, ...a!.shape.slice(-2)]);
        if (rb - 2 !== batch.length || !b!.shape.slice(0, -2).every((d, i) => d === batch[i])) y = tf.broadcastTo(y, [...batch, ...b!.shape.slice(-2)]);
        return tf.matMul(x, y, attrs.transA, attrs.transB);
      });
      (out!.data as Float32Array).set(r.dataSync() as Float32Array);
      r.dispose();
    },
    conv2d: ([x, w, bias], [y], attrs) => {
      const g = convGeometry(x!.shape, w!.shape, attrs);
      const depthwise = g.groups === g.c && g.cPerGroup === 1;
      if (g.groups !== 1 && !depthwise) throw new Error('grouped conv2d');
      const act = attrs.activation ?? 'none';
      const [padTop, padLeft, padBottom, padRight] = attrs.pads as [number, number, number, number];
      const r: Tensor = tf.tidy(() => {
        let xh: import('@tensorflow/tfjs-core').Tensor4D = tf.transpose(tf.tensor4d(f32(x!), x!.shape as [number, number, number, number]), [0, 2, 3, 1]);
        if (padTop || padLeft || padBottom || padRight) xh = tf.pad(xh, [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]]);
        const wt = tf.tensor4d(f32(w!), w!.shape as [number, number, number, number]);
        const common = {
          x: xh,
          strides: [g.sh, g.sw] as [number, number],
          pad: 'valid' as const,
          dilations: [g.dh, g.dw] as [number, number],
          bias: bias ? tf.tensor1d(f32(bias)) : undefined,
          activation: act === 'none' ? ('linear' as const) : act,
        };
        const out = depthwise
          ? tf.fused.depthwiseConv2d({ ...common, filter: tf.transpose(wt, [2, 3, 0, 1]) }) // [kh, kw, C, 1]
          : tf.fused.conv2d({ ...common, filter: tf.transpose(wt, [2, 3, 1, 0]) }); // HWIO
        return tf.transpose(out, [0, 3, 1, 2]);
      });
      (y!.data as Float32Array).set(r.dataSync() as Float32Array);
      r.dispose();
    },
  };
}

/** The borrowed kernels as a switching candidate, or why they are unavailable here. */
export async function tfjsWasmKernels(): Promise<{ impl: KernelImpl; engine: string }> {
  loaded ??= loadTfWasm();
  const { tf, engine } = await loaded;
  return { impl: { name: 'tfjs-wasm', kernels: kernels(tf) }, engine };
}
