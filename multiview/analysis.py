"""The numbers behind the figures, apart from their drawing: prediction bands shifted into a
quantity's units, error bars (95 % CI or std), the lottery's pick, ensemble-size curves, phase
grids and their slices, the stability curves, and the teacher's share of distillation's gain
across k (paired bootstrap, fits against log k and 1/k, extrapolation to a target share).

Pure functions of loaded results (dicts and numpy arrays): no matplotlib, never trains;
multiview/plots/ draws what they return.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError


def pct(v) -> float:
    """A fraction in percent; nan for an undefined (null) accuracy."""
    return float("nan") if v is None else 100 * v


def prediction_bands(check: dict) -> dict[tuple[str, str], tuple[float, float, str]]:
    """(method, quantity) -> (lo, hi, id) for the predictions, in the quantity's own units:
    bands on a difference "q - other" or "other - q" are shifted by the other's measured value."""
    methods = check["methods"]
    out = {}
    for p in check["predictions"]:
        lo, hi = p["expected"]
        m, q = p["method"], p["quantity"]
        if q.startswith("views") or "fraction" in q:
            continue
        if " - " in q:
            a, b = (s.strip() for s in q.split(" - "))
            if None in (methods.get(a, {}).get(b, 0), methods.get(b, {}).get(a, 0)):
                continue                                     # undefined (null) accuracy
            if a in methods and b not in methods:          # "ensemble - test_acc_single"
                base, q = methods[a][b], b
                lo, hi = base - hi, base - lo
            elif b in methods:                               # "test_acc_single - single"
                base, q = methods[b][a], a
                lo, hi = base + lo, base + hi
            else:
                continue
        key = (m, q)
        if key in out:      # several bands on one bar: keep their intersection
            lo, hi = max(lo, out[key][0]), min(hi, out[key][1])
        out[key] = (max(lo, 0.0), min(hi, 1.0), p["id"])
    return out


def has_ci(records) -> bool:
    return any("ci" in m for m in records)


def error_bars(record: dict, q: str, ci: bool) -> tuple[float, float]:
    """(below, above) the mean in percent: the 95 % CI of `q` where the results carry
    intervals (0 where it is undefined: one model), else ± std."""
    mean = pct(record[q])
    if ci:
        lo_hi = (record.get("ci") or {}).get(q)
        if not lo_hi or None in lo_hi or not np.isfinite(mean):
            return 0.0, 0.0
        return max(0.0, mean - 100 * lo_hi[0]), max(0.0, 100 * lo_hi[1] - mean)
    sd = pct(record["std"][q])
    return sd, sd


def lottery_pick(lam_end, thr):
    """A class and two seeds that learned different views of it (one view each), if any."""
    L, k, _ = lam_end.shape
    won = np.where((lam_end >= thr).sum(-1) == 1, np.argmax(lam_end, -1), -1)   # [L, k]
    for c in range(k):
        a = [s for s in range(L) if won[s, c] == 0]
        b = [s for s in range(L) if won[s, c] == 1]
        if a and b:
            return c, [a[0], b[0]]
    return 0, list(range(min(2, L)))


