"""Pruning options of ``overparam theory | simulate | compare``.

``--keep S [S ...]`` switches a command to pruned risks; ``--rule NAME`` (repeatable: none,
magnitude, saliency, oracle, random; default: all four pruning rules) and
``--retrain {none,same,fresh}`` (repeatable, default none) choose what is evaluated.  Theory
rows add ``keep,rule,retrain,risk`` (``risk`` is the pruned risk, ``dense_risk`` stays);
simulation rows add ``keep,rule,retrain,risk_mean,risk_stderr,risk_median``.  Same-data
retraining has no theory: ``theory`` refuses it, ``compare`` leaves the theory columns empty
with status ``no_theory``.
"""

from __future__ import annotations

import argparse

import numpy as np

from models import InputError
from models._errors import check_int_range

RULE_CHOICES = ("none", "magnitude", "saliency", "oracle", "random")
RETRAIN_CHOICES = ("none", "same", "fresh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("pruning")
    g.add_argument("--keep", type=float, nargs="+", default=None,
                   help="number(s) of weights kept, s <= p (enables pruned risks)")
    g.add_argument("--rule", action="append", default=None,
                   help="pruning rule, repeatable: " + ", ".join(RULE_CHOICES)
                   + " (default: magnitude, saliency, oracle, random)")
    g.add_argument("--retrain", action="append", default=None,
                   help="retraining after pruning, repeatable: none (default), same, fresh")
    g.add_argument("--saliency", default="population", choices=("population", "empirical"),
                   help="lambda in the saliency score lambda_i b_i^2 (simulation)")


def options(args, p: np.ndarray, n: np.ndarray):
    """Validated (keep, rules, retrain) or None when --keep is absent."""
    if args.keep is None:
        for flag in ("rule", "retrain"):
            if getattr(args, flag):
                raise InputError(f"--{flag}: needs --keep; allowed: --keep S [S ...] with --{flag}")
        return None
    keep = check_int_range("--keep", args.keep, 1)
    if keep.max() > p.min():
        raise InputError(f"--keep: got {int(keep.max())} with p = {int(p.min())}; allowed: "
                         "integers in [1, p] for every model size")
    rules = tuple(dict.fromkeys(args.rule or ("magnitude", "saliency", "oracle", "random")))
    for r in rules:
        if r not in RULE_CHOICES:
            raise InputError(f"--rule: unknown rule {r!r}; allowed: one of " + ", ".join(RULE_CHOICES))
    retrain = tuple(dict.fromkeys(args.retrain or ("none",)))
    for r in retrain:
        if r not in RETRAIN_CHOICES:
            raise InputError(f"--retrain: unknown value {r!r}; allowed: one of "
                             + ", ".join(RETRAIN_CHOICES))
    if set(retrain) - {"none"} and keep.max() >= n.min() - 1:
        raise InputError(f"--keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"integers in [1, {int(n.min()) - 2}]")
    return keep, rules, retrain


def theory_rows(task, p, n, r, keep, rules, retrain, *, allow_same: bool) -> list[dict]:
    import asymptotics as asy

    if "same" in retrain and not allow_same:
        raise InputError("--retrain: 'same' (retraining on the data that chose the support) has "
                         "no closed form; allowed: none, fresh (simulate and compare accept same)")
    dense = asy.dense_risk(task, p=p, n=n, ridge=r, throw=False)
    dense_rows = dense.rows()
    prune_rules = tuple(x for x in rules if x != "none")
    th = None
    if prune_rules:
        th = asy.pruned_risk(task, p=p[:, None], keep=keep[None, :], n=n[:, None],
                             ridge=r[:, None], rule=prune_rules, throw=False)
    rows = []
    for g, base in enumerate(dense_rows):
        for k, s in enumerate(keep):
            for rule in rules:
                if rule == "none" and k:
                    continue  # the dense row does not depend on keep
                for mode in (("none",) if rule == "none" else retrain):
                    row = dict(base, keep=int(s), rule=rule, retrain=mode)
                    if rule == "none":
                        row.update(keep=int(base["p"]), risk=base["dense_risk"],
                                   status=base["status"])
                    elif mode == "same":
                        row.update(risk="", status="no_theory")
                    else:
                        j = prune_rules.index(rule)
                        val = th.risk if mode == "none" else th.retrain_exact
                        thr = float(th.threshold[g, k, j])
                        row.update(risk=float(val[g, k, j]), threshold=thr if np.isfinite(thr) else "",
                                   kept_signal=float(th.kept_signal[g, k, j]),
                                   status=str(asy.status_names(th.status[g, k, j])))
                    rows.append(row)
    return rows


def simulation_rows(task, p, n, r, keep, rules, retrain, *, trials, key, dtype, chunk,
                    saliency, progress, checkpoint=None) -> list[dict]:
    from ._pruning import PrunedSimulation, pruned_risk

    prune_rules = tuple(x for x in rules if x != "none") or ("magnitude",)
    mc = pruned_risk(task, p=p, keep=keep, n=n, ridge=r, rule=prune_rules, retrain=retrain,
                     trials=trials, key=key, dtype=dtype, chunk=chunk, saliency=saliency,
                     progress=progress, checkpoint=checkpoint)
    mean, se, med = PrunedSimulation.summary(mc.risks)
    dmean, dse, dmed = PrunedSimulation.summary(mc.dense)
    rows = []
    for g in range(p.size):
        for k, s in enumerate(keep):
            for rule in rules:
                if rule == "none" and k:
                    continue
                for m, mode in enumerate(("none",) if rule == "none" else retrain):
                    base = dict(p=int(p[g]), n=int(n[g]), ridge=float(r[g]), keep=int(s), rule=rule,
                                retrain=mode, dense_risk_mean=float(dmean[g]))
                    if rule == "none":
                        base.update(keep=int(p[g]), risk_mean=float(dmean[g]),
                                    risk_stderr=float(dse[g]), risk_median=float(dmed[g]))
                    else:
                        j = prune_rules.index(rule)
                        base.update(risk_mean=float(mean[g, k, j, m]),
                                    risk_stderr=float(se[g, k, j, m]),
                                    risk_median=float(med[g, k, j, m]))
                    base["trials"] = int(trials)
                    rows.append(base)
    return rows


def merge_rows(theory: list[dict], simulation: list[dict]) -> list[dict]:
    """Theory and simulation rows of the same grid point side by side, with a z-score."""
    out = []
    for t, s in zip(theory, simulation):
        assert (t["p"], t["keep"], t["rule"], t["retrain"]) == (s["p"], s["keep"], s["rule"], s["retrain"])
        row = dict(t, **{k: s[k] for k in ("risk_mean", "risk_stderr", "risk_median", "trials")})
        th = t["risk"]
        ok = th != "" and np.isfinite(th) and s["risk_stderr"] > 0
        row["z"] = float((s["risk_mean"] - th) / s["risk_stderr"]) if ok else ""
        out.append(row)
    return out


def compare(args, task, p, n, r, keep, rules, retrain, *, trials, key, chunk, params) -> int:
    """``overparam compare --keep ...``: merged CSV, a table, and a figure of risk against
    ``p`` (first keep value, first n and ridge): theory lines, Monte Carlo markers."""
    import sys
    from pathlib import Path

    from . import _io
    from ._plots import COLORS, close, mark_threshold, new_figure

    theory = theory_rows(task, p, n, r, keep, rules, retrain, allow_same=True)
    sim = simulation_rows(task, p, n, r, keep, rules, retrain, trials=trials, key=key,
                          dtype=args.dtype, chunk=chunk, saliency=args.saliency,
                          progress=sys.stderr.isatty(), checkpoint=args.checkpoint)
    rows = merge_rows(theory, sim)
    out = _io.write_csv(args.out, rows, parameters=params)
    print(f"{'p':>6} {'keep':>5} {'rule':>10} {'retrain':>7} {'theory':>10} {'mc mean':>10} "
          f"{'stderr':>8} {'z':>7}")
    for row in rows:
        th = f"{row['risk']:>10.4f}" if row["risk"] != "" else f"{'—':>10}"
        z = f"{row['z']:>7.2f}" if row["z"] != "" else f"{'':>7}"
        print(f"{row['p']:>6} {row['keep']:>5} {row['rule']:>10} {row['retrain']:>7} {th} "
              f"{row['risk_mean']:>10.4f} {row['risk_stderr']:>8.4f} {z}")
    fig_path = Path(args.figure) if args.figure else Path(args.out).with_suffix(".png")
    fig, (ax,) = new_figure(width=5.8, height=4.0)
    s0, n0, r0 = int(keep[0]), int(n[0]), float(r[0])
    k = 0
    for rule in rules:
        for mode in (("none",) if rule == "none" else retrain):
            sel = [x for x in rows if x["keep"] in (s0, x["p"]) and x["rule"] == rule
                   and x["retrain"] == mode and x["n"] == n0 and x["ridge"] == r0]
            sel.sort(key=lambda x: x["p"])
            xs = np.array([x["p"] for x in sel])
            color = COLORS[k % len(COLORS)]
            k += 1
            label = "dense" if rule == "none" else f"{rule}" + ("" if mode == "none" else f", retrain {mode}")
            tv = np.array([x["risk"] if x["risk"] != "" else np.nan for x in sel], dtype=float)
            if np.isfinite(tv).any():
                ax.plot(xs, tv, color=color, label=f"theory, {label}")
            ax.errorbar(xs, [x["risk_mean"] for x in sel], yerr=[2 * x["risk_stderr"] for x in sel],
                        fmt="o", ms=4, mfc="white", color=color, label=f"Monte Carlo, {label}")
    if r0 == 0:
        mark_threshold(ax, n0)
    ax.set_xlabel("model size $p$")
    ax.set_ylabel(r"test risk $\sigma^2 + \|\theta-\beta\|_\Sigma^2$")
    if args.log:
        ax.set_yscale("log")
    ax.set_title(f"{task.name}: pruned to s={s0}, n={n0}; MC mean ±2 s.e., {trials} trials",
                 fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    _io.save_figure(fig, fig_path, parameters=params)
    close(fig)
    print(f"wrote {out} and {fig_path}")
    return 0
