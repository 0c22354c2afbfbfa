import type { Attrs, TypeInfo } from '../ir/graph.js';
import type { OpName } from '../ops/registry.js';
import type { Tensor } from '../tensor.js';

/** One op instance of a compiled program, as a backend sees it when preparing a kernel. */
export interface KernelSpec {
  op: OpName;
  attrs: Attrs;
  inputs: readonly TypeInfo[];
  outputs: readonly TypeInfo[];
  /** Source node name, for error messages. */
  node: string;
}

/** A kernel bound to one op instance: runs (or enqueues) the op on backend buffers. */
export type BoundKernel<B> = (inputs: readonly B[], outputs: readonly B[]) => void;

/**
 * A backend owns its buffers and kernels. Work may be asynchronous (WebGPU): `run` of a bound
 * kernel may only enqueue; `read` resolves once results are ready.
 */
export interface Backend<B = unknown> {
  readonly name: string;
  /** A kernel for this op instance, or undefined when the backend cannot run it. */
  prepare(spec: KernelSpec): BoundKernel<B> | undefined;
  alloc(t: TypeInfo): B;
  free(buf: B): void;
  write(buf: B, data: Tensor): void;
  read(buf: B): Promise<Tensor>;
  /** Bytes currently allocated by this backend (for checking the memory plan). */
  allocatedBytes(): number;
  /** Highest `allocatedBytes()` since the last reset. */
  peakBytes(): number;
  resetPeak(): void;
}
