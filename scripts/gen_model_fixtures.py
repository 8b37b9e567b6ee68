#!/usr/bin/env python3
"""Records PyTorch (1.13, CPU, float32) references for the ported models in examples/models/.

Run with the interpreter that has torch:  /usr/bin/python3 scripts/gen_model_fixtures.py
Defines HiFi-GAN V1's generator (as github.com/jik876/hifi-gan models.py: Generator + ResBlock1, with
weight norm), the DCGAN generator of PyTorch's tutorial and a 1-D U-Net with concatenated skips, each
in a small configuration of the same structure, and writes to test/data/models/:
- <model>.safetensors: the state dict exactly as PyTorch has it (weight_g/weight_v for weight norm,
  BatchNorm's running_mean/running_var and int64 num_batches_tracked).
- <model>-io.safetensors: an input `x`, the output `y`, an upstream gradient `gy`, the input's
  gradient `gx` and each parameter's `grad.<key>` (of the folded weight where there is weight norm)
  (DCGAN: eval mode; plus `x_train`, `y_train` for one training-mode step, whose
  updated BatchNorm buffers are in dcgan-after.safetensors).
torch 1.13 has no safetensors package, so the files are written by hand (8-byte little-endian header
length, JSON header, raw data). Tests read only these files.
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import remove_weight_norm, weight_norm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'data', 'models')
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(20261201)

DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64'}


def write_safetensors(name, tensors):
    header, offset, blobs = {'__metadata__': {'format': 'pt'}}, 0, []
    for key, t in tensors.items():
        t = t.detach().contiguous()
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
        header[key] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# --- HiFi-GAN V1 generator (models.py of the reference implementation) --------------------------
LRELU_SLOPE = 0.1


def get_padding(kernel_size, dilation=1):
    return int((kernel_size * dilation - dilation) / 2)


class ResBlock1(nn.Module):
    def __init__(self, channels, kernel_size=3, dilation=(1, 3, 5)):
        super().__init__()
        self.convs1 = nn.ModuleList([weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=d,
                                                           padding=get_padding(kernel_size, d))) for d in dilation])
        self.convs2 = nn.ModuleList([weight_norm(nn.Conv1d(channels, channels, kernel_size, 1, dilation=1,
                                                           padding=get_padding(kernel_size, 1))) for _ in dilation])

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2):
            xt = F.leaky_relu(x, LRELU_SLOPE)
            xt = c1(xt)
            xt = F.leaky_relu(xt, LRELU_SLOPE)
            xt = c2(xt)
            x = xt + x
        return x


class Generator(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.num_kernels = len(h['resblock_kernel_sizes'])
        self.num_upsamples = len(h['upsample_rates'])
        c0 = h['upsample_initial_channel']
        self.conv_pre = weight_norm(nn.Conv1d(h['num_mels'], c0, 7, 1, padding=3))
        self.ups = nn.ModuleList()
        for i, (u, k) in enumerate(zip(h['upsample_rates'], h['upsample_kernel_sizes'])):
            self.ups.append(weight_norm(nn.ConvTranspose1d(c0 // (2 ** i), c0 // (2 ** (i + 1)), k, u, padding=(k - u) // 2)))
        self.resblocks = nn.ModuleList()
        for i in range(len(self.ups)):
            ch = c0 // (2 ** (i + 1))
            for k, d in zip(h['resblock_kernel_sizes'], h['resblock_dilation_sizes']):
                self.resblocks.append(ResBlock1(ch, k, d))
        self.conv_post = weight_norm(nn.Conv1d(ch, 1, 7, 1, padding=3))

    def forward(self, x):
        x = self.conv_pre(x)
        for i in range(self.num_upsamples):
            x = F.leaky_relu(x, LRELU_SLOPE)
            x = self.ups[i](x)
            xs = None
            for j in range(self.num_kernels):
                if xs is None:
                    xs = self.resblocks[i * self.num_kernels + j](x)
                else:
                    xs += self.resblocks[i * self.num_kernels + j](x)
            x = xs / self.num_kernels
        x = F.leaky_relu(x)
        x = self.conv_post(x)
        x = torch.tanh(x)
        return x


HIFIGAN_SMALL = {  # examples/models/hifigan.ts HIFIGAN_SMALL
    'num_mels': 8, 'upsample_rates': [4, 2], 'upsample_kernel_sizes': [8, 4], 'upsample_initial_channel': 16,
    'resblock_kernel_sizes': [3, 7], 'resblock_dilation_sizes': [[1, 3, 5], [1, 3, 5]],
}


# --- DCGAN generator (PyTorch's DCGAN tutorial) --------------------------------------------------
class DcganGenerator(nn.Module):
    def __init__(self, nz, ngf, nc):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


# --- 1-D U-Net with concatenated skips (examples/models/unet1d.ts) -------------------------------
class UNet1d(nn.Module):
    def __init__(self, in_channels, out_channels, channels, levels, kernel_size):
        super().__init__()
        ch = [channels * 2 ** i for i in range(levels + 1)]
        self.inc = nn.Conv1d(in_channels, channels, kernel_size, padding=kernel_size // 2)
        self.downs = nn.ModuleList(nn.Conv1d(ch[i], ch[i + 1], 4, stride=2, padding=1) for i in range(levels))
        up = list(reversed(range(levels)))
        self.ups = nn.ModuleList(nn.ConvTranspose1d(ch[i + 1], ch[i], 4, stride=2, padding=1) for i in up)
        self.fuses = nn.ModuleList(nn.Conv1d(2 * ch[i], ch[i], kernel_size, padding=kernel_size // 2) for i in up)
        self.outc = nn.Conv1d(channels, out_channels, 1)

    def forward(self, x):
        x = F.relu(self.inc(x))
        skips = []
        for down in self.downs:
            skips.append(x)
            x = F.relu(down(x))
        for up, fuse in zip(self.ups, self.fuses):
            x = F.relu(up(x))
            x = F.relu(fuse(torch.cat([x, skips.pop()], 1)))
        return self.outc(x)


def io_case(model, make, x):
    """Input, output, upstream gradient, and the gradients of the input and of every parameter (of the
    plain weights: weight norm removed from a copy made by `make`, so `grad.conv_pre.weight` is d/d weight)."""
    plain = make()
    plain.load_state_dict(model.state_dict())
    plain.train(model.training)
    for m in plain.modules():
        if hasattr(m, 'weight_g'):
            remove_weight_norm(m)
    x = x.clone().requires_grad_(True)
    y = plain(x)
    gy = torch.randn(y.shape)
    y.backward(gy)
    case = {'x': x, 'y': y, 'gy': gy, 'gx': x.grad}
    case.update({'grad.' + k: p.grad for k, p in plain.named_parameters()})
    return case


# HiFi-GAN: weight norm's g starts as ‖v‖ (folding would be the identity), so draw it afresh.
make_hifigan = lambda: Generator(HIFIGAN_SMALL)
hifigan = make_hifigan()
with torch.no_grad():
    for name, p in hifigan.named_parameters():
        if name.endswith('weight_g'):
            p.mul_(torch.empty_like(p).uniform_(0.5, 1.5))
write_safetensors('hifigan.safetensors', hifigan.state_dict())
write_safetensors('hifigan-io.safetensors', io_case(hifigan, make_hifigan, torch.randn(2, 8, 10)))

# DCGAN: three training steps give the BatchNorms non-trivial running statistics; eval for the io case,
# then one more training step recorded with the buffers it leaves.
make_dcgan = lambda: DcganGenerator(8, 4, 3)
dcgan = make_dcgan()
with torch.no_grad():
    for m in dcgan.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
    for _ in range(3):
        dcgan(torch.randn(4, 8, 1, 1))
write_safetensors('dcgan.safetensors', dcgan.state_dict())
dcgan.eval()
case = io_case(dcgan, make_dcgan, torch.randn(1, 8, 1, 1))
dcgan.train()
x_train = torch.randn(2, 8, 1, 1)
with torch.no_grad():
    case['x_train'], case['y_train'] = x_train, dcgan(x_train)
write_safetensors('dcgan-io.safetensors', case)
write_safetensors('dcgan-after.safetensors', {k: v for k, v in dcgan.state_dict().items() if 'running' in k or 'num_batches' in k})

make_unet = lambda: UNet1d(2, 1, 3, 4, 5)  # examples/models/unet1d.ts UNET1D_SMALL
unet = make_unet()
write_safetensors('unet1d.safetensors', unet.state_dict())
write_safetensors('unet1d-io.safetensors', io_case(unet, make_unet, torch.randn(2, 2, 64)))
print('wrote', sorted(os.listdir(OUT)))
