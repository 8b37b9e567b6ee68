#!/usr/bin/python3
"""Writes the small file-format fixtures of test/data/ (run with /usr/bin/python3: numpy + torch 1.13).

    /usr/bin/python3 scripts/gen_io_fixtures.py

- npy/*.npy: float32, float64, big-endian, Fortran order, int32, int64, uint8, bool, float16, 0-d.
- npz/stored.npz (numpy.savez) and npz/compressed.npz (numpy.savez_compressed).
- safetensors/mixed.safetensors: F32, F64, F16, BF16 (and I32); written by hand below, since torch
  1.13 has no safetensors package: 8-byte little-endian header length, JSON header, raw data.
- expected.json: every fixture's shape and values as float64 lists (what a faithful reader returns).
- hifigan/: a tiny HiFi-GAN-style generator with weight norm (both key spellings), its weights as
  safetensors, and an input with PyTorch's output.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize, weight_norm

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'data')
rng = np.random.default_rng(20240611)
expected = {}


def out(*parts):
    path = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def record(name, arr):
    a = np.asarray(arr)
    vals = [float(v) for v in a.astype(np.float64).ravel(order='C')]
    # JSON has no infinities: write them as strings ('Infinity', '-Infinity', 'NaN').
    expected[name] = {'shape': list(a.shape), 'values': [v if np.isfinite(v) else repr(v).replace('inf', 'Infinity').replace('nan', 'NaN') for v in vals]}


def save_npy(name, arr):
    np.save(out('npy', name + '.npy'), arr)
    record('npy/' + name, arr)


# --- .npy ---------------------------------------------------------------------------------------
save_npy('f32', rng.standard_normal((2, 3, 4)).astype(np.float32))
save_npy('f64', rng.standard_normal((3, 5)))
save_npy('f32_be', rng.standard_normal((2, 3)).astype('>f4'))
save_npy('f64_be', rng.standard_normal((4,)).astype('>f8'))
save_npy('fortran', np.asfortranarray(rng.standard_normal((2, 3, 4)).astype(np.float32)))
save_npy('int32', rng.integers(-1000, 1000, size=(3, 4)).astype(np.int32))
save_npy('int64', np.array([[-5, 0, 7], [2 ** 24, -(2 ** 24), 12]], dtype=np.int64))
save_npy('int64_big', np.array([2 ** 40 + 1, 3], dtype=np.int64))  # exact in float64 only
save_npy('uint8', np.arange(0, 250, 25, dtype=np.uint8))
save_npy('bool', np.array([[True, False], [False, True]]))
save_npy('f16', np.array([0.5, -1.25, 65504, 6e-8, np.inf, -0.0], dtype=np.float16))
save_npy('scalar', np.array(3.25, dtype=np.float32))
save_npy('empty', np.zeros((0, 3), dtype=np.float32))

# --- .npz ---------------------------------------------------------------------------------------
za = rng.standard_normal((2, 3)).astype(np.float32)
zb = np.arange(12, dtype=np.float64).reshape(3, 4)
np.savez(out('npz', 'stored.npz'), a=za, b=zb)
np.savez_compressed(out('npz', 'compressed.npz'), a=za, b=zb)
record('npz/a', za)
record('npz/b', zb)


# --- .safetensors (written by hand) -------------------------------------------------------------
def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype string, shape, raw little-endian bytes)."""
    header, offset, blobs = {}, 0, []
    if metadata:
        header['__metadata__'] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def torch_entry(t):
    """A torch tensor -> (safetensors dtype, shape, bytes)."""
    names = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int32: 'I32'}
    t = t.contiguous()
    raw = t.view(torch.int16).numpy().astype('<i2').tobytes() if t.dtype == torch.bfloat16 else t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
    return names[t.dtype], tuple(t.shape), raw


st = {
    'f32': torch.from_numpy(rng.standard_normal((2, 3)).astype(np.float32)),
    'f64': torch.from_numpy(rng.standard_normal((3,))),
    'f16': torch.from_numpy(rng.standard_normal((2, 2)).astype(np.float16)),
    'bf16': torch.from_numpy(rng.standard_normal((5,)).astype(np.float32)).to(torch.bfloat16),
    'i32': torch.tensor([[1, -2], [3, 40000]], dtype=torch.int32),
    'scalar': torch.tensor(1.5, dtype=torch.float32),
}
write_safetensors(out('safetensors', 'mixed.safetensors'), {k: torch_entry(v) for k, v in st.items()}, {'format': 'pt'})
for k, v in st.items():
    record('safetensors/' + k, v.to(torch.float64).numpy() if v.dtype != torch.bfloat16 else v.float().numpy())


