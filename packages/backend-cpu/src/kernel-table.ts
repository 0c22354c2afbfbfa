import type { AttrsOf, OpName } from '@pockengine/core';
import type { CpuTensor } from './tensor.js';

/** A CPU kernel: reads `inputs`, writes the preallocated `outputs` (shapes come from the IR). */
export type CpuKernel<A> = (inputs: readonly CpuTensor[], outputs: readonly CpuTensor[], attrs: A) => void;

/** The CPU backend's kernel table: one kernel per op, typed over the op-name union. */
export type CpuKernelTable = { [K in OpName]: CpuKernel<AttrsOf<K>> };
