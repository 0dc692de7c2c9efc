"""Noise-injected SGD on a one-hidden-layer network, and sampled i.i.d. compressibility.

Theory note ``shared/theory/heavy_tailed_sgd.md``; Wan, Barsbey, Zaidi, Simsekli,
"Implicit Compressibility of Overparametrized Neural Networks Trained with Heavy-Tailed SGD",
arXiv:2306.08125 (ICML 2024), Algorithm 1 and section 4.

One run: SGD with step ``eta`` on the logistic loss, minibatches drawn with replacement, and
after every step ``Theta <- Theta + sigma eta^(1/alpha) N`` on the hidden layer only
(``lax.scan`` over steps).  :func:`train_noisy_sgd` vmaps runs over seeds and over a paired
``(alpha, sigma)`` grid inside one ``jit`` (one compilation per network shape).  Seeds use
common random numbers: seed ``s`` has the same data, initialisation, minibatches and noise
key at every grid point, so grid points are compared on paired runs.

Precision: training runs in float32 (``dtype``) with ``MATMUL_PRECISION`` (HIGHEST) on every
matmul; the metrics are computed from the float32 weights.  The i.i.d. compressibility
sampler :func:`iid_compressibility` runs in float64 by default.  Nothing here calls
``asymptotics``.
"""

from __future__ import annotations

import argparse
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from models._errors import InputError, as_finite_array, check_choice, check_int_range
from models._noisy_sgd import NOISE_TYPES, NoisySGDTask, check_noise_grid
from models._stable import rotation_invariant_stable, symmetric_stable

from . import _heavy_tailed_metrics as met

#: pruning ratios (fraction of hidden units removed, smallest norms first) of the accuracy curve
DEFAULT_RATIOS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def _check_fraction(name, value, lo_closed=False):
    v = float(as_finite_array(name, value))
    if not ((0.0 <= v if lo_closed else 0.0 < v) and v < 1.0):
        raise InputError(f"{name}: got {v!r}; allowed: {'0 <=' if lo_closed else '0 <'} {name} < 1")
    return v


def hidden_noise(key, alpha, n: int, d: int, noise_type: str, dtype=jnp.float32):
    """Unit-scale alpha-stable noise ``N`` of shape ``(n, d)`` for the hidden layer."""
    if noise_type == "scalar":
        return jnp.broadcast_to(symmetric_stable(key, alpha, (n,), dtype)[:, None], (n, d))
    if noise_type == "iid":
        return symmetric_stable(key, alpha, (n, d), dtype)
    return rotation_invariant_stable(key, alpha, (n,), d, dtype)


def _logistic(f, y):
    return jnp.mean(jax.nn.softplus(-y * f))


def _accuracy(f, y):
    return jnp.mean((jnp.sign(f) == y).astype(f.dtype))


def _one_run(cfg: NoisySGDTask, key, alpha, sigma, ratios, eps2, kappa, hill_k, dtype):
    net, task = cfg.net, cfg.task
    k_data, k_init, k_loop = jax.random.split(key, 3)
    x_tr, y_tr, x_te, y_te = task.sample(k_data, dtype)
    params = net.init(k_init, dtype)
    alpha = jnp.asarray(alpha, dtype)
    noise_scale = jnp.asarray(sigma, dtype) * jnp.asarray(cfg.eta, dtype) ** (1.0 / alpha)

    def loss(p, xb, yb):
        return _logistic(net.apply(p, xb), yb)

    def step(p, k):
        kb, kn = jax.random.split(k)
        idx = jax.random.randint(kb, (cfg.batch,), 0, task.n_train)
        g = jax.grad(loss)(p, x_tr[idx], y_tr[idx])
        hidden = p["hidden"] - cfg.eta * net.hidden_grad_scale * g["hidden"]
        hidden = hidden + noise_scale * hidden_noise(kn, alpha, net.width, task.d,
                                                     cfg.noise_type, dtype)
        out = p["output"] - cfg.eta * g["output"] if net.trains_output else p["output"]
        return {"hidden": hidden, "output": out}, None

    params, _ = jax.lax.scan(step, params, jax.random.split(k_loop, cfg.steps))
    norms = jnp.linalg.norm(params["hidden"], axis=1)

    def evaluate(mask):
        f_tr, f_te = net.apply(params, x_tr, mask), net.apply(params, x_te, mask)
        return _logistic(f_tr, y_tr), _accuracy(f_tr, y_tr), _logistic(f_te, y_te), _accuracy(f_te, y_te)

    ones = jnp.ones_like(norms)
    tr_loss, tr_acc, te_loss, te_acc = evaluate(ones)
    n_pruned = met.mce_pruned_count(norms, eps2)
    p_tr_loss, p_tr_acc, p_te_loss, p_te_acc = evaluate(met.smallest_mask(norms, n_pruned))
    counts = jnp.asarray(np.floor(np.asarray(ratios) * net.width + 1e-9).astype(np.int32))
    acc_ratio = jax.vmap(lambda c: evaluate(met.smallest_mask(norms, c))[3])(counts)
    return {
        "column_norms": norms,
        "train_loss": tr_loss, "train_acc": tr_acc, "test_loss": te_loss, "test_acc": te_acc,
        "mce_pruned_fraction": n_pruned / net.width,
        "mce_train_loss": p_tr_loss, "mce_train_acc": p_tr_acc,
        "mce_test_loss": p_te_loss, "mce_test_acc": p_te_acc,
        "topk_relative_error": met.topk_relative_error(norms, kappa),
        "test_acc_at_ratio": acc_ratio,
        "hill_tail_index": met.hill_tail_index(norms, hill_k),
        "finite": jnp.all(jnp.isfinite(params["hidden"])) & jnp.all(jnp.isfinite(params["output"])),
    }