def ensemble_curve(test_logits: np.ndarray, y: np.ndarray, single: np.ndarray,
                   draws: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    """Single-view test accuracy of ensembles of L' = 1..L members (random subsets of the L
    trained ones): mean and std over `draws` subsets (all of them when there are fewer)."""
    import itertools
    import math

    L = test_logits.shape[0]
    rng = np.random.default_rng(seed)
    mean, std, multi = [], [], []
    for size in range(1, L + 1):
        if math.comb(L, size) <= draws:
            subsets = [list(c) for c in itertools.combinations(range(L), size)]
        else:
            subsets = [rng.choice(L, size, replace=False) for _ in range(draws)]
        acc_s, acc_m = [], []
        for sub in subsets:
            correct = test_logits[sub].mean(0).argmax(-1) == y
            acc_s.append(correct[single].mean())
            acc_m.append(correct[~single].mean())
        mean.append(np.mean(acc_s))
        std.append(np.std(acc_s))
        multi.append(np.mean(acc_m))
    return {"L": np.arange(1, L + 1), "single_mean": np.array(mean), "single_std": np.array(std),
            "multi_mean": np.array(multi)}


def num(v) -> float:
    """A stored number, nan for null (an undefined accuracy: mu = 0 has no single-view point)."""
    return np.nan if v is None else float(v)


def same_value(a, b) -> bool:
    """A grid value equals a value given as text on the command line (or as itself)."""
    if a == b or str(a) == str(b) or value_text(a) == str(b):
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def value_text(v):
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


def slice_of(sweep: dict, axes: list[str], fixed: dict | None = None, what: str = "plot phase"
             ) -> dict:
    """The values of the grid fields not on an axis: `fixed` (FIELD -> value, a value of the
    grid, given as itself or as text), else each field's first value."""
    grid = sweep["grid"]
    fixed = dict(fixed or {})
    for f, v in fixed.items():
        if f not in grid or f in axes:
            others = [g for g in grid if g not in axes]
            raise ConfigError(f"{what}: --fix {f}: not a grid field off the axes (allowed: "
                              f"{', '.join(others) or 'none'})")
        match = [g for g in grid[f] if same_value(g, v)]
        if not match:
            raise ConfigError(f"{what}: --fix {f}={v}: not a value of the grid (allowed: "
                              f"{', '.join(value_text(g) for g in grid[f])})")
        fixed[f] = match[0]
    return {f: vals[0] for f, vals in grid.items() if f not in axes} | fixed


def finished_points(sweep: dict, what: str) -> list[dict]:
    if not sweep.get("points"):
        failed = len(sweep.get("failed", []))
        raise ConfigError(f"{what}: the sweep has no finished point to draw"
                          + (f" ({failed} failed)" if failed else ""))
    return sweep["points"]


def crosses(ci, band) -> bool:
    """Whether an interval [a, b] straddles an end of a band [lo, hi]."""
    if not ci or None in ci or not band:
        return False
    return any(ci[0] < end < ci[1] for end in band)


def phase_grid(sweep: dict, x: str, y: str, fixed: dict | None = None):
    """Arrays [ny, nx] of the sweep's points over fields x and y (other grid fields at `fixed`,
    default: their first value): each method's single-view test accuracy (`acc`), the single
    model's ("single", nan where not run) and the ensemble's, the ensemble gain, whether the
    Theorem 1-2 bands hold, and whether single's 95 % CI crosses the T1.single band."""
    grid = sweep["grid"]
    for f in (x, y):
        if f not in grid:
            raise ConfigError(f"plot phase: {f!r} is not a field of the sweep's grid "
                              f"({', '.join(grid)})")
    fixed = slice_of(sweep, [x, y], fixed)
    xs, ys = grid[x], grid[y]
    shape = (len(ys), len(xs))
    acc = {m: np.full(shape, np.nan) for m in sweep.get("methods", [])}
    out = {k: np.full(shape, np.nan) for k in ("single", "single_std", "ensemble", "gain")}
    out |= {k: np.zeros(shape, bool) for k in ("regime", "found", "crosses")}
    for p in finished_points(sweep, "plot phase"):
        g = p["grid"]
        if any(g[f] != v for f, v in fixed.items()):
            continue
        i, j = ys.index(g[y]), xs.index(g[x])
        m = p["methods"]
        out["found"][i, j] = True
        for name, rec in m.items():
            acc.setdefault(name, np.full(shape, np.nan))[i, j] = num(rec["test_acc_single"])
        if "single" in m:
            out["single"][i, j] = num(m["single"]["test_acc_single"])
            out["single_std"][i, j] = num(m["single"]["std"]["test_acc_single"])
            band = next((q["expected"] for q in p["predictions"] if q["id"] == "T1.single"), None)
            out["crosses"][i, j] = crosses((m["single"].get("ci") or {}).get("test_acc_single"),
                                            band)
        if "ensemble" in m:
            out["ensemble"][i, j] = num(m["ensemble"]["test_acc_single"])
            out["gain"][i, j] = out["ensemble"][i, j] - out["single"][i, j]
        bands = [q["holds"] for q in p["predictions"] if q["id"].split(".")[0] in ("T1", "T2")]
        out["regime"][i, j] = bool(bands) and all(h is True for h in bands)
    out["acc"] = acc
    return xs, ys, out, {f: v for f, v in fixed.items()}


def phase_line(sweep: dict, x: str, fixed: dict | None = None) -> dict:
    """Per method, over the values of field x (other fields at `fixed`): single-view test
    accuracy and its error bars in percent (95 % CI where the sweep has one, else ± std)."""
    grid = sweep["grid"]
    if x not in grid:
        raise ConfigError(f"plot phase: {x!r} is not a field of the sweep's grid "
                          f"({', '.join(grid)})")
    fixed = slice_of(sweep, [x], fixed)
    xs = grid[x]
    points = [p for p in finished_points(sweep, "plot phase")
              if all(p["grid"][f] == v for f, v in fixed.items())]
    ci = has_ci(m for p in points for m in p["methods"].values())
    out = {}
    for name in sweep.get("methods") or list(points[0]["methods"]):
        acc = np.full(len(xs), np.nan)
        err = np.zeros((2, len(xs)))
        for p in points:
            rec = p["methods"].get(name)
            if rec is None:
                continue
            j = xs.index(p["grid"][x])
            acc[j] = pct(rec["test_acc_single"])
            err[:, j] = error_bars(rec, "test_acc_single", ci)
        if np.isfinite(acc).any():
            out[name] = (acc, err)
    return {"x": xs, "methods": out, "ci": ci, "fixed": fixed}


def teacher_grid(sweep: dict, x: str, y: str, fixed: dict | None = None):
    """[ny, nx] arrays over the sweep's fields x, y (other grid fields at `fixed`, default: their
    first value): kd's single-view gain over labels_alone, the teacher dependence (kd minus
    kd_twin), and whether T3.teacher and students.bounded hold."""
    grid = sweep["grid"]
    for f in (x, y):
        if f not in grid:
            raise ConfigError(f"plot phase-teacher: {f!r} is not a field of the sweep's grid "
                              f"({', '.join(grid)})")
    fixed = slice_of(sweep, [x, y], fixed, "plot phase-teacher")
    xs, ys = grid[x], grid[y]
    shape = (len(ys), len(xs))
    out = {k: np.full(shape, np.nan) for k in ("gain", "dependence")}
    out["found"] = np.zeros(shape, bool)
    out["controls"] = np.zeros(shape, bool)
    for p in finished_points(sweep, "plot phase-teacher"):
        g, m = p["grid"], p["methods"]
        if any(g[f] != v for f, v in fixed.items()):
            continue
        if not {"kd", "kd_twin"} <= set(m):
            raise ConfigError("plot phase-teacher: the sweep must have run the methods kd and "
                              "kd_twin (--methods single,ensemble,kd,kd_twin)")
        i, j = ys.index(g[y]), xs.index(g[x])
        out["found"][i, j] = True
        kd = num(m["kd"]["test_acc_single"])
        out["dependence"][i, j] = kd - num(m["kd_twin"]["test_acc_single"])
        alone = p.get("labels_alone")
        if alone is not None:
            out["gain"][i, j] = kd - num(alone["test_acc_single"])
        held = {q["id"]: q["holds"] for q in p["predictions"]}
        out["controls"][i, j] = bool(held.get("T3.teacher")) and bool(held.get("students.bounded"))
    return xs, ys, out, fixed


def stability_curve(record: dict) -> dict:
    """The curves of a stability.json (runs.stability_of): x = steps / B (steps where B is
    undefined: a member never fit), and for the both-views and the one-view share the mean
    over the L members with its 95 % confidence interval over them (metrics.confidence_interval:
    a t-interval for L <= 20; equal members give a zero-width interval)."""
    from .metrics import confidence_interval

    steps = np.asarray(record["steps"], float)
    B = record["B"]
    out = {"steps": steps, "x": steps / B if B else steps, "B": B}
    for q in ("both", "one"):
        rows = np.asarray(record[q], float)                       # [steps, L]
        ci = [confidence_interval(r) or [np.nan, np.nan] for r in rows]
        out[q] = (rows.mean(1), np.array([c[0] for c in ci]), np.array([c[1] for c in ci]))
    return out


MIN_GAIN = 0.01       # a share is undefined where kd's single-view gain is under one point


def teacher_members(sweep: dict, fixed: dict | None = None, what: str = "plot teacher-vs-k"):
    """(ks, [{"kd", "kd_twin", "labels_alone": per-member single-view test accuracy [L]}], fixed)
    of a sweep over data.k (other grid fields at `fixed`, default: their first value) that ran
    kd and kd_twin; the members are paired (the same student initialisations)."""
    if "data.k" not in sweep["grid"]:
        raise ConfigError(f"{what}: the sweep needs data.k in its grid (it has "
                          f"{', '.join(sweep['grid'])})")
    fixed = slice_of(sweep, ["data.k"], fixed, what)
    rows = []
    for p in finished_points(sweep, what):
        if any(not same_value(p["grid"][f], v) for f, v in fixed.items()):
            continue
        m, alone = p["methods"], p.get("labels_alone")
        if not {"kd", "kd_twin"} <= set(m) or alone is None:
            raise ConfigError(f"{what}: the sweep must have run the methods kd and kd_twin "
                              "(--methods single,ensemble,kd,kd_twin)")
        recs = {"kd": m["kd"], "kd_twin": m["kd_twin"], "labels_alone": alone}
        if any("per_model" not in r for r in recs.values()):
            raise ConfigError(f"{what}: the sweep's points have no per-model values (written "
                              "by an older multiview: rerun the sweep)")
        vals = {n: np.array([num(v) for v in r["per_model"]["test_acc_single"]])
                for n, r in recs.items()}
        if all(np.isfinite(v).all() for v in vals.values()):
            rows.append((p["grid"]["data.k"], vals))
    if not rows:
        raise ConfigError(f"{what}: no point of the sweep has a single-view test accuracy "
                          "(mu = 0 has no single-view test point)")
    rows.sort(key=lambda r: r[0])
    return [k for k, _ in rows], [v for _, v in rows], fixed


def teacher_share(kd: float, kd_twin: float, alone: float, min_gain: float = MIN_GAIN) -> float:
    """theory's T3.teacher of mean single-view accuracies: (kd - kd_twin) / (kd - labels_alone);
    nan where the gain kd - labels_alone is under min_gain (theory: nan where it is <= 0),
    so that a near-zero denominator never makes a share."""
    from .theory import _teacher_share

    if not kd - alone >= min_gain:
        return float("nan")
    acc = {"kd": kd, "kd_twin": kd_twin, "labels_alone": alone}
    return _teacher_share("kd", "kd_twin")({n: {"test_acc_single": v} for n, v in acc.items()})


def joint_resamples(n: int, resamples: int = 10_000, seed=0) -> np.ndarray:
    """[resamples, n] member indices drawn with replacement, from a fixed PRNG seed (an int or a
    sequence of ints, numpy's SeedSequence): one draw per resample, applied to every method
    alike (the members are paired)."""
    return np.random.default_rng(seed).integers(0, n, (resamples, n))


def percentile_ci(samples, level: float = 0.95) -> list[float] | None:
    """The percentile interval of the samples; a nan sample (a resample without a value) counts
    as -inf for the lower bound and +inf for the upper one, so where such samples are more than
    (1 - level) / 2 of them the interval is unbounded on that side (±inf: null in JSON).
    None without samples."""
    s = np.asarray(samples, float)
    if not s.size:
        return None
    q = ((1 - level) / 2, (1 + level) / 2)
    lo = np.quantile(np.where(np.isnan(s), -np.inf, s), q[0], method="lower")
    hi = np.quantile(np.where(np.isnan(s), np.inf, s), q[1], method="higher")
    return [float(lo), float(hi)]


def teacher_samples(vals: dict, resamples: int = 10_000, seed=0,
                    min_gain: float = MIN_GAIN) -> tuple[np.ndarray, np.ndarray]:
    """(share, gain) of each bootstrap resample [resamples]: every resample draws member
    indices once (joint_resamples) and takes the means of kd, kd_twin and labels_alone at those
    same indices; the share is nan where the resample's gain is under min_gain."""
    idx = joint_resamples(len(vals["kd"]), resamples, seed)
    means = {name: v[idx].mean(1) for name, v in vals.items()}          # [resamples] each
    shares = np.array([teacher_share(a, b, c, min_gain) for a, b, c in
                       zip(means["kd"], means["kd_twin"], means["labels_alone"])])
    return shares, means["kd"] - means["labels_alone"]


def teacher_bootstrap(vals: dict, resamples: int = 10_000, seed=0,
                      min_gain: float = MIN_GAIN, level: float = 0.95) -> dict:
    """Share and gain of one k with their bootstrap intervals over the paired members
    (teacher_samples). `undefined` is the fraction of resamples without a share (a gain under
    min_gain); percentile_ci counts them at both ends, so the share's interval is unbounded
    where they are more than 2.5 %."""
    shares, gains = teacher_samples(vals, resamples, seed, min_gain)
    kd, twin, alone = (float(vals[n].mean()) for n in ("kd", "kd_twin", "labels_alone"))
    return {"n": len(vals["kd"]), "kd": kd, "kd_twin": twin, "labels_alone": alone,
            "share": teacher_share(kd, twin, alone, min_gain),
            "share_ci": percentile_ci(shares, level),
            "undefined": float(np.mean(np.isnan(shares))),
            "gain": kd - alone, "gain_ci": percentile_ci(gains, level)}


def fit_line(x, y) -> dict:
    """Least squares y = a + b x: a, b, R² (1 - RSS / TSS; nan when y is constant) and the
    residuals' root mean square."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    A = np.c_[np.ones_like(x), x]
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    res = y - (a + b * x)
    tss = float(((y - y.mean()) ** 2).sum())
    rss = float((res ** 2).sum())
    return {"a": float(a), "b": float(b), "r2": 1 - rss / tss if tss > 0 else float("nan"),
            "rmse": float(np.sqrt(np.mean(res ** 2)))}


# the fitted forms of the share against k: the regressor of each
SHARE_FORMS = {"log k": np.log, "1/k": lambda k: 1.0 / np.asarray(k, float)}


def share_fits(ks, shares) -> dict:
    """Fits of the share against log k and against 1/k (points with a defined share; at least
    two), and `best`: the form with the smaller residual (the larger R²); {} with fewer."""
    ks, shares = np.asarray(ks, float), np.asarray(shares, float)
    ok = np.isfinite(shares)
    if ok.sum() < 2:
        return {}
    fits = {form: fit_line(f(ks[ok]), shares[ok]) for form, f in SHARE_FORMS.items()}
    fits["best"] = min(SHARE_FORMS, key=lambda form: fits[form]["rmse"])
    return fits


def fitted_share(fit: dict, form: str, k):
    """The fitted share at k."""
    return fit["a"] + fit["b"] * SHARE_FORMS[form](np.asarray(k, float))


def k_at(fit: dict, form: str, target: float = 0.9) -> float | None:
    """The k > 0 at which the fitted share, rising with k, reaches `target`; None where it never
    does (a flat or falling fit, for 1/k a rising fit whose limit a is at most the target, for
    log k a k beyond e^700)."""
    a, b = fit["a"], fit["b"]
    flat = 1e-12                                 # |b| below this: a flat fit (rounding)
    if form == "log k":
        x = (target - a) / b if b > flat else np.inf
        return float(np.exp(x)) if x < 700 else None     # e^700: beyond any k (float range)
    if b < -flat and a > target:                 # a + b/k rises towards a as k grows
        return float(b / (target - a))
    return None


def extrapolations(ks, share_samples: np.ndarray, form: str, target: float = 0.9) -> np.ndarray:
    """The k at which a fit in `form` of each resample's shares [resamples, len(ks)] reaches the
    target: inf where that fit never does, nan where fewer than two of its shares are defined."""
    ks = np.asarray(ks, float)
    out = np.full(len(share_samples), np.nan)
    for r, shares in enumerate(share_samples):
        ok = np.isfinite(shares)
        if ok.sum() >= 2:
            k = k_at(fit_line(SHARE_FORMS[form](ks[ok]), shares[ok]), form, target)
            out[r] = np.inf if k is None else k
    return out


def teacher_vs_k(sweep: dict, fixed: dict | None = None, resamples: int = 10_000, seed: int = 0,
                 min_gain: float = MIN_GAIN, target: float = 0.9, level: float = 0.95) -> dict:
    """Per k of the sweep: teacher_bootstrap, its draws seeded by (seed, k) (reproducible
    whichever other k the sweep holds, independent across k); the share's fits against log k
    and 1/k and, for each form, the k at which it reaches `target`, with the percentile interval
    of that k over the resamples (`extrapolations`; a fit that never reaches it is +inf) and
    the fraction of resamples whose fit never does."""
    ks, members, fixed = teacher_members(sweep, fixed)
    rows, samples = [], []
    for k, v in zip(ks, members):
        rows.append({"k": k, **teacher_bootstrap(v, resamples, [seed, int(k)], min_gain, level)})
        samples.append(teacher_samples(v, resamples, [seed, int(k)], min_gain)[0])
    fits = share_fits(ks, [r["share"] for r in rows])
    reach, reach_ci, never = {}, {}, {}
    for form in SHARE_FORMS if fits else ():
        reach[form] = k_at(fits[form], form, target)
        ext = extrapolations(ks, np.array(samples).T, form, target)
        reach_ci[form] = percentile_ci(ext, level)
        never[form] = float(np.mean(np.isinf(ext)))
    return {"rows": rows, "fits": fits, "k_at_target": reach, "k_at_target_ci": reach_ci,
            "never": never, "target": target, "resamples": resamples, "seed": seed,
            "min_gain": min_gain, "fixed": fixed}


def k_text(k: float | None) -> str:
    return "never" if k is None else f"k ≈ {k:,.0f}" if k < 1e6 else f"k ≈ {k:.1e}"


def k_bound(k: float) -> str:
    return ("never" if k == np.inf else "–" if not np.isfinite(k) else
            f"{k:,.0f}" if k < 1e6 else f"{k:.1e}")


def teacher_table(t: dict) -> str:
    """teacher_vs_k's numbers as text: one line per k, then the fits and their k at the target."""
    ci = lambda c: "[–]" if c is None else f"[{c[0]:.2f}, {c[1]:.2f}]".replace("inf", "∞")  # noqa: E731
    lines = [f"{'k':>4} {'kd':>6} {'twin':>6} {'alone':>6}  {'share':>5} {'95% CI':>14} "
             f"{'undef.':>6}  {'gain':>6} {'95% CI':>14}"]
    for r in t["rows"]:
        lines.append(f"{r['k']:>4} {r['kd']:6.3f} {r['kd_twin']:6.3f} {r['labels_alone']:6.3f}  "
                     f"{r['share']:5.2f} {ci(r['share_ci']):>14} {r['undefined']:6.1%}  "
                     f"{r['gain']:+6.3f} {ci(r['gain_ci']):>14}")
    for form in SHARE_FORMS:
        if form in t["fits"]:
            f = t["fits"][form]
            best = "  (best)" if t["fits"]["best"] == form else ""
            lo, hi = t["k_at_target_ci"][form] or (np.nan, np.nan)
            lines.append(f"share = {f['a']:.3f} {f['b']:+.3f} {form}: R² {f['r2']:.3f}, rms "
                         f"residual {f['rmse']:.3f}; share {t['target']:g} at "
                         f"{k_text(t['k_at_target'][form])} (95% CI {k_bound(lo)}–"
                         f"{k_bound(hi)}; never in {t['never'][form]:.0%} of resamples){best}")
    return "\n".join(lines)


# --- the atlas: which prediction holds on which preset ------------------------------------------

VERDICT_NAMES = ("holds", "inconclusive", "fails")


def atlas_columns(presets) -> list[str]:
    """The presets in config.PRESETS' order, then any other name (a preset of a newer checkout)
    in alphabetical order."""
    from .config import PRESETS

    known = [p for p in PRESETS if p in presets]
    return known + sorted(p for p in presets if p not in PRESETS)


def atlas_rows(records) -> list[dict]:
    """The predictions met in `records` (check.json prediction records), grouped by theorem in
    theory.predictions' order, each group's claims before its controls: [{id, theorem,
    control}]. An id theory no longer lists goes last in its theorem's group."""
    from .theory import predictions

    known = [p.id for p in predictions(2)]
    theorems = list(dict.fromkeys(p.theorem for p in predictions(2)))
    seen: dict[str, dict] = {}
    for r in records:
        seen.setdefault(r["id"], {"id": r["id"], "theorem": r.get("theorem") or "other",
                                  "control": bool(r.get("control"))})
    rank = lambda t: theorems.index(t) if t in theorems else len(theorems)  # noqa: E731
    return sorted(seen.values(), key=lambda r: (
        rank(r["theorem"]), r["theorem"], r["control"],
        known.index(r["id"]) if r["id"] in known else len(known), r["id"]))


def atlas_cell(verdicts: list) -> dict | None:
    """One preset's verdicts of one prediction, one per base seed ("holds", "inconclusive",
    "fails", or None where it was not run or not evaluable): the count of each, `n` the seeds
    with a verdict, `seeds` all of them, `share` the fraction of the n that hold (the n/a seeds
    left out). None when no seed has a verdict (n/a)."""
    counts = {v: sum(x == v for x in verdicts) for v in VERDICT_NAMES}
    n = sum(counts.values())
    if n == 0:
        return None
    return {**counts, "n": n, "seeds": len(verdicts), "share": counts["holds"] / n}


def atlas(runs: dict) -> dict:
    """The atlas of recorded runs {preset: [{"seed", "check"}]} (base seeds, each a check.json):
    rows the predictions (atlas_rows), columns the presets (atlas_columns), and each cell the
    verdicts over the preset's base seeds (atlas_cell; None: n/a). A seed whose check has no
    record of a prediction (its methods were not run) counts as n/a for it."""
    columns = atlas_columns([p for p, rs in runs.items() if rs])
    rows = atlas_rows([p for c in columns for r in runs[c] for p in r["check"]["predictions"]])
    cells = []
    for row in rows:
        line = []
        for c in columns:
            verdicts = []
            for r in runs[c]:
                found = [p for p in r["check"]["predictions"] if p["id"] == row["id"]]
                verdicts.append(found[0].get("verdict") if found else None)
            line.append(atlas_cell(verdicts))
        cells.append(line)
    members = {c: sorted({len(r["check"]["seeds"]) for r in runs[c]}) for c in columns}
    return {"rows": rows, "columns": columns, "cells": cells, "members": members,
            "seeds": {c: [r["seed"] for r in runs[c]] for c in columns}}
