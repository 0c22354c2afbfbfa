/**
 * Core and the CPU backend run in a browser: bundled for the browser platform (a Node-only
 * import anywhere would fail the bundle) and executed in headless Chromium, where an MLP is
 * compiled and trained with the reference kernels, with the WASM-SIMD ones, and (the page served
 * with COOP/COEP headers, so cross-origin isolated) with the threaded engine: Web Workers over
 * shared WASM memory holding the program's buffers; a wider model (GEMMs split across the
 * workers by an atomic chunk counter, a batched matmul, layer norm) must follow the reference
 * kernels' losses there.
 * Needs Debian's `chromium` (.ci/run installs it); elsewhere the test is skipped, saying why.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const src = (p: string) => fileURLToPath(new URL(`../../${p}/src/index.ts`, import.meta.url));

describe('in a browser', () => {
  it.each(['core', 'backend-cpu', 'frontend-onnx', 'frontend-tfjs', 'frontend-jax'])('@pockengine/%s bundles for the browser (no Node-only imports)', async (pkg) => {
    const r = await build({
      entryPoints: [src(pkg)],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      alias: { '@pockengine/core': src('core') },
      logLevel: 'silent',
    });
    expect(r.errors).toEqual([]);
    expect(r.outputFiles[0]!.text.length).toBeGreaterThan(1000);
  });

  /** Serves the bundled entry over HTTP with the headers that make a page cross-origin isolated. */
  async function servePage(): Promise<{ url: string; close: () => void }> {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./browser/entry.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      alias: { '@pockengine/core': src('core'), '@pockengine/backend-cpu': src('backend-cpu') },
      logLevel: 'silent',
    });
    const page = `<!doctype html><html><body>running</body><script type="module">${bundle.outputFiles[0]!.text.replace(/<\/script/g, '<\\/script')}</script></html>`;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.end(page);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
  }

  it.skipIf(!CHROMIUM)(`trains an MLP in headless Chromium, with Web Workers on a cross-origin-isolated page${CHROMIUM ? '' : ' (skipped: no /usr/bin/chromium; apt-get install chromium)'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pockengine-browser-'));
    const { url, close } = await servePage();
    let dom: string;
    try {
      // asynchronous: this process serves the page while Chromium loads it
      ({ stdout: dom } = await promisify(execFile)(
        CHROMIUM!,
        ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', `--user-data-dir=${join(dir, 'profile')}`, '--virtual-time-budget=30000', '--dump-dom', url],
        { encoding: 'utf8', timeout: 120_000 },
      ));
    } finally {
      close();
    }
    const m = /RESULT (\{.*\})/.exec(dom);
    expect(m, dom.slice(0, 500)).not.toBeNull();
    const r = JSON.parse(m![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as {
      reference?: number[];
      wasm?: number[];
      threaded?: number[];
      wideReference?: number[];
      wideThreaded?: number[];
      isolated?: boolean;
      zeroCopy?: boolean;
      threads?: { engine: string; threads: number; sharedMemory: boolean; singleThreadReason?: string };
      error?: string;
    };
    expect(r.error).toBeUndefined();
    expect(r.isolated).toBe(true);
    expect(r.threads).toEqual({ engine: 'wasm-simd-threads', threads: 2, simd: true, sharedMemory: true, relaxedSimd: true });
    expect(r.zeroCopy).toBe(true);
    for (const losses of [r.reference!, r.wasm!, r.threaded!]) {
      expect(losses).toHaveLength(40);
      expect(losses.at(-1)!).toBeLessThan(0.1 * losses[0]!);
    }
    // the threaded fast kernels (split and batched GEMMs, layer norm) follow the reference kernels'
    // trajectory: float32 rounding differences only
    expect(r.wideThreaded).toHaveLength(6);
    expect(r.wideReference).toHaveLength(6);
    r.wideThreaded!.forEach((l, i) => expect(Math.abs(l - r.wideReference![i]!), `step ${i}: ${l} vs ${r.wideReference![i]}`).toBeLessThan(1e-4 * Math.abs(r.wideReference![i]!)));
    expect(r.wideThreaded!.at(-1)!).toBeLessThan(r.wideThreaded![0]!);
  });
});
