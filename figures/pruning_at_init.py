"""Random pruning at initialization (Yang, Liang, Guo, Wu, Wang, ICLR 2023, arXiv:2301.00335).

Small configuration of ``docs/pruning_at_init.md`` (n=20, d=1000, m=10, q=3,
||mu||=12, eta=0.02, T=1500).  Writes to ``--outdir`` (PNG + CSV, each with a JSON sidecar):

- ``test_error_vs_p.png``: test error against p (seed mean +- standard error), sparse signal
  and the dense-signal control, the over-pruning floor (1/2) p^m, p_min and p_max = 1 - c/m;
- ``traces.png``: feature learning during training (max signal alignment, mean noise
  memorization) at a few fractions p;
- ``train_loss_vs_p.png``: final training loss and error against p next to the test error;
- ``phase.png``: the phase diagram over (||mu||, p) (see ``pruning_at_init_phase.py``).

Run:  ``overparam figure pruning-at-init [--quick] [--no-phase] [--outdir DIR]``
  or  ``python figures/pruning_at_init.py``.
"""

from __future__ import annotations

import time

import jax
import numpy as np

import asymptotics as asy
from models import PatchTask
from overparam._io import save_figure, write_csv
from sims.pruning_at_init import train_pruned

if __package__:
    from . import pruning_at_init_phase as phase
    from ._pai_common import COLORS, SMALL, TRAIN, base_parser, outdir, style
else:  # run as a script
    import pruning_at_init_phase as phase
    from _pai_common import COLORS, SMALL, TRAIN, base_parser, outdir, style

P_SWEEP = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
TRACE_P = (0.0, 0.7, 0.97)
P_TICKS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)


def _keep_scale(ax):
    """x axis in -log10(1 - p): spreads the high-pruning end where the thresholds sit."""
    ax.set_xscale("function", functions=(lambda p: -np.log10(1 - np.minimum(p, 0.999)),
                                         lambda t: 1 - 10.0 ** (-t)))
    ax.set_xticks(P_TICKS)
    ax.set_xticklabels([f"{t:g}" for t in P_TICKS])
    ax.set_xlim(0, 0.992)


def _thresholds(ax, th, *, legend=True):
    n, d = SMALL["n"], SMALL["d"]
    pmin, pmax = float(th["p_min"][0]), float(th["p_max"][0])
    if 0 <= pmin < 1:
        ax.axvline(pmin, color=COLORS["p_min"], ls=":", lw=1.8,
                   label=rf"$p_{{\min}}$ (benign above) = {pmin:.2f}")
    else:
        ax.plot([], [], " ", label=rf"$p_{{\min}} = {pmin:.2f} < 0$: benign from $p=0$")
    ax.axvline(pmax, color=COLORS["p_max"], ls="-.", lw=1.8,
               label=rf"$p_{{\max}} = 1 - c/m$ = {pmax:.2f}")
    ax.axvspan(1 - n / d, 1.0, color=COLORS["memorize"], alpha=0.12, lw=0,
               label=r"$(1-p)\,d < n$")


def fig_test_error(sparse, dense, th, p_fine, floor_fine):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for run, name, lab in ((sparse, "sparse", r"sparse $\mu = \|\mu\| e_1$"),
                           (dense, "dense", r"dense $\mu$ (control)")):
        mean, se = run.summary("test_error")
        ax.errorbar(run.p, mean, yerr=se, color=COLORS[name], marker="o", ms=4, capsize=3,
                    label=f"simulation, {lab}")
    ax.plot(p_fine, floor_fine, color=COLORS["floor"], ls="--",
            label=r"over-pruning floor $\frac{1}{2}p^{m}$")
    _thresholds(ax, th)
    _keep_scale(ax)
    ax.set_ylim(0, 0.55)
    ax.set_xlabel(r"pruning fraction $p$")
    ax.set_ylabel("test error")
    S = sparse.test_error.shape[0]
    ax.set_title(rf"$n={SMALL['n']}$, $d={SMALL['d']}$, $m={SMALL['m']}$, $q={SMALL['q']:g}$, "
                 rf"$\|\mu\|={SMALL['mu_norm']:g}$; mean $\pm$ s.e. over {S} seeds", fontsize=10.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8.5,
              frameon=False)
    return fig


def fig_traces(sparse):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharex=True)
    cmap = plt.get_cmap("viridis")
    idx = [int(np.argmin(np.abs(sparse.p - p))) for p in TRACE_P]
    for c, i in enumerate(idx):
        col = cmap(c / max(1, len(idx) - 1) * 0.85)
        for ax, name in zip(axes, ("signal_alignment", "noise_memorization")):
            v = getattr(sparse, name)[:, i, :]
            mean, se = v.mean(0), v.std(0, ddof=1) / np.sqrt(v.shape[0])
            ax.plot(sparse.steps, mean, color=col, label=rf"$p = {sparse.p[i]:g}$")
            ax.fill_between(sparse.steps, mean - se, mean + se, color=col, alpha=0.2, lw=0)
    axes[0].set_ylabel("max signal alignment")
    axes[0].set_title(r"$\max_{j,r}\;\langle \tilde w_{j,r},\, j\mu\rangle$", fontsize=11)
    axes[1].set_ylabel("mean noise memorization")
    axes[1].set_title(r"$\frac{1}{n}\sum_i \max_r\;\langle \tilde w_{y_i,r},\, \xi_i\rangle$",
                      fontsize=11)
    for ax in axes:
        ax.set_xlabel("gradient-descent step $t$")
        ax.legend(fontsize=9)
    fig.suptitle(r"Feature learning under random pruning: pre-activations of the best neuron "
                 r"($\tilde w = w \odot M_p$), mean $\pm$ s.e. over seeds", fontsize=11)
    fig.tight_layout()
    return fig


