"""Configuration: frozen dataclasses for data, model and training; presets; overrides; validation.

Every parameter of docs/model.md sections 1-3 is a field. Shape-determining fields (k, d, P, C_p, m,
N_train, N_test, q) are static under jit; the others can be traced.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import ConfigError, native, need
from .scaling import RULES, ScaleConfig, paper_scales



@dataclass(frozen=True)
class DataConfig:
    """The multi-view distribution (docs/model.md section 1)."""

    k: int = 5                      # classes
    d: int = 1000                   # patch dimension; math.inf ("inf"): the d = ∞ limit, exact
                                    # (multiview/limit.py, docs/model.md section 2)
    P: int = 0                      # patches per input (paper: k^2); 0 means 2*k*C_p
    C_p: int = 1                    # patches per feature
    views: str = "orthonormal"      # "orthonormal" or "incoherent" (random unit vectors)
    s: float = 2.0                  # each off-class view is in V' with probability s/k
    off_mode: str = "bernoulli"     # "bernoulli" (s/k each) or "one" (exactly one, the deck)
    mu: float = 0.1                 # single-view probability of the test distribution
    mu_train: float = -1.0          # single-view fraction of the training set; < 0 means "= mu"
    z_own: tuple[float, float] = (1.0, 2.0)       # Z of own views (multi) and the strong view
    z_off_multi: tuple[float, float] = (0.2, 0.4)  # Z of off-class views in multi-view samples
    rho: float = 0.05               # faint own view in single-view samples: Z in [rho, rho_spread*rho]
    rho_spread: float = 2.0
    Gamma: float = 0.3              # off-class views in single-view samples: Z in [Gamma_lo*Gamma, Gamma]
    Gamma_lo: float = 0.5
    gamma: float = 0.0              # feature noise: each patch carries alpha*v, alpha ~ U[0, gamma], every view v
    sigma_p: float = 0.1            # Gaussian patch noise, per coordinate (norm sigma_p*sqrt(d))
    noise: str = "isotropic"        # "isotropic" N(0, sigma_p^2 I), or "orthogonal": its part
                                    # orthogonal to the 2k views (the d -> infinity limit at fixed
                                    # norm; docs/model.md section 1)
    noise_norm: float = 10 ** 0.5   # ‖ξ‖ of every patch's noise, used only when d = ∞ (at finite
                                    # d it is sigma_p*sqrt(d)); `override` setting d = inf keeps
                                    # the finite config's sigma_p*sqrt(d) unless given (small: √10)
    N_train: int = 0                # training set size; 0 means 40 per class (40*k)
    N_test: int = 2000

    @property
    def n_patches(self) -> int:
        return self.P if self.P > 0 else 2 * self.k * self.C_p

    @property
    def n_train(self) -> int:
        return self.N_train if self.N_train > 0 else 40 * self.k

    @property
    def mu_train_resolved(self) -> float:
        return self.mu if self.mu_train < 0 else self.mu_train

    @property
    def limit(self) -> bool:
        """d = ∞: the noise of every patch is orthogonal to the views and to every other patch."""
        return math.isinf(self.d)


@dataclass(frozen=True)
class ModelConfig:
    """The two-layer smoothed-ReLU network (docs/model.md section 2)."""

    m: int = 2                      # neurons per class
    q: int = 4                      # power of the smoothed ReLU
    varrho: float = 3.0             # threshold of the smoothed ReLU (ϱ; not the data's ρ)
    sigma0: float = 0.06            # init scale, w ~ N(0, sigma0^2 I)
    learned_factor: float = 1.0     # a view counts as learned when Λ >= learned_factor * varrho


@dataclass(frozen=True)
class TrainConfig:
    """Full-batch training (docs/model.md section 2)."""

    optimizer: str = "gd"           # "gd", "momentum", "adam"
    lr: float = 5.0
    momentum: float = 0.9
    steps: int = 3000               # maximum number of steps
    stop: str = "train_acc"         # "train_acc" (stop each member at train accuracy >= stop_value), "loss", "none"
    stop_value: float = 1.0
    chunk: int = 100                # steps per compiled chunk (progress, NaN checks, stopping)
    dtype: str = "float32"          # "float32" or "float64"
    sum_models: int = 3             # number of independently seeded sums for sum_trained (std over them)
    devices: int = 1                # shard members across this many devices (CLI --devices)
    engine: str = "auto"            # the network's trainer: "direct" (W), "patch" (coefficients
                                    # on the training patches, multiview/patch.py), "limit" (the
                                    # d = ∞ coordinates, multiview/limit.py; the only one there)
                                    # or "auto"


@dataclass(frozen=True)
class DistillConfig:
    """Distillation (docs/model.md section 3): the theorem's truncated-temperature update or Hinton's KD."""

    objective: str = "theorem"      # "theorem", "hinton", "logits" (squared error on logits);
                                    # ablations "theorem_projected", "logits_onesided"
    tau: float = 0.25               # theorem: logit^tau_i = softmax_i(min(tau^2 F_i, 1) / tau)
    eta_ratio: float = 20.0         # theorem: eta' / eta, the extra step on the one-sided term
    eps: float = 0.0                # theorem: tolerance; push only where the student is > eps below
    label_weight: float = 1.0       # theorem: weight of the label term (1: the theorems' update)
    T: float = 2.0                  # hinton: temperature
    alpha: float = 0.9              # hinton, logits: weight of the teacher term (1 - alpha on labels)
    lr: float = 0.0                 # student step size; 0 means train.lr
    steps: int = 0                  # student steps, no early stop; 0: the single models' budget
                                    # (steps until the last one reached its stopping rule), so
                                    # students and the models they are compared with train equally long
    smooth_level: float = 0.9       # kd_smooth_fixed: label smoothing with this confidence on the label


@dataclass(frozen=True)
class FixedConfig:
    """Fixed-feature learners (docs/model.md section 3): random features and the NTK linearisation."""

    rf_width: int = 200             # random features: number of frozen first-layer neurons
    rf_sigma: float = 1.0           # random features: init scale of the frozen first layer
    ntk_sigma: float = 1.0          # NTK: init scale W0 of the linearisation point
    ntk_center: bool = True         # NTK: drop the constant F(W0) (a centred linearisation)
    kd_objective: str = "hinton"    # distillation objective of rf_kd / ntk_kd
    lr: float = 0.0                 # 0 means train.lr
    steps: int = 2000


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    fixed: FixedConfig = field(default_factory=FixedConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)   # the scaling rule (scaling.py)

    def to_dict(self) -> dict:
        """The fields as plain data; d = ∞ as the string "inf" (JSON has no infinity, and
        `from_dict` / `--config` read the string back). data.noise_norm only at d = ∞, where
        it is used: a finite config's record (check.json, a sweep point's identity) is as
        before the field existed."""
        out = dataclasses.asdict(self)
        if self.data.limit:
            out["data"]["d"] = "inf"
        else:
            del out["data"]["noise_norm"]
        return out


# distillation objectives (multiview/losses.py); the last two are ratchet-free ablations of the
# theorem update (docs/learners.md)
OBJECTIVES = ("theorem", "hinton", "logits", "theorem_projected", "logits_onesided")
_ALLOWED_OBJECTIVES = "allowed: " + ", ".join(repr(o) for o in OBJECTIVES)

SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig,
            "distill": DistillConfig, "fixed": FixedConfig, "scale": ScaleConfig}

# --- presets ------------------------------------------------------------------------------

PRESETS: dict[str, dict] = {
    # the default: a regime where the lottery shows at small k on a 2-core CPU (docs/regime.md)
    "small": {},
    # the deck's 2-class / 4-feature example: 80% both views, 10% each single view,
    # exactly one off-class view at 0.1, no faint own view (docs/model.md section 1)
    "deck": {
        "data": dict(k=2, P=8, C_p=1, off_mode="one", mu=0.2, z_own=(1.0, 1.0),
                     z_off_multi=(0.1, 0.1), rho=0.0, Gamma=0.1, Gamma_lo=1.0),
        # d = 1000 > N·P = 640 would pick the patch engine, whose float32 rounding moves the
        # twins' test accuracy by ~1e-3: the direct engine keeps docs/studies/13-deck-story.md's numbers
        "train": dict(engine="direct"),
    },
    # the tests' configuration: every learner trains in well under a second (not a regime
    # where the theorems show; a smoke size for tests, notebooks' self-checks and bench --quick)
    "tiny": {
        "data": dict(k=3, d=40, N_train=60, N_test=200, sigma_p=0.02),
        "model": dict(m=2, varrho=1.0, sigma0=0.05),
        "train": dict(steps=60, chunk=20, lr=2.0),
    },
    # towards the paper's regime of scales at d = 1,000 (docs/regime.md, "The `asymptotic`
    # preset"): no single-view training points, little noise, a low threshold, long
    # training with no stop, students at the teachers' budget with logit matching. A candidate,
    # not the regime: T2, kd's gain from the teacher (T3.teacher) with bounded students hold on
    # seeds 0-2 (T3's accuracy band on 2 of 3) and the dose-response rises, while T1 holds on 1 of 3 seeds (classes that never escape the flat start) and
    # T1.stable and T4 on none (docs/findings.md and docs/studies/12, 17 give the numbers and why)
    "asymptotic": {
        "data": dict(mu_train=0.0, sigma_p=0.01),
        "model": dict(m=4, q=5, varrho=0.5, sigma0=0.026),
        "train": dict(lr=1.0, stop="none", steps=4000),
        "distill": dict(objective="logits", alpha=1.0),
    },
    # the paper's scales as a function of k (scaling.paper_scales; docs/model.md section 6):
    # `--set data.k=12` rescales ϱ, σ0, τ, η, η′, the budgets, N and P; an explicit --set of
    # any of them wins; long training with no stop
    "scaled": {
        "train": dict(stop="none"),
        "scale": dict(rule="paper"),
    },
    # small's model and data at d = ∞ (multiview/limit.py): every patch's noise orthogonal to the
    # views and to every other patch, ‖ξ‖ = √10 as small's sigma_p*sqrt(d); single-view training
    # points kept (mu_train = mu). docs/regime.md gives what holds on it
    "limit": {
        "data": dict(d=math.inf, noise_norm=10 ** 0.5),
    },
    # GPU scale: larger k, P = k^2, d >> everything
    "paper": {
        "data": dict(k=20, d=2000, P=40, N_test=10000),
        "model": dict(m=4),
    },
}


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError(f"preset: unknown value {name!r}; allowed: {', '.join(PRESETS)}")
    cfg = Config()
    for section, values in PRESETS[name].items():
        cfg = replace(cfg, **{section: replace(getattr(cfg, section), **values)})
    return validate(rescale(cfg))


def _assign(cfg: Config, values: dict[str, object]) -> Config:
    """cfg with {"section.field": value} replaced (values already of the field's type)."""
    by_section: dict[str, dict] = {}
    for key, v in values.items():
        section, name = key.split(".", 1)
        by_section.setdefault(section, {})[name] = v
    for section, vals in by_section.items():
        cfg = replace(cfg, **{section: replace(getattr(cfg, section), **vals)})
    return cfg


def rescale(cfg: Config, assigned=()) -> Config:
    """With scale.rule = "paper": the fields of scaling.paper_scales at the config's k and q,
    except those pinned (scale.pinned plus `assigned`, the fields just set explicitly, which
    are added to it, unless `assigned` sets scale.pinned itself); the config unchanged with
    rule "none" (or a k, q validate refuses)."""
    sc = cfg.scale
    if sc.rule != "paper" or not (isinstance(cfg.data.k, int) and cfg.data.k >= 2
                                  and isinstance(cfg.model.q, int) and cfg.model.q >= 3):
        return cfg
    # an assignment of scale.pinned itself (a config written to a file: from_dict) says exactly
    # which fields are pinned
    new = () if "scale.pinned" in assigned else [a for a in assigned if not a.startswith("scale.")]
    pinned = tuple(sorted(set(sc.pinned) | set(new)))
    scaled = paper_scales(cfg.data.k, cfg.model.q, sc, cfg.data.C_p)
    cfg = _assign(cfg, {key: v for key, v in scaled.items() if key not in pinned})
    return replace(cfg, scale=replace(cfg.scale, pinned=pinned))


# --- overrides ----------------------------------------------------------------------------

def _field_type(cls, name):
    hints = typing.get_type_hints(cls)
    return hints[name]


_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|infinity|nan)",
                    re.IGNORECASE)


