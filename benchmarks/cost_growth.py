"""How theory and simulation time grow with pool size, grid size, ``n``, ``p`` and trials.

Each sweep times the public entry point (CPU time of this process, median of ``--repeats``
calls after a compiling first call; CPU time because the machine is shared), fits the
exponent ``a`` of ``time ~ size^a`` by least squares on the log-log points, and draws
``benchmarks/cost_growth.png``: the measured points, the fit, and the slope the algorithm
should have (dashed, through the first point).

Sweeps (power-law pool ``lambda_i = i^-1``, noise 0.5):

* theory vs pool ``K`` (1024 points ``p`` spread over the pool, ``n = K/5``): expected slope
  1 (one pass over at most ``K`` features per point);
* theory vs grid size (pool 8192, ``n`` 1638): expected 1;
* Monte Carlo min-norm vs ``n`` at ``p = 4n`` (20 trials): expected 3 (Gram ``n^2 p``,
  Cholesky ``n^3``; the draw is ``n p``, slope 2);
* Monte Carlo min-norm vs ``p`` at ``n = 100`` (40 trials): expected 1;
* Monte Carlo vs trials (``n`` 100, ``p`` 400, fixed chunk of 25 trials): expected 1.

Usage: ``python benchmarks/cost_growth.py [--quick] [--repeats R] [--out-dir DIR]
[--figure PATH] [--replot results/cost_growth_cpu.json]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

import _common
import asymptotics as asy
import models
import sims

HERE = Path(__file__).resolve().parent


def cpu_median(fn, repeats: int) -> float:
    _common.block(fn())                       # compile (and warm) first
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        _common.block(fn())
        out.append(time.process_time() - t0)
    return statistics.median(out)


def theory_vs_pool(sizes, points, repeats):
    out = []
    for K in sizes:
        task = models.LinearTask.power_law(pool=K, n=K // 5, noise=0.5, a=1.0, b=0.0)
        p = np.unique(np.linspace(K // 100, K, points).astype(int))
        p = p[p != K // 5]
        out.append(cpu_median(lambda: asy.dense_risk(task, p=p, throw=False), repeats))
    return out


def theory_vs_points(counts, K, repeats):
    task = models.LinearTask.power_law(pool=K, n=K // 5, noise=0.5, a=1.0, b=0.0)
    out = []
    for m in counts:
        p = np.unique(np.linspace(K // 100, K, m).astype(int))
        p = p[p != K // 5]
        out.append(cpu_median(lambda: asy.dense_risk(task, p=p, throw=False), repeats))
    return out


def mc(task, p, trials, repeats, chunk=None):
    key = jax.random.key(0)
    return cpu_median(lambda: sims.dense_risk(task, p=p, trials=trials, key=key, chunk=chunk),
                      repeats)


def fit_slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n")[0], repeats=3)
    ap.add_argument("--figure", default=str(HERE / "cost_growth.png"))
    ap.add_argument("--replot", default=None, metavar="JSON",
                    help="only redraw the figure from a results file of this script")
    a = ap.parse_args(argv)
    if a.replot:
        import json

        data = json.loads(Path(a.replot).read_text())
        draw(data["sweeps"], data["machine"], a.figure)
        return 0
    q = a.quick
    info = _common.machine_info()
    _common.print_machine(info)
    sweeps = []

    pools = [1024, 2048, 4096] if q else [1024, 2048, 4096, 8192, 16384]
    sweeps.append(dict(name="theory vs pool K", xlabel="pool size K (1024 points)", x=pools,
                       expected=1.0, y=theory_vs_pool(pools, 1024, a.repeats)))
    counts = [128, 256, 512] if q else [128, 256, 512, 1024, 2048]
    sweeps.append(dict(name="theory vs grid size", xlabel="grid points (pool 8192)", x=counts,
                       expected=1.0, y=theory_vs_points(counts, 8192, a.repeats)))
    ns = [25, 50, 100] if q else [50, 100, 200, 400]
    ys = []
    for n in ns:
        task = models.LinearTask.power_law(pool=max(10_000, 4 * n), n=n, noise=0.5, a=1.0, b=0.0)
        ys.append(mc(task, 4 * n, 20, a.repeats))
    sweeps.append(dict(name="Monte Carlo vs n (p = 4n)", xlabel="n (p = 4n, 20 trials)", x=ns,
                       expected=3.0, y=ys))
    task = models.LinearTask.power_law(pool=10_000, n=100, noise=0.5, a=1.0, b=0.0)
    pv = [200, 400, 800] if q else [200, 400, 800, 1600, 3200]
    sweeps.append(dict(name="Monte Carlo vs p (n = 100)", xlabel="p (n = 100, 40 trials)", x=pv,
                       expected=1.0, y=[mc(task, p, 40, a.repeats) for p in pv]))
    tv = [25, 50, 100] if q else [25, 50, 100, 200, 400]
    sweeps.append(dict(name="Monte Carlo vs trials", xlabel="trials (n 100, p 400, chunk 25)",
                       x=tv, expected=1.0, y=[mc(task, 400, t, a.repeats, chunk=25) for t in tv]))

    for s in sweeps:
        s["slope"] = fit_slope(s["x"], s["y"])
        print(f"{s['name']:<30} slope {s['slope']:5.2f} (expected {s['expected']:g}); "
              f"CPU s: " + ", ".join(f"{v:.3g}" for v in s["y"]))
    _common.write_json(_common.result_name("cost_growth", info, a.tag or ("quick" if q else "")),
                       {"benchmark": "cost_growth", "machine": info, "sweeps": sweeps}, a.out_dir)
    draw(sweeps, info, a.figure)
    return 0


def draw(sweeps, info, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    fig, axes = plt.subplots(1, len(sweeps), figsize=(3.2 * len(sweeps), 3.3))
    for ax, s in zip(axes, sweeps):
        x, y = np.asarray(s["x"], float), np.asarray(s["y"], float)
        ax.loglog(x, y, "o", color="C0", label="measured")
        c = np.polyfit(np.log(x), np.log(y), 1)
        ax.loglog(x, np.exp(np.polyval(c, np.log(x))), "-", color="C0",
                  label=f"fit: slope {s['slope']:.2f}")
        ax.loglog(x, y[0] * (x / x[0]) ** s["expected"], "--", color="0.4",
                  label=f"expected slope {s['expected']:g}")
        ax.set_title(s["name"], fontsize=9)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(x)
        ax.set_xticklabels([f"{v:g}" for v in x], rotation=45)
        ax.set_xlabel(s["xlabel"], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
    axes[0].set_ylabel("CPU seconds per call")
    fig.suptitle(f"cost growth, {info['cpu_model']} ({info['cpu_cores']} cores), "
                 f"jax {info['jax']}, {info['date'][:10]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
