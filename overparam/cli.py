"""The ``overparam`` command line.

Subcommands::

    overparam theory    [--model NAME] (problem flags) --out OUT.csv
    overparam simulate  [--model NAME] (problem flags) --trials T --seed S --out OUT.csv
    overparam compare   [--model NAME] (problem flags) --trials T --seed S --out OUT.csv [--figure F.png]
    overparam demo      [--outdir DIR]            (the README's main job)
    overparam figure    NAME [figure options]     (one of the scripts in figures/)
    overparam models                              (the registered settings)

``--model`` (default ``linear``) picks a setting of :mod:`overparam.registry`; each declares its
problem flags (``overparam theory --model NAME --help``), its theory, its simulation and its
columns.  Every output gets a JSON sidecar.  Invalid input exits with status 2 and a one-line
message naming the argument and the allowed range, before anything is compiled, and leaves no
output file behind.

The command line owns its process: it turns JAX's 64-bit mode on, applies the CPU
scheduler workaround (``models._config``) and turns on JAX's persistent compilation cache
(``overparam._cache``: ``~/.cache/overparam/jax``, ``OVERPARAM_CACHE_DIR`` to move it, ``=off``
to disable) before any array is made.  Figures are found by
name in the ``overparam_figures`` package (the scripts of ``figures/``) and imported only
when asked for: the figures import this package, never the reverse.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

import numpy as np

from models import InputError
from models._config import cpu_scheduler_workaround, enable_x64
from models._errors import check_int_range

from . import registry

COMMANDS = ("theory", "simulate", "compare")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse errors: one line, exit 2
        raise InputError(message)


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
    cpu_scheduler_workaround()
    enable_x64()
    from ._cache import enable_compilation_cache

    enable_compilation_cache()   # compiled programs reused across processes (overparam/_cache.py)
    try:
        if os.environ.get("OVERPARAM_COORDINATOR") or os.environ.get("OVERPARAM_DISTRIBUTED"):
            from sims._sharding import initialize_distributed

            if initialize_distributed():   # multi-host: one process per host (sims/_sharding.py)
                import jax

                if jax.process_index() != 0:   # process 0 reports and writes
                    sys.stdout = open(os.devnull, "w")
        return _dispatch(argv)
    except InputError as err:
        print(f"overparam: error: {err}", file=sys.stderr)
        return 2


def _usage() -> str:
    return (__doc__.split("\n\n")[1] + "\n\nmodels: " + ", ".join(registry.names()) + "\n")


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: overparam COMMAND ...\n" + _usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "figure":
        if not rest or rest[0].startswith("-"):
            print("usage: overparam figure NAME [options]\nfigures: " + ", ".join(available_figures()))
            return 0 if (rest and rest[0] in ("-h", "--help")) else 2
        return run_figure(rest[0], rest[1:])
    if command == "demo":
        return cmd_demo(rest)
    if command == "models":
        for name in registry.names():
            s = registry.get(name)
            has = "theory, simulate, compare" if s.theory else "simulate"
            print(f"{name:>14}  {s.summary}  [{has}]")
        return 0
    if command not in COMMANDS:
        raise InputError(f"command: unknown {command!r}; allowed: one of "
                         + ", ".join(COMMANDS + ("demo", "figure", "models")))
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--model", default="linear")
    known, rest = pre.parse_known_args(rest)
    setting = registry.get(known.model)
    if setting.redirect is not None:
        other = setting.redirect(rest)
        if other is not None:
            setting = registry.get(other)
    if setting.theory is None and command in ("theory", "compare"):
        raise InputError(f"--model: {setting.name} has no theory; allowed: simulate, or a model "
                         "with a theory (overparam models)")
    parser = _Parser(prog=f"overparam {command} --model {setting.name}",
                     description=setting.summary)
    setting.add_arguments(parser, command)
    parser.add_argument("--out", required=True,
                        help="output CSV (a .json sidecar is written beside it)")
    if command == "compare":
        parser.add_argument("--figure", default=None, help="PNG/PDF path (default: OUT with .png)")
    if command in ("simulate", "compare"):
        parser.add_argument("--devices", type=float, default=None,
                            help="devices the trials are sharded over (default: all visible; "
                                 "the numbers do not depend on it)")
    try:
        args = parser.parse_args(rest)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    args.command = command
    args.model = setting.name
    if command == "theory":
        return RUN[command](setting, args)
    import jax

    from sims._sharding import device_scope

    devices = None if args.devices is None else int(
        check_int_range("--devices", args.devices, 1, jax.device_count()))
    with device_scope(devices):
        return RUN[command](setting, args)


def _parameters(setting, problem, args) -> dict:
    if setting.parameters is not None:
        return setting.parameters(problem, args)
    return {k: v for k, v in vars(args).items()}


def _check_out(path, flag: str = "--out") -> Path:
    out = Path(path)
    if out.exists() and out.is_dir():
        raise InputError(f"{flag}: {str(out)!r} is a folder; allowed: a file path")
    if not out.parent.is_dir():
        raise InputError(f"{flag}: {str(out.parent)!r} is not an existing folder; allowed: a "
                         "file path in an existing folder")
    return out


def _report_status(rows) -> None:
    names = np.array([str(r.get("status", "")) for r in rows])
    for name in ("diverged", "not_converged", "invalid"):
        k = int(np.sum(names == name))
        if k:
            print(f"note: {k} row(s) with status {name}", file=sys.stderr)


def _write(args, rows, setting, problem, **extra) -> Path:
    from ._io import write_csv

    columns = list(dict.fromkeys([*(c for r in rows for c in r)]))
    sharding = sys.modules.get("sims._sharding")
    usage = sharding.current_usage() if sharding else None
    if usage is not None:
        if not sharding.is_primary():   # multi-host: process 0 writes
            return Path(args.out)
        extra["devices_used"] = usage.used
    return write_csv(args.out, rows, columns=columns,
                     parameters=_parameters(setting, problem, args), **extra)


def cmd_theory(setting, args) -> int:
    _check_out(args.out)
    problem = setting.problem(args)
    rows = setting.theory(problem, args)
    out = _write(args, rows, setting, problem)
    _report_status(rows)
    print(f"wrote {out} ({len(rows)} rows)")
    return 0


def cmd_simulate(setting, args) -> int:
    _check_out(args.out)
    problem = setting.problem(args)
    t0 = time.perf_counter()
    rows, dtype = setting.simulate(problem, args)
    out = _write(args, rows, setting, problem, seconds=time.perf_counter() - t0, dtype=dtype)
    print(f"wrote {out} ({len(rows)} rows)")
    return 0


def cmd_compare(setting, args) -> int:
    from .compare import EXACT, agreement_for, compare

    _check_out(args.out)
    if args.figure:
        _check_out(args.figure, "--figure")
    problem = setting.problem(args)
    t0 = time.perf_counter()
    if setting.compare_rows is not None:
        theory_rows, sim_rows = setting.compare_rows(problem, args)
        dtype = getattr(args, "dtype", "float64")
    else:
        theory_rows = setting.theory(problem, args)
        sim_rows, dtype = setting.simulate(problem, args)
    rule = EXACT if setting.agreement == "exact" else agreement_for(dtype)
    cmp_ = compare(theory_rows, sim_rows, value=setting.value, prefix=setting.sim_prefix,
                   agreement=rule)
    out = _write(args, cmp_.rows(), setting, problem, seconds=time.perf_counter() - t0,
                 dtype=dtype, agreement=vars(cmp_.agreement))
    print(cmp_.table())
    judged = cmp_.judged
    print(f"{int(np.sum(cmp_.agrees()[judged]))} of {int(judged.sum())} judged points agree "
          f"({cmp_.agreement.n_stderr:g} s.e. + {cmp_.agreement.allowance:.1%})")
    sharding = sys.modules.get("sims._sharding")
    if setting.figure is not None and (sharding is None or sharding.is_primary()):
        fig_path = Path(args.figure) if args.figure else Path(args.out).with_suffix(".png")
        setting.figure(problem, args, cmp_, fig_path)
        print(f"wrote {out} and {fig_path}")
    else:
        print(f"wrote {out}")
    return 0


RUN = {"theory": cmd_theory, "simulate": cmd_simulate, "compare": cmd_compare}


def cmd_demo(argv: list[str]) -> int:
    """The README's main job: dense double descent + the coordinate law, theory vs Monte Carlo."""
    parser = _Parser(prog="overparam demo", description=cmd_demo.__doc__)
    parser.add_argument("--outdir", default="out/demo")
    parser.add_argument("--trials", type=float, default=200)
    parser.add_argument("--seed", type=float, default=0)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    outdir = Path(args.outdir)
    trials = int(check_int_range("--trials", args.trials, 2))
    seed = int(check_int_range("--seed", args.seed, 0))
    t0 = time.perf_counter()
    run_figure("dense-double-descent", ["--outdir", str(outdir), "--trials", str(trials),
                                        "--seed", str(seed)])
    run_figure("coordinate-law", ["--outdir", str(outdir), "--trials", str(max(2, trials // 2)),
                                  "--seed", str(seed)])
    print(f"demo finished in {time.perf_counter() - t0:.1f} s; outputs in {outdir}/")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
