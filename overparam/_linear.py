"""Setting ``linear``: dense min-norm / OLS / ridge least squares on a feature pool.

Problem flags (shared with ``linear-pruned``): ``--spectrum SPEC --n N [N ...] --noise SIGMA
[--p P ...] [--ridge R ...]``.  ``SPEC`` is a CSV file with header ``eigenvalue,signal`` or a
preset ``NAME:key=value,...`` (``isotropic``, ``two-level``, ``power-law``; see ``--help``).
The grid is the outer product of ``--p``, ``--n`` and ``--ridge``.  ``--keep`` hands the
command to the ``linear-pruned`` setting.

Units: ``--noise`` is the noise standard deviation sigma; ``--ridge`` the penalty of
``(1/n)||y - X b||^2 + ridge ||b||^2``; every risk column is the total test risk
``sigma^2 + (b - beta)^T Sigma (b - beta)``, noise included.
Mathematics: ``docs/linear.md`` sections 1-2.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys

import numpy as np

from models import InputError, LinearTask
from models._errors import check_int_range, check_positive
from models._pruning_ops import RETRAIN, RULES

from .registry import Setting

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


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """Problem flags, pruning flags, and the simulation/compare options of ``command``."""
    g = parser.add_argument_group("problem")
    g.add_argument("--spectrum", required=True, help=SPEC_HELP)
    g.add_argument("--n", type=float, nargs="+", required=True, help="sample size(s)")
    g.add_argument("--noise", type=float, required=True, help="noise standard deviation sigma")
    g.add_argument("--p", type=float, nargs="+", default=None,
                   help="model size(s) (first p pool features); default: the whole pool")
    g.add_argument("--ridge", type=float, nargs="+", default=[0.0],
                   help="ridge penalty(ies) of (1/n)||y-Xb||^2 + ridge ||b||^2 (default 0)")
    pr = parser.add_argument_group("pruning")
    pr.add_argument("--keep", type=float, nargs="+", default=None,
                    help="number(s) of weights kept, s <= p (enables pruned risks)")
    pr.add_argument("--rule", action="append", default=None,
                    help="pruning rule, repeatable: none, " + ", ".join(RULES)
                    + " (default: " + ", ".join(RULES) + ")")
    pr.add_argument("--retrain", action="append", default=None,
                    help="retraining after pruning, repeatable: " + ", ".join(RETRAIN)
                    + " (default none)")
    pr.add_argument("--saliency", default="population", choices=("population", "empirical"),
                    help="lambda in the saliency score lambda_i b_i^2 (simulation)")
    add_run_arguments(parser, command)


def add_run_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The Monte Carlo options of ``simulate`` / ``compare`` and the figure options of
    ``compare`` (shared by the settings fitted by least squares: linear, random features)."""
    if command in ("simulate", "compare"):
        s = parser.add_argument_group("simulation")
        s.add_argument("--trials", type=float, default=200, help="Monte Carlo trials per grid point")
        s.add_argument("--seed", type=float, default=0, help="PRNG seed (the key is jax.random.key(seed))")
        s.add_argument("--dtype", default="float64", help="float64 (default) or float32")
        s.add_argument("--chunk", type=float, default=None, help="trials per compiled call")
        s.add_argument("--checkpoint", default=None,
                       help="folder where finished trial chunks are saved; rerunning the same "
                            "command resumes an interrupted run")
    if command == "compare":
        c = parser.add_argument_group("figure")
        c.add_argument("--log", action="store_true", help="log-scale risk axis")
        c.add_argument("--theory-points", type=float, default=400,
                       help="points of the theory line in the figure")


@dataclasses.dataclass(frozen=True)
class LinearProblem:
    """A validated linear task and its flat ``(p, n, ridge)`` grid."""

    task: LinearTask
    p: np.ndarray
    n: np.ndarray
    ridge: np.ndarray


@dataclasses.dataclass(frozen=True)
class SimOptions:
    trials: int
    seed: int
    dtype: str
    chunk: int | None


def sim_options(args) -> SimOptions:
    trials = int(check_int_range("--trials", args.trials, 2))
    seed = int(check_int_range("--seed", args.seed, 0))
    if args.dtype not in ("float32", "float64"):
        raise InputError(f"--dtype: got {args.dtype!r}; allowed: float32 or float64")
    chunk = None if args.chunk is None else int(check_int_range("--chunk", args.chunk, 1))
    return SimOptions(trials, seed, args.dtype, chunk)


def linear_problem(args) -> LinearProblem:
    """The task and the outer-product grid of ``--p``, ``--n``, ``--ridge`` (validated)."""
    n0 = int(check_int_range("--n", args.n, 1)[0])
    check_positive("--noise", args.noise, strict=False)
    task = build_task(args.spectrum, n0, args.noise)
    return LinearProblem(task, *grid(task.pool_size, args))


