import { parseArgs } from './args.js';
import { bench } from './commands/bench.js';
import { compile } from './commands/compile.js';
import { demo } from './commands/demo.js';
import { grad } from './commands/grad.js';
import { inspect } from './commands/inspect.js';
import { plan } from './commands/plan.js';
import { train } from './commands/train.js';

const USAGE = `pockengine — compile-first sparse fine-tuning

usage:
  pockengine inspect MODEL [--shape NAME=8x3x128x128 ...] [--ir] [--json]
      inputs, outputs, op histogram, parameters, FLOPs of a training step, unsupported ops
  pockengine grad MODEL --input NAME=FILE.npy ... --labels FILE.npy --out FILE.safetensors
                  [--loss cross-entropy|mse] [--bn train|frozen] [--scheme SCHEME.json]
      loss and gradients of one batch (dropout off): tensors 'loss' and 'grad.<param name>'
  pockengine compile MODEL --shape ... [--scheme S.json] [--optimizer sgd|adam] [--batch N] [--json]
      the static memory plan of one training step and the backward ops pruned
  pockengine plan MODEL --shape ... --budget 48MB [--optimizer sgd|adam] [--out S.json] [--json]
      search the sparse scheme that fits a memory budget with the largest expected gain
  pockengine bench MODEL --shape ... [--scheme S.json] [--steps N] [--backend cpu|cpu-reference] [--json]
      median / min ms per training step, planned peak bytes, measured peak, process peak RSS
  pockengine train MODEL --data DIR | --input NAME=X.npy ... --labels Y.npy [--scheme S.json]
                   [--epochs N] [--batch N] [--optimizer sgd|adam] [--lr X] [--val 0.2] [--out DIR]
      fine-tune on a folder of images (one subfolder per class; --res R, --normalize unit|imagenet)
      or on .npy arrays: progress, held-out accuracy before/after, step time, peak memory;
      writes the tuned model in its own format and the loss curve
  pockengine demo [--res 128] [--batch 16] [--epochs 3] [--lr 3e-4] [--scheme sparse|head|S.json] [--out out/demo]
      the main job: sparse fine-tuning of a pretrained MobileNetV2 (nsfwjs) on digits

compile, bench and train take --borrow tfjs-wasm,onnxruntime: TF.js's XNNPACK matmul / conv2d and, in Node,
onnxruntime-node's MLAS matmul join backend switching (used only where measured fastest; compile --json
lists every candidate's time).

MODEL is an .onnx file (PyTorch exports), a TF.js model.json (layers or graph model), or a jax-js module
(.mjs default-exporting { apply, params, inputs }).
`;

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const a = parseArgs(rest, ['json', 'ir']);
  switch (cmd) {
    case 'inspect':
      return inspect(a);
    case 'grad':
      return grad(a);
    case 'compile':
      return compile(a);
    case 'plan':
      return plan(a);
    case 'bench':
      return bench(a);
    case 'train':
      return train(a);
    case 'demo':
      return demo(a);
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      console.error(`unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}
