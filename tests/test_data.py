"""Generator invariants of docs/model.md section 1."""

import jax
import numpy as np
import pytest

from multiview.config import override, preset
from multiview.data import generate, make_problem, make_views


def _cfg(**kw):
    base = {"data.k": 4, "data.d": 64, "data.C_p": 2, "data.sigma_p": 0.0, "data.gamma": 0.0}
    base.update(kw)
    return override(preset("small"), base).data


def test_shapes_and_ground_truth_fields():
    cfg = _cfg()
    views = make_views(jax.random.PRNGKey(0), cfg)
    ds = generate(jax.random.PRNGKey(1), cfg, views, 50, 0.3)
    assert views.shape == (4, 2, 64)
    assert ds.x.shape == (50, cfg.n_patches, 64) and cfg.n_patches == 16
    assert ds.y.shape == (50,) and ds.single.shape == (50,) and ds.strong.shape == (50,)
    assert ds.off.shape == (50, 4, 2) and ds.Z.shape == (50, 4, 2)
    assert set(np.unique(ds.y)) <= set(range(4))
    assert np.all((np.asarray(ds.strong) == -1) == ~np.asarray(ds.single))


@pytest.mark.parametrize("mode", ["orthonormal", "incoherent"])
def test_views_are_unit_and_orthonormal_when_asked(mode):
    cfg = _cfg(**{"data.views": mode, "data.d": 200})
    V = np.asarray(make_views(jax.random.PRNGKey(3), cfg)).reshape(8, 200)
    G = V @ V.T
    np.testing.assert_allclose(np.diag(G), 1.0, atol=1e-5)
    off = np.abs(G - np.diag(np.diag(G))).max()
    if mode == "orthonormal":
        assert off < 1e-5
    else:  # random unit vectors in d = 200: |<u,v>| ~ 1/sqrt(d), well below 0.5
        assert 1e-5 < off < 0.5


def test_single_view_fraction_and_coefficient_totals_in_their_ranges():
    cfg = _cfg(**{"data.mu": 0.3})
    views = make_views(jax.random.PRNGKey(0), cfg)
    n = 4000
    ds = generate(jax.random.PRNGKey(2), cfg, views, n, cfg.mu)
    single = np.asarray(ds.single)
    # binomial(4000, 0.3): std 0.0072, 5 sigma
    assert abs(single.mean() - 0.3) < 0.036
    Z, y, off = np.asarray(ds.Z), np.asarray(ds.y), np.asarray(ds.off)
    own = Z[np.arange(n), y]
    lo, hi = cfg.z_own
    assert np.all((own[~single] >= lo) & (own[~single] <= hi))
    strong = own[single, np.asarray(ds.strong)[single]]
    faint = own[single, 1 - np.asarray(ds.strong)[single]]
    assert np.all((strong >= lo) & (strong <= hi))
    assert np.all((faint >= cfg.rho - 1e-7) & (faint <= cfg.rho * cfg.rho_spread + 1e-7))
    mask = np.ones_like(off)
    mask[np.arange(n), y] = False
    offz_multi = Z[~single][off[~single]]
    offz_single = Z[single][off[single]]
    assert np.all((offz_multi >= cfg.z_off_multi[0] - 1e-7) & (offz_multi <= cfg.z_off_multi[1] + 1e-7))
    assert np.all((offz_single >= cfg.Gamma * cfg.Gamma_lo - 1e-7) & (offz_single <= cfg.Gamma + 1e-7))
    # absent views have Z = 0 and own views are never marked off-class
    assert not off[np.arange(n), y].any()
    assert np.all(Z[(mask == 1) & ~off] == 0)
    # each off-class view present with probability s/k: 4000*6 Bernoulli(0.25), 5 sigma
    assert abs(off.sum() / (n * 6) - cfg.s / cfg.k) < 5 * np.sqrt(0.25 * 0.75 / (n * 6))


def test_patches_carry_exactly_the_view_totals_without_noise():
    cfg = _cfg()
    views = make_views(jax.random.PRNGKey(0), cfg)
    ds = generate(jax.random.PRNGKey(5), cfg, views, 30, 0.5)
    proj = np.einsum("npd,kld->npkl", np.asarray(ds.x), np.asarray(views))      # [n,P,k,2]
    np.testing.assert_allclose(proj.sum(1), np.asarray(ds.Z), atol=1e-5)
    # disjoint patches: each patch carries at most one view
    assert ((np.abs(proj) > 1e-6).sum((2, 3)) <= 1).all()
    # each present view occupies exactly C_p patches
    occupied = (np.abs(proj) > 1e-6).sum(1)
    assert np.all(occupied[np.asarray(ds.Z) > 0] == cfg.C_p)