@partial(jax.jit, static_argnames=("ratios", "eps2", "kappa", "hill_k", "dtype"))
def _run_grid(cfg, keys, alphas, sigmas, ratios, eps2, kappa, hill_k, dtype):
    one = partial(_one_run, cfg, ratios=ratios, eps2=eps2, kappa=kappa, hill_k=hill_k, dtype=dtype)
    over_seeds = jax.vmap(one, in_axes=(0, None, None))
    return jax.vmap(over_seeds, in_axes=(None, 0, 0))(keys, alphas, sigmas)


def train_noisy_sgd(cfg: NoisySGDTask, alpha, sigma, *, seeds: int = 3, seed: int = 0,
                    eps2: float = 0.1, kappa: float = 0.1, ratios=DEFAULT_RATIOS,
                    hill_fraction: float = 0.1, dtype=jnp.float32) -> dict:
    """Train ``seeds`` networks at each paired grid point ``(alpha[g], sigma[g])``.

    ``sigma = 0`` is plain SGD (``alpha`` is then irrelevant).  Returns NumPy arrays of shape
    ``(G, seeds, ...)``: ``column_norms`` ``(G, S, n)``; losses and accuracies before and
    after mce pruning at budget ``eps2`` (no retraining); ``mce_pruned_fraction``;
    ``topk_relative_error`` keeping the top ``kappa n`` columns; ``test_acc_at_ratio``
    ``(G, S, len(ratios))``; ``hill_tail_index`` of the column norms from the top
    ``max(10, hill_fraction n)`` norms; ``finite``.  Plus ``alpha``, ``sigma``, ``ratios``.

    Example:
      >>> cfg = NoisySGDTask.create(width=500, steps=2000)
      >>> out = train_noisy_sgd(cfg, [2.0, 1.75], [0.0, 0.03], seeds=2)
      >>> out["mce_pruned_fraction"].mean(axis=1)
    """
    if not isinstance(cfg, NoisySGDTask):
        raise InputError(f"cfg: got {type(cfg).__name__}; allowed: a models.NoisySGDTask")
    a, s = check_noise_grid(alpha, sigma)
    seeds = int(check_int_range("seeds", seeds, 1))
    seed = int(check_int_range("seed", seed, 0))
    eps2 = _check_fraction("eps2", eps2)
    kappa = _check_fraction("kappa", kappa)
    hill_fraction = _check_fraction("hill_fraction", hill_fraction)
    r = np.atleast_1d(as_finite_array("ratios", ratios))
    if np.any(r < 0) or np.any(r >= 1):
        raise InputError("ratios: values outside [0, 1); allowed: pruning ratios 0 <= r < 1")
    n = cfg.net.width
    hill_k = int(min(n - 1, max(10, round(hill_fraction * n))))
    if hill_k < 1:
        raise InputError(f"width: got {n}; allowed: at least 2 units for the tail-index estimate")
    keys = jax.random.split(jax.random.key(seed), seeds)
    out = _run_grid(cfg, keys, jnp.asarray(a, dtype), jnp.asarray(s, dtype),
                    tuple(float(v) for v in r), eps2, kappa, hill_k, dtype)
    res = {k: np.asarray(v) for k, v in out.items()}
    res.update(alpha=a, sigma=s, ratios=r)
    return res


