"""
A sweep over architectures and exporter settings the shared models do not cover: torchvision
CNNs (ResNet, ShuffleNet, MobileNetV3, EfficientNet, DenseNet, GoogLeNet, RegNet, ConvNeXt,
SqueezeNet, MNASNet), a ViT and a GPT-style decoder, and common idioms; eval and training-mode
exports at opsets 9-17, keep_initializers_as_inputs, dynamic axes, constant folding.
Each case writes <name>.onnx and <name>.ref.safetensors (PyTorch logits, loss, gradients; BatchNorm
in eval mode) through make_fixtures.export_cases. Needs torch + torchvision (Debian python3-torch,
python3-torchvision); nothing here runs in CI.

  /usr/bin/python3 export.py OUT_DIR [case ...]
  npx tsx packages/frontend-onnx/test/zoo/compare.ts OUT_DIR
"""
import os, sys, copy, torch, torchvision
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
import make_fixtures as mf
from torch import nn
import torch.nn.functional as F
M = torch.onnx.TrainingMode
tv = torchvision.models

class Head(nn.Module):
    def __init__(s, body, feat, n=5):
        super().__init__(); s.body = body; s.fc = nn.Linear(feat, n)
    def forward(s, x): return s.fc(s.body(x))

class TinyViT(nn.Module):
    def __init__(s, d=32, heads=4, layers=2):
        super().__init__()
        s.patch = nn.Conv2d(3, d, 4, 4); s.cls = nn.Parameter(torch.randn(1, 1, d)); s.pos = nn.Parameter(torch.randn(1, 17, d))
        s.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, heads, 64, dropout=0.0, batch_first=True, activation='gelu', norm_first=True), layers)
        s.ln = nn.LayerNorm(d); s.fc = nn.Linear(d, 5)
    def forward(s, x):
        t = s.patch(x).flatten(2).transpose(1, 2)
        t = torch.cat([s.cls.expand(x.shape[0], -1, -1), t], 1) + s.pos
        return s.fc(s.ln(s.enc(t))[:, 0])

