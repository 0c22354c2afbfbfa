import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (p: string) => fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url));

// Tests import packages from source, so `npm test` needs no build.
export default defineConfig({
  resolve: {
    alias: {
      '@pockengine/core': pkg('core'),
      '@pockengine/backend-cpu': pkg('backend-cpu'),
      '@pockengine/frontend-onnx/node': fileURLToPath(new URL('./packages/frontend-onnx/src/node.ts', import.meta.url)),
      '@pockengine/frontend-onnx': pkg('frontend-onnx'),
      '@pockengine/frontend-tfjs/node': fileURLToPath(new URL('./packages/frontend-tfjs/src/node.ts', import.meta.url)),
      '@pockengine/frontend-tfjs': pkg('frontend-tfjs'),
      '@pockengine/frontend-jax/node': fileURLToPath(new URL('./packages/frontend-jax/src/node.ts', import.meta.url)),
      '@pockengine/frontend-jax': pkg('frontend-jax'),
      '@pockengine/cli': pkg('cli'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
