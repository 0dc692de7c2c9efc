"""Setting ``patch-net``: random pruning at initialization of the two-layer patch network.

Mathematics: ``docs/pruning_at_init.md`` (Yang, Liang, Guo, Wu, Wang, ICLR 2023, in the
setting of Cao, Chen, Belkin, Gu, NeurIPS 2022).

* ``theory``: one row per pruning fraction ``p``: the effective SNR, theorem A's margin and
  bound, the over-pruning floor ``(1/2) p^m``, the Binomial law of the signal-connected
  neurons (mean ``(1 - p) m``, ``P(K = 0) = p^m``), ``p_min``, ``p_max`` and the validity
  flags, with a status (``invalid`` outside theorem A's validity region).
* ``simulate``: gradient descent on the pruned network (``sims.train_pruned``): one row per
  seed, fraction and recorded step (the contract of ``overparam simulate --model
  patch-net``).
* ``compare``: one row per fraction and quantity.  The exact predictions are judged:
  ``signal_connected`` (mean of ``K ~ Binomial(m, 1 - p)`` per class) and ``no_signal_class``
  (``P(K = 0) = p^m``) against the masks actually drawn (two classes per seed), with the
  exact rule (no finite-size allowance).  The trained network's ``test_error`` has no point
  prediction -- the theorems give a bound and a floor -- so its rows carry the bound and the
  floor as columns and status ``no_theory``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from models import InputError, PatchTask
from models._errors import check_int_range

from .registry import Setting


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    g = parser.add_argument_group("problem")
    g.add_argument("--n", type=int, default=20, help="training samples")
    g.add_argument("--d", type=int, default=1000, help="patch dimension")
    g.add_argument("--m", type=int, default=10, help="neurons per class")
    g.add_argument("--q", type=float, default=3.0, help="activation power (>= 1)")
    g.add_argument("--mu-norm", type=float, default=12.0, help="signal strength ||mu||")
    g.add_argument("--sigma-p", type=float, default=1.0, help="noise standard deviation")
    g.add_argument("--sigma-0", type=float, default=0.01, help="initialization scale")
    g.add_argument("--signal", default="sparse", help="sparse | dense")
    g.add_argument("--p", type=float, nargs="+", default=[0.0, 0.5, 0.7, 0.85, 0.95, 0.97],
                   help="pruning fractions in [0, 1)")
    t = parser.add_argument_group("theory constants")
    t.add_argument("--C", type=float, default=1.0, help="constant of theorem A's bound")
    t.add_argument("--C-q", type=float, default=1.0, dest="C_q",
                   help="constant of the benign threshold p_min")
    t.add_argument("--c", type=float, default=1.0, help="constant of the onset 1 - c/m")
    if command in ("simulate", "compare"):
        s = parser.add_argument_group("training")
        s.add_argument("--seeds", type=int, default=4)
        s.add_argument("--seed", type=int, default=0, help="master PRNG seed (key = jax.random.key(seed))")
        s.add_argument("--eta", type=float, default=0.02, help="GD step size")
        s.add_argument("--steps", type=int, default=1500, help="GD steps")
        s.add_argument("--record-steps", type=int, nargs="+", default=None)
        s.add_argument("--n-test", type=int, default=2000)
        s.add_argument("--dtype", default="float32", help="float32 | float64")
        s.add_argument("--chunk", type=float, default=None,
                       help="seeds per device per compiled call (default: all)")
        s.add_argument("--checkpoint", default=None,
                       help="folder where finished seed chunks are saved; rerunning the same "
                            "command resumes an interrupted run")


def problem(args) -> PatchTask:
    task = PatchTask.create(n=args.n, d=args.d, m=args.m, q=args.q, mu_norm=args.mu_norm,
                            sigma_p=args.sigma_p, sigma_0=args.sigma_0, signal=args.signal)
    from models._patch_net import check_pruning_fraction

    p = check_pruning_fraction("--p", args.p)
    if p.ndim != 1 or p.size == 0:
        raise InputError("--p: empty; allowed: one or more pruning fractions in [0, 1)")
    if args.command in ("simulate", "compare"):
        check_int_range("--seed", args.seed, 0)
        check_int_range("--seeds", args.seeds, 1 if args.command == "simulate" else 2)
        if args.chunk is not None:
            check_int_range("--chunk", args.chunk, 1)
        if args.dtype not in ("float32", "float64"):
            raise InputError(f"--dtype: got {args.dtype!r}; allowed: float32 or float64")
        # sims.train_pruned checks these too, but after the PRNG key is made (compiled)
        from models._errors import check_positive
        from sims._training import check_record_steps

        check_positive("eta", args.eta)
        check_record_steps(args.steps, args.record_steps)
        check_int_range("n_test", args.n_test, 1)
    return task


def theory(task: PatchTask, args) -> list[dict]:
    import asymptotics as asy

    th = asy.pruning_theory(task, np.asarray(args.p, np.float64), C=args.C, C_q=args.C_q,
                            c=args.c, throw=False)
    names = asy.status_names(th["status"])
    keys = [k for k in th if k not in ("p", "status")]
    return [dict(p=float(th["p"][i]), **{k: _plain(th[k][i]) for k in keys}, status=str(names[i]))
            for i in range(th["p"].size)]


def _plain(v):
    v = np.asarray(v)
    return bool(v) if v.dtype == bool else float(v)


def _run(task: PatchTask, args):
    import jax
    import jax.numpy as jnp

    import sims

    return sims.train_pruned(task, args.p, jax.random.key(args.seed), seeds=args.seeds,
                             eta=args.eta, steps=args.steps, record_steps=args.record_steps,
                             n_test=args.n_test, dtype=jnp.dtype(args.dtype),
                             chunk=args.chunk, progress=sys.stderr.isatty(),
                             checkpoint=args.checkpoint)


def simulate(task: PatchTask, args) -> tuple[list[dict], str]:
    run = _run(task, args)
    mean, se = run.summary("test_error")
    for pi, mi, si in zip(run.p, mean, se):
        print(f"p={pi:.3f}  test_error={mi:.3f} +- {si:.3f}")
    return run.rows(), args.dtype


def _theory_rows(task: PatchTask, args) -> list[dict]:
    """Theory in the compare layout: one row per fraction and quantity."""
    rows = []
    for t in theory(task, args):
        common = dict(p=t["p"], error_floor=t["error_floor"], theorem_a_bound=t["theorem_a_bound"],
                      p_min=t["p_min"], p_max=t["p_max"], theorem_a_status=t["status"])
        rows.append(dict(common, quantity="signal_connected", value=t["expected_connected"],
                         status="converged"))
        rows.append(dict(common, quantity="no_signal_class", value=t["prob_no_signal_neuron"],
                         status="converged"))
        rows.append(dict(common, quantity="test_error", value="", status="no_theory"))
    return rows


def compare_rows(task: PatchTask, args):
    """Theory and simulation rows of ``compare`` (quantity axis; ``value_*`` columns)."""
    import sims

    run = _run(task, args)
    conn = np.asarray(run.connected, np.float64)                    # (S, P, 2)
    per_class = np.moveaxis(conn, 1, 0).reshape(conn.shape[1], -1)  # (P, 2S)
    measured = {"signal_connected": per_class, "no_signal_class": (per_class == 0).astype(float),
                "test_error": run.final("test_error").T}            # (P, S)
    sim_rows = []
    for quantity, x in measured.items():
        st = sims.summarize(x)
        for i, p in enumerate(run.p):
            sim_rows.append(dict(p=float(p), quantity=quantity, value_mean=float(st.mean[i]),
                                 value_stderr=float(st.stderr[i]), value_median=float(st.median[i]),
                                 trials=int(st.finite[i]), nonfinite_trials=int(st.nonfinite[i])))
    return _theory_rows(task, args), sim_rows


def figure(task: PatchTask, args, comparison, path) -> None:
    """Left: test error per fraction (seed mean +-2 s.e.) with the floor (1/2) p^m and the
    marked p_min and p_max.  Right: signal-connected neurons per class, Binomial mean
    (theory) against the drawn masks."""
    from ._plots import COLORS, new_figure, save_and_close

    rows = comparison.rows()
    pick = lambda q: sorted((r for r in rows if r["quantity"] == q), key=lambda r: r["p"])  # noqa: E731
    fig, (ax_a, ax_b) = new_figure(ncols=2, width=4.4, height=3.4)
    te = pick("test_error")
    p = np.array([r["p"] for r in te])
    ax_a.errorbar(p, [r["value_mean"] for r in te], yerr=[2 * r["value_stderr"] for r in te],
                  fmt="o-", ms=4, color=COLORS[0], mfc="white", label="test error (GD), ±2 s.e.")
    pf = np.linspace(0, max(p.max(), 0.99), 200)
    ax_a.plot(pf, 0.5 * pf ** task.m, color=COLORS[1], ls="--", label=r"floor $\frac{1}{2}p^m$ (theory)")
    for name, x, color in (("$p_{min}$", te[0]["p_min"], COLORS[2]), ("$p_{max}$", te[0]["p_max"], COLORS[4])):
        if 0 <= x <= 1:
            ax_a.axvline(x, color=color, ls=":", lw=1.2, label=f"{name} = {x:.2f}")
    ax_a.set_xlabel("pruning fraction $p$")
    ax_a.set_ylabel("test error")
    ax_a.legend(frameon=False, fontsize=8)
    sc = pick("signal_connected")
    ax_b.plot(pf, (1 - pf) * task.m, color=COLORS[1], label=r"theory $(1-p)\,m$")
    ax_b.errorbar([r["p"] for r in sc], [r["value_mean"] for r in sc],
                  yerr=[2 * r["value_stderr"] for r in sc], fmt="o", ms=4, color=COLORS[0],
                  mfc="white", label="drawn masks, ±2 s.e.")
    ax_b.set_xlabel("pruning fraction $p$")
    ax_b.set_ylabel("signal-connected neurons per class")
    ax_b.legend(frameon=False, fontsize=8)
    fig.suptitle(f"Pruning at initialization: n={task.n}, d={task.d}, m={task.m}, "
                 f"||mu||={float(task.mu_norm):g}, q={task.q:g}, {args.seeds} seeds", fontsize=10)
    save_and_close(fig, path, parameters=parameters(task, args))


def parameters(task: PatchTask, args) -> dict:
    d = {k: v for k, v in vars(args).items() if k != "command"}
    return {**d, **task.describe(), "model": "patch-net"}


SETTING = Setting(
    name="patch-net",
    summary="random pruning at initialization of a two-layer patch network (Yang et al. 2023)",
    add_arguments=add_arguments,
    problem=problem,
    theory=theory,
    simulate=simulate,
    compare_rows=compare_rows,
    value="value",
    sim_prefix="value",
    figure=figure,
    parameters=parameters,
    columns={
        "theory": ("p", "effective_snr", "benign_margin", "theorem_a_bound",
                   "prob_no_signal_neuron", "error_floor", "expected_connected", "p_min",
                   "p_max", "status"),
        "simulate": ("seed", "p", "step", "train_loss", "train_error", "test_error",
                     "signal_alignment", "noise_memorization", "connected_pos", "connected_neg"),
        "compare": ("p", "quantity", "value", "status", "value_mean", "value_stderr",
                    "value_median", "trials", "nonfinite_trials", "z", "agrees"),
    },
    agreement="exact",
)