def ascii_int(raw) -> int:
    """An integer from an int or from text of ASCII digits only (an optional sign, spaces
    around): Python's int() also reads '1_00' and other scripts' digits ('١٠٠'), which a
    config file or a flag should not mean; ValueError otherwise."""
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, int):
        return raw
    if not isinstance(raw, str) or not _INT.fullmatch(raw.strip()):
        raise ValueError(raw)
    return int(raw.strip())


def _number(raw) -> float:
    """A float from an int/float (not a bool) or from an ASCII decimal literal (see ascii_int)."""
    if isinstance(raw, bool):
        raise ValueError(raw)
    if isinstance(raw, (int, float)):
        return float(raw)
    if not isinstance(raw, str) or not _FLOAT.fullmatch(raw.strip()):
        raise ValueError(raw)
    return float(raw.strip())


def _is_inf(raw) -> bool:
    """+infinity as a float or as the text 'inf' / 'infinity' (any case): how data.d = ∞ is
    written in --set, a TOML or JSON --config (the string "inf") and check.json."""
    if isinstance(raw, float):
        return raw == math.inf
    return isinstance(raw, str) and raw.strip().lower().lstrip("+") in ("inf", "infinity")


def _coerce(section: str, name: str, raw, cls):
    """Turn a raw value (string from the CLI, or a JSON/TOML value) into the field's type."""
    where = f"{section}.{name}"
    typ = _field_type(cls, name)
    raw = native(raw)                   # numpy scalars and 1-D arrays as Python values
    if (section, name) == ("data", "d") and _is_inf(raw):
        return math.inf
    try:
        if typ is bool:
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("1", "true", "yes"):
                return True
            if str(raw).lower() in ("0", "false", "no"):
                return False
            raise ValueError
        if typ is int:
            if isinstance(raw, bool):
                raise ValueError
            if isinstance(raw, float):
                if not raw.is_integer():
                    raise ValueError
                return int(raw)
            return ascii_int(raw)
        if typ is float:
            return _number(raw)
        if typ is str:
            if not isinstance(raw, str):
                raise ValueError
            return raw
        if typ == tuple[str, ...]:          # scale.pinned: names, 'a,b' or a list
            items = raw.split(",") if isinstance(raw, str) else raw
            if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
                raise ValueError
            return tuple(i.strip() for i in items if i.strip())
        if typing.get_origin(typ) is tuple:
            if isinstance(raw, str):
                parts = [p for p in raw.strip("()[] ").split(",") if p.strip()]
            elif isinstance(raw, (list, tuple)):    # a JSON object's keys are no pair
                parts = list(raw)
            else:
                raise ValueError
            if len(parts) != 2:
                raise ValueError
            return tuple(_number(p) for p in parts)
    except (ValueError, TypeError):
        pass
    tname = {int: "an integer (ASCII digits 0-9 only)",
             float: "a number (ASCII digits 0-9 only)"}.get(typ, getattr(typ, "__name__", str(typ)))
    if typing.get_origin(typ) is tuple:
        tname = "a pair of floats 'lo,hi'"
    raise ConfigError(f"{where}: value {raw!r} has the wrong type; expected {tname}")


