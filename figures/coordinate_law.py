"""Coordinate law of the min-norm fit: theory density over a simulated histogram.

Each fitted coordinate behaves like ``w_i (beta_i + gamma g_i / sqrt(n lambda_i))`` (``docs/linear.md``
section 3).  For the two-level spectrum of example E2 at ``p = 800`` (and
``p = 300``), the histogram of the fitted coordinates pooled over Monte Carlo trials is drawn
with the theory's mixture density, separately for the strong (signal) block and the weak
(noise) block, whose laws differ in location and scale.

    python figures/coordinate_law.py [--trials 50] [--outdir out/demo]
    overparam figure coordinate-law
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


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n\n")[0], "out/demo")
    ap.add_argument("--trials", type=int, default=100, help="Monte Carlo trials (fits pooled)")
    ap.add_argument("--p", type=int, nargs="+", default=[300, 800])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--noise", type=float, default=1.0)
    args = ap.parse_args(argv)
    if args.trials < 1:
        raise models.InputError(f"--trials: got {args.trials}; allowed: integers >= 1")
    strong = 40
    task = models.LinearTask.two_level(strong=strong, lam_strong=1.0, lam_weak=0.05, n=args.n,
                                       noise=args.noise, pool=max(args.p))
    outdir = Path(args.outdir)
    t0 = time.perf_counter()
    ps = np.array(args.p)
    mc = sims.dense_risk(task, p=ps, trials=args.trials, key=jax.random.key(args.seed),
                         keep_coefficients=args.trials)
    fig, axes = _plots.new_figure(ncols=2, width=4.6, height=3.4)
    rows = []
    for j, p in enumerate(ps):
        law = asy.coordinate_law(task, int(p))
        coefs = mc.coefficients[j][:, :p]                       # (trials, p)
        for ax, (block, idx) in zip(axes, (("strong", slice(0, strong)), ("weak", slice(strong, p)))):
            sub = law.subset(idx)
            data = coefs[:, idx].ravel()
            lo, hi = np.quantile(data, [0.0005, 0.9995])
            grid = np.linspace(lo, hi, 400)
            color = _plots.COLORS[j]
            ax.hist(data, bins=60, range=(lo, hi), density=True, color=color, alpha=0.28,
                    label=f"simulation, p={p}")
            ax.plot(grid, sub.density(grid), color=color, label=f"theory, p={p}")
            qs = np.quantile(data, [0.1, 0.5, 0.9])
            tq = sub.quantile([0.1, 0.5, 0.9])
            rows += [dict(p=int(p), block=block, level=lv, sim_quantile=float(a), theory_quantile=float(b))
                     for lv, a, b in zip((0.1, 0.5, 0.9), qs, tq)]
    beta0 = float(task.signal[0])
    axes[0].axvline(beta0, color="0.3", ls=":", lw=1.2, label=rf"true $\beta_i$ = {beta0:.3f}")
    for ax, title in zip(axes, (f"(a) strong block (features 1-{strong}, signal)",
                                "(b) weak block (pure-noise features)")):
        ax.set_xlabel(r"fitted coefficient $b_i$")
        ax.set_ylabel("density")
        ax.set_title(title)
        ax.legend(frameon=False)
    fig.suptitle(f"Coordinate law of the min-norm fit, two-level spectrum, n={args.n}, "
                 f"$\\sigma$={args.noise:g} ({args.trials} trials pooled)", fontsize=10)
    params = {"figure": "coordinate-law", **vars(args), "task": task.describe()}
    _io.save_figure(fig, outdir / "coordinate_law.png", parameters=params)
    _io.write_csv(outdir / "coordinate_law_quantiles.csv", rows, parameters=params)
    _plots.close(fig)
    print(f"coordinate-law: {time.perf_counter() - t0:.1f} s -> {outdir}/coordinate_law.png")
    return 0


if __name__ == "__main__":
    _common.run_main(main)
