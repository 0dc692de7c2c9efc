"""Two-layer networks against width: dense, magnitude-pruned, pruned + fine-tuned, and the small
dense network with the same count of nonzero weights; digits and teacher data.

Networks: ``models.TwoLayerNet`` trained by ``sims.mlp_ensemble`` (Optax; one compiled call
per data set and variant, vmapped over seeds, widths padded and masked).  Each network of
width ``p`` is pruned by magnitude (per layer) to ``m (d + k)`` weights, ``m = round(q p)``,
and compared with the small network of width ``m`` (the same count).  Error bars: +-2 s.e.
over seeds.

(a) Digits (scikit-learn's, standardized, stratified split fixed by the seed): test error
    with the default training settings (Adam, lr 1e-3, minibatches of 64).
(b) Teacher of the random-features task (``models.RFTask``: ReLU, rows of ``W`` on the sphere,
    a normalised Gaussian teacher; default ``d = 20, n = 50, sigma = 0.5``): test risk
    ``E (y - f(x))^2`` (noise included; ``n_test = 2000`` fresh points per seed) with full-batch
    GD (``lr = auto``) from the random-features initialization (first layer ``W``, second
    layer zero).  The *frozen* variant trains the second layer only: it is the random-features
    model, its risk is computed exactly (``models.rf_feature_moments``) and drawn against the
    random-features theory conditional on ``W`` (``asymptotics.rf_dense_risk`` with the exact
    feature second moment, the finite-``d`` correction; the Gaussian equivalent dashed).  The
    interpolation threshold of the random-features model, ``p = n``, is marked.  The CSV column
    ``rel_to_rf_theory`` says how far each trained network is from that theory.  Near ``p = n``
    the ``--teacher-steps`` GD steps have not reached the min-norm fit (``train_loss > 0`` in
    the CSV): early-stopped GD is implicitly regularised and its risk stays below the diverging
    theory there; away from the threshold GD has converged.

    python figures/mlp_width_sweep.py [--seeds 3] [--outdir out/mlp_width_sweep] [--quick]
    overparam figure mlp-width-sweep
"""

from __future__ import annotations

import time
from pathlib import Path

try:
    from . import _common
except ImportError:  # run as a script
    import _common

import jax  # noqa: E402
import numpy as np  # noqa: E402

import asymptotics as asy  # noqa: E402
import models  # noqa: E402
import sims  # noqa: E402
from overparam import _io, _plots  # noqa: E402

DIGITS_WIDTHS = np.array([8, 16, 32, 64, 128, 256])
TEACHER_WIDTHS = np.array([10, 20, 30, 40, 45, 55, 60, 80, 120, 200])
QUICK_DIGITS, QUICK_TEACHER = np.array([16, 32]), np.array([20, 60])
VARIANTS = ("dense", "pruned", "pruned+finetuned", "small")
COLOR = {"dense": "0.2", "pruned": _plots.COLORS[1], "pruned+finetuned": _plots.COLORS[0],
         "small": _plots.COLORS[3], "frozen": _plots.COLORS[2]}
MARKER = {"dense": "D", "pruned": "o", "pruned+finetuned": "^", "small": "s", "frozen": "v"}


def check_args(args) -> None:
    need = _common.need
    need("seeds", args.seeds, args.seeds >= 2, "integers >= 2 (error bars)")
    need("keep-fraction", args.keep_fraction, 0 < args.keep_fraction < 1, "fractions in (0, 1)")
    need("d", args.d, args.d >= 1, "integers >= 1")
    need("n", args.n, args.n >= 2, "integers >= 2")
    need("noise", args.noise, np.isfinite(args.noise) and args.noise >= 0, "finite values >= 0")
    need("teacher-steps", args.teacher_steps, args.teacher_steps >= 1, "integers >= 1")


def _train_loss(run):
    """variant -> mean training loss over seeds, per width."""
    return {v: block["train_loss"][:, j].mean(-1)
            for v, block, j in (("dense", run.pruned, 0), ("pruned", run.pruned, 1),
                                ("pruned+finetuned", run.finetuned, 1), ("small", run.small, 1))}