def override(cfg: Config, assignments: dict[str, object]) -> Config:
    """Apply {"section.field": value} overrides (values raw strings or JSON/TOML values)."""
    updates: dict[str, dict] = {}
    for key, raw in assignments.items():
        if "." not in key:
            raise ConfigError(f"{key}: unknown field; write SECTION.FIELD with SECTION in "
                              f"{', '.join(SECTIONS)}")
        section, name = key.split(".", 1)
        if section not in SECTIONS:
            raise ConfigError(f"{key}: unknown section {section!r}; allowed: {', '.join(SECTIONS)}")
        cls = SECTIONS[section]
        names = [f.name for f in fields(cls)]
        if name not in names:
            raise ConfigError(f"{key}: unknown field; fields of {section}: {', '.join(names)}")
        updates.setdefault(section, {})[name] = _coerce(section, name, raw, cls)
    data = updates.get("data", {})
    if data.get("d") == math.inf and not cfg.data.limit and "noise_norm" not in data:
        # the d = ∞ twin of a finite config keeps its noise norm sigma_p*sqrt(d)
        sigma_p = data.get("sigma_p", cfg.data.sigma_p)
        if isinstance(sigma_p, float) and math.isfinite(sigma_p) and sigma_p > 0:
            data["noise_norm"] = sigma_p * math.sqrt(cfg.data.d)
    for section, values in updates.items():
        cfg = replace(cfg, **{section: replace(getattr(cfg, section), **values)})
    return validate(rescale(cfg, assignments))


