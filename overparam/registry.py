"""The registry of settings: what ``overparam theory | simulate | compare --model NAME`` run.

A *setting* is one kind of problem (the linear model dense or pruned, pruning at
initialization, heavy-tailed SGD, ...).  It declares once, in one module of this package:

* how its problem is read from flags (:attr:`Setting.add_arguments`, :attr:`Setting.problem`),
* its theory entry (:attr:`Setting.theory`: tidy rows with a value column and ``status``),
* its simulation entry (:attr:`Setting.simulate`: tidy rows with the trial summary),
* its output columns (:attr:`Setting.columns`: the columns each command guarantees),
* optionally the figure of ``compare`` (:attr:`Setting.figure`).

The commands themselves (validation, CSV + JSON sidecar, the comparison table and its
figure) are written once in :mod:`overparam.cli` for every setting.  Adding a setting is one
module per package (``models/_x.py``, ``asymptotics/_x.py``, ``sims/_x.py``), one module here
(``overparam/_x.py`` defining ``SETTING``) and one line in :data:`SETTINGS`.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from typing import Any, Callable, Mapping

from models import InputError

#: ``--model`` name -> module of this package that defines ``SETTING``.
SETTINGS: dict[str, str] = {
    "linear": "overparam._linear",
    "linear-pruned": "overparam._pruned",
    "patch-net": "overparam._patch_net",
    "noisy-sgd": "overparam._noisy_sgd",
    "rf": "overparam._rf",
    "mlp": "overparam._mlp",
}


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting of the command line (see the module docstring).

    Attributes:
      name: the ``--model`` name.
      summary: one line for ``--help``.
      add_arguments: ``(parser, command)`` adds the problem flags and the command's own
        options (``command`` is ``theory``, ``simulate`` or ``compare``).
      problem: ``args -> problem``: builds and validates the problem from the flags (raises
        ``InputError`` before anything is compiled).
      theory: ``(problem, args) -> list[dict]`` tidy theory rows, or None when the setting has
        no theory.
      simulate: ``(problem, args) -> (rows, dtype)`` tidy simulation rows (trial summary
        columns ``risk_mean, risk_stderr, risk_median, trials, nonfinite_trials`` when the
        setting is compared) and the simulation dtype.
      columns: per command, the columns its CSV guarantees (scripts rely on them).
      value: the theory column that ``compare`` puts against ``risk_mean`` (None: ``risk``
        when the theory rows have it, else ``dense_risk``).
      figure: ``(problem, args, comparison, path) -> None`` draws the ``compare`` figure.
      redirect: ``argv -> name or None``: hand the command to another setting (``linear``
        with ``--keep`` is ``linear-pruned``).
      parameters: ``(problem, args) -> dict`` for the JSON sidecar (default: the flags).
      compare_rows: ``(problem, args) -> (theory_rows, simulation_rows)`` when ``compare``
        needs another layout than ``theory`` and ``simulate`` (e.g. one row per quantity);
        default: those two entries.
      sim_prefix: the simulation columns compared are ``<prefix>_mean``, ``<prefix>_stderr``,
        ``<prefix>_median`` (``risk`` for the linear settings).
      agreement: ``"exact"`` when the theory is an exact finite-size statement (the Monte
        Carlo error alone, ``overparam.EXACT``); default: the rule of the simulation dtype.
    """

    name: str
    summary: str
    add_arguments: Callable[[argparse.ArgumentParser, str], None]
    problem: Callable[[argparse.Namespace], Any]
    simulate: Callable[[Any, argparse.Namespace], tuple[list[dict], str]]
    columns: Mapping[str, tuple[str, ...]]
    theory: Callable[[Any, argparse.Namespace], list[dict]] | None = None
    value: str | None = "risk"
    figure: Callable[..., None] | None = None
    redirect: Callable[[list[str]], str | None] | None = None
    parameters: Callable[[Any, argparse.Namespace], dict] | None = None
    compare_rows: Callable[[Any, argparse.Namespace], tuple[list[dict], list[dict]]] | None = None
    sim_prefix: str = "risk"
    agreement: str | None = None


def names() -> list[str]:
    return list(SETTINGS)


def get(name: str) -> Setting:
    """The setting registered as ``name`` (``InputError`` for an unknown name)."""
    if name not in SETTINGS:
        raise InputError(f"--model: unknown model {name!r}; allowed: one of " + ", ".join(SETTINGS))
    return importlib.import_module(SETTINGS[name]).SETTING
