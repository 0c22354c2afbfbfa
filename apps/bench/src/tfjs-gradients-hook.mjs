// Node module-resolution hook (module.register) for tfjs-core's unbundled ESM build: its files
// import siblings without extensions ('./gradients' next to a 'gradients/' folder), which Node's
// ESM resolver rejects. Only specifiers inside @tensorflow/tfjs-core/dist are rewritten.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && parent.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') && !/\.[cm]?js$/.test(specifier)) {
    const url = new URL(`${specifier}.js`, parent);
    if (existsSync(fileURLToPath(url))) return next(url.href, context);
  }
  return next(specifier, context);
}