def parse_set(items: list[str]) -> dict[str, str]:
    """Parse CLI `--set section.field=value` items."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected SECTION.FIELD=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


class _Twice(ValueError):
    """A key given twice in one JSON object."""


def _once(pairs: list) -> dict:
    """A JSON object whose keys are given once (json.loads keeps the last of a repeated key;
    TOML refuses one itself)."""
    keys = [k for k, _ in pairs]
    twice = [k for k in keys if keys.count(k) > 1]
    if twice:
        raise _Twice(twice[0])
    return dict(pairs)


def read_tree(path: str | Path, flag: str = "--config") -> dict:
    """The parsed JSON or TOML --config file (a table/object); ConfigError naming it otherwise."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{flag}: value {str(p)!r} is not allowed; allowed: a .json or "
                          ".toml file (it is a directory)")
    if not p.is_file():
        raise ConfigError(f"{flag}: file {str(p)!r} not found")
    if p.suffix not in (".json", ".toml"):
        raise ConfigError(f"{flag}: value {str(p)!r} is not allowed; allowed: a .json or "
                          f".toml file (the suffix says which; {p.suffix or 'no suffix'} is "
                          "not read)")
    try:
        text = p.read_text()
        tree = tomllib.loads(text) if p.suffix == ".toml" else json.loads(
            text, object_pairs_hook=_once)
    except _Twice as e:
        raise ConfigError(f"{flag}: field {e.args[0]!r} is given twice in one object of "
                          f"{str(p)!r}; allowed: each field once") from None
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{flag}: cannot parse {str(p)!r}: {e}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{flag}: {str(p)!r} must hold a table/object of sections")
    return tree


