"""Lazy re-exports for the package ``__init__`` files (PEP 562 module ``__getattr__``).

A package lists its public names as ``{name: submodule}``; a name's submodule is imported
the first time the name is looked up (``pkg.name`` or ``from pkg import name``), and the
value is then stored in the package namespace, so later look-ups cost nothing.  This keeps
``import asymptotics`` from loading SciPy's statistics and optimisation modules, optimistix,
Flax or Optax until a function that needs them is used: the command line starts in about a
second instead of three (``benchmarks/README.md``, "Cold start").  Importing stays free of
side effects; what a name resolves to is unchanged.
"""

from __future__ import annotations

import importlib
from typing import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exporting ``exports`` lazily.

    Args:
      package: the package's ``__name__``.
      exports: public name -> module that defines it, relative (``"._dense"``) or absolute
        (``"models._rf_moments"``).
    """
    import sys

    def __getattr__(name: str) -> object:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__

