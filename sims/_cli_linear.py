"""``overparam theory | simulate | compare | demo`` for the linear task.

Problem flags (shared): ``--spectrum SPEC --n N [N ...] --noise SIGMA [--p P ...]
[--ridge R ...]``.  ``SPEC`` is a CSV file with header ``eigenvalue,signal`` or a preset
``NAME:key=value,...`` (``isotropic``, ``two-level``, ``power-law``; see ``--help``).
The grid is the outer product of ``--p``, ``--n`` and ``--ridge``.

Units: ``--noise`` is the noise standard deviation sigma; ``--ridge`` the penalty of
``(1/n)||y - X b||^2 + ridge ||b||^2``; every risk column is the total test risk
``sigma^2 + (b - beta)^T Sigma (b - beta)``, noise included.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from models import InputError, LinearTask
from models._errors import check_int_range, check_positive

from . import _cli_pruning, _io

PRESETS = {
    "isotropic": (LinearTask.isotropic, {"pool": int, "support": int, "signal_power": float,
                                         "eigenvalue": float}),
    "two-level": (LinearTask.two_level, {"strong": int, "lam_strong": float, "lam_weak": float,
                                         "pool": int, "signal_power": float}),
    "power-law": (LinearTask.power_law, {"pool": int, "a": float, "b": float,
                                         "signal_power": float}),
}

SPEC_HELP = ("CSV file with header 'eigenvalue,signal', or a preset: "
             "isotropic:pool=P[,support=K,signal_power=S,eigenvalue=L] | "
             "two-level:strong=K,lam_strong=A,lam_weak=B[,pool=P,signal_power=S] | "
             "power-law:pool=P,a=A,b=B[,signal_power=S]")


def build_task(spec: str, n: int, noise: float) -> LinearTask:
    """A task from ``--spectrum`` (file or preset), validated."""
    if ":" in spec and spec.split(":", 1)[0] in PRESETS:
        name, _, body = spec.partition(":")
        ctor, types = PRESETS[name]
        kwargs = {}
        for item in filter(None, body.split(",")):
            key, eq, val = item.partition("=")
            key = key.strip()
            if not eq or key not in types:
                raise InputError(f"--spectrum: bad preset field {item!r} for {name}; allowed: "
                                 + ", ".join(f"{k}=<{t.__name__}>" for k, t in types.items()))
            try:
                kwargs[key] = types[key](float(val)) if types[key] is int else float(val)
            except ValueError:
                raise InputError(f"--spectrum: {key}={val!r} is not a number; allowed: "
                                 f"{key}=<{types[key].__name__}>") from None
        try:
            return ctor(n=n, noise=noise, **kwargs)
        except TypeError as err:
            raise InputError(f"--spectrum: {err}; allowed: {SPEC_HELP}") from None
    if spec in PRESETS:
        raise InputError(f"--spectrum: preset {spec!r} needs parameters; allowed: {SPEC_HELP}")
    return LinearTask.from_csv(spec, n=n, noise=noise)


def _problem_parser(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("problem")
    g.add_argument("--spectrum", required=True, help=SPEC_HELP)
    g.add_argument("--n", type=float, nargs="+", required=True, help="sample size(s)")
    g.add_argument("--noise", type=float, required=True, help="noise standard deviation sigma")
    g.add_argument("--p", type=float, nargs="+", default=None,
                   help="model size(s) (first p pool features); default: the whole pool")
    g.add_argument("--ridge", type=float, nargs="+", default=[0.0],
                   help="ridge penalty(ies) of (1/n)||y-Xb||^2 + ridge ||b||^2 (default 0)")
    parser.add_argument("--out", required=True, help="output CSV (a .json sidecar is written beside it)")
    _cli_pruning.add_arguments(parser)


def _sim_parser(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("simulation")
    g.add_argument("--trials", type=float, default=200, help="Monte Carlo trials per grid point")
    g.add_argument("--seed", type=float, default=0, help="PRNG seed")
    g.add_argument("--dtype", default="float64", help="float64 (default) or float32")
    g.add_argument("--chunk", type=float, default=None, help="trials per compiled call")
    g.add_argument("--checkpoint", default=None,
                   help="file where finished trial chunks are saved; rerunning the same command "
                        "resumes an interrupted run")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse errors: one line, exit 2
        raise InputError(message)


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="overparam", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    th = sub.add_parser("theory", help="theory curve on a grid -> CSV")
    _problem_parser(th)
    si = sub.add_parser("simulate", help="Monte Carlo on a grid -> CSV (--model for other settings)")
    _problem_parser(si)
    _sim_parser(si)
    co = sub.add_parser("compare", help="theory and Monte Carlo side by side -> CSV + figure")
    _problem_parser(co)
    _sim_parser(co)
    co.add_argument("--figure", default=None, help="PNG/PDF path (default: OUT with .png)")
    co.add_argument("--log", action="store_true", help="log-scale risk axis")
    co.add_argument("--theory-points", type=float, default=400,
                    help="points of the theory line in the figure")
    de = sub.add_parser("demo", help="the main job: dense double descent + coordinate law")
    de.add_argument("--outdir", default="out/demo")
    de.add_argument("--trials", type=float, default=200)
    de.add_argument("--seed", type=float, default=0)
    sub.add_parser("figure", help="draw a named figure (overparam figure NAME --help)")
    return parser


def _grid_from_args(args, task: LinearTask):
    p = [task.pool_size] if args.p is None else args.p
    p = check_int_range("--p", p, 1, task.pool_size)
    n = check_int_range("--n", args.n, 1)
    ridge = check_positive("--ridge", args.ridge, strict=False)
    prod = list(itertools.product(p, n, ridge))
    return (np.array([g[0] for g in prod]), np.array([g[1] for g in prod]),
            np.array([g[2] for g in prod], dtype=np.float64))


def _sim_options(args):
    trials = int(check_int_range("--trials", args.trials, 2))
    seed = int(check_int_range("--seed", args.seed, 0))
    if args.dtype not in ("float32", "float64"):
        raise InputError(f"--dtype: got {args.dtype!r}; allowed: float32 or float64")
    chunk = None if args.chunk is None else int(check_int_range("--chunk", args.chunk, 1))
    return trials, seed, chunk


def _setup(args):
    n0 = int(check_int_range("--n", args.n, 1)[0])
    check_positive("--noise", args.noise, strict=False)
    task = build_task(args.spectrum, n0, args.noise)
    return task, _grid_from_args(args, task)


def _params(args, task, **extra) -> dict:
    d = {k: v for k, v in vars(args).items() if k != "command"}
    return {"command": args.command, **d, "task": task.describe(), **extra}


def cmd_theory(args) -> int:
    import asymptotics as asy

    task, (p, n, r) = _setup(args)
    pruning = _cli_pruning.options(args, p, n)
    if pruning:
        rows = _cli_pruning.theory_rows(task, p, n, r, *pruning, allow_same=False)
        out = _io.write_csv(args.out, rows, parameters=_params(args, task))
        _report_status([asy.Status[str(x["status"]).upper()] for x in rows])
        print(f"wrote {out} ({len(rows)} rows)")
        return 0
    th = asy.dense_risk(task, p=p, n=n, ridge=r, throw=False)
    out = _io.write_csv(args.out, th.rows(), parameters=_params(args, task))
    _report_status(th.status)
    print(f"wrote {out} ({p.size} rows)")
    return 0


def _report_status(status) -> None:
    import asymptotics as asy

    names = asy.status_names(np.ravel(status))
    for name in ("diverged", "not_converged", "invalid"):
        k = int(np.sum(names == name))
        if k:
            print(f"note: {k} grid point(s) with status {name}", file=sys.stderr)


def cmd_simulate(args) -> int:
    import jax

    from ._linear import dense_risk

    task, (p, n, r) = _setup(args)
    trials, seed, chunk = _sim_options(args)
    t0 = time.perf_counter()
    pruning = _cli_pruning.options(args, p, n)
    if pruning:
        rows = _cli_pruning.simulation_rows(task, p, n, r, *pruning, trials=trials,
                                            key=jax.random.key(seed), dtype=args.dtype, chunk=chunk,
                                            saliency=args.saliency, progress=sys.stderr.isatty(),
                                            checkpoint=args.checkpoint)
        out = _io.write_csv(args.out, rows, parameters=_params(args, task),
                            seconds=time.perf_counter() - t0)
        print(f"wrote {out} ({len(rows)} rows, {trials} trials each)")
        return 0
    mc = dense_risk(task, p=p, n=n, ridge=r, trials=trials, key=jax.random.key(seed),
                    dtype=args.dtype, chunk=chunk, progress=sys.stderr.isatty(),
                    checkpoint=args.checkpoint)
    out = _io.write_csv(args.out, mc.rows(), parameters=_params(args, task),
                        seconds=time.perf_counter() - t0)
    print(f"wrote {out} ({p.size} rows, {trials} trials each)")
    return 0


def cmd_compare(args) -> int:
    import jax

    import asymptotics as asy

    from ._compare import compare_dense
    from ._linear import dense_risk
    from ._plots import close, mark_threshold, new_figure, theory_vs_mc

    task, (p, n, r) = _setup(args)
    trials, seed, chunk = _sim_options(args)
    pruning = _cli_pruning.options(args, p, n)
    if pruning:
        return _cli_pruning.compare(args, task, p, n, r, *pruning, trials=trials,
                                    key=jax.random.key(seed), chunk=chunk,
                                    params=_params(args, task))
    th = asy.dense_risk(task, p=p, n=n, ridge=r, throw=False)
    mc = dense_risk(task, p=p, n=n, ridge=r, trials=trials, key=jax.random.key(seed),
                    dtype=args.dtype, chunk=chunk, progress=sys.stderr.isatty(),
                    checkpoint=args.checkpoint)
    cmp_ = compare_dense(th, mc)
    rows = []
    for trow, mrow, z in zip(th.rows(), mc.rows(), cmp_.z):
        rows.append({**trow, **{k: mrow[k] for k in ("risk_mean", "risk_stderr", "risk_median", "trials")},
                     "z": float(z)})
    out = _io.write_csv(args.out, rows, parameters=_params(args, task))
    print(cmp_.table())
    # Figure: one theory line (fine grid) + MC markers per (n, ridge) combination.
    fig_path = Path(args.figure) if args.figure else Path(args.out).with_suffix(".png")
    fig, (ax,) = new_figure(width=5.6, height=3.8)
    npts = int(check_int_range("--theory-points", args.theory_points, 2))
    from ._plots import COLORS

    combos = sorted(set(zip(n.tolist(), r.tolist())))
    for k, (nn, rr) in enumerate(combos):
        sel = (n == nn) & (r == rr)
        pf = np.unique(np.round(np.linspace(1, max(p.max(), 2), npts)).astype(int))
        if rr == 0 and 1 <= nn <= task.pool_size:
            pf = np.unique(np.concatenate([pf, [nn]]))
        line = asy.dense_risk(task, p=pf, n=nn, ridge=rr, throw=False)
        lab = f"n={nn}" + (f", ridge={rr:g}" if len(set(r.tolist())) > 1 or rr else "")
        theory_vs_mc(ax, pf, line.risk, p[sel], mc.mean[sel], 2 * mc.stderr[sel],
                     color=COLORS[k % len(COLORS)], label=f"theory ({lab})",
                     mc_label=f"Monte Carlo ({lab}), ±2 s.e.")
        if rr == 0:
            mark_threshold(ax, nn)
    ax.set_xlabel("model size $p$")
    ax.set_ylabel(r"test risk $\sigma^2 + \|b-\beta\|_\Sigma^2$")
    if args.log:
        ax.set_yscale("log")
    finite = np.concatenate([mc.mean[np.isfinite(mc.mean)], th.risk[np.isfinite(th.risk)]])
    if finite.size and not args.log:
        ax.set_ylim(0, 1.15 * np.percentile(finite, 95) + 1e-12)
    ax.set_title(f"{task.name}, $\\sigma$={float(task.noise):g}, {trials} trials")
    ax.legend(frameon=False)
    _io.save_figure(fig, fig_path, parameters=_params(args, task))
    close(fig)
    print(f"wrote {out} and {fig_path}")
    return 0


def cmd_demo(args) -> int:
    from .cli import run_figure

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


COMMANDS = {"theory": cmd_theory, "simulate": cmd_simulate, "compare": cmd_compare,
            "demo": cmd_demo}


def run(argv: list[str]) -> int:
    parser = make_parser()
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help inside a subcommand
        return int(exc.code or 0)
    return COMMANDS[args.command](args)
