import type { Attrs, TypeInfo } from '../ir/graph.js';
import type { OpName } from '../ops/registry.js';
import type { Tensor } from '../tensor.js';

/** One op instance of a compiled program, as a backend sees it when preparing a kernel. */
export interface KernelSpec {
  op: OpName;
  attrs: Attrs;
  inputs: readonly TypeInfo[];
  outputs: readonly TypeInfo[];
  /** Per output: index of the input whose buffer it overwrites in place (null: a fresh buffer). */
  inPlace?: readonly (number | null)[];
  /** Source node name, for error messages. */
  node: string;
}

/** A kernel bound to one op instance: runs (or enqueues) the op on backend buffers. */
export type BoundKernel<B> = (inputs: readonly B[], outputs: readonly B[]) => void;

/**
 * A backend owns its buffers and kernels. Work may be asynchronous (WebGPU): a bound kernel may
 * only enqueue; `read` resolves once results are ready.
 *
 * Memory: a program allocates every persistent buffer (weights, state, inputs) with `alloc` and
 * ONE arena of the planned size with `allocArena`; temporaries are `view`s at planned offsets.
 * Output buffers handed to a kernel hold stale data from earlier tenants of the arena: kernels
 * must write every element of their outputs.
 */
export interface Backend<B = unknown> {
  readonly name: string;
  /** Alignment (bytes) the backend needs for arena offsets. */
  readonly arenaAlignment: number;
  /** A kernel for this op instance, or undefined when the backend cannot run it. */
  prepare(spec: KernelSpec): BoundKernel<B> | undefined;
  alloc(t: TypeInfo): B;
  /** One block of `bytes` for all temporaries of a program. */
  allocArena(bytes: number): B;
  /** A typed buffer over `arena` at byte `offset`. */
  view(arena: B, offset: number, t: TypeInfo): B;
  free(buf: B): void;
  write(buf: B, data: Tensor): void;
  copy(src: B, dst: B): void;
  read(buf: B): Promise<Tensor>;
  /** Bytes currently allocated by this backend (what it really holds; views are free). */
  allocatedBytes(): number;
  /** Highest `allocatedBytes()` since the last reset. */
  peakBytes(): number;
  resetPeak(): void;
}
