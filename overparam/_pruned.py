"""Setting ``linear-pruned``: pruning and retraining of the linear model's fit.

The problem flags of ``linear`` plus ``--keep S [S ...]`` (required), ``--rule NAME``
(repeatable: none, magnitude, saliency, oracle, random; default: the four pruning rules) and
``--retrain MODE`` (repeatable: none, same, fresh; default none).  ``overparam ... --model
linear --keep ...`` comes here too.  Theory rows add ``keep,rule,retrain,risk`` (``risk`` is
the pruned risk, ``dense_risk`` stays); simulation rows add
``keep,rule,retrain,risk_mean,risk_stderr,risk_median``.  Theory rows carry ``method``:
``exact`` (finite-n formulas: fixed-support refits of the oracle and random supports),
``asymptotic`` (the sequence-model closed forms) or ``conditional-gaussian`` (same-data
retraining after magnitude / saliency pruning of the min-norm fit, an approximation:
``docs/same_data_retraining.md``; status ``invalid`` for ``p <= n`` or ``keep > n - 6``).
Same-data theory for ridge fits is refused by ``theory`` and left empty (``no_theory``) by
``compare``.  Mathematics: ``docs/linear.md`` sections 3-4.
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from models import InputError
from models._errors import check_int_range
from models._pruning_ops import RULES, check_retrain

from . import _linear
from .registry import Setting


@dataclasses.dataclass(frozen=True)
class PrunedProblem:
    base: _linear.LinearProblem
    keep: np.ndarray
    rules: tuple[str, ...]          # may include "none" (the dense row)
    retrain: tuple[str, ...]

    @property
    def prune_rules(self) -> tuple[str, ...]:
        return tuple(r for r in self.rules if r != "none")


def problem(args) -> PrunedProblem:
    if args.keep is None:
        raise InputError("--keep: required by --model linear-pruned; allowed: --keep S [S ...]")
    base = _linear.linear_problem(args)
    keep = check_int_range("--keep", args.keep, 1)
    if keep.max() > base.p.min():
        raise InputError(f"--keep: got {int(keep.max())} with p = {int(base.p.min())}; allowed: "
                         "integers in [1, p] for every model size")
    given = args.rule or ("magnitude", "saliency", "oracle", "random")
    rules = tuple(dict.fromkeys(given))
    for r in rules:
        if r not in ("none",) + RULES:
            raise InputError(f"--rule: unknown rule {r!r}; allowed: one of none, " + ", ".join(RULES))
    retrain = check_retrain(args.retrain or ("none",), name="--retrain")
    if set(retrain) - {"none"} and keep.max() >= base.n.min() - 1:
        raise InputError(f"--keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"integers in [1, {int(base.n.min()) - 2}]")
    data_rules = set(rules) & {"magnitude", "saliency"}
    if args.command == "theory" and "same" in retrain and data_rules and np.any(base.ridge != 0):
        raise InputError("--retrain: 'same' after magnitude or saliency pruning has a theory for "
                         "the min-norm fit only (--ridge 0, p > n); allowed: --ridge 0, or "
                         "--retrain none / fresh (simulate and compare accept same with ridge)")
    return PrunedProblem(base, keep, rules, retrain)


def _modes(rule: str, retrain) -> tuple[str, ...]:
    return ("none",) if rule == "none" else tuple(retrain)


def theory(pr: PrunedProblem, args) -> list[dict]:
    import asymptotics as asy

    b = pr.base
    dense_rows = asy.dense_risk(b.task, p=b.p, n=b.n, ridge=b.ridge, throw=False).rows()
    th = None
    if pr.prune_rules:
        th = asy.pruned_risk(b.task, p=b.p[:, None], keep=pr.keep[None, :], n=b.n[:, None],
                             ridge=b.ridge[:, None], rule=pr.prune_rules, throw=False)
    same = None
    data_rules = tuple(r for r in pr.prune_rules if r in ("magnitude", "saliency"))
    if "same" in pr.retrain and data_rules:
        ridgeless = b.ridge == 0
        same = dict(risk=np.full((b.p.size, pr.keep.size, len(data_rules)), np.nan),
                    status=np.full((b.p.size, pr.keep.size, len(data_rules)), -1))
        if ridgeless.any():
            cg = asy.same_data_risk(b.task, p=b.p[ridgeless, None], keep=pr.keep[None, :],
                                    n=b.n[ridgeless, None], rule=data_rules, ridge=0.0,
                                    throw=False)
            same["risk"][ridgeless], same["status"][ridgeless] = cg.risk, cg.status
    rows = []
    for g, base in enumerate(dense_rows):
        for k, s in enumerate(pr.keep):
            for rule in pr.rules:
                if rule == "none" and k:
                    continue  # the dense row does not depend on keep
                for mode in _modes(rule, pr.retrain):
                    row = dict(base, keep=int(s), rule=rule, retrain=mode)
                    if rule == "none":
                        row.update(keep=int(base["p"]), risk=base["dense_risk"],
                                   status=base["status"], method="asymptotic")
                    elif mode == "same" and rule in data_rules:
                        jt = pr.prune_rules.index(rule)
                        thr = float(th.threshold[g, k, jt])
                        row.update(threshold=thr if np.isfinite(thr) else "",
                                   kept_signal=float(th.kept_signal[g, k, jt]))
                        j = data_rules.index(rule)
                        st = int(same["status"][g, k, j])
                        if st < 0:       # a ridge fit: no same-data theory
                            row.update(risk="", status="no_theory", method="")
                        else:
                            val = float(same["risk"][g, k, j])
                            row.update(risk=val if np.isfinite(val) else "",
                                       status=str(asy.status_names(st)),
                                       method="conditional-gaussian")
                    else:
                        j = pr.prune_rules.index(rule)
                        # fresh data, or the same data on a data-independent support (oracle,
                        # random): the fixed-support formula, exact for a data-independent support
                        val = th.risk if mode == "none" else th.retrain_exact
                        thr = float(th.threshold[g, k, j])
                        exact = mode != "none" and rule in ("oracle", "random")
                        row.update(risk=float(val[g, k, j]), threshold=thr if np.isfinite(thr) else "",
                                   kept_signal=float(th.kept_signal[g, k, j]),
                                   status=str(asy.status_names(th.status[g, k, j])),
                                   method="exact" if exact else "asymptotic")
                    rows.append(row)
    return rows


def simulate(pr: PrunedProblem, args) -> tuple[list[dict], str]:
    import jax

    import sims

    b = pr.base
    o = _linear.sim_options(args)
    prune_rules = pr.prune_rules or ("magnitude",)
    mc = sims.pruned_risk(b.task, p=b.p, keep=pr.keep, n=b.n, ridge=b.ridge, rule=prune_rules,
                          retrain=pr.retrain, trials=o.trials, key=jax.random.key(o.seed),
                          dtype=o.dtype, chunk=o.chunk, saliency=args.saliency,
                          progress=sys.stderr.isatty(), checkpoint=args.checkpoint)
    st = mc.summary()
    dense = sims.summarize(mc.dense)
    rows = []
    for g in range(b.p.size):
        for k, s in enumerate(pr.keep):
            for rule in pr.rules:
                if rule == "none" and k:
                    continue
                for m, mode in enumerate(_modes(rule, pr.retrain)):
                    row = dict(p=int(b.p[g]), n=int(b.n[g]), ridge=float(b.ridge[g]), keep=int(s),
                               rule=rule, retrain=mode, dense_risk_mean=float(dense.mean[g]))
                    if rule == "none":
                        at, src = (g,), dense
                        row["keep"] = int(b.p[g])
                    else:
                        at, src = (g, k, prune_rules.index(rule), m), st
                    row.update(risk_mean=float(src.mean[at]), risk_stderr=float(src.stderr[at]),
                               risk_median=float(src.median[at]), trials=int(src.finite[at]),
                               nonfinite_trials=int(src.nonfinite[at]))
                    rows.append(row)
    return rows, mc.dtype


def figure(pr: PrunedProblem, args, comparison, path) -> None:
    """Risk against ``p`` at the first keep value, first ``n`` and ridge: theory lines (where
    a closed form exists) and Monte Carlo markers (+-2 s.e.) per rule and retraining."""
    draw_pruned_comparison(
        comparison, args, path, keep=int(pr.keep[0]), n=int(pr.base.n[0]),
        ridge=float(pr.base.ridge[0]),
        curves=[(rule, mode) for rule in pr.rules for mode in _modes(rule, pr.retrain)],
        xlabel="model size $p$", ylabel=r"test risk $\sigma^2 + \|\theta-\beta\|_\Sigma^2$",
        title=f"{pr.base.task.name}: pruned to s={int(pr.keep[0])}, n={int(pr.base.n[0])}; "
              "MC mean ±2 s.e.",
        parameters=parameters(pr, args))


def draw_pruned_comparison(comparison, args, path, *, keep: int, n: int, ridge: float, curves,
                           xlabel: str, ylabel: str, title: str, parameters: dict) -> None:
    """The ``compare`` figure of a pruned setting: for each ``(rule, retrain)`` of ``curves``,
    the theory line where one exists and the simulation markers (+-2 s.e.) against ``p`` at
    one ``(keep, n, ridge)``; a dense row (rule ``none``) is matched at ``keep = p``."""
    from ._plots import COLORS, mark_threshold, new_figure, save_and_close

    rows = comparison.rows()
    fig, (ax,) = new_figure(width=5.8, height=4.0)
    for k, (rule, mode) in enumerate(curves):
        sel = sorted((x for x in rows if x["keep"] in (keep, x["p"]) and x["rule"] == rule
                      and x["retrain"] == mode and x["n"] == n and x["ridge"] == ridge),
                     key=lambda x: x["p"])
        xs = np.array([x["p"] for x in sel])
        color = COLORS[k % len(COLORS)]
        label = "dense" if rule == "none" else rule + ("" if mode == "none" else f", retrain {mode}")
        tv = np.array([x["risk"] if x["risk"] != "" else np.nan for x in sel], dtype=float)
        if np.isfinite(tv).any():
            ax.plot(xs, tv, color=color, label=f"theory, {label}")
        ax.errorbar(xs, [x["risk_mean"] for x in sel], yerr=[2 * x["risk_stderr"] for x in sel],
                    fmt="o", ms=4, mfc="white", color=color, label=f"simulation, {label}")
    if ridge == 0:
        mark_threshold(ax, n)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if args.log:
        ax.set_yscale("log")
    trials = int(comparison.finite.max()) if comparison.size else 0
    ax.set_title(f"{title}, {trials} trials", fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    save_and_close(fig, path, parameters=parameters)


def parameters(pr: PrunedProblem, args) -> dict:
    return _linear.parameters(pr.base, args)


SETTING = Setting(
    name="linear-pruned",
    summary="linear model pruned to --keep weights (magnitude, saliency, oracle, random), "
            "optionally retrained",
    add_arguments=_linear.add_arguments,
    problem=problem,
    theory=theory,
    simulate=simulate,
    value="risk",
    figure=figure,
    parameters=parameters,
    columns={
        "theory": ("p", "n", "ridge", "kappa", "dense_risk", "keep", "rule", "retrain", "risk",
                   "method", "status"),
        "simulate": ("p", "n", "ridge", "keep", "rule", "retrain", "dense_risk_mean", "risk_mean",
                     "risk_stderr", "risk_median", "trials", "nonfinite_trials"),
        "compare": ("p", "n", "ridge", "keep", "rule", "retrain", "risk", "method", "status",
                    "risk_mean", "risk_stderr", "risk_median", "trials", "nonfinite_trials", "z",
                    "agrees"),
    },
)
