// Runs in headless Chromium (see browser.test.ts): core + backend-cpu, bundled for the browser,
// compile and train an MLP with the reference kernels and with the WASM-SIMD ones.
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

async function main() {
  const out: Record<string, unknown> = { userAgent: navigator.userAgent };
  try {
    out.reference = run(CPU_KERNELS);
    out.wasm = run([{ name: 'js', kernels: CPU_KERNELS }, { name: 'wasm-simd', kernels: FAST_KERNELS }]);
    // on a cross-origin-isolated page: Web Workers over shared WASM memory, program buffers in the heap
    out.isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    if (out.isolated) {
      out.threads = await initFastKernels({ threads: 2 });
      out.zeroCopy = fastHeap() !== undefined;
      out.threaded = run([{ name: 'js', kernels: CPU_KERNELS }, { name: 'wasm-simd', kernels: FAST_KERNELS }], { heap: fastHeap() });
    }
  } catch (e) {
    out.error = String((e as Error).stack ?? e);
  }
  await new Promise((r) => setTimeout(r, 50));
  document.body.textContent = `RESULT ${JSON.stringify(out)}`;
}
void main();
