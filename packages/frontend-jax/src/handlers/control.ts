/**
 * `jit` (nested jit / pjit / closed_call in JAX terms): its jaxpr is inlined into the graph.
 * jax-js implements several library functions as jitted compositions of primitives (np.tanh,
 * np.power, nn.gelu, nn.silu). When a jit's body is exactly the body jax-js's own function
 * traces to for the same argument types (compared by structural signature, not by name alone),
 * the jit becomes the one IR op instead: fewer nodes, and np.power needs no idiv / mod.
 */
import { makeJaxpr, nn, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import type { DType, ValueId } from '@pockengine/core';
import type { HandlerTable, Importer } from '../context.js';
import { AbstractArray, signature, type Jaxpr, type JaxDType } from '../jaxpr.js';

type Table = Partial<HandlerTable>;

interface KnownFunction {
  /** jax-js's own function, called on abstract arguments to get the reference body. */
  reference: (...xs: JaxArray[]) => JaxArray;
  emit: (imp: Importer, xs: ValueId[], dtype: DType) => ValueId;
}

const KNOWN: Record<string, KnownFunction[]> = {
  tanh: [{ reference: (x) => np.tanh(x), emit: (imp, [x]) => imp.op('tanh', [x!], {}) }],
  gelu: [
    { reference: (x) => nn.gelu(x), emit: (imp, [x]) => imp.op('gelu', [x!], { approximate: 'tanh' }) },
    { reference: (x) => nn.gelu(x, { approximate: false }), emit: (imp, [x]) => imp.op('gelu', [x!], { approximate: 'none' }) },
  ],
  silu: [{ reference: (x) => nn.silu(x), emit: (imp, [x]) => imp.op('silu', [x!], {}) }],
  // jax-js power: NaN for a negative base with a non-integer exponent, as Math.pow
  power: [{ reference: (x, y) => np.power(x, y), emit: (imp, [x, y], dt) => imp.op('pow', [imp.cast(x!, dt), imp.cast(y!, dt)], {}) }],
};

const referenceCache = new Map<string, string | null>();

/** Signature of the body jax-js's `fn` traces to for arguments typed like `body`'s in-binders. */
function referenceSignature(name: string, k: number, fn: KnownFunction, body: Jaxpr): string | null {
  const avals = body.inBinders.map((v) => v.aval);
  const key = `${name}#${k}|${avals.map((a) => `${a.dtype}${a.weakType ? '~' : ''}[${a.shape.join(',')}]`).join(';')}`;
  if (!referenceCache.has(key)) {
    let sig: string | null = null;
    try {
      const args = avals.map((a) => new AbstractArray(a.shape, a.dtype as JaxDType, a.weakType));
      const { jaxpr } = makeJaxpr(fn.reference as (...xs: JaxArray[]) => JaxArray)(...(args as unknown as JaxArray[]));
      const inner = jaxpr.jaxpr.eqns.find((e) => e.primitive === 'jit' && e.params.name === name);
      if (inner) sig = signature(inner.params.jaxpr as Jaxpr);
      jaxpr.dispose();
    } catch {
      sig = null; // the reference does not trace for these types: no match
    }
    referenceCache.set(key, sig);
  }
  return referenceCache.get(key)!;
}

export const controlHandlers = {
  jit: (ctx) => {
    const { name, jaxpr } = ctx.params;
    const body = jaxpr as Jaxpr;
    const dt = ctx.outDtype();
    const known = KNOWN[name];
    if (known && body.outs.length === 1 && (dt === 'float32' || dt === 'float64')) {
      const sig = signature(body);
      const k = known.findIndex((fn, i) => fn.reference.length === ctx.arity && referenceSignature(name, i, fn, body) === sig);
      if (k >= 0) {
        ctx.imp.counts.set(`jit(${name})`, (ctx.imp.counts.get(`jit(${name})`) ?? 0) + 1);
        return [known[k]!.emit(ctx.imp, ctx.inputs(), dt)];
      }
    }
    const ins = Array.from({ length: ctx.arity }, (_, i) => ctx.lazy(i) ?? ctx.input(i));
    return ctx.imp.run(body, ins, `${ctx.path}/`);
  },
} satisfies Table;
