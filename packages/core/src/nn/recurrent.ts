/**
 * Recurrent layers (simple RNN, GRU, LSTM) unrolled over a static sequence into ordinary IR:
 * one GEMM for the input projection of every step, one GEMM with the recurrent weight per step,
 * activations and elementwise gate arithmetic. Frontends map their formats onto it (ONNX RNN /
 * GRU / LSTM with weights [gates * hidden, in]; Keras / TF.js layers with kernels [in, gates *
 * hidden]); gradients, memory planning and kernels then need nothing recurrent-specific.
 *
 * Gate equations (ONNX's definitions, which Keras' match):
 *   rnn:  h = act(x W_i + h R_i + b_i)
 *   gru:  z = f(x W_z + h R_z + b_z), r = f(x W_r + h R_r + b_r)
 *         c = g(x W_h + (r * h) R_h + b_h)            (resetAfter false)
 *         c = g(x W_h + r * (h R_h + rb_h) + wb_h)     (resetAfter true)
 *         h = (1 - z) * c + z * h
 *   lstm: i = f(x W_i + h R_i + b_i + p_i * c), f_ = f(x W_f + h R_f + b_f + p_f * c)
 *         c = f_ * c + i * g(x W_c + h R_c + b_c), o = f(x W_o + h R_o + b_o + p_o * c)
 *         h = o * h_act(c)
 */
import type { GraphBuilder } from '../ir/builder.js';
import type { ValueId } from '../ir/graph.js';

export type RecurrentKind = 'rnn' | 'gru' | 'lstm';
type Act = (v: ValueId) => ValueId;

export interface RecurrentSpec {
  kind: RecurrentKind;
  /** Input, time-major: [T, B, I]. */
  x: ValueId;
  hidden: number;
  /**
   * Input and recurrent weights: [I, G H] and [H, G H] (Keras kernels), or with
   * `transposed` [G H, I] and [G H, H] (ONNX).
   */
  w: ValueId;
  r: ValueId;
  transposed: boolean;
  /**
   * Which gate each block of G H holds, in order: lstm 'i' 'o' 'f' 'c' (ONNX) or 'i' 'f' 'c' 'o'
   * (Keras); gru 'z' 'r' 'h'; rnn 'i'.
   */
  gates: readonly string[];
  /** [G H] added to the input projection. */
  inputBias?: ValueId;
  /** [G H] added to the recurrent projection (ONNX Rb, Keras GRU reset_after's second row). */
  recurrentBias?: ValueId;
  /** Initial states [B, H] (zeros when absent). */
  h0?: ValueId;
  c0?: ValueId;
  /** LSTM peepholes [3 H]: i, o, f. */
  peepholes?: ValueId;
  /** Runs the sequence from its last step to its first (outputs stay in time order). */
  reverse?: boolean;
  /** GRU: the reset gate multiplies the recurrent product (ONNX linear_before_reset, Keras reset_after). */
  resetAfter?: boolean;
  /** Gate activation (f), candidate activation (g) and, for LSTM, the cell output activation (h). */
  gateAct: Act;
  candidateAct: Act;
  cellAct?: Act;
  /** Gate pre-activations are clipped to [-clip, clip] (ONNX clip). */
  clip?: number;
  /**
   * Bool [T, B]: where false, step t leaves batch element b's states (h, and c) as they were, and
   * its output hs[t] is that carried state (Keras masking; ONNX sequence_lens zeroes those outputs
   * itself). Steps are taken in the same order either way.
   */
  mask?: ValueId;
}

export interface RecurrentResult {
  /** Hidden state after each time step, in time order, each [B, H]. */
  hs: ValueId[];
  /** The last hidden (and cell) state computed: after step T - 1, or step 0 when reversed. */
  h: ValueId;
  c?: ValueId;
}

const GATE_COUNT: Record<RecurrentKind, number> = { rnn: 1, gru: 3, lstm: 4 };

