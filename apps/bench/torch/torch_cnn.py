"""PyTorch CPU reference timing for apps/bench: the same architectures as ../shared/models
(built by ../shared/models/make_refs.py), one SGD training step, full backprop, median ms.
Run with Debian's /usr/bin/python3 (python3-torch); optional, never required by tests. apps/bench
runs it as the `torch` peer of these models (env: POCKENGINE_MODELS, RES, BATCH, TEXT_BATCH, SEQ,
WARMUP, STEPS, LR, TORCH_THREADS).
Prints one JSON line per model."""
import json, sys, time, resource, importlib.util, os
import torch

here = os.path.dirname(os.path.abspath(__file__))
models_dir = os.environ.get('POCKENGINE_MODELS', os.path.join(here, '..', '..', '..', '..', 'shared', 'models'))
spec_path = os.path.join(models_dir, 'make_refs.py')
mr_spec = importlib.util.spec_from_file_location('make_refs', spec_path)
mr = importlib.util.module_from_spec(mr_spec)
mr_spec.loader.exec_module(mr)

torch.set_num_threads(int(os.environ.get('TORCH_THREADS', '2')))
names = sys.argv[1].split(',') if len(sys.argv) > 1 else ['mcunet', 'mobilenet_v2', 'bert_medium']
res = int(os.environ.get('RES', '96'))
batch = int(os.environ.get('BATCH', '8'))
text_batch = int(os.environ.get('TEXT_BATCH', '4'))
steps = int(os.environ.get('STEPS', '5'))
warmup = int(os.environ.get('WARMUP', '1'))
lr = float(os.environ.get('LR', '0.01'))
seq = int(os.environ.get('SEQ', '32'))
specs = {s.name: s for s in mr.specs()}
for name in names:
    s = specs[name]
    torch.manual_seed(0)
    m = s.build()
    mr.set_dropout(m, 0.0)
    m.train()
    for mod in m.modules():  # frozen BN, as our runs (eval statistics)
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.eval()
    opt = torch.optim.SGD(m.parameters(), lr=lr)
    if s.kind == 'vision':
        x = (torch.randn(batch, 3, res, res),)
        y = torch.randint(0, s.num_classes, (batch,))
        fwd = lambda: m(*x)
    elif s.kind == 'bert':
        ids = torch.randint(0, 100, (text_batch, seq))
        mask = torch.ones(text_batch, seq, dtype=torch.int64)
        y = torch.randint(0, 2, (text_batch,))
        fwd = lambda: m(ids, mask)
    else:
        toks = torch.randint(0, 100, (text_batch, seq))
        y = torch.randint(0, 100, (text_batch, seq))
        fwd = lambda: m(toks)
    def step():
        opt.zero_grad(set_to_none=True)
        out = fwd()
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()
    losses = [step() for _ in range(warmup)]
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        losses.append(step())
        times.append((time.perf_counter() - t0) * 1000)
    step_ms = list(times)
    times.sort()
    print(json.dumps({'framework': 'torch', 'model': name, 'config': 'full', 'medianMs': times[len(times) // 2], 'minMs': times[0],
                      'stepMs': step_ms, 'losses': losses,
                      'threads': torch.get_num_threads(), 'torch': torch.__version__, 'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
