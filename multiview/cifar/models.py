"""CIFAR networks in Flax linen: wide residual networks (WRN-d-w) and a small fast net.

WRN-d-w follows Zagoruyko & Komodakis (2016): a 3x3 stem with 16 channels, three groups of
(d - 4) / 6 pre-activation basic blocks with widths 16w, 32w, 64w (strides 1, 2, 2), a 1x1
projection shortcut where the shape changes, then BN-ReLU, global average pooling and a
linear classifier. "ResNet-d-w" in the paper's tables (docs/cifar.md) are these networks;
"ResNet-34" is WRN-34-1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import flax.linen as nn

IMAGE_SHAPE = (32, 32, 3)

# He-normal on fan-out, as in the reference WRN code.
conv_init = nn.initializers.variance_scaling(2.0, "fan_out", "normal")


@dataclass(frozen=True)
class ArchSpec:
    """What an arch name resolves to: a WRN (depth, width) or the fast net (base width)."""

    name: str
    family: str  # "wrn" or "fast"
    depth: int = 0
    width: int = 1


WRN_ARCHS = {
    "wrn-28-2": (28, 2),
    "wrn-34-1": (34, 1),
    "wrn-34-2": (34, 2),
    "wrn-16-10": (16, 10),
    "wrn-22-10": (22, 10),
    "wrn-28-10": (28, 10),
}
ALIASES = {"wrn-34": "wrn-34-1", "resnet-34": "wrn-34-1"}
FAST_WIDTH = 32
ARCH_NAMES = tuple(WRN_ARCHS) + tuple(ALIASES) + ("fast", "fast-W (W = base width)")


def resolve_arch(name: str) -> ArchSpec:
    """Arch name -> ArchSpec; raises ValueError naming the allowed names."""
    key = ALIASES.get(name.lower(), name.lower())
    if key in WRN_ARCHS:
        depth, width = WRN_ARCHS[key]
        return ArchSpec(key, "wrn", depth, width)
    if key == "fast":
        return ArchSpec("fast", "fast", width=FAST_WIDTH)
    match = re.fullmatch(r"fast-(\d+)", key)
    if match and int(match.group(1)) >= 1:
        return ArchSpec(key, "fast", width=int(match.group(1)))
    raise ValueError(f"unknown arch {name!r}; allowed: {', '.join(ARCH_NAMES)}")


class WideBlock(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus shortcut."""

    features: int
    stride: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        norm = lambda: nn.BatchNorm(use_running_average=not train, momentum=0.9,
                                    epsilon=1e-5, dtype=self.dtype)
        conv = lambda f, k, s: nn.Conv(f, (k, k), (s, s), padding="SAME" if k == 3 else "VALID",
                                       use_bias=False, kernel_init=conv_init, dtype=self.dtype)
        same_shape = x.shape[-1] == self.features and self.stride == 1
        act = nn.relu(norm()(x))
        shortcut = x if same_shape else conv(self.features, 1, self.stride)(act)
        y = conv(self.features, 3, self.stride)(act)
        y = conv(self.features, 3, 1)(nn.relu(norm()(y)))
        return y + shortcut


class WideResNet(nn.Module):
    """WRN-depth-width for 32x32 inputs; returns logits."""

    depth: int
    width: int
    num_classes: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = True):
        assert (self.depth - 4) % 6 == 0, "WRN depth must be 6n + 4"
        blocks = (self.depth - 4) // 6
        x = nn.Conv(16, (3, 3), use_bias=False, kernel_init=conv_init, dtype=self.dtype)(x)
        for group, stride in enumerate((1, 2, 2)):
            for i in range(blocks):
                x = WideBlock(16 * 2**group * self.width, stride if i == 0 else 1,
                              self.dtype)(x, train)
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                         dtype=self.dtype)(x)
        x = nn.relu(x).mean(axis=(1, 2))
        return nn.Dense(self.num_classes, dtype=self.dtype)(x)


class FastNet(nn.Module):
    """Small conv net for quick runs (~300k params at base width 32): a 3x3 stem, then three
    stages of [3x3 conv stride 2, 3x3 conv] with widths (1, 2, 4) x base, each conv
    followed by BN and GELU; global average pooling and a linear head.

    Strided convs rather than conv + max-pool: half the FLOPs, and XLA:CPU's max-pool
    backward is slow (measured 3x per step), which matters for the CPU runs.
    """

    width: int
    num_classes: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = True):
        def conv_bn(x, features, stride=1):
            x = nn.Conv(features, (3, 3), (stride, stride), use_bias=False,
                        kernel_init=conv_init, dtype=self.dtype)(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                             dtype=self.dtype)(x)
            return nn.gelu(x)

        x = conv_bn(x, self.width)
        for factor in (1, 2, 4):
            x = conv_bn(x, self.width * factor, stride=2)
            x = conv_bn(x, self.width * factor)
        return nn.Dense(self.num_classes, dtype=self.dtype)(x.mean(axis=(1, 2)))


class SumOfModels(nn.Module):
    """L copies of a network with their own parameters; logits = sum of the members' logits.

    Training this on labels is the paper's "train the sum" baseline (docs/model.md section 3). The
    members are called in turn (submodules member_0 ..), not under nn.vmap: XLA:CPU runs
    vmapped (grouped) convolutions about 3x slower per member (measured).
    """

    base: nn.Module
    members: int

    @nn.compact
    def __call__(self, x, train: bool = True):
        return sum(self.base.clone(parent=self, name=f"member_{i}")(x, train)
                   for i in range(self.members))


def build(arch: str | ArchSpec, num_classes: int, dtype=jnp.float32) -> nn.Module:
    """Flax module for an arch name (see ARCH_NAMES); dtype is the compute dtype."""
    spec = resolve_arch(arch) if isinstance(arch, str) else arch
    if spec.family == "wrn":
        return WideResNet(spec.depth, spec.width, num_classes, dtype)
    return FastNet(spec.width, num_classes, dtype)


def variable_shapes(model: nn.Module, batch: int = 1):
    """Shapes of the model's variables, via jax.eval_shape (nothing is allocated)."""
    x = jax.ShapeDtypeStruct((batch, *IMAGE_SHAPE), jnp.float32)
    return jax.eval_shape(lambda k, x: model.init(k, x, train=False), jax.random.PRNGKey(0), x)


def param_count(model: nn.Module) -> int:
    """Number of trainable parameters (conv, BN scale/bias, dense), without allocating."""
    params = variable_shapes(model)["params"]
    return int(sum(leaf.size for leaf in jax.tree.leaves(params)))


def forward_flops(model: nn.Module, batch: int = 1) -> float:
    """XLA's FLOP count for one inference forward pass of `batch` images (lowered, not run)."""
    shapes = variable_shapes(model)
    x = jax.ShapeDtypeStruct((batch, *IMAGE_SHAPE), jnp.float32)
    lowered = jax.jit(lambda v, x: model.apply(v, x, train=False)).lower(shapes, x)
    return float(lowered.cost_analysis()["flops"])


def describe(arch: str, num_classes: int = 10) -> dict:
    """Plain-data summary of an arch: resolved name, family, depth/width, params, FLOPs."""
    spec = resolve_arch(arch)
    model = build(spec, num_classes)
    return {
        "arch": spec.name,
        "family": spec.family,
        "depth": spec.depth if spec.family == "wrn" else None,
        "width": spec.width,
        "num_classes": num_classes,
        "params": param_count(model),
        "forward_flops_per_image": forward_flops(model),
    }
