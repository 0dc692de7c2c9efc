"""Setting ``noisy-sgd``: SGD with alpha-stable noise injected into a one-hidden-layer network.

Mathematics: ``docs/heavy_tailed_sgd.md`` (Wan, Barsbey, Zaidi, Simsekli, ICML 2024).

* ``simulate``: ``sims.train_noisy_sgd`` on the teacher task: one row per ``(alpha, sigma)``
  grid point and seed (the contract of ``overparam simulate --model noisy-sgd``).
* ``theory``: per grid point, the noise-dominated limit the paper's theorem points to: the
  mce pruned fraction of ``width`` i.i.d. columns drawn from the injected noise law.  Closed
  forms exist for scalar noise (an alpha-stable magnitude per unit: leading-order median in
  ``n``; alpha = 2 the chi_1 limit) and for Gaussian columns in ``R^d`` (alpha = 2, iid or
  rotation-invariant noise: the chi_d limit).  Rotation-invariant or iid noise with
  ``alpha < 2`` and ``sigma = 0`` have no closed form here: status ``no_theory``.
* ``compare``: the trained networks' mce pruned fraction (seed mean, standard error) next to
  that limit.  The limit is not a finite-width prediction for a trained network (its weights
  also carry the learned signal and the initialization), so the rows have status ``limit``:
  they get no z-score and are not judged; the distance to the limit is the result.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from models import InputError
from models._noisy_sgd import NOISE_TYPES, NoisySGDTask, check_noise_grid

from .registry import Setting


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    p = parser.add_argument_group("problem")
    p.add_argument("--alpha", type=float, nargs="+", default=[2.0, 2.0, 1.75],
                   help="stability index per grid point, 0 < alpha <= 2")
    p.add_argument("--sigma", type=float, nargs="+", default=[0.0, 0.03, 0.03],
                   help="noise scale per grid point (paired with --alpha), sigma >= 0")
    p.add_argument("--width", type=int, default=500)
    p.add_argument("--d", type=int, default=10)
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=4000)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--eta", type=float, default=0.01)
    p.add_argument("--noise-type", default="rotation", help=" | ".join(NOISE_TYPES))
    p.add_argument("--form", default="relu")
    p.add_argument("--activation", default="relu")
    p.add_argument("--eps2", type=float, default=0.1, help="mce budget eps^2")
    p.add_argument("--kappa", type=float, default=0.1, help="kept fraction of the top-k error")
    if command in ("simulate", "compare"):
        s = parser.add_argument_group("training")
        s.add_argument("--seeds", type=int, default=3)
        s.add_argument("--seed", type=int, default=0, help="master PRNG seed (key = jax.random.key(seed))")
        s.add_argument("--chunk", type=float, default=None,
                       help="seeds per device per compiled call (default: all)")
        s.add_argument("--checkpoint", default=None,
                       help="folder where finished seed chunks are saved; rerunning the same "
                            "command resumes an interrupted run")


def problem(args) -> NoisySGDTask:
    from models._errors import check_choice, check_int_range

    check_choice("--noise-type", args.noise_type, NOISE_TYPES)
    # the grid first: NoisySGDTask.create draws the teacher (jax.random, compiled)
    if len(args.alpha) != len(args.sigma):
        raise InputError(f"--sigma: {len(args.sigma)} values for {len(args.alpha)} alpha values; "
                         "allowed: one sigma per alpha")
    check_noise_grid(args.alpha, args.sigma)
    for name in ("eps2", "kappa"):
        v = getattr(args, name)
        if not 0.0 < v < 1.0:
            raise InputError(f"--{name}: got {v!r}; allowed: 0 < {name} < 1")
    if args.command in ("simulate", "compare"):
        check_int_range("--seed", args.seed, 0)
        check_int_range("--seeds", args.seeds, 1 if args.command == "simulate" else 2)
        if args.chunk is not None:
            check_int_range("--chunk", args.chunk, 1)
    return NoisySGDTask.create(width=args.width, d=args.d, n_train=args.n_train,
                               n_test=args.n_test, steps=args.steps, batch=args.batch,
                               eta=args.eta, noise_type=args.noise_type, form=args.form,
                               activation=args.activation)


def _limit(cfg: NoisySGDTask, alpha: float, sigma: float, eps2: float):
    """``(value, status name, law)`` of the i.i.d. noise-limit mce pruned fraction."""
    import asymptotics as asy

    if sigma == 0:
        return "", "no_theory", "no injected noise"
    if cfg.noise_type == "scalar":
        if alpha == 2.0:
            est = asy.gaussian_mce_pruned_fraction(1, eps2, throw=False)
            law = "Gaussian magnitudes (chi_1), n -> inf"
        else:
            est = asy.stable_mce_pruned_fraction(alpha, cfg.net.width, eps2, throw=False)
            law = "scalar alpha-stable magnitudes, median, leading order in n"
    elif alpha == 2.0:
        est = asy.gaussian_mce_pruned_fraction(cfg.task.d, eps2, throw=False)
        law = f"Gaussian columns in R^{cfg.task.d} (chi_d), n -> inf"
    else:
        return "", "no_theory", f"{cfg.noise_type} alpha-stable columns: no closed form"
    status = str(asy.status_names(np.asarray(est.status)))
    return (float(est.value) if est.ok else ""), status, law


def theory(cfg: NoisySGDTask, args) -> list[dict]:
    rows = []
    for a, s in zip(args.alpha, args.sigma):
        value, status, law = _limit(cfg, float(a), float(s), args.eps2)
        rows.append(dict(alpha=float(a), sigma=float(s), width=cfg.net.width, d=cfg.task.d,
                         noise_type=cfg.noise_type, mce_pruned_fraction=value, law=law,
                         status=status))
    return rows


SCALARS = ("train_loss", "train_acc", "test_loss", "test_acc", "mce_pruned_fraction",
           "mce_train_loss", "mce_train_acc", "mce_test_loss", "mce_test_acc",
           "topk_relative_error", "hill_tail_index", "finite")


def _train(cfg: NoisySGDTask, args) -> dict:
    import jax

    import sims

    return sims.train_noisy_sgd(cfg, args.alpha, args.sigma, jax.random.key(args.seed),
                                seeds=args.seeds, eps2=args.eps2, kappa=args.kappa,
                                chunk=args.chunk, progress=sys.stderr.isatty(),
                                checkpoint=args.checkpoint)


def simulate(cfg: NoisySGDTask, args) -> tuple[list[dict], str]:
    res = _train(cfg, args)
    rows = []
    for g in range(len(res["alpha"])):
        for s in range(args.seeds):
            row = {"alpha": float(res["alpha"][g]), "sigma": float(res["sigma"][g]), "seed": s,
                   "width": cfg.net.width}
            row.update({k: (bool(res[k][g, s]) if k == "finite" else float(res[k][g, s]))
                        for k in SCALARS})
            rows.append(row)
    return rows, "float32"


def compare_rows(cfg: NoisySGDTask, args):
    import sims

    res = _train(cfg, args)
    st = sims.summarize(res["mce_pruned_fraction"])            # (G,) over seeds
    acc = sims.summarize(res["test_acc"])
    t_rows, s_rows = [], []
    for g, row in enumerate(theory(cfg, args)):
        status = "limit" if row["status"] == "converged" else row["status"]
        t_rows.append(dict(row, quantity="mce_pruned_fraction", value=row["mce_pruned_fraction"],
                           status=status))
        s_rows.append(dict(alpha=row["alpha"], sigma=row["sigma"], quantity="mce_pruned_fraction",
                           value_mean=float(st.mean[g]), value_stderr=float(st.stderr[g]),
                           value_median=float(st.median[g]), trials=int(st.finite[g]),
                           nonfinite_trials=int(st.nonfinite[g]),
                           test_acc_mean=float(acc.mean[g])))
    return t_rows, s_rows


def parameters(cfg: NoisySGDTask, args) -> dict:
    d = {k: v for k, v in vars(args).items() if k != "command"}
    return {**d, **cfg.describe(), "dtype": "float32", "common_random_numbers": True,
            "model": "noisy-sgd"}


SETTING = Setting(
    name="noisy-sgd",
    summary="SGD with alpha-stable noise on a one-hidden-layer network: compressibility "
            "(Wan et al. 2024)",
    add_arguments=add_arguments,
    problem=problem,
    theory=theory,
    simulate=simulate,
    compare_rows=compare_rows,
    value="value",
    sim_prefix="value",
    parameters=parameters,
    columns={
        "theory": ("alpha", "sigma", "width", "d", "noise_type", "mce_pruned_fraction", "law",
                   "status"),
        "simulate": ("alpha", "sigma", "seed", "width") + SCALARS,
        "compare": ("alpha", "sigma", "quantity", "value", "status", "value_mean",
                    "value_stderr", "value_median", "trials", "nonfinite_trials", "z", "agrees"),
    },
)