# ----------------------------------------------------------------------------- i.i.d. vectors
@partial(jax.jit, static_argnames=("n", "trials", "kappa", "eps2", "kind", "d", "dtype"))
def _iid(key, alphas, n, trials, kappa, eps2, kind, d, dtype):
    def one(a, k):
        if kind == "scalar":
            x = symmetric_stable(k, a, (n,), dtype)
            norms = jnp.abs(x)
        else:
            x = rotation_invariant_stable(k, a, (n,), d, dtype)
            norms = jnp.linalg.norm(x, axis=-1)
        return met.leftover_fraction(norms, kappa), met.mce_pruned_count(norms, eps2) / n

    keys = jax.random.split(key, trials)
    return jax.vmap(lambda a: jax.vmap(lambda k: one(a, k))(keys))(alphas)


def iid_compressibility(key, alpha, n: int, trials: int, *, kappa: float = 0.1,
                        eps2: float = 0.1, kind: str = "scalar", d: int = 1,
                        dtype=jnp.float64) -> dict:
    """Compressibility of sampled i.i.d. alpha-stable vectors (or ``n`` rotation-invariant
    columns in ``R^d`` for ``kind="rotation"``), ``trials`` vectors per ``alpha``.

    Returns ``leftover_fraction`` and ``mce_pruned_fraction`` of shape ``(len(alpha), trials)``
    (keep the top ``round(kappa n)`` entries / mce budget ``eps2``), NumPy float64.
    """
    a = np.atleast_1d(as_finite_array("alpha", alpha))
    if np.any(a <= 0) or np.any(a > 2):
        raise InputError(f"alpha: got {float(a[(a <= 0) | (a > 2)][0])!r}; allowed: 0 < alpha <= 2")
    n = int(check_int_range("n", n, 2))
    trials = int(check_int_range("trials", trials, 1))
    kappa = _check_fraction("kappa", kappa)
    eps2 = _check_fraction("eps2", eps2)
    kind = check_choice("kind", kind, ("scalar", "rotation"))
    d = int(check_int_range("d", d, 1))
    lo, mce = _iid(key, jnp.asarray(a, dtype), n, trials, kappa, eps2, kind, d, dtype)
    return {"alpha": a, "leftover_fraction": np.asarray(lo, np.float64),
            "mce_pruned_fraction": np.asarray(mce, np.float64)}


# ----------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="overparam simulate --model noisy-sgd",
                                description="Noise-injected SGD on a one-hidden-layer network "
                                "(Wan et al. 2024): one CSV row per (alpha, sigma) point and seed.")
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
    p.add_argument("--noise-type", default="rotation")
    p.add_argument("--form", default="relu")
    p.add_argument("--activation", default="relu")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eps2", type=float, default=0.1)
    p.add_argument("--kappa", type=float, default=0.1)
    p.add_argument("--out", required=True, help="output CSV (a JSON sidecar is written next to it)")
    return p


def simulate_cli(argv: list[str]) -> int:
    """``overparam simulate --model noisy-sgd [options] --out OUT.csv``; validates every input
    (raising ``InputError``) before compiling."""
    from ._io import write_csv

    args = _parser().parse_args(argv)
    check_choice("--noise-type", args.noise_type, NOISE_TYPES)
    cfg = NoisySGDTask.create(width=args.width, d=args.d, n_train=args.n_train, n_test=args.n_test,
                              steps=args.steps, batch=args.batch, eta=args.eta,
                              noise_type=args.noise_type, form=args.form, activation=args.activation)
    if len(args.alpha) != len(args.sigma):
        raise InputError(f"--sigma: {len(args.sigma)} values for {len(args.alpha)} alpha values; "
                         "allowed: one sigma per alpha")
    check_noise_grid(args.alpha, args.sigma)
    res = train_noisy_sgd(cfg, args.alpha, args.sigma, seeds=args.seeds, seed=args.seed,
                          eps2=args.eps2, kappa=args.kappa)
    scalar_keys = ["train_loss", "train_acc", "test_loss", "test_acc", "mce_pruned_fraction",
                   "mce_train_loss", "mce_train_acc", "mce_test_loss", "mce_test_acc",
                   "topk_relative_error", "hill_tail_index", "finite"]
    rows = []
    for g in range(len(res["alpha"])):
        for s in range(args.seeds):
            row = {"alpha": float(res["alpha"][g]), "sigma": float(res["sigma"][g]), "seed": s,
                   "width": cfg.net.width}
            row.update({k: (bool(res[k][g, s]) if k == "finite" else float(res[k][g, s]))
                        for k in scalar_keys})
            rows.append(row)
    params = {**cfg.describe(), "alpha": args.alpha, "sigma": args.sigma, "seeds": args.seeds,
              "seed": args.seed, "eps2": args.eps2, "kappa": args.kappa,
              "dtype": "float32", "common_random_numbers": True}
    path = write_csv(args.out, rows, parameters=params)
    print(f"wrote {path} ({len(rows)} rows)")
    return 0
