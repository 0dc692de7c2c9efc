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
* ``--keep S [S ...]`` with ``--rule`` (repeatable: magnitude, saliency, random; default all
  three) and ``--retrain`` (repeatable: none, same, fresh; default none) switches to pruned
  risks: theory rows ``p,n,ridge,keep,rule,retrain,risk,risk_stderr,status``
  (``asymptotics.rf_pruned_risk``: the coordinate law sampled ``--draws`` times from
  ``--theory-seed``; ``risk_stderr`` is that sampling error; ``theory`` refuses ``same``, which
  has no closed form), simulation rows add ``keep,rule,retrain`` to the columns above
  (``sims.rf_pruned_risk``); ``compare`` adds the theory's sampling error to the simulation's
  in quadrature and leaves same-data rows without theory (status ``no_theory``).

Units as for the linear model: every risk is the total test risk ``E (y - a.phi(x))^2``, noise
included.  ``--second-moment`` chooses the theory's feature second moment: ``gaussian-equivalent``
(default, the theory above) or ``exact``, the finite-``d`` correction
(``asymptotics.rf_dense_risk(..., second_moment="exact")``: the exact moments of the nonlinear
features, ``models.rf_feature_moments``, in the same general-covariance engine; a ``p x p``
eigendecomposition per width), for dense and pruned risks alike (with ``--keep``: the coordinate
law, the pruned, fresh-retrained and train-small risks of ``asymptotics.rf_pruned_risk(...,
second_moment="exact")``).  ``--radial`` adds the radial correction of ReLU features at finite
``d`` (``radial=True``, ``asymptotics/_rf_radial.py``; with ``--second-moment exact`` the E3
figure's theory passes through every simulation error bar at widths >= 2n).
The sidecar records the choices under ``parameters.theory_second_moment`` and
``parameters.theory_radial_correction``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

import models
from models import InputError, RFTask
from models._activations import ACTIVATIONS
from models._errors import check_choice, check_int_range, check_positive
from models._rf import WEIGHT_LAWS

from . import _linear
from .registry import Setting

#: the theory's feature second moment: the Gaussian equivalent (default) or the exact moment of
#: the nonlinear features (the finite-d correction; dense risks only)
SECOND_MOMENTS = ("gaussian-equivalent", "exact")
#: pruning rules of a random-features second layer (the oracle has no meaning: rows are
#: exchangeable and no feature is "the signal")
RF_RULES = ("magnitude", "saliency", "random")


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
                   help="theory's feature second moment: gaussian-equivalent (default) | exact "
                        "(finite-d correction: exact moments of the nonlinear features)")
    g.add_argument("--radial", action="store_true",
                   help="theory: the radial correction of ReLU features at finite d (use with "
                        "--second-moment exact): min-norm interpolation sees the training noise "
                        "sigma^2 d/(d-2), least-squares refits the misspecification times "
                        "(d+2)/d; --activation relu only")
    g.add_argument("--n", type=float, nargs="+", required=True, help="sample size(s)")
    g.add_argument("--noise", type=float, required=True, help="noise standard deviation sigma")
    g.add_argument("--p", type=float, nargs="+", default=None,
                   help="width(s): the first p rows of W; default: all P_max rows")
    g.add_argument("--ridge", type=float, nargs="+", default=[0.0],
                   help="ridge penalty(ies) of (1/n)||y - Phi a||^2 + ridge ||a||^2 (default 0)")
    pr = parser.add_argument_group("pruning")
    pr.add_argument("--keep", type=float, nargs="+", default=None,
                    help="number(s) of second-layer weights kept, s <= p (enables pruned risks)")
    pr.add_argument("--rule", action="append", default=None,
                    help="pruning rule, repeatable: " + ", ".join(RF_RULES) + " (default: all)")
    pr.add_argument("--retrain", action="append", default=None,
                    help="retraining after pruning, repeatable: none (default), same, fresh")
    pr.add_argument("--draws", type=float, default=4096,
                    help="theory: samples of the coordinate law per point (pruned risks)")
    pr.add_argument("--theory-seed", type=float, default=0,
                    help="theory: seed of those samples (key = jax.random.key(seed))")
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
    if getattr(args, "radial", False) and args.activation != "relu":
        raise InputError(f"--radial: got --activation {args.activation!r}; allowed: --activation "
                         "relu (the correction needs a positively homogeneous activation of "
                         "degree 1), or no --radial")
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
    """A validated random-features task, its flat ``(p, n, ridge)`` grid and, for pruned
    risks, the keep values, rules and retraining modes."""

    task: RFTask
    p: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    keep: np.ndarray | None = None
    rules: tuple[str, ...] = ()
    retrain: tuple[str, ...] = ()


