"""Setting ``rf``: random-features regression (second layer fitted by min-norm / OLS / ridge).

Mathematics: ``docs/random_features.md``.  The problem is a first-layer weight matrix ``W``
(``--weights W.npy``, shape ``(P_max, d)``; width ``p`` uses its first ``p`` rows) and a
teacher ``theta`` (``--teacher THETA.npy``, shape ``(d,)``), or both drawn from
``--d D --pool P_MAX --weights-seed K`` (rows uniform on the unit sphere, or ``--weights-law
gaussian``; a normalised Gaussian teacher); inputs ``x ~ N(0, I_d)``, labels
``y = x.theta + sigma eps``; features ``act(w_i.x)``, centred unless ``--uncentred``.

* ``theory``: the Gaussian-equivalent prediction conditional on ``W``
  (``asymptotics.rf_dense_risk``): one row per ``(p, n, ridge)`` with
  ``p,n,ridge,kappa,dense_risk,bias,variance,status`` (ridgeless ``p < n``: ``kappa = 0``;
  ``p = n``: ``inf`` with status ``diverged``).
* ``simulate``: the actual nonlinear features (``sims.rf_dense_risk``), risk computed exactly
  from the true feature second moment: ``p,n,ridge,risk_mean,risk_stderr,risk_median,trials``.
* ``compare``: both, joined by ``overparam.compare``, and a figure.

Units as for the linear model: every risk is the total test risk ``E (y - a.phi(x))^2``, noise
included.  ``--second-moment exact`` (the finite-``d`` correction) is not available yet; the
default ``gaussian-equivalent`` is the theory above.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from models import InputError, RFTask
from models._activations import ACTIVATIONS
from models._errors import check_choice, check_int_range, check_positive
from models._rf import WEIGHT_LAWS

from . import _linear
from .registry import Setting

SECOND_MOMENTS = ("gaussian-equivalent",)


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    g = parser.add_argument_group("problem")
    g.add_argument("--weights", default=None, help="first-layer weights W: .npy array (P_max, d)")
    g.add_argument("--teacher", default=None, help="teacher theta: .npy array (d,)")
    g.add_argument("--d", type=float, default=None, help="input dimension (draws W and theta)")
    g.add_argument("--pool", type=float, default=None, help="P_max: rows of W drawn")
    g.add_argument("--weights-seed", type=float, default=0,
                   help="seed of the W and theta draws (key = jax.random.key(seed))")
    g.add_argument("--weights-law", default="sphere", help=" | ".join(WEIGHT_LAWS))
    g.add_argument("--activation", default="relu", help=" | ".join(ACTIVATIONS))
    g.add_argument("--uncentred", action="store_true",
                   help="uncentred features act(w.x) (default: centred act(w.x) - E act(w.x))")
    g.add_argument("--second-moment", default="gaussian-equivalent",
                   help="theory's feature second moment: gaussian-equivalent (default)")
    g.add_argument("--n", type=float, nargs="+", required=True, help="sample size(s)")
    g.add_argument("--noise", type=float, required=True, help="noise standard deviation sigma")
    g.add_argument("--p", type=float, nargs="+", default=None,
                   help="width(s): the first p rows of W; default: all P_max rows")
    g.add_argument("--ridge", type=float, nargs="+", default=[0.0],
                   help="ridge penalty(ies) of (1/n)||y - Phi a||^2 + ridge ||a||^2 (default 0)")
    _linear.add_run_arguments(parser, command)


def _load(flag: str, path, ndim: int) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{flag}: file {str(p)!r} not found; allowed: a .npy file")
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{flag}: cannot read {p.name} as a .npy array ({err}); allowed: a "
                         ".npy file written by numpy.save") from None
    if arr.ndim != ndim:
        raise InputError(f"{flag}: {p.name} has shape {arr.shape}; allowed: a "
                         f"{ndim}-dimensional array")
    return arr


def build_task(args) -> RFTask:
    """The task from the files or from the draw flags (validated before any compilation)."""
    import jax

    n0 = int(check_int_range("--n", args.n, 1)[0])
    check_positive("--noise", args.noise, strict=False)
    check_choice("--second-moment", args.second_moment, SECOND_MOMENTS)
    if args.activation not in ACTIVATIONS:
        raise InputError(f"--activation: unknown name {args.activation!r}; allowed: one of "
                         + ", ".join(ACTIVATIONS))
    centred = not args.uncentred
    files = (args.weights, args.teacher)
    if any(f is not None for f in files):
        if None in files:
            raise InputError("--weights/--teacher: give both files; allowed: --weights W.npy "
                             "--teacher THETA.npy, or --d D --pool P_MAX [--weights-seed K]")
        if args.d is not None or args.pool is not None:
            raise InputError("--d/--pool: given with --weights; allowed: either the files or "
                             "the draw flags")
        return RFTask.create(_load("--weights", args.weights, 2), _load("--teacher", args.teacher, 1),
                             noise=args.noise, n=n0, activation=args.activation, centred=centred,
                             name=f"random features ({args.activation}, {Path(args.weights).name})")
    if args.d is None or args.pool is None:
        raise InputError("--d/--pool: missing; allowed: --weights W.npy --teacher THETA.npy, or "
                         "--d D --pool P_MAX [--weights-seed K]")
    d = int(check_int_range("--d", args.d, 1))
    pool = int(check_int_range("--pool", args.pool, 1))
    seed = int(check_int_range("--weights-seed", args.weights_seed, 0))
    check_choice("--weights-law", args.weights_law, WEIGHT_LAWS)
    return RFTask.draw(jax.random.key(seed), d=d, pool=pool, n=n0, noise=args.noise,
                       activation=args.activation, law=args.weights_law, centred=centred)


@dataclasses.dataclass(frozen=True)
class RFProblem:
    """A validated random-features task and its flat ``(p, n, ridge)`` grid."""

    task: RFTask
    p: np.ndarray
    n: np.ndarray
    ridge: np.ndarray


def problem(args) -> RFProblem:
    task = build_task(args)
    return RFProblem(task, *_linear.grid(task.pool_size, args))


def theory(pr: RFProblem, args) -> list[dict]:
    import asymptotics as asy

    return asy.rf_dense_risk(pr.task, p=pr.p, n=pr.n, ridge=pr.ridge, throw=False).rows()


def simulate(pr: RFProblem, args) -> tuple[list[dict], str]:
    import jax

    import sims

    o = _linear.sim_options(args)
    mc = sims.rf_dense_risk(pr.task, p=pr.p, n=pr.n, ridge=pr.ridge, trials=o.trials,
                            key=jax.random.key(o.seed), dtype=o.dtype, chunk=o.chunk,
                            progress=sys.stderr.isatty(), checkpoint=args.checkpoint)
    return mc.rows(), mc.dtype


def figure(pr: RFProblem, args, comparison, path) -> None:
    """Gaussian-equivalent theory lines over the width, nonlinear-feature simulation markers."""
    import asymptotics as asy

    task = pr.task
    _linear.draw_dense_comparison(
        pr, args, comparison, path,
        line=lambda pf, nn, rr: asy.rf_dense_risk(task, p=pf, n=nn, ridge=rr, throw=False).risk,
        ylabel=r"test risk $E\,(y - a^\top\phi(x))^2$",
        title=f"{task.name}, d={task.d}, $\\sigma$={float(task.noise):g}",
        parameters=parameters(pr, args))


def parameters(pr: RFProblem, args) -> dict:
    d = {k: v for k, v in vars(args).items() if k != "command"}
    return {"command": args.command, **d, "task": pr.task.describe()}


SETTING = Setting(
    name="rf",
    summary="random-features regression: Gaussian-equivalent theory given W, nonlinear features "
            "simulated",
    add_arguments=add_arguments,
    problem=problem,
    theory=theory,
    simulate=simulate,
    value="dense_risk",
    figure=figure,
    parameters=parameters,
    columns={
        "theory": ("p", "n", "ridge", "kappa", "dense_risk", "bias", "variance", "status"),
        "simulate": ("p", "n", "ridge", "risk_mean", "risk_stderr", "risk_median", "trials",
                     "nonfinite_trials"),
        "compare": ("p", "n", "ridge", "kappa", "dense_risk", "bias", "variance", "status",
                    "risk_mean", "risk_stderr", "risk_median", "trials", "nonfinite_trials", "z",
                    "agrees"),
    },
)