def load_file(path: str | Path, grid: bool = False, flag: str = "--config") -> dict[str, object]:
    """Read overrides from a JSON or TOML file: {"data": {"mu": 0.1}, ...} -> flat dict. A
    `grid` table (a sweep's axes, sweep.grid_file) or `search` table (search.read_space) is
    skipped with grid=True, refused otherwise."""
    p = Path(path)
    tree = read_tree(p, flag)
    flat = {}
    for section, values in tree.items():
        if section in ("grid", "search"):
            if not grid:
                raise ConfigError(f"{section}: value {str(p)!r} is not allowed here; allowed: "
                                  f"a [{section}] table only in the --config of `multiview "
                                  f"{'sweep' if section == 'grid' else 'search'}`")
            continue
        if section not in SECTIONS:
            raise ConfigError(f"{section}: unknown section in {str(p)!r}; allowed: {', '.join(SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{section}: in {str(p)!r} must be a table of fields")
        for name, v in values.items():
            flat[f"{section}.{name}"] = v
    return flat


def from_dict(tree: dict) -> Config:
    """Rebuild a Config from `Config.to_dict()` output (e.g. check.json's "config")."""
    flat = {f"{s}.{n}": v for s, vals in tree.items() if s in SECTIONS for n, v in vals.items()}
    return override(Config(), flat)


# --- validation ---------------------------------------------------------------------------

# upper ends beyond which a run is meaningless rather than slow: a larger step size overflows
# float32 within the first steps; the smoothed ReLU divides by varrho^(q-1), which stays below
# 1e33 (float32's largest is 3.4e38) for varrho <= VARRHO_MAX and q <= Q_MAX
LR_MAX = 1e4
SEED_MAX = 2**32 - 1   # PRNGKey keeps 32 bits of a seed: larger seeds would repeat smaller ones
VARRHO_MAX = 1e3
Q_MAX = 12
# the lower end of varrho: the smoothed ReLU's polynomial part z^q / (q varrho^(q-1)) on
# [0, varrho] needs varrho^q well inside float32 (smallest normal 1.2e-38); below, it underflows
# to 0/0 = NaN at the first step (varrho = 1e-20 did). varrho^q >= 1e-30 keeps 8 decades of
# headroom: varrho >= 3.2e-8 at q = 4, 3.2e-3 at q = 12
VARRHO_POW_MIN = 1e-30
# the init scale is meant to be small against the threshold varrho (docs/model.md section 2);
# above the largest threshold allowed every neuron starts deep in the linear part and the
# logits grow as m·P·sigma0·|x| (1e30 overflows float32 in the first forward pass)
SIGMA0_MAX = VARRHO_MAX
# the engine keeps a per-step history [steps, L, ...] of every member in memory (about 0.9 KB
# per step and member at k = 5) and counts steps in int32: 10^7 steps of 10 members is ~9 GB
STEPS_MAX = 10**7
# labels are drawn uniformly, so a class has no training point with probability about
# exp(-N_train / k): at 5 per class that is under 1 % per class (bench's k = 40 with 200 points
# is the smallest use in the repository), while every prediction is about each class's views
MIN_PER_CLASS = 5


