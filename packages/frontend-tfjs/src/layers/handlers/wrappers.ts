/**
 * TimeDistributed (tfjs-layers src/layers/wrappers.ts): the wrapped layer applied to every time
 * step, i.e. to the input with batch and time folded into one axis ([B, T, ...] -> [B T, ...]),
 * outputs unfolded again. The wrapped layer's weights are the wrapper's (`td/kernel`), so it runs
 * with the wrapper's name. (Bidirectional lives with the recurrent layers.)
 */
import { act, nhwc, type Act } from '../../layout.js';
import type { LayerContext } from '../context.js';
import type { LayerHandlerTable } from './types.js';

export function timeDistributed(ctx: LayerContext, handlers: Readonly<LayerHandlerTable>): Act[] {
  const b = ctx.b;
  const inner = ctx.cfg<{ className?: string; class_name?: string; config?: Record<string, unknown> } | null>('layer', null);
  const className = inner?.className ?? inner?.class_name ?? '';
  const handler = handlers[className];
  if (!handler || !inner?.config || className === 'TimeDistributed' || className === 'InputLayer')
    return ctx.unsupported(`wraps '${className || '?'}', which has no handler`);
  const x = nhwc(b, ctx.input());
  const s = b.shape(x);
  if (s.length < 3) ctx.fail(`expects a [batch, time, ...] input, got [${s}]`, 'shape');
  const [n, t] = s as [number, number];
  const folded = act(b.reshape(x, [n * t, ...s.slice(2)]));
  const outs = handler(ctx.wrapping({ ...ctx.spec, className, config: inner.config }, [folded]));
  return outs.map((o) => {
    const y = nhwc(b, o);
    return act(b.reshape(y, [n, t, ...b.shape(y).slice(1)]));
  });
}
