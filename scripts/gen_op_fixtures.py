#!/usr/bin/env python3
"""Records PyTorch (1.13, CPU, float64) references for cat, narrow, slice, div and BatchNorm1d/2d/3d.

Run with the interpreter that has torch:  /usr/bin/python3 scripts/gen_op_fixtures.py
Writes test/data/models/ops.json: for each case the inputs, the upstream gradient `gy`, the output
and each input's gradient; BatchNorm cases also hold the module's options, the sequence of
training/eval steps and the buffers after each step. Tests read only the JSON.
"""
import json
import os

import torch
import torch.nn as nn

torch.manual_seed(20261202)
torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'data', 'models', 'ops.json')


def enc(t):
    return None if t is None else {'shape': list(t.shape), 'data': [float(v) for v in t.detach().reshape(-1).tolist()]}


def op_case(name, op, fn, inputs, args):
    ts = [t.clone().requires_grad_(True) for t in inputs]
    out = fn(*ts)
    gy = torch.randn(tuple(out.shape))
    out.backward(gy)
    return {'name': name, 'op': op, 'args': args, 'inputs': [enc(t) for t in ts], 'gy': enc(gy), 'out': enc(out),
            'grads': [enc(t.grad) for t in ts]}


r = torch.randn
ops = [
    op_case('cat dim 1 (U-Net skip)', 'cat', lambda a, b, c: torch.cat([a, b, c], 1), [r(2, 3, 4), r(2, 1, 4), r(2, 2, 4)], {'dim': 1}),
    op_case('cat dim -1', 'cat', lambda a, b: torch.cat([a, b], -1), [r(2, 3), r(2, 5)], {'dim': -1}),
    op_case('cat dim 0, one empty', 'cat', lambda a, b: torch.cat([a, b], 0), [r(0, 3), r(2, 3)], {'dim': 0}),
    op_case('narrow dim 2', 'narrow', lambda x: torch.narrow(x, 2, 1, 3), [r(2, 3, 6)], {'dim': 2, 'start': 1, 'length': 3}),
    op_case('narrow negative start', 'narrow', lambda x: torch.narrow(x, 0, -2, 2), [r(5, 2)], {'dim': 0, 'start': -2, 'length': 2}),
    op_case('slice 1:-1:2', 'slice', lambda x: x[:, 1:-1:2], [r(3, 9)], {'dim': 1, 'start': 1, 'end': -1, 'step': 2}),
    op_case('slice clamped -100:100', 'slice', lambda x: x[-100:100], [r(4, 2)], {'dim': 0, 'start': -100, 'end': 100, 'step': 1}),
    op_case('slice step 3 from 2', 'slice', lambda x: x[:, :, 2::3], [r(2, 2, 10)], {'dim': -1, 'start': 2, 'step': 3}),
    op_case('slice empty 4:2', 'slice', lambda x: x[4:2], [r(6)], {'dim': 0, 'start': 4, 'end': 2, 'step': 1}),
    op_case('div same shape', 'div', lambda a, b: a / b, [r(2, 3), r(2, 3).abs() + 0.5], {}),
    op_case('div broadcast (N, C, L) / (C, 1)', 'div', lambda a, b: a / b, [r(2, 3, 4), r(3, 1).abs() + 0.5], {}),
    op_case('div broadcast both ways', 'div', lambda a, b: a / b, [r(3, 1), r(1, 4).abs() + 0.5], {}),
    op_case('div by a number', 'div', lambda a: a / 3, [r(2, 5)], {'other': 3}),
    op_case('div a number by a tensor', 'div', lambda b: 2 / b, [r(4).abs() + 0.5], {'input': 2}),
]


def bn_case(name, cls, features, opts, steps):
    """steps: list of (mode, input shape); gradients of x, weight and bias at each step."""
    m = cls(features, **opts)
    with torch.no_grad():
        if m.affine:
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
    init = {k: enc(v.to(torch.float64)) for k, v in m.state_dict().items()}
    rec = []
    for mode, shape in steps:
        m.train(mode == 'train')
        for p in m.parameters():
            p.grad = None
        x = (torch.randn(*shape) * 2 + 0.5).requires_grad_(True)
        y = m(x)
        gy = torch.randn(y.shape)
        y.backward(gy)
        rec.append({'mode': mode, 'x': enc(x), 'gy': enc(gy), 'y': enc(y), 'gx': enc(x.grad),
                    'gweight': enc(m.weight.grad) if m.affine else None, 'gbias': enc(m.bias.grad) if m.affine else None,
                    'state': {k: enc(v.to(torch.float64)) for k, v in m.state_dict().items()}})
    js_opts = {'eps': opts.get('eps', 1e-5), 'momentum': opts.get('momentum', 0.1), 'affine': opts.get('affine', True),
               'trackRunningStats': opts.get('track_running_stats', True)}
    return {'name': name, 'module': cls.__name__, 'numFeatures': features, 'options': js_opts, 'init': init, 'steps': rec}


bns = [
    bn_case('BatchNorm2d train, train, eval', nn.BatchNorm2d, 3, {}, [('train', (4, 3, 2, 3)), ('train', (2, 3, 3, 2)), ('eval', (2, 3, 2, 2))]),
    bn_case('BatchNorm1d (N, C) momentum 0.3 eps 1e-3', nn.BatchNorm1d, 4, {'momentum': 0.3, 'eps': 1e-3}, [('train', (5, 4)), ('eval', (3, 4))]),
    bn_case('BatchNorm1d (N, C, L) cumulative average (momentum None)', nn.BatchNorm1d, 2, {'momentum': None},
            [('train', (3, 2, 5)), ('train', (2, 2, 4)), ('train', (4, 2, 3)), ('eval', (1, 2, 6))]),
    bn_case('BatchNorm3d without affine', nn.BatchNorm3d, 2, {'affine': False}, [('train', (2, 2, 2, 3, 2)), ('eval', (1, 2, 2, 2, 2))]),
    bn_case('BatchNorm2d without running stats (batch statistics in eval)', nn.BatchNorm2d, 3, {'track_running_stats': False},
            [('train', (2, 3, 2, 2)), ('eval', (3, 3, 1, 2))]),
]
with open(OUT, 'w') as f:
    json.dump({'ops': ops, 'batchNorm': bns}, f, separators=(',', ':'))
print('wrote', OUT, os.path.getsize(OUT), 'bytes')