def fig_train_loss(sparse, th):
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.9))
    loss, lse = sparse.summary("train_loss")
    a1.errorbar(sparse.p, loss, yerr=lse, color=COLORS["sparse"], marker="o", ms=4, capsize=3)
    a1.set_yscale("log")
    a1.set_ylabel(rf"training loss at $T = {TRAIN['steps']}$")
    for name, lab, ls in (("train_error", "training error", "-"), ("test_error", "test error", "--")):
        mean, se = sparse.summary(name)
        a2.errorbar(sparse.p, mean, yerr=se, color=COLORS["sparse"], ls=ls, marker="o", ms=4,
                    capsize=3, label=lab, mfc="white" if ls == "--" else None)
    a2.set_ylabel("0-1 error")
    a2.set_ylim(-0.02, 0.55)
    for ax in (a1, a2):
        _thresholds(ax, th)
        _keep_scale(ax)
        ax.set_xlabel(r"pruning fraction $p$")
    handles, labels = a2.get_legend_handles_labels()
    fig.suptitle(rf"Optimization vs generalization: training loss and error at $T={TRAIN['steps']}$ "
                 r"against $p$ (mean $\pm$ s.e. over seeds)", fontsize=11)
    fig.tight_layout()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=5,
               fontsize=9, frameon=False)
    return fig


def main(argv=None) -> int:
    ap = base_parser("overparam figure pruning-at-init", __doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=None, help="seeds of the p sweep (8; quick 4)")
    ap.add_argument("--no-phase", action="store_true", help="skip the phase diagram")
    args = ap.parse_args(argv)
    out = outdir(args.outdir)
    style()
    seeds = args.seeds or (4 if args.quick else 8)
    n_test = 500 if args.quick else 2000
    p_grid = tuple(sorted(set(P_SWEEP[::2]) | {0.7, 0.85, 0.97})) if args.quick else P_SWEEP
    rec = np.linspace(0, TRAIN["steps"], 31).astype(int)
    key = jax.random.key(args.seed)
    runs = {}
    for sig in ("sparse", "dense"):
        t0 = time.time()
        task = PatchTask.create(**SMALL, signal=sig)
        runs[sig] = train_pruned(task, p_grid, key, seeds=seeds, n_test=n_test,
                                 record_steps=rec, **TRAIN)
        print(f"p sweep ({sig} signal, {seeds} seeds): {time.time() - t0:.1f} s", flush=True)
    sparse, dense = runs["sparse"], runs["dense"]
    task = PatchTask.create(**SMALL)
    th = asy.pruning_theory(task, sparse.p, C_q=args.C_q, c=args.c, throw=False)
    p_fine = np.linspace(0, 0.995, 400)
    floor_fine = asy.error_floor(SMALL["m"], p_fine).value
    params = {**SMALL, **TRAIN, "seeds": seeds, "seed": args.seed, "n_test": n_test,
              "C_q": args.C_q, "c": args.c, "p_grid": list(p_grid), "record_steps": rec.tolist()}
    rows = [{"signal": s, **r} for s in ("sparse", "dense") for r in runs[s].rows()]
    write_csv(out / "sweep.csv", rows, parameters=params)
    write_csv(out / "theory.csv", [{k: v[i] for k, v in th.items()} for i in range(len(sparse.p))],
              parameters=params)
    save_figure(fig_test_error(sparse, dense, th, p_fine, floor_fine),
                out / "test_error_vs_p.png", parameters=params)
    save_figure(fig_traces(sparse), out / "traces.png", parameters=params)
    save_figure(fig_train_loss(sparse, th), out / "train_loss_vs_p.png", parameters=params)
    mean, se = sparse.summary("test_error")
    dmean, _ = dense.summary("test_error")
    tr, _ = sparse.summary("train_error")
    print("   p   test(sparse)  test(dense)  train(sparse)")
    for i, p in enumerate(sparse.p):
        print(f"{p:5.3f}  {mean[i]:.3f}+-{se[i]:.3f}  {dmean[i]:.3f}        {tr[i]:.3f}")
    print(f"wrote {out}/test_error_vs_p.png, traces.png, train_loss_vs_p.png")
    if not args.no_phase:
        fwd = ["--outdir", str(out), "--seed", str(args.seed), "--C-q", str(args.C_q),
               "--c", str(args.c)] + (["--quick"] if args.quick else [])
        return phase.main(fwd)
    return 0


if __name__ == "__main__":
    import _common  # the script's folder is on sys.path

    _common.run_main(main)  # float64 and the CPU workaround first, as the command line does
