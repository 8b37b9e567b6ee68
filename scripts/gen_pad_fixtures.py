#!/usr/bin/env python3
"""Records PyTorch (1.13, CPU, float64) references for convkit's pad (torch.nn.functional.pad).

Run with the interpreter that has torch:  /usr/bin/python3 scripts/gen_pad_fixtures.py
Writes test/cases/pad.json: for each case the input, pad, mode and value, and either the output
and the input's gradient for a random output gradient, or the fact that PyTorch rejects it.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261201)
torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'cases', 'pad.json')


def enc(t):
    return {'shape': list(t.shape), 'data': [float(v) for v in t.detach().reshape(-1).tolist()]}


CASES = [
    ([1, 2, 5], [2, 1], 'constant', None),
    ([1, 2, 5], [2, 1], 'constant', 1.5),
    ([2, 3, 4], [1, -2], 'constant', None),
    ([2, 3, 4, 5], [1, 0, -1, 2, 0, 1], 'constant', -3.0),
    ([3, 4], [0, 0, 2, 1], 'constant', None),
    ([5], [3, 3], 'constant', None),
    ([2, 3, 4], [-4, 0], 'constant', None),
    ([1, 2, 5], [3, 2], 'reflect', None),
    ([2, 5], [4, 1], 'reflect', None),
    ([1, 2, 3], [-1, 2], 'reflect', None),
    ([1, 2, 4, 5], [2, 1, 3, 1], 'reflect', None),
    ([2, 3, 4, 5], [1, 1, 2, 0, 1, 2], 'reflect', None),
    ([1, 2, 5], [3, 2], 'replicate', None),
    ([1, 2, 3], [-1, 2], 'replicate', None),
    ([2, 4, 3], [2, 2, 1, 3], 'replicate', None),
    ([1, 1, 2, 3, 4], [1, 2, 0, 1, 2, 1], 'replicate', None),
    ([1, 2, 5], [3, 2], 'circular', None),
    ([1, 2, 3], [-1, 2], 'circular', None),
    ([1, 2, 4], [2, -1], 'circular', None),
    ([2, 1, 4, 5], [1, 2, 3, 0], 'circular', None),
    ([1, 2, 2, 3, 4], [1, 1, 2, 0, 0, 2], 'circular', None),
    # PyTorch rejects these.
    ([1, 2, 3], [1], 'constant', None),
    ([2, 3], [1, 1, 1, 1, 1, 1], 'constant', None),
    ([1, 2, 3], [3, 0], 'reflect', None),
    ([1, 2, 3, 4], [1, 1], 'reflect', None),
    ([3, 4], [1, 1], 'circular', None),
    ([1, 2, 3], [4, 0], 'circular', None),
    ([1, 2, 4], [0, -5], 'constant', None),
    ([1, 2, 3], [1, 1], 'reflect', 2.0),
    ([6], [1, 1], 'replicate', None),
]


def case(shape, pad, mode, value):
    x = torch.randn(*shape, requires_grad=True)
    c = {'x': enc(x), 'pad': pad, 'mode': mode, 'value': value}
    try:
        y = F.pad(x, pad, mode=mode, value=value) if value is not None else F.pad(x, pad, mode=mode)
    except Exception as e:  # noqa: BLE001 - PyTorch raises several types for bad arguments
        c['error'] = type(e).__name__
        return c
    gy = torch.randn(*y.shape)
    y.backward(gy)
    c.update({'y': enc(y), 'gy': enc(gy), 'gx': enc(x.grad)})
    return c


with open(OUT, 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': [case(*c) for c in CASES]}, f)
    f.write('\n')