def varrho_min(q: int) -> float:
    """The smallest model.varrho allowed with power q (VARRHO_POW_MIN ** (1 / q))."""
    return VARRHO_POW_MIN ** (1.0 / q)


def validate(cfg: Config) -> Config:
    """Check every field and the combinations; raise ConfigError naming field, value, allowed."""
    data, model, train, distill, fixed = cfg.data, cfg.model, cfg.train, cfg.distill, cfg.fixed
    for section, cls in SECTIONS.items():          # no inf or nan anywhere
        for f in fields(cls):
            v = getattr(getattr(cfg, section), f.name)
            if (section, f.name) == ("data", "d") and v == math.inf:
                continue                               # the d = ∞ limit
            values = v if isinstance(v, tuple) else (v,)
            need(all(math.isfinite(x) for x in values if isinstance(x, float)),
                 f"{section}.{f.name}", v, "allowed: finite numbers")
    # the scaling rule (multiview/scaling.py, docs/model.md section 6)
    sc = cfg.scale
    need(sc.rule in RULES, "scale.rule", sc.rule, "allowed: 'none' or 'paper'")
    for name in ("sigma0_c", "varrho_c", "lr_c", "steps_c"):
        need(getattr(sc, name) > 0, f"scale.{name}", getattr(sc, name), "allowed: > 0")
    for name in ("varrho_pow", "lr_pow", "steps_pow"):
        need(getattr(sc, name) >= 0, f"scale.{name}", getattr(sc, name), "allowed: >= 0")
    need(sc.eta_ratio_c >= 0, "scale.eta_ratio_c", sc.eta_ratio_c, "allowed: >= 0")
    known = {f"{s}.{f.name}" for s, cls in SECTIONS.items() if s != "scale" for f in fields(cls)}
    need(set(sc.pinned) <= known, "scale.pinned", sc.pinned,
         "allowed: names SECTION.FIELD of the config's fields (outside scale)")
    need(isinstance(data.P, int) and data.P >= 0, "data.P", data.P,
          "allowed: an integer >= 0 (0 means 2*k*C_p)")
    need(isinstance(data.N_train, int) and data.N_train >= 0, "data.N_train", data.N_train,
          "allowed: an integer >= 0 (0 means 40*k)")
    need((isinstance(data.d, int) and not isinstance(data.d, bool) and data.d >= 1)
         or data.d == math.inf, "data.d", data.d, "allowed: an integer >= 1, or inf (the limit)")
    for name, v in (("data.C_p", data.C_p),
                    ("data.N_test", data.N_test), ("model.m", model.m),
                    ("train.steps", train.steps), ("train.chunk", train.chunk),
                    ("train.sum_models", train.sum_models), ("train.devices", train.devices),
                    ("fixed.steps", fixed.steps), ("fixed.rf_width", fixed.rf_width)):
        need(isinstance(v, int) and v >= 1, name, v, "allowed: an integer >= 1")
    need(isinstance(distill.steps, int) and distill.steps >= 0, "distill.steps", distill.steps,
          "allowed: an integer >= 0 (0 means the single models' step budget)")
    for name, v in (("train.steps", train.steps), ("distill.steps", distill.steps),
                    ("fixed.steps", fixed.steps), ("train.chunk", train.chunk)):
        need(v <= STEPS_MAX, name, v, f"allowed: at most {STEPS_MAX:.0e} steps (the per-step "
             "history of every member is kept in memory)")
    need(isinstance(data.k, int) and data.k >= 2, "data.k", data.k, "allowed: an integer k >= 2")
    if data.d < 2 * data.k:
        raise ConfigError(f"data.k, data.d: values k={data.k}, d={data.d} are not allowed together; "
                          f"allowed: d >= 2k (the 2k views are orthonormal in R^d): k <= "
                          f"{data.d // 2} for this d, or d >= {2 * data.k} for this k")
    need(data.noise_norm > 0 and math.isfinite(data.noise_norm), "data.noise_norm",
         data.noise_norm, "allowed: a finite noise norm > 0 (‖ξ‖ of a patch at d = inf)")
    if data.N_train and data.N_train < MIN_PER_CLASS * data.k:
        raise ConfigError(f"data.N_train, data.k: values N_train={data.N_train}, k={data.k} are not "
                          f"allowed together; allowed: N_train = 0 (40*k) or at least "
                          f"{MIN_PER_CLASS} per class, N_train >= {MIN_PER_CLASS * data.k} for this "
                          "k (labels are drawn at random: with fewer, classes go without a "
                          "training point)")
    need(data.n_patches >= 2 * data.k * data.C_p, "data.P", data.P,
          f"allowed: P >= 2*k*C_p = {2 * data.k * data.C_p} (too few patches for the features: "
          f"every one of the 2k views needs C_p patches of its own)")
    need(data.views in ("orthonormal", "incoherent"), "data.views", data.views,
          "allowed: 'orthonormal' or 'incoherent'")
    need(data.off_mode in ("bernoulli", "one"), "data.off_mode", data.off_mode,
          "allowed: 'bernoulli' or 'one'")
    need(0 <= data.s <= data.k, "data.s", data.s, f"allowed: 0 <= s <= k = {data.k} (s/k is a probability)")
    need(0.0 <= data.mu <= 1.0, "data.mu", data.mu, "allowed: 0 <= mu <= 1")
    need(data.mu_train < 0 or data.mu_train <= 1.0, "data.mu_train", data.mu_train,
          "allowed: 0 <= mu_train <= 1, or a negative value meaning 'same as mu'")
    for name, (lo, hi) in (("data.z_own", data.z_own), ("data.z_off_multi", data.z_off_multi)):
        need(0 <= lo <= hi, name, (lo, hi), "allowed: 0 <= lo <= hi")
    need(data.z_own[0] > 0, "data.z_own", data.z_own, "allowed: lo > 0 (own views must be present)")
    need(data.rho >= 0, "data.rho", data.rho, "allowed: rho >= 0")
    need(data.rho_spread >= 1, "data.rho_spread", data.rho_spread, "allowed: rho_spread >= 1")
    need(data.Gamma >= 0, "data.Gamma", data.Gamma, "allowed: Gamma >= 0")
    need(0 <= data.Gamma_lo <= 1, "data.Gamma_lo", data.Gamma_lo, "allowed: 0 <= Gamma_lo <= 1")
    need(0 <= data.gamma < 1, "data.gamma", data.gamma, "allowed: 0 <= gamma < 1")
    need(data.sigma_p >= 0 and math.isfinite(data.sigma_p), "data.sigma_p", data.sigma_p,
          "allowed: a finite sigma_p >= 0")
    need(3 <= model.q <= Q_MAX, "model.q", model.q, f"allowed: an integer 3 <= q <= {Q_MAX}")
    need(varrho_min(model.q) <= model.varrho <= VARRHO_MAX, "model.varrho", model.varrho,
         f"allowed: 0 < varrho <= {VARRHO_MAX:g} and, for q = {model.q}, varrho >= "
         f"{varrho_min(model.q):.2g} (the smoothed ReLU divides by varrho^(q-1): varrho^q must "
         f"stay within float32's range, >= {VARRHO_POW_MIN:g})")
    need(0 < model.sigma0 <= SIGMA0_MAX, "model.sigma0", model.sigma0,
         f"allowed: 0 < sigma0 <= {SIGMA0_MAX:g} (an init scale below the threshold varrho's "
         "largest value; larger logits overflow float32)")
    need(model.learned_factor > 0, "model.learned_factor", model.learned_factor, "allowed: > 0")
    need(train.optimizer in ("gd", "momentum", "adam"), "train.optimizer", train.optimizer,
          "allowed: 'gd', 'momentum', 'adam'")
    need(0 < train.lr <= LR_MAX, "train.lr", train.lr, f"allowed: 0 < lr <= {LR_MAX:g}")
    need(0 <= train.momentum < 1, "train.momentum", train.momentum, "allowed: 0 <= momentum < 1")
    need(train.stop in ("train_acc", "loss", "none"), "train.stop", train.stop,
          "allowed: 'train_acc', 'loss', 'none'")
    if train.stop == "train_acc":
        need(0 < train.stop_value <= 1, "train.stop_value", train.stop_value,
              "allowed with stop='train_acc': 0 < stop_value <= 1")
    if train.stop == "loss":
        need(train.stop_value > 0, "train.stop_value", train.stop_value,
              "allowed with stop='loss': stop_value > 0")
    need(train.dtype in ("float32", "float64"), "train.dtype", train.dtype,
          "allowed: 'float32' or 'float64'")
    need(distill.objective in OBJECTIVES, "distill.objective", distill.objective, _ALLOWED_OBJECTIVES)
    need(0 <= distill.eps < 1, "distill.eps", distill.eps, "allowed: 0 <= eps < 1 (a gap of probabilities)")
    need(0 <= distill.label_weight <= 1, "distill.label_weight", distill.label_weight,
         "allowed: 0 <= label_weight <= 1")
    need(distill.tau > 0, "distill.tau", distill.tau, "allowed: tau > 0")
    need(distill.eta_ratio >= 0, "distill.eta_ratio", distill.eta_ratio, "allowed: eta_ratio >= 0")
    need(distill.T > 0, "distill.T", distill.T, "allowed: T > 0")
    need(0 <= distill.alpha <= 1, "distill.alpha", distill.alpha, "allowed: 0 <= alpha <= 1")
    need(0 < distill.smooth_level < 1, "distill.smooth_level", distill.smooth_level,
         "allowed: 0 < smooth_level < 1 (a probability on the label; the rest spread evenly)")
    for name, v in (("distill.lr", distill.lr), ("fixed.lr", fixed.lr)):
        need(0 <= v <= LR_MAX, name, v, f"allowed: 0 <= lr <= {LR_MAX:g} (0: train.lr)")
    need(fixed.kd_objective in OBJECTIVES, "fixed.kd_objective", fixed.kd_objective,
         _ALLOWED_OBJECTIVES)
    for name, v in (("fixed.rf_sigma", fixed.rf_sigma), ("fixed.ntk_sigma", fixed.ntk_sigma)):
        need(v > 0, name, v, "allowed: > 0")
    # the network's engine and the noise model (multiview/patch.py, docs/model.md section 1)
    need(data.noise in ("isotropic", "orthogonal"), "data.noise", data.noise,
         "allowed: 'isotropic' or 'orthogonal'")
    need(train.engine in ("auto", "direct", "patch", "limit"), "train.engine", train.engine,
         "allowed: 'auto', 'direct', 'patch' or 'limit'")
    _validate_limit(data, train)
    if train.engine == "patch" and train.optimizer == "adam":
        raise ConfigError("train.engine, train.optimizer: values 'patch', 'adam' are not allowed "
                          "together; allowed: the patch engine with 'gd' or 'momentum' (its step "
                          "is linear in the gradients), or train.engine='direct' or 'auto'")
    return cfg