# --- a tiny HiFi-GAN-style generator with weight norm -------------------------------------------
class WeightNorm(nn.Module):
    """`torch.nn.utils.parametrizations.weight_norm` (torch ≥ 2.1) for torch 1.13: keys original0 (g), original1 (v)."""

    def forward(self, g, v):
        return torch._weight_norm(v, g, 0)

    def right_inverse(self, w):
        return torch.norm_except_dim(w, 2, 0), w


class ResBlock(nn.Module):
    def __init__(self, ch, k, dilations):
        super().__init__()
        self.convs = nn.ModuleList(weight_norm(nn.Conv1d(ch, ch, k, dilation=d, padding=d * (k - 1) // 2)) for d in dilations)

    def forward(self, x):
        for c in self.convs:
            x = c(F.leaky_relu(x, 0.1)) + x
        return x


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_pre = weight_norm(nn.Conv1d(4, 8, 7, padding=3))
        self.up = nn.ConvTranspose1d(8, 4, 4, stride=2, padding=1)
        parametrize.register_parametrization(self.up, 'weight', WeightNorm(), unsafe=True)
        self.res = ResBlock(4, 3, (1, 3))
        self.conv_post = weight_norm(nn.Conv1d(4, 1, 7, padding=3))

    def forward(self, x):
        x = F.leaky_relu(self.conv_pre(x), 0.1)
        x = self.up(x)
        x = self.res(x)
        x = self.conv_post(F.leaky_relu(x, 0.01))
        return torch.tanh(x)


torch.manual_seed(7)
gen = Generator().eval()
with torch.no_grad():  # give g a spread so that a wrong norm shows
    for name, p in gen.named_parameters():
        if name.endswith('weight_g') or name.endswith('original0'):
            p.mul_(torch.rand_like(p) + 0.5)
x = torch.from_numpy(rng.standard_normal((1, 4, 16)).astype(np.float32))
with torch.no_grad():
    y = gen(x)
sd = {k: v.detach() for k, v in gen.state_dict().items()}
write_safetensors(out('hifigan', 'generator.safetensors'), {k: torch_entry(v) for k, v in sd.items()}, {'format': 'pt'})
np.save(out('hifigan', 'input.npy'), x.numpy())
np.save(out('hifigan', 'output.npy'), y.numpy())
# The folded weights as PyTorch computes them, to test foldWeightNorm alone.
folded = {'conv_pre.weight': gen.conv_pre.weight, 'up.weight': gen.up.weight, 'conv_post.weight': gen.conv_post.weight}
np.savez(out('hifigan', 'folded.npz'), **{k: v.detach().numpy() for k, v in folded.items()})

# --- CLI cases: arrays for `convkit run`, outputs from PyTorch -----------------------------------
def save_cli(name, t):
    np.save(out('cli', name + '.npy'), t.detach().numpy())


ct_x = torch.from_numpy(rng.standard_normal((1, 3, 5)).astype(np.float32))
ct_w = torch.from_numpy(rng.standard_normal((3, 2, 3)).astype(np.float32))
ct_b = torch.from_numpy(rng.standard_normal((2,)).astype(np.float32))
for k, v in {'ct_x': ct_x, 'ct_w': ct_w, 'ct_b': ct_b}.items():
    save_cli(k, v)
save_cli('ct_y', F.conv_transpose1d(ct_x, ct_w, ct_b, stride=2, padding=1, output_padding=1))
ct_m = nn.ConvTranspose1d(3, 2, 3, stride=3, padding=1)
with torch.no_grad():
    ct_m.weight.copy_(ct_w)
    ct_m.bias.copy_(ct_b)
    save_cli('ct_y_size15', ct_m(ct_x, output_size=[15]))  # outputSize range [13, 15]
c_x = torch.from_numpy(rng.standard_normal((2, 3, 9)).astype(np.float64))
c_w = torch.from_numpy(rng.standard_normal((4, 3, 3)).astype(np.float64))
save_cli('c_x', c_x)
save_cli('c_w', c_w)
save_cli('c_x_nlc', c_x.permute(0, 2, 1).contiguous())
# Paddle's 'SAME' with stride 2 (L=9, k=3): o = ceil(9/2) = 5, pad_sum = max((5-1)*2 + 3 - 9, 0) = 2 -> [1, 1];
# for L=8: o = 4, pad_sum = 1 -> [0, 1] (the extra one after).
save_cli('c_y_same_nlc', F.conv1d(F.pad(c_x, (1, 1)), c_w, stride=2).permute(0, 2, 1).contiguous())
save_cli('c8_x', c_x[:, :, :8].contiguous())
save_cli('c8_y_same', F.conv1d(F.pad(c_x[:, :, :8], (0, 1)), c_w, stride=2))

with open(out('expected.json'), 'w') as f:
    json.dump(expected, f, indent=0)
print('keys:', sorted(sd))
print('wrote', ROOT)
