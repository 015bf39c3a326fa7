"""The `single` learner written plainly in PyTorch: the yardsticks of `multiview bench`.

What a researcher would write without `multiview`: the two-layer smoothed-ReLU network,
softmax cross-entropy, full-batch gradient descent, loss / train accuracy / Φ / Λ logged every
step, optional stop at 100% train accuracy. Two versions:
- `train_seeds`: eager, one seed after another (the plain loop);
- `train_seeds_vmap`: all seeds at once, as a PyTorch user who knows `torch.func` writes it
  (`functional_call` of the module, `grad_and_value`, `vmap` over the stacked weights).
Both are `multiview bench`'s `vs_reference` yardsticks and, in tests/test_bench.py,
independent slow paths that must reproduce the package's loss trajectory. PyTorch is optional
(`pip install torch==2.13.0`): the package imports this module only when the bench asks;
`multiview bench` runs both and reports them side by side with the package.
"""
from __future__ import annotations


import numpy as np
import torch


def smoothed_relu(z, q: int, varrho: float):
    """0 (z <= 0); z^q / (q varrho^(q-1)) (0 <= z <= varrho); z - (1 - 1/q) varrho (z >= varrho)."""
    zc = z.clamp(0.0, varrho)
    return torch.where(z >= varrho, z - (1.0 - 1.0 / q) * varrho, zc**q / (q * varrho ** (q - 1)))


def forward(W, x, q: int, varrho: float):
    """F[n, k] = sum_r sum_p ReLU~(<w_{i,r}, x_p>) for x[n, P, d], W[k, m, d]."""
    n, P, d = x.shape
    k, m, _ = W.shape
    h = x.reshape(n * P, d) @ W.reshape(k * m, d).T
    return smoothed_relu(h, q, varrho).reshape(n, P, k, m).sum((1, 3))


def train_one(W0, x, y, views, *, q=4, varrho=3.0, lr=5.0, steps=3000, stop=True):
    """Gradient descent from W0[k, m, d]; returns W and the per-step history (numpy)."""
    W = W0.clone().requires_grad_(True)
    hist = {"loss": [], "train_acc": [], "phi": [], "lam": []}
    for _ in range(steps):
        F = forward(W, x, q, varrho)
        loss = torch.nn.functional.cross_entropy(F, y)
        acc = (F.argmax(-1) == y).float().mean()
        W.grad = None
        loss.backward()
        with torch.no_grad():
            W -= lr * W.grad
            a = torch.einsum("imd,ild->iml", W, views).clamp(min=0.0)      # [k, m, 2]
        hist["loss"].append(loss.item())
        hist["train_acc"].append(acc.item())
        hist["phi"].append(a.sum(1).numpy().copy())
        hist["lam"].append(a.amax(1).numpy().copy())
        if stop and hist["train_acc"][-1] >= 1.0:
            break
    return W.detach(), {key: np.asarray(v) for key, v in hist.items()}


def train_seeds(W0s, x, y, views, **kw):
    """One model after another (the researcher's loop over seeds)."""
    return [train_one(W0, x, y, views, **kw) for W0 in W0s]


class TwoLayer(torch.nn.Module):
    """The network as a module with one parameter, W[k, m, d]."""

    def __init__(self, W0, q: int, varrho: float):
        super().__init__()
        self.W = torch.nn.Parameter(W0.clone())
        self.q, self.varrho = q, varrho

    def forward(self, x):
        return forward(self.W, x, self.q, self.varrho)


def train_seeds_vmap(W0s, x, y, views, *, q=4, varrho=3.0, lr=5.0, steps=3000, stop=True):
    """All seeds at once: torch.func.vmap of grad_and_value of the module's loss over the
    stacked weights; the same steps, history and stopping rule as `train_one` per seed."""
    from torch.func import functional_call, grad_and_value, vmap

    model = TwoLayer(W0s[0], q, varrho)

    def loss_fn(params):
        F = functional_call(model, params, (x,))
        return torch.nn.functional.cross_entropy(F, y), F

    step = vmap(grad_and_value(loss_fn, has_aux=True))
    params = {"W": torch.stack(list(W0s))}
    L = len(W0s)
    done = torch.zeros(L, dtype=torch.bool, device=x.device)
    ends = [steps] * L
    hist = {"loss": [], "train_acc": [], "phi": [], "lam": []}
    for t in range(steps):
        grads, (loss, F) = step(params)
        with torch.no_grad():
            acc = (F.argmax(-1) == y).float().mean(-1)
            W = params["W"]
            params["W"] = torch.where(done[:, None, None, None], W, W - lr * grads["W"])
            a = torch.einsum("simd,ild->siml", params["W"], views).clamp(min=0.0)
        hist["loss"].append(loss.cpu().numpy())
        hist["train_acc"].append(acc.cpu().numpy())
        hist["phi"].append(a.sum(2).cpu().numpy())
        hist["lam"].append(a.amax(2).cpu().numpy())
        if stop:
            for i in torch.nonzero((acc >= 1.0) & ~done).flatten().tolist():
                ends[i] = t + 1
            done |= acc >= 1.0
            if bool(done.all()):
                break
    hist = {key: np.stack(v, axis=1) for key, v in hist.items()}           # [L, steps, ...]
    return [(params["W"][i].detach(), {key: v[i, :ends[i]] for key, v in hist.items()})
            for i in range(L)]