class GPTBlock(nn.Module):
    def __init__(s, d=32, h=4):
        super().__init__(); s.h = h; s.ln1 = nn.LayerNorm(d); s.qkv = nn.Linear(d, 3 * d); s.proj = nn.Linear(d, d)
        s.ln2 = nn.LayerNorm(d); s.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate='tanh'), nn.Linear(4 * d, d))
    def forward(s, x):
        B, T, C = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
        q = q.view(B, T, s.h, C // s.h).transpose(1, 2); k = k.view(B, T, s.h, C // s.h).transpose(1, 2); v = v.view(B, T, s.h, C // s.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / (C // s.h) ** 0.5)
        mask = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
        att = att.masked_fill(mask == 0, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + s.proj(y)
        return x + s.mlp(s.ln2(x))

class TinyGPT(nn.Module):
    def __init__(s, V=40, d=32):
        super().__init__(); s.wte = nn.Embedding(V, d); s.wpe = nn.Embedding(16, d); s.blocks = nn.Sequential(GPTBlock(d), GPTBlock(d)); s.ln = nn.LayerNorm(d); s.head = nn.Linear(d, 7)
    def forward(s, idx):
        T = idx.shape[1]
        x = s.wte(idx) + s.wpe(torch.arange(T))
        return s.head(s.ln(s.blocks(x)).mean(1))

class Misc(nn.Module):
    """ops exporters emit for common idioms"""
    def __init__(s):
        super().__init__(); s.c1 = nn.Conv2d(3, 8, 3, padding=1); s.bn = nn.BatchNorm2d(8); s.c2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2)
        s.fc = nn.Linear(8 * 2, 5); s.prelu = nn.PReLU(8)
    def forward(s, x):
        y = F.hardswish(s.bn(s.c1(x)))
        y = s.prelu(s.c2(y)) + F.leaky_relu(y, 0.1)
        y = torch.clamp(y, -2.0, 3.0) * torch.sigmoid(y)
        y = F.adaptive_avg_pool2d(y, (2, 1))
        y = y.flatten(1)
        return s.fc(F.softplus(y) - y.abs().sqrt() * 0.1 + F.silu(y))

img = lambda r=32, b=2: (lambda: torch.randn(b, 3, r, r))
CASES = {
  'resnet18.train': (lambda: tv.resnet18(num_classes=5), img(32), M.TRAINING, 17),
  'resnet18.eval': (lambda: tv.resnet18(num_classes=5), img(32), M.EVAL, 13),
  'squeezenet.eval': (lambda: tv.squeezenet1_1(num_classes=5), img(64), M.EVAL, 11),
  'shufflenet.train': (lambda: tv.shufflenet_v2_x0_5(num_classes=5), img(32), M.TRAINING, 13),
  'mnasnet.eval': (lambda: tv.mnasnet0_5(num_classes=5), img(32), M.EVAL, 17),
  'mobilenet_v3.train': (lambda: tv.mobilenet_v3_small(num_classes=5), img(32), M.TRAINING, 17),
  'mobilenet_v3.eval11': (lambda: tv.mobilenet_v3_small(num_classes=5), img(32), M.EVAL, 11),
  'efficientnet_b0.eval': (lambda: tv.efficientnet_b0(num_classes=5), img(32), M.EVAL, 13),
  'densenet.eval': (lambda: tv.densenet121(num_classes=5), img(32), M.EVAL, 13),
  'googlenet.eval': (lambda: tv.googlenet(num_classes=5, aux_logits=False, init_weights=True), img(32), M.EVAL, 13),
  'regnet.train': (lambda: tv.regnet_x_400mf(num_classes=5), img(32), M.TRAINING, 17),
  'convnext.eval': (lambda: tv.convnext_tiny(num_classes=5), img(32), M.EVAL, 17),
      'tinyvit.eval': (lambda: TinyViT(), img(16), M.EVAL, 17),
  'tinyvit.op13': (lambda: TinyViT(), img(16), M.EVAL, 13),
  'tinygpt.eval': (lambda: TinyGPT(), lambda: torch.randint(0, 40, (2, 8)), M.EVAL, 17),
  'tinygpt.train14': (lambda: TinyGPT(), lambda: torch.randint(0, 40, (2, 8)), M.TRAINING, 14),
  'misc.train': (lambda: Misc(), img(8), M.TRAINING, 17),
  'misc.eval11': (lambda: Misc(), img(8), M.EVAL, 11),
}

# (case, exporter settings) on top of a case above: old opsets, initializers listed as graph inputs,
# dynamic axes, constant folding of a training-mode export
QUIRKS = {
  'resnet18.op9.kiai': ('resnet18.eval', 9, dict(keep_initializers_as_inputs=True)),
  'mobilenet_v3.op10': ('mobilenet_v3.eval11', 10, {}),
  'mobilenet_v3.op9.train': ('mobilenet_v3.train', 9, {}),
  'tinyvit.op11.dyn': ('tinyvit.eval', 11, dict(dynamic_axes={'input': {0: 'b'}, 'logits': {0: 'b'}})),
  'misc.op9.kiai': ('misc.train', 9, dict(keep_initializers_as_inputs=True)),
  'shufflenet.op11.fold.train': ('shufflenet.train', 11, dict(do_constant_folding=True)),
  'efficientnet.op17.dyn': ('efficientnet_b0.eval', 17, dict(dynamic_axes={'input': {0: 'b', 2: 'h', 3: 'w'}, 'logits': {0: 'b'}})),
  'densenet.op16': ('densenet.eval', 16, {}),
}

if __name__ == '__main__':
    out, only = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for k, v in CASES.items():
        if not only or k in only: mf.export_cases({k: v}, out=out)
    for k, (base, opset, extra) in QUIRKS.items():
        if only and k not in only: continue
        make, make_x, mode, _ = CASES[base]
        mf.export_cases({k: (make, make_x, mode, opset)}, out=out, extra=extra)
