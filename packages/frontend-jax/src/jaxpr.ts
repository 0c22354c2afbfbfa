/**
 * The parts of jax-js's tracing IR (the Jaxpr) this frontend reads, typed from jax-js's own
 * declarations: the primitive-name union comes from jax-js's impl-rule table, so a primitive
 * added in a later jax-js version is a compile error in the handler table until it is mapped.
 */
import type { Array as JaxArray, Jaxpr } from '@jax-js/jax';
import type { DType } from '@pockengine/core';

type ImplRules = ReturnType<typeof JaxArray._implRules>;
type PrimitiveEnum = keyof ImplRules & string;
/** Every jax-js primitive (`add`, `dot`, `conv`, `jit`, ...), as plain strings. */
export type PrimitiveName = `${PrimitiveEnum}`;
/** The params jax-js attaches to an equation of primitive `P`. */
export type ParamsOf<P extends PrimitiveName> = {
  [K in PrimitiveEnum]: `${K}` extends P ? Parameters<ImplRules[K]>[1] : never;
}[PrimitiveEnum];

export type { Jaxpr };
export type JaxprEqn = Jaxpr['eqns'][number];
export type Atom = JaxprEqn['inputs'][number];
export type Var = JaxprEqn['outBinders'][number];
/** jax-js element types ('float32', 'int32', 'uint32', 'bool', 'float16', 'float64'). */
export type JaxDType = JaxArray['dtype'];

/** A literal (scalar constant) operand of an equation; variables have no `value`. */
export function isLiteral(a: Atom): a is Atom & { value: number } {
  return 'value' in a;
}

/**
 * An abstract array for `makeJaxpr`: jax-js's pytree flattening treats any object that is not a
 * plain object or array as a leaf, and tracing reads only shape, dtype and weakType from it, so
 * tracing with these never touches (or frees) a real array.
 */
export class AbstractArray {
  constructor(
    readonly shape: number[],
    readonly dtype: JaxDType,
    readonly weakType = false,
  ) {}
}

const TO_IR: Partial<Record<string, DType>> = { float32: 'float32', float64: 'float64', int32: 'int32', bool: 'bool' };

/** The IR dtype of a jax-js dtype, or undefined (uint32, float16 have none). */
export function irDtype(d: string): DType | undefined {
  return TO_IR[d];
}

/** `float32[2,3]`: how avals appear in messages. */
export function fmtAval(a: { shape: readonly number[]; dtype: string }): string {
  return `${a.dtype}[${a.shape.join(',')}]`;
}

/**
 * A structural fingerprint of a jaxpr: primitives, params and dataflow (variables numbered in
 * binding order, literals by value), nested jits included. Two jaxprs with the same signature
 * compute the same function, which is how known jax-js library functions are recognised.
 */
export function signature(j: Jaxpr): string {
  const ids = new Map<Var, number>();
  const num = (v: Var) => {
    let n = ids.get(v);
    if (n === undefined) ids.set(v, (n = ids.size));
    return n;
  };
  const atom = (a: Atom) => (isLiteral(a) ? `${a.aval.dtype}:${a.value}` : `%${num(a as Var)}`);
  j.inBinders.forEach(num);
  const parts = j.eqns.map((e) => {
    const params = e.primitive === 'jit' ? `jit:${e.params.name}{${signature(e.params.jaxpr as Jaxpr)}}` : JSON.stringify(e.params);
    const outs = e.outBinders.map((v) => `%${num(v)}:${fmtAval(v.aval)}`).join(',');
    return `${outs}=${e.primitive}${params}(${e.inputs.map(atom).join(',')})`;
  });
  return `${parts.join(';')}->(${j.outs.map(atom).join(',')})`;
}