/** The unrolled recurrence (see the file comment for the equations). */
export function unrollRecurrent(b: GraphBuilder, s: RecurrentSpec): RecurrentResult {
  const [T, B, I] = b.shape(s.x) as [number, number, number];
  const H = s.hidden;
  const G = GATE_COUNT[s.kind];
  if (s.gates.length !== G) throw new Error(`unrollRecurrent: ${s.kind} has ${G} gates, got order ${s.gates.join(',')}`);
  const at = (role: string): number => {
    const k = s.gates.indexOf(role);
    if (k < 0) throw new Error(`unrollRecurrent: no gate '${role}' in ${s.gates.join(',')}`);
    return k;
  };
  const slice = (v: ValueId, axis: number, from: number, n: number): ValueId =>
    b.op1('slice', [v], { starts: [from], ends: [from + n], axes: [axis], steps: [1] });
  // gate blocks: along the last axis of a projection [*, G H] or a bias [G H]; along the weight's gate axis
  const gateAxis = s.transposed ? 0 : 1;
  const block = (v: ValueId, role: string): ValueId => slice(v, b.rank(v) - 1, at(role) * H, H);
  const weightBlock = (wt: ValueId, role: string): ValueId => slice(wt, gateAxis, at(role) * H, H);
  const project = (v: ValueId, wt: ValueId): ValueId => b.matmul(v, wt, false, s.transposed);
  const pre = (v: ValueId): ValueId => (s.clip === undefined ? v : b.op1('clip', [v], { min: -s.clip, max: s.clip }));
  const gru = s.kind === 'gru';
  const resetAfter = gru && (s.resetAfter ?? false);

  // the input projection of every step at once, with every bias that adds outside a gate product
  let xw = project(b.reshape(s.x, [T * B, I]), s.w);
  const dtype = b.dtype(s.x);
  const zeros = (...shape: number[]): ValueId => b.expand(b.scalar(0, dtype), shape);
  let bias = s.inputBias;
  if (s.recurrentBias && !resetAfter) bias = bias ? b.add(bias, s.recurrentBias) : s.recurrentBias;
  else if (s.recurrentBias) {
    // GRU reset-after: the candidate's recurrent bias stays inside r * (h R_h + rb_h)
    const parts = s.gates.map((g) => {
      const ib = s.inputBias ? block(s.inputBias, g) : undefined;
      if (g === 'h') return ib ?? zeros(H);
      const rb = block(s.recurrentBias!, g);
      return ib ? b.add(ib, rb) : rb;
    });
    bias = b.op1('concat', parts, { axis: 0 });
  }
  if (bias) xw = b.add(xw, bias);

  let h = s.h0 ?? zeros(B, H);
  let c = s.kind === 'lstm' ? (s.c0 ?? zeros(B, H)) : undefined;
  // steps and gate blocks are split, not sliced: a slice's gradient is a zero-padded copy of the
  // whole input (T steps of [T B, G H] each would cost O(T^2)); split's is one concat
  const split = (v: ValueId, axis: number, sizes: number[]): ValueId[] => (sizes.length === 1 ? [v] : b.op('split', [v], { axis, sizes }));
  const steps = split(xw, 0, new Array<number>(T).fill(B)); // each [B, G H]
  const gatesOf = (v: ValueId): Record<string, ValueId> => {
    const parts = split(v, 1, new Array<number>(G).fill(H));
    return Object.fromEntries(s.gates.map((g, k) => [g, parts[k]!]));
  };
  const peeps = s.peepholes ? split(s.peepholes, 0, [H, H, H]) : undefined; // i, o, f
  const peep = (v: ValueId, k: number, cell: ValueId): ValueId => (peeps ? b.add(v, b.mul(peeps[k]!, cell)) : v);
  const rbh = resetAfter && s.recurrentBias ? block(s.recurrentBias, 'h') : undefined;
  const rh = gru ? weightBlock(s.r, 'h') : undefined;
  const rzr = gru && !resetAfter ? [weightBlock(s.r, 'z'), weightBlock(s.r, 'r')] : undefined;
  const hs: ValueId[] = new Array(T);
  const masks = s.mask ? split(b.reshape(s.mask, [T, B, 1]), 0, new Array<number>(T).fill(1)).map((m) => b.reshape(m, [B, 1])) : undefined;
  for (let step = 0; step < T; step++) {
    const t = s.reverse ? T - 1 - step : step;
    const xt = steps[t]!; // [B, G H]
    const [hPrev, cPrev] = [h, c];
    if (s.kind === 'rnn') h = s.candidateAct(pre(b.add(xt, project(h, s.r))));
    else if (s.kind === 'lstm') {
      const g = gatesOf(b.add(xt, project(h, s.r)));
      const i = s.gateAct(pre(peep(g.i!, 0, c!)));
      const f = s.gateAct(pre(peep(g.f!, 2, c!)));
      const cand = s.candidateAct(pre(g.c!));
      c = b.add(b.mul(f, c!), b.mul(i, cand));
      const o = s.gateAct(pre(peep(g.o!, 1, c)));
      h = b.mul(o, (s.cellAct ?? s.candidateAct)(c));
    } else {
      const x = gatesOf(xt);
      let z: ValueId;
      let r: ValueId;
      let cand: ValueId;
      if (resetAfter) {
        // one product for all gates; the candidate's part (with its recurrent bias) is gated by r
        const hr = gatesOf(project(h, s.r));
        z = s.gateAct(pre(b.add(x.z!, hr.z!)));
        r = s.gateAct(pre(b.add(x.r!, hr.r!)));
        let rec = hr.h!;
        if (s.recurrentBias) rec = b.add(rec, rbh!);
        cand = s.candidateAct(pre(b.add(x.h!, b.mul(r, rec))));
      } else {
        z = s.gateAct(pre(b.add(x.z!, project(h, rzr![0]!))));
        r = s.gateAct(pre(b.add(x.r!, project(h, rzr![1]!))));
        cand = s.candidateAct(pre(b.add(x.h!, project(b.mul(r, h), rh!))));
      }
      // (1 - z) * cand + z * h = cand + z * (h - cand)
      h = b.add(cand, b.mul(z, b.sub(h, cand)));
    }
    if (masks) {
      h = b.where(masks[t]!, h, hPrev);
      if (c !== undefined) c = b.where(masks[t]!, c, cPrev!);
    }
    hs[t] = h;
  }
  return { hs, h, c };
}