def problem(args) -> RFProblem:
    if args.weights is None and args.teacher is None and args.pool is not None:
        # drawing W runs jax.random (compiled): refuse bad grid and pruning flags before it
        _check_flags(int(check_int_range("--pool", args.pool, 1)), args)
    task = build_task(args)
    return RFProblem(task, *_check_flags(task.pool_size, args))


def _check_flags(pool: int, args) -> tuple:
    """The validated ``(p, n, ridge, keep, rules, retrain)`` of the flags for ``pool`` rows of
    ``W`` (``keep`` None and no rules without ``--keep``)."""
    p, n, ridge = _linear.grid(pool, args)
    if args.keep is None:
        for flag in ("rule", "retrain"):
            if getattr(args, flag):
                raise InputError(f"--{flag}: needs --keep; allowed: --keep S [S ...] with --{flag}")
        return p, n, ridge, None, (), ()
    keep = check_int_range("--keep", args.keep, 1)
    if keep.max() > p.min():
        raise InputError(f"--keep: got {int(keep.max())} with p = {int(p.min())}; allowed: "
                         "integers in [1, p] for every width")
    rules = models.check_rules(args.rule or RF_RULES, name="--rule")
    for r in rules:
        if r not in RF_RULES:
            raise InputError(f"--rule: {r!r} is not available for random features; allowed: "
                             + ", ".join(RF_RULES))
    retrain = models.check_retrain(args.retrain or ("none",), name="--retrain")
    if set(retrain) - {"none"} and keep.max() >= n.min() - 1:
        raise InputError(f"--keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"integers in [1, {int(n.min()) - 2}]")
    if args.command == "theory" and "same" in retrain:
        raise InputError("--retrain: 'same' (retraining on the data that chose the support) has "
                         "no closed form; allowed: none, fresh (simulate and compare accept same)")
    check_int_range("--draws", args.draws, 2)
    check_int_range("--theory-seed", args.theory_seed, 0)
    return p, n, ridge, keep, rules, retrain


def _pruned_theory_rows(pr: RFProblem, args) -> list[dict]:
    """One row per (point, keep, rule, retrain); ``risk_stderr`` is the sampling error."""
    import jax

    import asymptotics as asy

    rows = []
    for mode in pr.retrain:
        if mode == "same":
            rows += [dict(p=int(p), n=int(n), ridge=float(r), keep=int(s), rule=rule,
                          retrain="same", risk="", risk_stderr="", status="no_theory")
                     for p, n, r in zip(pr.p, pr.n, pr.ridge) for s in pr.keep for rule in pr.rules]
            continue
        th = asy.rf_pruned_risk(pr.task, p=pr.p[:, None], keep=pr.keep[None, :],
                                n=pr.n[:, None], ridge=pr.ridge[:, None], rule=pr.rules,
                                retrain=mode, draws=int(args.draws),
                                key=jax.random.key(int(args.theory_seed)), throw=False,
                                second_moment=args.second_moment, radial=args.radial)
        for row in th.rows():
            row["risk_stderr"] = row.pop("stderr")
            rows.append(row)
    return rows


def theory(pr: RFProblem, args) -> list[dict]:
    import asymptotics as asy

    if pr.keep is not None:
        return _pruned_theory_rows(pr, args)
    return asy.rf_dense_risk(pr.task, p=pr.p, n=pr.n, ridge=pr.ridge, throw=False,
                             second_moment=args.second_moment, radial=args.radial).rows()


def simulate(pr: RFProblem, args) -> tuple[list[dict], str]:
    import jax

    import sims

    o = _linear.sim_options(args)
    common = dict(n=pr.n, ridge=pr.ridge, trials=o.trials, key=jax.random.key(o.seed),
                  dtype=o.dtype, chunk=o.chunk, progress=sys.stderr.isatty(),
                  checkpoint=args.checkpoint)
    if pr.keep is not None:
        mc = sims.rf_pruned_risk(pr.task, p=pr.p, keep=pr.keep, rule=pr.rules,
                                 retrain=pr.retrain, **common)
    else:
        mc = sims.rf_dense_risk(pr.task, p=pr.p, **common)
    return mc.rows(), mc.dtype


def compare_rows(pr: RFProblem, args):
    """Theory and simulation rows; a sampled theory's error travels as ``theory_stderr``."""
    t_rows = theory(pr, args)
    for row in t_rows:
        if "risk_stderr" in row:
            row["theory_stderr"] = row.pop("risk_stderr")
    s_rows, dtype = simulate(pr, args)
    args.dtype = dtype
    return t_rows, s_rows


def figure(pr: RFProblem, args, comparison, path) -> None:
    """Theory lines over the width (Gaussian equivalent, or the exact-moment theory with
    ``--second-moment exact``), nonlinear-feature simulation markers (pruned risks: markers per
    rule and retraining, theory where it exists)."""
    import asymptotics as asy

    if pr.keep is not None:
        return _pruned_figure(pr, args, comparison, path)

    task = pr.task
    _linear.draw_dense_comparison(
        pr, args, comparison, path,
        line=lambda pf, nn, rr: asy.rf_dense_risk(task, p=pf, n=nn, ridge=rr, throw=False,
                                                  second_moment=args.second_moment,
                                                  radial=args.radial).risk,
        ylabel=r"test risk $E\,(y - a^\top\phi(x))^2$",
        title=f"{task.name}, d={task.d}, $\\sigma$={float(task.noise):g}",
        parameters=parameters(pr, args))


def _pruned_figure(pr: RFProblem, args, comparison, path) -> None:
    from ._pruned import draw_pruned_comparison

    draw_pruned_comparison(
        comparison, args, path, keep=int(pr.keep[0]), n=int(pr.n[0]), ridge=float(pr.ridge[0]),
        curves=[(rule, mode) for rule in pr.rules for mode in pr.retrain],
        xlabel="width $p$", ylabel=r"test risk $E\,(y - a^\top\phi(x))^2$",
        title=f"{pr.task.name}: pruned to s={int(pr.keep[0])}, n={int(pr.n[0])}; ±2 s.e.",
        parameters=parameters(pr, args))


def theory_second_moment(task: RFTask, second_moment: str) -> dict:
    """Sidecar description of the theory's feature second moment (no computation)."""
    if second_moment == "gaussian-equivalent":
        return {"kind": second_moment, "second": "V V^T + diag(mu_star^2) (Gaussian equivalent)"}
    from models._rf_moments import CLOSED_FORMS, TRUNCATION_TOL

    name = task.activation if isinstance(task.activation, str) else None
    how = {"erf": "erf arcsin closed form (Williams 1997)",
           "relu": "arc-cosine kernel of order 1 (Cho and Saul 2009)",
           "relu2": "arc-cosine kernel of order 2 (Cho and Saul 2009)"}
    second = (how[name] if name in CLOSED_FORMS else
              f"Mehler series, truncated when its bound is below {TRUNCATION_TOL:g}")
    return {"kind": second_moment, "second": second,
            "cross": "Stein's lemma (exact)", "source": "models.rf_feature_moments"}


def parameters(pr: RFProblem, args) -> dict:
    d = {k: v for k, v in vars(args).items() if k != "command"}
    return {"command": args.command, **d, "task": pr.task.describe(),
            "theory_second_moment": theory_second_moment(pr.task, args.second_moment),
            "theory_radial_correction": bool(args.radial)}


SETTING = Setting(
    name="rf",
    summary="random-features regression: Gaussian-equivalent (or exact-moment) theory given W, "
            "nonlinear features simulated",
    add_arguments=add_arguments,
    problem=problem,
    theory=theory,
    simulate=simulate,
    compare_rows=compare_rows,
    value=None,          # pruned rows compare ``risk``, dense rows ``dense_risk``
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
