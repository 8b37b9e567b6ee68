#!/usr/bin/env python3
"""Records PyTorch (1.13, CPU, float64) references for convkit's autograd ops and optimizers.

Run with the interpreter that has torch:  /usr/bin/python3 scripts/gen_autograd_fixtures.py
Writes test/cases/ops.json (op outputs and gradients) and test/cases/optim.json (optimizer
trajectories on Conv1d -> LeakyReLU -> ConvTranspose1d). Tests read only the JSON.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20240611)
torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'cases')


def enc(t):
    return {'shape': list(t.shape), 'data': [float(v) for v in t.detach().reshape(-1).tolist()]}


def away_from_zero(shape):
    """Values with |v| >= 0.1, so that relu / l1 kinks are not sampled."""
    v = torch.randn(*shape)
    return v + 0.1 * torch.sign(v)


def op_case(name, op, fn, inputs, args=None, grad_mask=None):
    ts = [t.clone().requires_grad_(grad_mask[i] if grad_mask else True) for i, t in enumerate(inputs)]
    out = fn(*ts)
    gy = torch.randn(tuple(out.shape))
    out.backward(gy)
    return {
        'name': name, 'op': op, 'args': args or {},
        'inputs': [dict(enc(t), requiresGrad=t.requires_grad) for t in ts],
        'gy': enc(gy), 'out': enc(out),
        'grads': [enc(t.grad) if t.grad is not None else None for t in ts],
    }


def ops_cases():
    r = torch.randn
    c = []
    c.append(op_case('add same shape', 'add', torch.add, [r(2, 3), r(2, 3)]))
    c.append(op_case('add per-channel bias (C,1)', 'add', torch.add, [r(2, 3, 4), r(3, 1)]))
    c.append(op_case('add bias (1,C,1) first', 'add', torch.add, [r(1, 3, 1), r(2, 3, 4)]))
    c.append(op_case('add both broadcast', 'add', torch.add, [r(4, 1), r(1, 5)]))
    c.append(op_case('add scalar', 'add', lambda a: a + 1.5, [r(2, 2)], {'scalar': 1.5}))
    c.append(op_case('sub (N,C,L) - (C,1)', 'sub', torch.sub, [r(2, 3, 4), r(3, 1)]))
    c.append(op_case('sub trailing vector', 'sub', torch.sub, [r(3,), r(2, 3)]))
    c.append(op_case('sub scalar first', 'sub', lambda a: 0.5 - a, [r(3, 2)], {'scalarFirst': 0.5}))
    c.append(op_case('mul same shape', 'mul', torch.mul, [r(3, 4), r(3, 4)]))
    c.append(op_case('mul per-channel scale (C,1)', 'mul', torch.mul, [r(2, 3, 4), r(3, 1)]))
    c.append(op_case('mul (1,C,1) scale', 'mul', torch.mul, [r(2, 3, 5), r(1, 3, 1)]))
    c.append(op_case('mul constant operand', 'mul', torch.mul, [r(2, 3), r(2, 3)], grad_mask=[True, False]))
    c.append(op_case('mul scalar', 'mul', lambda a: a * -2.0, [r(2, 3)], {'scalar': -2.0}))
    c.append(op_case('relu', 'relu', F.relu, [away_from_zero((3, 5))]))
    c.append(op_case('leakyRelu default', 'leakyRelu', F.leaky_relu, [away_from_zero((2, 7))]))
    c.append(op_case('leakyRelu 0.2', 'leakyRelu', lambda a: F.leaky_relu(a, 0.2), [away_from_zero((2, 7))],
                     {'negativeSlope': 0.2}))
    c.append(op_case('tanh', 'tanh', torch.tanh, [2 * r(4, 3)]))
    c.append(op_case('sigmoid', 'sigmoid', torch.sigmoid, [4 * r(4, 3)]))
    c.append(op_case('sum all', 'sum', torch.sum, [r(2, 3, 4)]))
    c.append(op_case('sum dim 1', 'sum', lambda a: a.sum(1), [r(2, 3, 4)], {'dim': 1}))
    c.append(op_case('sum dims [0, 2] keepdim', 'sum', lambda a: a.sum([0, 2], keepdim=True), [r(2, 3, 4)],
                     {'dim': [0, 2], 'keepdim': True}))
    c.append(op_case('sum dim -1', 'sum', lambda a: a.sum(-1), [r(3, 5)], {'dim': -1}))
    c.append(op_case('mean all', 'mean', torch.mean, [r(2, 3, 4)]))
    c.append(op_case('mean dim -1 keepdim', 'mean', lambda a: a.mean(-1, keepdim=True), [r(2, 3, 4)],
                     {'dim': -1, 'keepdim': True}))
    c.append(op_case('mean dims [1, 2]', 'mean', lambda a: a.mean([1, 2]), [r(2, 3, 4)], {'dim': [1, 2]}))
    c.append(op_case('reshape', 'reshape', lambda a: a.reshape(4, -1), [r(2, 3, 4)], {'shape': [4, -1]}))
    c.append(op_case('permute', 'permute', lambda a: a.permute(2, 0, 1), [r(2, 3, 4)], {'dims': [2, 0, 1]}))
    for red in ['mean', 'sum', 'none']:
        c.append(op_case(f'mseLoss {red}', 'mseLoss', lambda a, b, red=red: F.mse_loss(a, b, reduction=red),
                         [r(2, 3, 4), r(2, 3, 4)], {'reduction': red}))
    for red in ['mean', 'sum']:
        x = r(3, 5)
        c.append(op_case(f'l1Loss {red}', 'l1Loss', lambda a, b, red=red: F.l1_loss(a, b, reduction=red),
                         [x, x + away_from_zero((3, 5))], {'reduction': red}))
    c.append(op_case('mseLoss target constant', 'mseLoss', F.mse_loss, [r(4, 2), r(4, 2)],
                     {'reduction': 'mean'}, grad_mask=[True, False]))
    # A composite graph: a tensor used twice, broadcasting bias, activation, reduction.
    c.append(op_case('composite tanh(x*w + b) * x, mean', 'composite',
                     lambda x, w, b: (torch.tanh(x * w + b) * x).mean(), [r(2, 3, 4), r(3, 1), r(1, 3, 1)]))
    return c


def model():
    return torch.nn.Sequential(
        torch.nn.Conv1d(2, 3, 3, stride=2, padding=1),
        torch.nn.LeakyReLU(0.1),
        torch.nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1),
    )


def trajectory(name, make_opt, opt_name, opt_args, steps=5):
    torch.manual_seed(7)
    net = model()
    x = torch.randn(4, 2, 8)
    target = torch.sin(torch.linspace(0, 6, 8)).expand(4, 2, 8) + 0.1 * torch.randn(4, 2, 8)
    init = {k: enc(v) for k, v in net.state_dict().items()}
    opt = make_opt(net.parameters())
    losses, params = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(net(x), target)
        loss.backward()
        opt.step()
        losses.append(float(loss))
        params.append({k: enc(v) for k, v in net.state_dict().items()})
    return {
        'name': name, 'optimizer': opt_name, 'options': opt_args,
        'model': {'conv': {'in': 2, 'out': 3, 'k': 3, 'stride': 2, 'padding': 1}, 'leakyRelu': 0.1,
                  'convTranspose': {'in': 3, 'out': 2, 'k': 4, 'stride': 2, 'padding': 1}},
        'x': enc(x), 'target': enc(target), 'init': init, 'losses': losses, 'params': params,
    }


def optim_cases():
    S, A = torch.optim.SGD, torch.optim.Adam
    return [
        trajectory('SGD plain', lambda p: S(p, lr=0.1), 'SGD', {'lr': 0.1}),
        trajectory('SGD momentum + weight decay', lambda p: S(p, lr=0.05, momentum=0.9, weight_decay=0.01),
                   'SGD', {'lr': 0.05, 'momentum': 0.9, 'weightDecay': 0.01}),
        trajectory('SGD momentum + dampening', lambda p: S(p, lr=0.05, momentum=0.8, dampening=0.3),
                   'SGD', {'lr': 0.05, 'momentum': 0.8, 'dampening': 0.3}),
        trajectory('SGD nesterov + weight decay',
                   lambda p: S(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001),
                   'SGD', {'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weightDecay': 0.001}),
        trajectory('Adam defaults', lambda p: A(p), 'Adam', {}),
        trajectory('Adam lr 1e-2 betas (0.8, 0.99)', lambda p: A(p, lr=1e-2, betas=(0.8, 0.99)),
                   'Adam', {'lr': 1e-2, 'betas': [0.8, 0.99]}),
        trajectory('Adam amsgrad + weight decay', lambda p: A(p, lr=2e-2, weight_decay=0.05, amsgrad=True, eps=1e-6),
                   'Adam', {'lr': 2e-2, 'weightDecay': 0.05, 'amsgrad': True, 'eps': 1e-6}),
    ]


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump({'generator': 'scripts/gen_autograd_fixtures.py', 'torch': torch.__version__, 'cases': obj}, f)
        f.write('\n')
    print(f'wrote {os.path.relpath(path)} ({len(obj)} cases)')


if __name__ == '__main__':
    write('ops.json', ops_cases())
    write('optim.json', optim_cases())
