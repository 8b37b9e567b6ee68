#!/usr/bin/env python3
"""Records the PyTorch (1.13) behaviour test/hardening-api.test.ts holds convkit to.

Run with the interpreter that has torch:  /usr/bin/python3 scripts/gen_hardening_fixtures.py
Writes test/cases/torch-hardening.json:
- `lists`: calls with one-element option lists (PyTorch repeats them over every dim), with values;
- `refused`: calls PyTorch refuses (padding strings for transposed convolution, a second backward
  through a freed graph, a gradient of the wrong shape), with the exception type and message;
- `retained`: a backward run twice with retain_graph=True, and the accumulated gradient.
Tests read only the JSON.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'cases', 'torch-hardening.json')


def enc(t):
    return {'shape': list(t.shape), 'data': [float(v) for v in t.detach().reshape(-1).tolist()]}


def ints(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-3, 4, shape, generator=g).to(torch.float64)


FNS = {'conv2d': F.conv2d, 'conv3d': F.conv3d, 'convTranspose2d': F.conv_transpose2d, 'convTranspose3d': F.conv_transpose3d}
TORCH_NAMES = {'stride': 'stride', 'padding': 'padding', 'dilation': 'dilation', 'outputPadding': 'output_padding'}

lists = []
for i, (op, xs, ws, opts) in enumerate([
    ('conv2d', [1, 2, 5, 4], [3, 2, 2, 2], {'padding': [1]}),
    ('conv2d', [1, 2, 6, 5], [3, 2, 3, 2], {'stride': [2], 'dilation': [1]}),
    ('conv3d', [1, 1, 4, 4, 3], [2, 1, 2, 2, 2], {'dilation': [2], 'padding': [1]}),
    ('convTranspose2d', [1, 2, 3, 4], [2, 3, 2, 3], {'stride': [2], 'outputPadding': [1], 'padding': [1]}),
    ('convTranspose3d', [1, 1, 2, 3, 2], [1, 2, 2, 2, 2], {'stride': [2], 'dilation': [2]}),
]):
    x, w = ints(*xs, seed=2 * i), ints(*ws, seed=2 * i + 1)
    y = FNS[op](x, w, **{TORCH_NAMES[k]: v for k, v in opts.items()})
    lists.append({'op': op, 'x': enc(x), 'w': enc(w), 'options': opts, 'y': enc(y)})


def raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - recording what PyTorch raises is the point
        return {'error': type(e).__name__, 'message': str(e).split('\n')[0]}
    return None


refused = []
x1, w1 = torch.ones(1, 2, 5), torch.ones(2, 3, 3)
for name, pad in [('valid', 'valid'), ('same', 'same')]:
    refused.append(dict(name=f'conv_transpose1d padding {name!r}', **raised(lambda: F.conv_transpose1d(x1, w1, padding=pad))))
    refused.append(dict(name=f'ConvTranspose1d(padding={name!r}).forward', **raised(lambda: torch.nn.ConvTranspose1d(2, 3, 3, padding=pad)(x1))))


def twice():
    x = torch.ones(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


refused.append(dict(name='backward twice', **raised(twice)))


def short_grad():
    x = torch.ones(3, requires_grad=True)
    (x * 2).backward(torch.ones(2))


refused.append(dict(name='backward with a gradient of the wrong shape', **raised(short_grad)))

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()
y.backward(retain_graph=True)
y.backward()
retained = {'x': enc(x), 'expr': 'sum(x * x)', 'grad': enc(x.grad)}

with open(OUT, 'w') as f:
    json.dump({'generator': 'scripts/gen_hardening_fixtures.py', 'torch': torch.__version__,
               'lists': lists, 'refused': refused, 'retained': retained}, f, separators=(',', ':'))
print(f'wrote {OUT}')
