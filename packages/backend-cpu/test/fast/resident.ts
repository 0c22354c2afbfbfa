/**
 * Tensors placed in a WASM engine's shared heap, as a CpuBackend with `heap` places them, so the
 * conformance tests can run the fast kernels on resident operands (and on an output that is the
 * very buffer of an input, as the memory plan writes elementwise results in place).
 */
import { WasmEngine, type Engine } from '../../src/fast/index.js';
import type { CpuTensor } from '../../src/tensor.js';

export interface Residents {
  /** A resident copy of t. */
  place(t: CpuTensor): CpuTensor;
  /** Frees every block placed so far. */
  free(): void;
}

/** Residents on the engine's heap, or null when its memory cannot hold tensors (not shared). */
export function residents(e: Engine): Residents | null {
  const heap = e instanceof WasmEngine ? e.pinned() : undefined;
  if (!heap) return null;
  const blocks: number[] = [];
  return {
    place(t) {
      const at = heap.alloc(4 * Math.max(1, t.data.length));
      blocks.push(at);
      const data = new Float32Array(heap.buffer(), at, t.data.length);
      data.set(t.data);
      return { ...t, data, heap: heap.tag };
    },
    free() {
      for (const b of blocks.splice(0)) heap.free(b);
    },
  };
}
