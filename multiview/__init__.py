"""multiview: the multi-view data theory of ensembles, distillation and self-distillation.

Allen-Zhu & Li, "Towards Understanding Ensemble, Knowledge Distillation and Self-Distillation
in Deep Learning" (arXiv 2012.09816, ICLR 2023), made runnable.

The Python face (docs/api.md, multiview/api.py): `import multiview as mv`, then mv.configure,
mv.check, mv.sweep, mv.search, mv.dose, mv.load, mv.plot, mv.load_params, mv.use_compile_cache. They are
imported on first use, so `import multiview` (and `multiview --help`) stays light.
"""

import sys
import types

__version__ = "0.1.0"

_API = ("configure", "load", "plot", "load_params", "use_compile_cache", "Config",
        "ConfigError", "Members")
# entries that share their name with a module (check.py, sweep.py, search.py, dose.py): the
# name is the module, as `from multiview import sweep` expects, and calling it calls the entry
_ENTRIES = ("check", "sweep", "search", "dose")
__all__ = ["__version__", *_API, *_ENTRIES]


class _Entry(types.ModuleType):
    """A module that is also the API entry of its name: mv.check(cfg) is api.check(cfg)."""

    def __call__(self, *args, **kw):
        from . import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kw)


class _Package(types.ModuleType):
    def __setattr__(self, name, value):      # the import system sets each loaded submodule here
        if name in _ENTRIES and type(value) is types.ModuleType:
            value.__class__ = _Entry
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name):
    if name in _ENTRIES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API) | set(_ENTRIES))