def test_gaussian_noise_has_the_configured_scale():
    cfg = _cfg(**{"data.sigma_p": 0.1, "data.d": 256})
    views = make_views(jax.random.PRNGKey(0), cfg)
    clean = generate(jax.random.PRNGKey(7), _cfg(**{"data.d": 256}), views, 200, 0.1)
    noisy = generate(jax.random.PRNGKey(7), cfg, views, 200, 0.1)
    xi = np.asarray(noisy.x - clean.x)
    # 200*16*256 samples: the empirical std is within 1% of sigma_p
    assert np.std(xi) == pytest.approx(0.1, rel=0.01)
    assert abs(np.mean(xi)) < 0.001


def test_feature_noise_adds_small_multiples_of_every_view():
    cfg = _cfg(**{"data.gamma": 0.05})
    views = make_views(jax.random.PRNGKey(0), cfg)
    clean = generate(jax.random.PRNGKey(7), _cfg(), views, 100, 0.1)
    noisy = generate(jax.random.PRNGKey(7), cfg, views, 100, 0.1)
    alpha = np.einsum("npd,kld->npkl", np.asarray(noisy.x - clean.x), np.asarray(views))
    assert alpha.min() >= -1e-6 and alpha.max() <= 0.05 + 1e-6
    assert alpha.mean() == pytest.approx(0.025, rel=0.05)


def test_same_key_same_numbers_and_other_key_other_numbers(tiny):
    a = make_problem(jax.random.PRNGKey(0), tiny.data)
    b = make_problem(jax.random.PRNGKey(0), tiny.data)
    c = make_problem(jax.random.PRNGKey(1), tiny.data)
    assert np.array_equal(a.train.x, b.train.x) and np.array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.x, c.train.x)


def test_training_single_view_fraction_is_its_own_knob(tiny):
    cfg = override(tiny, {"data.mu": 0.5, "data.mu_train": 0.0, "data.N_train": 400})
    p = make_problem(jax.random.PRNGKey(0), cfg.data)
    assert not np.asarray(p.train.single).any()
    assert 0.4 < np.asarray(p.test.single).mean() < 0.6


def test_deck_example_has_one_off_class_view_at_0_1_and_no_faint_view():
    cfg = preset("deck").data
    views = make_views(jax.random.PRNGKey(0), cfg)
    ds = generate(jax.random.PRNGKey(1), cfg, views, 3000, cfg.mu)
    off, Z, y, single = map(np.asarray, (ds.off, ds.Z, ds.y, ds.single))
    assert np.all(off.sum((1, 2)) == 1)
    np.testing.assert_allclose(Z[off], 0.1, rtol=1e-6)
    own = Z[np.arange(3000), y]
    np.testing.assert_allclose(own[~single], 1.0)
    assert np.all(np.sort(own[single], 1) == np.array([0.0, 1.0]))
    # 80 / 10 / 10: single-view with probability 0.2, each view half of that; 5 sigma
    assert abs(single.mean() - 0.2) < 5 * np.sqrt(0.16 / 3000)
    strong = np.asarray(ds.strong)[single]
    assert abs(strong.mean() - 0.5) < 5 * np.sqrt(0.25 / single.sum())