# at d = ∞ a patch stores the index of its noise direction as a float (data.py), exact below 2^24
LIMIT_PATCHES_MAX = 2**24


def _validate_limit(data: DataConfig, train: TrainConfig) -> None:
    """The d = ∞ limit runs on the limit engine only, with an optimizer linear in the gradients."""
    if data.limit and train.engine in ("direct", "patch"):
        raise ConfigError(f"data.d, train.engine: values inf, {train.engine!r} are not allowed "
                          "together; allowed: train.engine='limit' or 'auto' at d = inf (the "
                          "direct and patch engines need a finite d)")
    if not data.limit and train.engine == "limit":
        raise ConfigError(f"train.engine, data.d: values 'limit', {data.d} are not allowed "
                          "together; allowed: the limit engine with data.d=inf only")
    if data.limit and train.optimizer == "adam":
        raise ConfigError("data.d, train.optimizer: values inf, 'adam' are not allowed together; "
                          "allowed: 'gd' or 'momentum' at d = inf (the limit engine's step is the "
                          "w-step only for optimizers linear in the gradients)")
    if data.limit:
        need((data.n_train + data.N_test) * data.n_patches < LIMIT_PATCHES_MAX, "data.N_test",
             data.N_test, f"allowed at d = inf: (N_train + N_test)·P < {LIMIT_PATCHES_MAX} "
             "(each patch's noise direction is indexed exactly in float32)")


def resolve(preset_name: str = "small", config_file: str | None = None,
            sets: list[str] | None = None, grid: bool = False) -> Config:
    """Preset, then file overrides, then --set overrides; validated. grid: the file may hold a
    sweep's [grid] table (read by sweep.parse_grid)."""
    cfg = preset(preset_name)
    if config_file:
        cfg = override(cfg, load_file(config_file, grid))
    if sets:
        cfg = override(cfg, parse_set(sets))
    return cfg
