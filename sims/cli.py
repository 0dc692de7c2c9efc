"""The ``overparam`` command line.

Subcommands::

    overparam theory    --spectrum SPEC --n N --noise SIGMA [--p P ...] [--ridge R ...] --out OUT.csv
    overparam simulate  (same problem flags) --trials T --seed S --out OUT.csv
    overparam simulate  --model patch-net|noisy-sgd ...   (the other settings)
    overparam compare   (same problem flags) --trials T --seed S --out OUT.csv [--figure F.png]
    overparam demo      [--outdir DIR]      (the README's main job)
    overparam figure    NAME [figure options]   (one of the scripts in figures/)

Every output gets a JSON sidecar.  Invalid input exits with status 2 and a one-line message
naming the argument and the allowed range, before anything is compiled.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from models import InputError

#: ``simulate --model NAME`` entries other than the linear task: module exposing
#: ``simulate_cli(argv: list[str]) -> int``.
SIMULATE_MODELS = {
    "linear": None,  # handled here
    "patch-net": "sims.pruning_at_init",
    "noisy-sgd": "sims.heavy_tailed",
}


def available_figures() -> list[str]:
    """Names accepted by ``overparam figure``: the scripts of ``figures/`` (``_`` -> ``-``)."""
    import overparam_figures

    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(overparam_figures.__path__)
                  if not m.name.startswith("_"))


def run_figure(name: str, argv: list[str]) -> int:
    names = available_figures()
    if name not in names:
        raise InputError(f"figure: unknown name {name!r}; allowed: one of {', '.join(names)}")
    module = importlib.import_module("overparam_figures." + name.replace("-", "_"))
    return int(module.main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except InputError as err:
        print(f"overparam: error: {err}", file=sys.stderr)
        return 2


def _dispatch(argv: list[str]) -> int:
    from . import _cli_linear

    if argv and argv[0] == "figure":
        if len(argv) < 2 or argv[1].startswith("-"):
            print("usage: overparam figure NAME [options]\nfigures: " + ", ".join(available_figures()))
            return 0 if (len(argv) > 1 and argv[1] in ("-h", "--help")) else 2
        return run_figure(argv[1], argv[2:])
    if argv and argv[0] == "simulate":
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--model", default="linear")
        known, rest = pre.parse_known_args(argv[1:])
        if known.model not in SIMULATE_MODELS:
            raise InputError(f"--model: unknown model {known.model!r}; allowed: one of "
                             + ", ".join(SIMULATE_MODELS))
        if known.model != "linear":
            module = importlib.import_module(SIMULATE_MODELS[known.model])
            return int(module.simulate_cli(rest) or 0)
        argv = ["simulate"] + rest
    return _cli_linear.run(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