def test_configs_differing_only_in_values_share_one_compiled_generator():
    # sweeps over mu, sigma_p, rho, Gamma, s, gamma>0 ... must not recompile the generator
    from multiview import data as D

    base = _cfg(**{"data.gamma": 0.01})
    views = make_views(jax.random.PRNGKey(0), base)
    D.generate(jax.random.PRNGKey(1), base, views, 17, 0.1)
    before = D._generate.cpu._cache_size()
    for sets in ({"data.mu": 0.3, "data.sigma_p": 0.2}, {"data.rho": 0.07, "data.Gamma": 0.25},
                 {"data.s": 1.0, "data.gamma": 0.05, "data.z_own": (1.0, 3.0)}):
        cfg = _cfg(**{"data.gamma": 0.01, **sets})
        D.generate(jax.random.PRNGKey(1), cfg, views, 17, cfg.mu)
    assert D._generate.cpu._cache_size() == before
    # a different value does give a different draw (the values really are used)
    a = D.generate(jax.random.PRNGKey(1), base, views, 17, 0.1).x
    b = D.generate(jax.random.PRNGKey(1), _cfg(**{"data.gamma": 0.01, "data.sigma_p": 0.3}),
                   views, 17, 0.1).x
    assert not np.allclose(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("sets", [{}, {"data.gamma": 0.05, "data.sigma_p": 0.1},
                                  {"data.off_mode": "one", "data.views": "incoherent"}])
def test_fast_compiled_generator_draws_the_bits_of_the_default_compile(sets):
    # the generator is compiled at a lower LLVM optimisation level on the CPU to save seconds
    # of compile time; that must not change a single drawn value (exact equality)
    from multiview import data as D

    cfg = _cfg(**sets)
    shape, key = D._shape(cfg), jax.random.PRNGKey(7)
    views = [f(key, shape) for f in (D._make_views.cpu, D._make_views.default)]
    np.testing.assert_array_equal(*map(np.asarray, views))
    drawn = [f(key, shape, views[0], 33, D._values(cfg, 0.3))
             for f in (D._generate.cpu, D._generate.default)]
    for a, b in zip(*drawn):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("views", ["orthonormal", "incoherent"])
def test_orthogonal_noise_is_the_isotropic_noise_without_its_part_along_the_views(views):
    """data.noise = "orthogonal": the same Gaussian draws with their projection on the span of
    the 2k views removed, so the noise has no component along any view."""
    sets = {"data.d": 256, "data.views": views}
    iso, orth = (_cfg(**sets, **{"data.sigma_p": 0.1, "data.noise": n})
                 for n in ("isotropic", "orthogonal"))
    clean = _cfg(**sets)
    V = make_views(jax.random.PRNGKey(0), clean)
    x0, xi, xo = (np.asarray(generate(jax.random.PRNGKey(7), c, V, 100, 0.1).x, np.float64)
                  for c in (clean, iso, orth))
    noise_iso, noise_orth = xi - x0, xo - x0
    Vm = np.asarray(V, np.float64).reshape(-1, 256)
    assert np.abs(noise_orth @ Vm.T).max() < 1e-5 * np.abs(noise_iso @ Vm.T).max()
    Q, _ = np.linalg.qr(Vm.T)
    np.testing.assert_allclose(noise_orth, noise_iso - noise_iso @ Q @ Q.T, atol=1e-6)


def test_isotropic_noise_draws_are_those_before_the_noise_knob():
    """The default draws are bit for bit those of the generator before `data.noise` existed
    (sha256 of tiny's training and test patches on XLA:CPU, recorded then)."""
    import hashlib

    if jax.default_backend() != "cpu":
        pytest.skip("the recorded digest is XLA:CPU's")
    for sets, digest in (({}, "77555c68fcb46769fa0248865411dfcb790a7a8774f813afc8ed8d4f51f720de"),
                         ({"data.d": 400, "data.views": "incoherent"},
                          "22230a06c47638e0177d6b18fc1bde805a3908f7ae6c25b6fc0f19cb3f3dc8cf")):
        p = make_problem(jax.random.PRNGKey(0), override(preset("tiny"), sets).data)
        got = hashlib.sha256(np.asarray(p.train.x).tobytes() + np.asarray(p.test.x).tobytes())
        assert got.hexdigest() == digest


def test_a_large_test_set_is_drawn_in_pieces_of_the_same_distribution(monkeypatch):
    """Above CHUNKED_ABOVE bytes the test set is drawn piece by piece (keys fold_in(key, i))
    into one host array; below, it is one draw as before."""
    from multiview import data

    cfg = _cfg(**{"data.sigma_p": 0.1})
    views = make_views(jax.random.PRNGKey(0), cfg)
    key = jax.random.PRNGKey(5)
    whole = data.generate_chunked(key, cfg, views, 50, 0.3)
    np.testing.assert_array_equal(whole.x, generate(key, cfg, views, 50, 0.3).x)
    piece = 8 * cfg.n_patches * cfg.d * 4                    # 8 samples' patches
    monkeypatch.setattr(data, "CHUNK_BYTES", piece)
    monkeypatch.setattr(data, "CHUNKED_ABOVE", piece)
    parts = data.generate_chunked(key, cfg, views, 50, 0.3)
    assert isinstance(parts.x, np.ndarray) and parts.x.shape == whole.x.shape
    assert all(getattr(parts, f).shape == getattr(whole, f).shape for f in data.Dataset._fields)
    third = generate(jax.random.fold_in(key, 2), cfg, views, 8, 0.3)
    np.testing.assert_array_equal(parts.x[16:24], third.x)
    np.testing.assert_array_equal(parts.y[16:24], third.y)
