/**
 * Core and the CPU backend run in a browser: bundled for the browser platform (a Node-only
 * import anywhere would fail the bundle) and executed in headless Chromium, where an MLP is
 * compiled and trained with the reference kernels and with the WASM-SIMD ones.
 * Needs Debian's `chromium` (.ci/run installs it); elsewhere the test is skipped, saying why.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
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

  it.skipIf(!CHROMIUM)(`trains an MLP in headless Chromium${CHROMIUM ? '' : ' (skipped: no /usr/bin/chromium; apt-get install chromium)'}`, async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./browser/entry.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      alias: { '@pockengine/core': src('core'), '@pockengine/backend-cpu': src('backend-cpu') },
      logLevel: 'silent',
    });
    const dir = mkdtempSync(join(tmpdir(), 'pockengine-browser-'));
    const html = join(dir, 'index.html');
    writeFileSync(html, `<!doctype html><html><body>running</body><script type="module">${bundle.outputFiles[0]!.text.replace(/<\/script/g, '<\\/script')}</script></html>`);
    const dom = execFileSync(
      CHROMIUM!,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', `--user-data-dir=${join(dir, 'profile')}`, '--virtual-time-budget=20000', '--dump-dom', `file://${html}`],
      { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const m = /RESULT (\{.*\})/.exec(dom);
    expect(m, dom.slice(0, 500)).not.toBeNull();
    const r = JSON.parse(m![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as { reference?: number[]; wasm?: number[]; error?: string };
    expect(r.error).toBeUndefined();
    for (const losses of [r.reference!, r.wasm!]) {
      expect(losses).toHaveLength(40);
      expect(losses.at(-1)!).toBeLessThan(0.1 * losses[0]!);
    }
  });
});