def _variant_stats(run, metric, scale=1.0):
    """variant -> (mean, stderr) over seeds, per width (keep index 0 = the pruned fraction)."""
    out = {}
    for v, block, j in (("dense", run.pruned, 0), ("pruned", run.pruned, 1),
                        ("pruned+finetuned", run.finetuned, 1), ("small", run.small, 1)):
        st = sims.summarize(scale * block[metric][:, j])
        out[v] = (st.mean, st.stderr)
    return out


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n\n")[0], "out/mlp_width_sweep")
    ap.add_argument("--seeds", type=int, default=3, help="networks per width")
    ap.add_argument("--keep-fraction", type=float, default=0.25, help="fraction kept (q)")
    ap.add_argument("--d", type=int, default=20, help="teacher: input dimension")
    ap.add_argument("--n", type=int, default=50, help="teacher: training samples")
    ap.add_argument("--noise", type=float, default=0.5, help="teacher: label noise sigma")
    ap.add_argument("--teacher-steps", type=int, default=1000, help="teacher: GD steps")
    ap.add_argument("--quick", action="store_true",
                    help="2 widths per panel, 2 seeds, few steps (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds = 2
        args.teacher_steps = min(args.teacher_steps, 200)
    check_args(args)
    t0 = time.perf_counter()
    outdir = Path(args.outdir)
    q = args.keep_fraction
    key = jax.random.key(args.seed)
    digits_w = QUICK_DIGITS if args.quick else DIGITS_WIDTHS
    teacher_w = QUICK_TEACHER if args.quick else TEACHER_WIDTHS
    quick_digits = dict(steps=100, finetune_steps=30) if args.quick else {}

    # ---- (a) digits
    data = models.load_digits(jax.random.key(args.seed))
    dig = sims.mlp_ensemble(data, digits_w, [1.0, q], seeds=args.seeds,
                            key=jax.random.fold_in(key, 1), finetune=True, **quick_digits)
    dig_st = _variant_stats(dig, "test_accuracy", 1.0)
    dig_st = {v: (100 * (1 - m), 100 * s) for v, (m, s) in dig_st.items()}   # test error, %
    t_dig = time.perf_counter() - t0

    # ---- (b) teacher: trained networks and the frozen first layer (random features)
    task = models.RFTask.draw(jax.random.key(args.seed), d=args.d, pool=int(teacher_w.max()),
                              n=args.n, noise=args.noise, activation="relu")
    common = dict(seeds=args.seeds, key=jax.random.fold_in(key, 2), finetune=True,
                  steps=args.teacher_steps, finetune_steps=max(1, args.teacher_steps // 2),
                  pad_widths=True)
    tr = sims.mlp_ensemble(task, teacher_w, [1.0, q], **common)
    fr = sims.mlp_ensemble(task, teacher_w, [1.0, q], freeze_first_layer=True, **common)
    tr_st = _variant_stats(tr, "test_loss")
    tr_train, fr_train = _train_loss(tr), _train_loss(fr)["dense"]
    fr_exact = sims.summarize(fr.risk_exact["pruned"][:, 0])
    p_line = np.unique(np.concatenate([np.round(np.geomspace(teacher_w.min(), teacher_w.max(),
                                                             200)), teacher_w])).astype(int)
    p_line = p_line[p_line != args.n]
    th_exact = asy.rf_dense_risk(task, p=p_line, throw=False, second_moment="exact")
    th_ge = asy.rf_dense_risk(task, p=p_line, throw=False)
    at = {int(p): i for i, p in enumerate(p_line)}
    theory = np.array([th_exact.risk[at[int(p)]] if int(p) in at else np.inf for p in teacher_w])
    t_all = time.perf_counter() - t0

    # ---- table
    rows = []
    for i, p in enumerate(digits_w):
        for v in VARIANTS:
            rows.append(dict(data="digits", width=int(p), variant=v,
                             keep_fraction=1.0 if v == "dense" else q,
                             nonzero=int(p * 74) if v == "dense" else int(dig.nonzero[i, 1]),
                             metric="test_error_percent", mean=float(dig_st[v][0][i]),
                             stderr=float(dig_st[v][1][i]), theory="", rel_to_rf_theory="",
                             z="", train_loss=float(dig.pruned["train_loss"][i, 0].mean()
                                                    if v == "dense" else
                                                    _train_loss(dig)[v][i])))
    for i, p in enumerate(teacher_w):
        th = float(theory[i])
        ok = np.isfinite(th)
        for v, (m, s), nz in [(v, (tr_st[v][0][i], tr_st[v][1][i]),
                               int(p * (args.d + 1)) if v == "dense" else int(tr.nonzero[i, 1]))
                              for v in VARIANTS] + [("frozen-dense", (fr_exact.mean[i],
                                                                       fr_exact.stderr[i]),
                                                     int(p))]:
            rows.append(dict(data="teacher", width=int(p), variant=v,
                             keep_fraction=1.0 if "dense" in v else q, nonzero=nz,
                             metric="test_risk_exact" if v == "frozen-dense" else "test_risk",
                             mean=float(m), stderr=float(s), theory=th if ok else "",
                             rel_to_rf_theory=float(m / th - 1) if ok else "",
                             z=float((m - th) / s) if ok and v == "frozen-dense" and s > 0
                             else "",
                             train_loss=float(fr_train[i] if v == "frozen-dense"
                                              else tr_train[v][i])))
    params = {"figure": "mlp-width-sweep", **vars(args), "digits": data.describe(),
              "digits_training": dig.parameters, "teacher_task": task.describe(),
              "teacher_training": tr.parameters, "digits_widths": digits_w,
              "teacher_widths": teacher_w,
              "theory": "asymptotics.rf_dense_risk(second_moment='exact'), conditional on W"}
    cols = ["data", "width", "variant", "keep_fraction", "nonzero", "metric", "mean", "stderr",
            "theory", "rel_to_rf_theory", "z", "train_loss"]
    _io.write_csv(outdir / "mlp_width_sweep.csv", rows, columns=cols, parameters=params)

    # ---- figure
    fig, (ax_a, ax_b) = _plots.new_figure(ncols=2, width=4.8, height=3.9)
    for v in VARIANTS:
        lab = {"dense": "dense", "pruned": f"pruned to {q:g} (magnitude)",
               "pruned+finetuned": "pruned + fine-tuned",
               "small": "small dense, same nonzero count"}[v]
        ax_a.errorbar(digits_w, dig_st[v][0], yerr=2 * dig_st[v][1], fmt=MARKER[v] + "-",
                      ms=4, lw=1.0, color=COLOR[v], mfc="white", capsize=2, label=lab)
        ax_b.errorbar(teacher_w, tr_st[v][0], yerr=2 * tr_st[v][1], fmt=MARKER[v] + "-",
                      ms=4, lw=1.0, color=COLOR[v], mfc="white", capsize=2,
                      label=lab + " (both layers)")
    pl, y = _common.split_at(th_exact.p, th_exact.risk, args.n)
    ax_b.plot(pl, y, color=COLOR["frozen"], lw=1.6, label="random-features theory given W")
    pl, y = _common.split_at(th_ge.p, th_ge.risk, args.n)
    ax_b.plot(pl, y, color=COLOR["frozen"], lw=1.0, ls="--",
              label="  (Gaussian equivalent)")
    ax_b.errorbar(teacher_w, fr_exact.mean, yerr=2 * fr_exact.stderr, fmt=MARKER["frozen"],
                  ms=5, color=COLOR["frozen"], mfc=COLOR["frozen"], capsize=2,
                  label="frozen first layer, GD (exact risk)")
    _plots.mark_threshold(ax_b, args.n)
    for ax in (ax_a, ax_b):
        ax.set_xscale("log")
        ax.set_xlabel("width $p$")
        ax.legend(frameon=False, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax_b.set_yscale("log")
    vals = np.concatenate([tr_st[v][0] for v in VARIANTS] + [fr_exact.mean])
    vals = vals[np.isfinite(vals)]
    ax_b.set_ylim(0.8 * vals.min(), min(3 * vals.max(), 20))
    ax_a.set_ylabel("test error (%)")
    ax_b.set_ylabel(r"test risk $E\,(y - f(x))^2$")
    ax_a.set_title(f"(a) digits, {args.seeds} seeds, $\\pm$2 s.e.")
    ax_b.set_title(f"(b) teacher: ReLU, d={args.d}, n={args.n}, $\\sigma$={args.noise:g}")
    fig.suptitle("Two-layer networks: dense, pruned, fine-tuned, small of equal nonzero count",
                 fontsize=10)
    _io.save_figure(fig, outdir / "mlp_width_sweep.png", parameters=params)
    _plots.close(fig)

    # ---- summary
    wide = teacher_w >= 2 * args.n
    dep = tr_st["dense"][0] / theory - 1
    fz = (fr_exact.mean - theory) / theory
    print(f"{'p':>5} {'trained':>9} {'frozen':>9} {'RF theory':>9} {'trained/th-1':>12} "
          f"{'frozen/th-1':>11}")
    for i, p in enumerate(teacher_w):
        print(f"{p:>5} {tr_st['dense'][0][i]:>9.4f} {fr_exact.mean[i]:>9.4f} {theory[i]:>9.4f} "
              f"{dep[i]:>+12.1%} {fz[i]:>+11.1%}")
    def span(v):
        return (f"{np.nanmin(v[wide]):+.1%} to {np.nanmax(v[wide]):+.1%}" if wide.any()
                else "n/a (no width >= 2n)")

    i256 = len(digits_w) - 1
    print(f"mlp-width-sweep: digits width {digits_w[i256]}: test error dense "
          f"{dig_st['dense'][0][i256]:.2f} %, pruned to {q:g} {dig_st['pruned'][0][i256]:.2f} %, "
          f"+ fine-tuned {dig_st['pruned+finetuned'][0][i256]:.2f} %, small "
          f"{dig_st['small'][0][i256]:.2f} %; teacher widths >= 2n: trained dense departs from "
          f"the random-features theory by {span(dep)}, the frozen network by {span(fz)}; "
          f"digits {t_dig:.0f} s, total "
          f"{t_all:.0f} s -> {outdir}/mlp_width_sweep.png")
    return 0


if __name__ == "__main__":
    _common.run_main(main)
