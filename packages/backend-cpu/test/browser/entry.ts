// Runs in headless Chromium (see browser.test.ts): core + backend-cpu, bundled for the browser,
// compile and train an MLP with the reference kernels and with the WASM-SIMD ones, and a wider
// model (split GEMMs, a batched matmul, layer norm) on the threaded engine against the reference.
import { GraphBuilder, compileTraining, nn, rng, tensor } from '@pockengine/core';
import { CPU_KERNELS, CpuBackend, FAST_KERNELS, fastHeap, initFastKernels } from '@pockengine/backend-cpu';

function run(kernels: ConstructorParameters<typeof CpuBackend>[0], opts: ConstructorParameters<typeof CpuBackend>[1] = {}): number[] {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', 'float32', [30, 2]);
  const h = nn.dense(b, x, 16, 'fc1', { activation: 'relu', seed: 1 });
  b.output('logits', nn.dense(b, h, 3, 'fc2', { seed: 2 }));
  const prog = compileTraining(b.build(), { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 } }, new CpuBackend(kernels, opts));
  const r = rng(3);
  const c = [[2, 0], [-1, 1.7], [-1, -1.7]];
  const xs = new Float32Array(60);
  const ys: number[] = [];
  for (let i = 0; i < 30; i++) {
    xs[2 * i] = c[i % 3]![0]! + (r() - 0.5);
    xs[2 * i + 1] = c[i % 3]![1]! + (r() - 0.5);
    ys.push(i % 3);
  }
  const feeds = { x: tensor('float32', [30, 2], xs), labels: tensor('int64', [30], ys) };
  const losses: number[] = [];
  // Program.step is async only to fit asynchronous backends; the CPU one finishes synchronously
  for (let s = 0; s < 40; s++) void prog.step(feeds).then((o) => losses.push(Number(o.loss!.data[0])));
  return losses;
}

/**
 * A wider model whose GEMMs are large enough to split across threads (gemm_tiles' chunk counter,
 * a batched matmul) with a layer norm between: 6 steps of losses, to compare between kernel sets.
 */
function runWide(kernels: ConstructorParameters<typeof CpuBackend>[0], opts: ConstructorParameters<typeof CpuBackend>[1] = {}): number[] {
  const b = new GraphBuilder('wide');
  const x = b.input('x', 'float32', [128, 128]);
  // 128 x 128 x 512: 8M multiply-adds, split across the threads
  const h = nn.dense(b, x, 512, 'fc1', { activation: 'relu', seed: 4 });
  const scale = b.param('ln.scale', tensor('float32', [512], new Float32Array(512).fill(1)));
  const shift = b.param('ln.bias', tensor('float32', [512], new Float32Array(512)));
  const [n] = b.op('layer_norm', [h, scale, shift], { axis: 1, epsilon: 1e-5 });
  // a batched matmul [4, 32, 512] x [4, 512, 64] (4M multiply-adds, affine batch indices: one batched GEMM)
  const wr = rng(7);
  const w3 = b.param('mix', tensor('float32', [4, 512, 64], Float32Array.from({ length: 4 * 512 * 64 }, () => (wr() - 0.5) * 0.1)));
  const mixed = b.reshape(b.matmul(b.reshape(n!, [4, 32, 512]), w3), [128, 64]);
  b.output('logits', b.add(nn.dense(b, n!, 4, 'fc2', { seed: 5 }), nn.dense(b, mixed, 4, 'fc3', { seed: 8 })));
  const prog = compileTraining(b.build(), { loss: { kind: 'cross-entropy' }, optimizer: { kind: 'sgd', lr: 0.05 } }, new CpuBackend(kernels, opts));
  const r = rng(6);
  const xs = Float32Array.from({ length: 128 * 128 }, () => r() - 0.5);
  const feeds = { x: tensor('float32', [128, 128], xs), labels: tensor('int64', [128], Array.from({ length: 128 }, (_, i) => i % 4)) };
  const losses: number[] = [];
  for (let s = 0; s < 6; s++) void prog.step(feeds).then((o) => losses.push(Number(o.loss!.data[0])));
  return losses;
}

async function main() {
  const out: Record<string, unknown> = { userAgent: navigator.userAgent };
  try {
    out.reference = run(CPU_KERNELS);
    out.wideReference = runWide(CPU_KERNELS);
    out.wasm = run([{ name: 'js', kernels: CPU_KERNELS }, { name: 'wasm-simd', kernels: FAST_KERNELS }]);
    // on a cross-origin-isolated page: Web Workers over shared WASM memory, program buffers in the heap
    out.isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    if (out.isolated) {
      // the test runs Chromium with --virtual-time-budget: the page's clock may jump ahead while the
      // workers load, so the start timeout is set far beyond the budget (it cannot fire early)
      out.threads = await initFastKernels({ threads: 2, startTimeoutMs: 3_600_000 });
      out.zeroCopy = fastHeap() !== undefined;
      out.threaded = run([{ name: 'js', kernels: CPU_KERNELS }, { name: 'wasm-simd', kernels: FAST_KERNELS }], { heap: fastHeap() });
      out.wideThreaded = runWide({ ...CPU_KERNELS, ...FAST_KERNELS }, { heap: fastHeap() });
    }
  } catch (e) {
    out.error = String((e as Error).stack ?? e);
  }
  await new Promise((r) => setTimeout(r, 50));
  document.body.textContent = `RESULT ${JSON.stringify(out)}`;
}
void main();