def grid(pool: int, args) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The flat outer product of ``--p`` (default: the whole pool), ``--n`` and ``--ridge``,
    validated (and the simulation options of ``simulate`` / ``compare``)."""
    p = [pool] if args.p is None else args.p
    p = check_int_range("--p", p, 1, pool)
    n = check_int_range("--n", args.n, 1)
    ridge = check_positive("--ridge", args.ridge, strict=False)
    if getattr(args, "command", None) in ("simulate", "compare"):
        sim_options(args)
    if getattr(args, "command", None) == "compare" and hasattr(args, "theory_points"):
        # read by the figure, after the run and the CSV: refuse it before both
        check_int_range("--theory-points", args.theory_points, 2)
    prod = list(itertools.product(p, n, ridge))
    return (np.array([g[0] for g in prod]), np.array([g[1] for g in prod]),
            np.array([g[2] for g in prod], dtype=np.float64))


def _problem(args) -> LinearProblem:
    for flag in ("rule", "retrain"):
        if getattr(args, flag):
            raise InputError(f"--{flag}: needs --keep; allowed: --keep S [S ...] with --{flag}")
    return linear_problem(args)


def theory(problem: LinearProblem, args) -> list[dict]:
    import asymptotics as asy

    return asy.dense_risk(problem.task, p=problem.p, n=problem.n, ridge=problem.ridge,
                          throw=False).rows()


def simulate(problem: LinearProblem, args) -> tuple[list[dict], str]:
    import jax

    import sims

    o = sim_options(args)
    mc = sims.dense_risk(problem.task, p=problem.p, n=problem.n, ridge=problem.ridge,
                         trials=o.trials, key=jax.random.key(o.seed), dtype=o.dtype,
                         chunk=o.chunk, progress=sys.stderr.isatty(), checkpoint=args.checkpoint)
    return mc.rows(), mc.dtype


def figure(problem: LinearProblem, args, comparison, path) -> None:
    """Theory lines on a fine grid of ``p`` with the Monte Carlo markers (+-2 s.e.), one
    colour per ``(n, ridge)``; the interpolation threshold marked."""
    import asymptotics as asy

    task = problem.task
    draw_dense_comparison(
        problem, args, comparison, path,
        line=lambda pf, nn, rr: asy.dense_risk(task, p=pf, n=nn, ridge=rr, throw=False).risk,
        ylabel=r"test risk $\sigma^2 + \|b-\beta\|_\Sigma^2$",
        title=f"{task.name}, $\\sigma$={float(task.noise):g}",
        parameters=parameters(problem, args))


def draw_dense_comparison(problem, args, comparison, path, *, line, ylabel: str, title: str,
                          parameters: dict) -> None:
    """The ``compare`` figure of a dense setting over a ``(p, n, ridge)`` grid: ``line(pf, n,
    ridge)`` gives the theory on a fine grid of ``p`` (``--theory-points``), the comparison
    the Monte Carlo markers (+-2 s.e.); ridgeless thresholds ``p = n`` marked."""
    from ._plots import COLORS, mark_threshold, new_figure, save_and_close, theory_vs_mc

    p, n, r = problem.p, problem.n, problem.ridge
    pool = problem.task.pool_size
    npts = int(check_int_range("--theory-points", args.theory_points, 2))
    fig, (ax,) = new_figure(width=5.6, height=3.8)
    combos = sorted(set(zip(n.tolist(), r.tolist())))
    for k, (nn, rr) in enumerate(combos):
        sel = (n == nn) & (r == rr)
        pf = np.unique(np.round(np.linspace(1, max(p.max(), 2), npts)).astype(int))
        if rr == 0 and 1 <= nn <= pool:
            pf = np.unique(np.concatenate([pf, [nn]]))
        lab = f"n={nn}" + (f", ridge={rr:g}" if len(set(r.tolist())) > 1 or rr else "")
        theory_vs_mc(ax, pf, line(pf, nn, rr), p[sel], comparison.mean[sel],
                     2 * comparison.stderr[sel], color=COLORS[k % len(COLORS)],
                     label=f"theory ({lab})", mc_label=f"Monte Carlo ({lab}), ±2 s.e.")
        if rr == 0:
            mark_threshold(ax, nn)
    ax.set_xlabel("model size $p$")
    ax.set_ylabel(ylabel)
    if args.log:
        ax.set_yscale("log")
    finite = np.concatenate([comparison.mean[np.isfinite(comparison.mean)],
                             comparison.theory[np.isfinite(comparison.theory)]])
    if finite.size and not args.log:
        ax.set_ylim(0, 1.15 * np.percentile(finite, 95) + 1e-12)
    trials = int(comparison.finite.max()) if comparison.size else 0
    ax.set_title(f"{title}, {trials} trials")
    ax.legend(frameon=False)
    save_and_close(fig, path, parameters=parameters)


def parameters(problem: LinearProblem, args) -> dict:
    d = {k: v for k, v in vars(args).items() if k not in ("command", "handler")}
    return {"command": args.command, **d, "task": problem.task.describe()}


def redirect(argv: list[str]) -> str | None:
    return "linear-pruned" if "--keep" in argv else None


SETTING = Setting(
    name="linear",
    summary="linear Gaussian model, min-norm / OLS / ridge (dense); --keep for pruned risks",
    add_arguments=add_arguments,
    problem=_problem,
    theory=theory,
    simulate=simulate,
    value="dense_risk",
    figure=figure,
    redirect=redirect,
    parameters=parameters,
    columns={
        "theory": ("p", "n", "ridge", "kappa", "dense_risk", "bias", "variance", "sigma_p2",
                   "status"),
        "simulate": ("p", "n", "ridge", "risk_mean", "risk_stderr", "risk_median", "trials",
                     "nonfinite_trials"),
        "compare": ("p", "n", "ridge", "kappa", "dense_risk", "bias", "variance", "sigma_p2",
                    "status", "risk_mean", "risk_stderr", "risk_median", "trials",
                    "nonfinite_trials", "z", "agrees"),
    },
)
