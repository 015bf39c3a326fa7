"""CIFAR networks: parameter counts (independent formula + published figures), and one
forward/backward pass per architecture on tiny inputs."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from multiview.cifar import models

WRNS = list(models.WRN_ARCHS)


def wrn_param_formula(depth: int, width: int, classes: int) -> int:
    """Hand count of WRN-depth-width: convs (no bias), BN scale+bias, 1x1 shortcuts, head."""
    blocks = (depth - 4) // 6
    total, cin = 3 * 3 * 3 * 16, 16
    for cout in (16 * width, 32 * width, 64 * width):
        for _ in range(blocks):
            total += 2 * cin + 9 * cin * cout + 2 * cout + 9 * cout * cout
            total += cin * cout if cin != cout else 0
            cin = cout
    return total + 2 * cin + cin * classes + classes


def fast_param_formula(width: int, classes: int) -> int:
    total, cin = 27 * width + 2 * width, width
    for cout in (width, 2 * width, 4 * width):
        total += 9 * cin * cout + 2 * cout + 9 * cout * cout + 2 * cout
        cin = cout
    return total + cin * classes + classes


@pytest.mark.parametrize("arch,classes", [(a, 10) for a in WRNS] + [("wrn-28-10", 100),
                                                                      ("wrn-34-1", 100)])
def test_wrn_param_count_matches_hand_formula(arch, classes):
    depth, width = models.WRN_ARCHS[arch]
    assert models.param_count(models.build(arch, classes)) == wrn_param_formula(depth, width,
                                                                                 classes)


@pytest.mark.parametrize("arch,reference", [("wrn-28-10", 36.5e6), ("wrn-28-2", 1.47e6)])
def test_wrn_param_count_matches_published_figure(arch, reference):
    # The published figures are rounded to 3 significant digits (<= 0.35% rounding error);
    # 1% also rules out any missing or extra layer (one 3x3 conv of WRN-28-2's last group
    # alone is 147k params = 10%).
    count = models.param_count(models.build(arch, 10))
    assert abs(count - reference) / reference < 0.01
    assert count == {"wrn-28-10": 36_479_194, "wrn-28-2": 1_467_610}[arch]


@pytest.mark.parametrize("arch,width", [("fast", 32), ("fast-8", 8)])
def test_fast_net_param_count_matches_hand_formula(arch, width):
    count = models.param_count(models.build(arch, 10))
    assert count == fast_param_formula(width, 10)
    if arch == "fast":
        assert 100_000 < count < 1_000_000


def test_arch_aliases_and_unknown_names():
    assert models.resolve_arch("resnet-34") == models.resolve_arch("wrn-34-1")
    assert models.resolve_arch("WRN-34").name == "wrn-34-1"
    with pytest.raises(ValueError, match="allowed"):
        models.resolve_arch("wrn-40-4")


def forward_backward(model, batch=2, size=8):
    """(loss, logits, new batch stats, grads, old batch stats) of one train-mode step on
    tiny inputs (the nets pool globally, so 8x8 works); values drawn in numpy."""
    shapes = jax.eval_shape(lambda x: model.init(jax.random.PRNGKey(0), x, train=False),
                            jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32))
    rng = np.random.default_rng(0)
    params = jax.tree.map(lambda s: jnp.asarray(rng.normal(0, 0.1, s.shape), jnp.float32),
                          shapes["params"])
    stats = {"batch_stats": jax.tree.map(lambda s: jnp.zeros(s.shape), shapes["batch_stats"])}
    x = jnp.asarray(rng.normal(size=(batch, size, size, 3)), jnp.float32)
    y = jnp.arange(batch) % 10

    def loss_and_grad(params, stats, x):
        def loss(p):
            logits, new = model.apply({"params": p, **stats}, x, train=True,
                                      mutable=["batch_stats"])
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), (
                logits, new)
        return jax.value_and_grad(loss, has_aux=True)(params)

    return loss_and_grad, (params, stats, x)


@pytest.mark.parametrize("arch", WRNS + ["fast"])
def test_forward_backward_traces_with_matching_shapes(arch):
    # Every arch: forward + backward traced abstractly (no compilation, so it stays fast);
    # gradients have the parameters' shapes.
    fn, args = forward_backward(models.build(arch, 10))
    (loss, (logits, _)), grads = jax.eval_shape(fn, *args)
    assert logits.shape == (2, 10) and loss.shape == ()
    assert jax.tree.map(lambda g: g.shape, grads) == jax.tree.map(lambda p: p.shape, args[0])


# Run numerically: WRN-16-1 (the WideResNet class of every WRN above, at its shallowest
# and narrowest) has every code path of the family: an identity shortcut in group 1's first
# block as in WRN-34-1, 1x1 projections where groups change width, identity shortcuts in
# later blocks; plus the fast net. Compiling all six WRNs would cost ~5-10 s of CPU apiece.
@pytest.mark.parametrize("model", [models.WideResNet(16, 1, 10), models.build("fast", 10)],
                         ids=["wrn-16-1", "fast"])
def test_forward_backward_gives_finite_nonzero_gradients(model):
    fn, args = forward_backward(model)
    (loss, (logits, new_stats)), grads = jax.jit(fn)(*args)
    assert logits.shape == (2, 10) and np.isfinite(float(loss))
    norms = [float(jnp.linalg.norm(g)) for g in jax.tree.leaves(grads)]
    assert all(np.isfinite(norms)) and all(n > 0 for n in norms)
    moved = jax.tree.leaves(jax.tree.map(lambda a, b: bool(jnp.any(a != b)),
                                         new_stats["batch_stats"], args[1]["batch_stats"]))
    assert all(moved)  # batch-norm running statistics are updated in train mode


def test_sum_of_models_is_sum_of_independent_members():
    base = models.build("fast-4", 10)
    summed = models.SumOfModels(base, 2)
    x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 32, 32, 3)), jnp.float32)
    with jax.threefry_partitionable(False):  # as in train.init_state: quicker to compile
        v = jax.jit(lambda k: summed.init(k, x, train=False))(jax.random.PRNGKey(0))
    members = [{c: v[c][f"member_{i}"] for c in v} for i in range(2)]

    @jax.jit
    def both(v, members):
        return (summed.apply(v, x, train=False),
                [base.apply(m, x, train=False) for m in members])

    total, each = both(v, members)
    np.testing.assert_allclose(total, sum(each), rtol=1e-5, atol=1e-5)
    assert not np.allclose(each[0], each[1])  # members are initialised differently
