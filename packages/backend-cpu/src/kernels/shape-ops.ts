/**
 * Data-movement kernels. Every index computation comes from core (sliceParams, gatherShape's
 * layout, normAxis); the kernels only walk strided views (broadcast.ts) or copy contiguous blocks.
 */
import { PockError, normAxis, size, sliceParams, stridesOf, type Shape, type SliceAttrs } from '@pockengine/core';
import type { CpuKernelTable } from '../kernel-table.js';
import type { CpuData, CpuTensor } from '../tensor.js';
import { broadcastView, forEachRow, type View } from './broadcast.js';

/** out[i] = src[view(i)] while walking `shape` (= out's shape) in row-major order. */
function gatherView(src: CpuData, view: View, shape: Shape, out: CpuData): void {
  forEachRow(shape, [view], (o, [s], len, [st]) => {
    for (let j = 0; j < len; j++) out[o + j] = src[s! + j * st!]!;
  });
}

/** dst[view(i)] = src[i] while walking `shape` (= src's shape) in row-major order. */
function scatterView(src: CpuData, view: View, shape: Shape, dst: CpuData): void {
  forEachRow(shape, [view], (o, [d], len, [st]) => {
    for (let j = 0; j < len; j++) dst[d! + j * st!] = src[o + j]!;
  });
}

/** The elements of a tensor of `shape` selected by a slice, as a view: start offset, strides * steps. */
function sliceView(shape: Shape, attrs: SliceAttrs): { view: View; shape: number[] } {
  const p = sliceParams(shape, attrs);
  const strides = stridesOf(shape);
  const offset = p.start.reduce((acc, s, i) => acc + s * strides[i]!, 0);
  return { view: { offset, strides: strides.map((s, i) => s * p.step[i]!) }, shape: p.shape };
}

/** [outer, d, inner] sizes of `shape` around axis `ax`. */
function aroundAxis(shape: Shape, ax: number) {
  return { outer: size(shape.slice(0, ax)), d: shape[ax]!, inner: size(shape.slice(ax + 1)) };
}

/**
 * Normalised gather/scatter indices: negative ones count from the end (numpy take). An index
 * outside [-d, d) is an input error naming the index, never a read of garbage.
 */
function checkedIndices(indices: CpuTensor, d: number, op: string, axis: number): Int32Array {
  const src = indices.data;
  const idx = new Int32Array(src.length);
  for (let t = 0; t < src.length; t++) {
    const raw = src[t]!;
    const v = raw < 0 ? raw + d : raw;
    if (!(v >= 0 && v < d))
      throw new PockError('input', `index ${raw} (at position ${t} of the indices) is out of range for axis ${axis} of size ${d}`, { op });
    idx[t] = v;
  }
  return idx;
}

export const shapeOpsKernels = {
  // in place (the plan aliases a reshape of a dying temporary): the same bytes, nothing to move
  reshape: ([x], [out]) => {
    if (x!.data.buffer !== out!.data.buffer || x!.data.byteOffset !== out!.data.byteOffset) out!.data.set(x!.data);
  },

  transpose: ([x], [out], { perm }) => {
    const strides = stridesOf(x!.shape);
    gatherView(x!.data, { offset: 0, strides: perm.map((p) => strides[p]!) }, out!.shape, out!.data);
  },

  concat: (inputs, [out], { axis }) => {
    const ax = normAxis(axis, out!.shape.length);
    const { outer, d, inner } = aroundAxis(out!.shape, ax);
    const od = out!.data;
    let at = 0;
    for (const x of inputs) {
      const chunk = x.shape[ax]! * inner;
      for (let o = 0; o < outer; o++) od.set(x.data.subarray(o * chunk, (o + 1) * chunk), o * d * inner + at);
      at += chunk;
    }
  },

  split: ([x], outputs, { axis }) => {
    const ax = normAxis(axis, x!.shape.length);
    const { outer, d, inner } = aroundAxis(x!.shape, ax);
    const xd = x!.data;
    let at = 0;
    for (const out of outputs) {
      const chunk = out.shape[ax]! * inner;
      for (let o = 0; o < outer; o++) {
        const from = o * d * inner + at;
        out.data.set(xd.subarray(from, from + chunk), o * chunk);
      }
      at += chunk;
    }
  },

  slice: ([x], [out], attrs) => {
    const s = sliceView(x!.shape, attrs);
    gatherView(x!.data, s.view, s.shape, out!.data);
  },

  // zeros, with the gradient written back where the slice read (slices never repeat an element)
  slice_grad: ([g], [out], attrs) => {
    out!.data.fill(0);
    const s = sliceView(attrs.inputShape, attrs);
    scatterView(g!.data, s.view, s.shape, out!.data);
  },

  pad: ([x], [out], { pads, value }) => {
    // x lands at offset pads[begin] inside the filled output (ONNX Pad, constant mode)
    const strides = stridesOf(out!.shape);
    out!.data.fill(value);
    const offset = strides.reduce((acc, s, i) => acc + s * pads[i]!, 0);
    scatterView(x!.data, { offset, strides }, x!.shape, out!.data);
  },

  expand: ([x], [out]) => gatherView(x!.data, broadcastView(x!.shape, out!.shape), out!.shape, out!.data),

  // out[pre, t, post] = data[pre, indices[t], post] (numpy take along axis)
  gather: ([data, indices], [out], { axis }) => {
    const ax = normAxis(axis, data!.shape.length);
    const { outer, d, inner } = aroundAxis(data!.shape, ax);
    const idx = checkedIndices(indices!, d, 'gather', axis);
    const dd = data!.data;
    const od = out!.data;
    const ni = idx.length;
    for (let o = 0; o < outer; o++)
      for (let t = 0; t < ni; t++) {
        const from = (o * d + idx[t]!) * inner;
        od.set(dd.subarray(from, from + inner), (o * ni + t) * inner);
      }
  },

  // the adjoint of gather: zeros(shape), then out[pre, indices[t], post] += updates[pre, t, post]
  scatter_add: ([indices, updates], [out], { axis, shape }) => {
    const ax = normAxis(axis, shape.length);
    const { outer, d, inner } = aroundAxis(shape, ax);
    const idx = checkedIndices(indices!, d, 'scatter_add', axis);
    const ud = updates!.data;
    const od = out!.data;
    const ni = idx.length;
    od.fill(0);
    for (let o = 0; o < outer; o++)
      for (let t = 0; t < ni; t++) {
        const to = (o * d + idx[t]!) * inner;
        const from = (o * ni + t) * inner;
        for (let j = 0; j < inner; j++) od[to + j] += ud[from + j]!;
      }
  },
} satisfies Partial<CpuKernelTable>;
