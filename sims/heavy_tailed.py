"""Noise-injected SGD on a one-hidden-layer network, and sampled i.i.d. compressibility.

Mathematics: ``docs/heavy_tailed_sgd.md``; Wan, Barsbey, Zaidi, Simsekli,
"Implicit Compressibility of Overparametrized Neural Networks Trained with Heavy-Tailed SGD",
arXiv:2306.08125 (ICML 2024), Algorithm 1 and section 4.

One run is the training core of ``sims._training`` with the optimizer :func:`noisy_sgd`:

    optax.chain([masked(scale(n), hidden)],          # mean-field time scale only
                optax.sgd(eta),
                masked(stable_noise(key, eta, alpha, sigma), hidden),
                [masked(set_to_zero(), output)])      # mean-field: b fixed

i.e. SGD with step ``eta`` on the logistic loss, minibatches of ``batch`` drawn with
replacement, and ``Theta <- Theta + sigma eta^(1/alpha) N`` on the hidden layer only after
every step (``lax.scan`` over steps).  The network is the linen module
``models.OneHiddenLayerNet``.  :func:`train_noisy_sgd` vmaps runs over seeds and over a
paired ``(alpha, sigma)`` grid inside one ``jit`` (one compilation per network shape).  Seeds
use common random numbers: seed ``s`` has the same data, initialisation, minibatches and
noise key at every grid point, so grid points are compared on paired runs.

Precision: training runs in ``dtype`` (``jnp.float32`` default) with ``MATMUL_PRECISION``
(HIGHEST) on every matmul; the metrics are computed from the trained weights.  The i.i.d.
compressibility sampler :func:`iid_compressibility` runs in float64 by default.  Nothing
here calls ``asymptotics``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from models._errors import InputError, as_finite_array, check_choice, check_int_range
from models._keys import check_key
from models._noisy_sgd import NoisySGDTask, check_noise_grid
from models._stable import rotation_invariant_stable, symmetric_stable

from . import _heavy_tailed_metrics as met
from ._batching import run_chunks
from ._noise import stable_noise
from ._training import Trainer, check_train_dtype, train

#: pruning ratios (fraction of hidden units removed, smallest norms first) of the accuracy curve
DEFAULT_RATIOS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)

#: Optax masks of the two parameter leaves of ``models.OneHiddenLayerNet``
HIDDEN = {"hidden": True, "output": False}
OUTPUT = {"hidden": False, "output": True}


def _check_fraction(name, value, lo_closed=False):
    v = float(as_finite_array(name, value))
    if not ((0.0 <= v if lo_closed else 0.0 < v) and v < 1.0):
        raise InputError(f"{name}: got {v!r}; allowed: {'0 <=' if lo_closed else '0 <'} {name} < 1")
    return v


def noisy_sgd(cfg: NoisySGDTask, alpha, sigma, key: jax.Array) -> optax.GradientTransformation:
    """Algorithm 1 of Wan et al. (2024) as an Optax chain for the network of ``cfg``.

    SGD with step ``cfg.eta``; alpha-stable noise ``sigma eta^(1/alpha) N`` of type
    ``cfg.noise_type`` (PRNG ``key``) on the hidden layer only (``optax.masked``).  The
    mean-field form multiplies the hidden gradient by ``n`` (time scale) and freezes the
    output layer (``optax.set_to_zero`` on it).  ``alpha`` and ``sigma`` may be traced.
    """
    eta = cfg.eta
    parts = []
    if cfg.net.hidden_grad_scale != 1.0:
        parts.append(optax.masked(optax.scale(cfg.net.hidden_grad_scale), HIDDEN))
    parts.append(optax.sgd(eta))
    parts.append(optax.masked(stable_noise(key, eta=eta, alpha=alpha, sigma=sigma,
                                           noise_type=cfg.noise_type), HIDDEN))
    if not cfg.net.trains_output:
        parts.append(optax.masked(optax.set_to_zero(), OUTPUT))
    return optax.chain(*parts)


def _logistic(f, y):
    return jnp.mean(jax.nn.softplus(-y * f))


def _accuracy(f, y):
    return jnp.mean((jnp.sign(f) == y).astype(f.dtype))


def _one_run(cfg: NoisySGDTask, key, alpha, sigma, ratios, eps2, kappa, hill_k, dtype):
    task = cfg.task
    net = cfg.net.clone(param_dtype=dtype)
    k_data, k_init, k_batch, k_noise = jax.random.split(key, 4)
    x_tr, y_tr, x_te, y_te = task.sample(k_data, dtype)
    alpha, sigma = jnp.asarray(alpha, dtype), jnp.asarray(sigma, dtype)

    def apply(params, x, mask=None):
        return net.apply({"params": params}, x, mask)

    def minibatch(k, data):
        x, y = data
        idx = jax.random.randint(k, (cfg.batch,), 0, task.n_train)
        return x[idx], y[idx]

    trainer = Trainer(loss=lambda p, b: _logistic(apply(p, b[0]), b[1]),
                      optimizer=noisy_sgd(cfg, alpha, sigma, k_noise), minibatch=minibatch)
    params0 = net.init(k_init, x_tr[:1])["params"]
    state, _ = train(trainer, trainer.init(k_batch, params0), (x_tr, y_tr), cfg.steps)
    params = state.params
    norms = jnp.linalg.norm(params["hidden"], axis=1)

    def evaluate(mask):
        f_tr, f_te = apply(params, x_tr, mask), apply(params, x_te, mask)
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


def train_noisy_sgd(cfg: NoisySGDTask, alpha, sigma, key: jax.Array, *, seeds: int = 3,
                    eps2: float = 0.1, kappa: float = 0.1, ratios=DEFAULT_RATIOS,
                    hill_fraction: float = 0.1, dtype=jnp.float32, chunk: int | None = None,
                    devices=None, progress: bool = False, checkpoint=None) -> dict:
    """Train ``seeds`` networks at each paired grid point ``(alpha[g], sigma[g])``.

    Seed ``s`` uses ``jax.random.split(key, seeds)[s]`` at every grid point (common random
    numbers).  ``sigma = 0`` is plain SGD (``alpha`` is then irrelevant).  ``dtype`` is the
    JAX dtype of the training (``jnp.float32`` or ``jnp.float64``).  Returns NumPy arrays of
    shape ``(G, seeds, ...)``: ``column_norms`` ``(G, S, n)``; losses and accuracies before
    and after mce pruning at budget ``eps2`` (no retraining); ``mce_pruned_fraction``;
    ``topk_relative_error`` keeping the top ``kappa n`` columns; ``test_acc_at_ratio``
    ``(G, S, len(ratios))``; ``hill_tail_index`` of the column norms from the top
    ``max(10, hill_fraction n)`` norms; ``finite``.  Plus ``alpha``, ``sigma``, ``ratios``.

    ``chunk``: seeds per device per compiled call (default: all); ``devices``, ``progress``
    and ``checkpoint`` (a folder: finished seed chunks saved atomically, an interrupted run
    resumes) as in :func:`sims._batching.run_chunks`.

    Example (a small network; the reference experiment of docs/heavy_tailed_sgd.md is ``width=2000, steps=5000``):
      >>> cfg = NoisySGDTask.create(width=100, steps=200, n_train=200, n_test=200, batch=20)
      >>> out = train_noisy_sgd(cfg, [2.0, 1.75], [0.0, 0.03], jax.random.key(0), seeds=2)
      >>> out["mce_pruned_fraction"].shape, out["column_norms"].shape
      ((2, 2), (2, 2, 100))
    """
    if not isinstance(cfg, NoisySGDTask):
        raise InputError(f"cfg: got {type(cfg).__name__}; allowed: a models.NoisySGDTask")
    a, s = check_noise_grid(alpha, sigma)
    check_key("key", key)
    seeds = int(check_int_range("seeds", seeds, 1))
    eps2 = _check_fraction("eps2", eps2)
    kappa = _check_fraction("kappa", kappa)
    hill_fraction = _check_fraction("hill_fraction", hill_fraction)
    r = np.atleast_1d(as_finite_array("ratios", ratios))
    if np.any(r < 0) or np.any(r >= 1):
        raise InputError("ratios: values outside [0, 1); allowed: pruning ratios 0 <= r < 1")
    dtype = check_train_dtype(dtype, "train_noisy_sgd")
    n = cfg.net.width
    hill_k = int(min(n - 1, max(10, round(hill_fraction * n))))
    if hill_k < 1:
        raise InputError(f"width: got {n}; allowed: at least 2 units for the tail-index estimate")
    chunk = seeds if chunk is None else int(check_int_range("chunk", chunk, 1))
    aj, sj, rt = jnp.asarray(a, dtype), jnp.asarray(s, dtype), tuple(float(v) for v in r)
    names = []

    def call(keys, start):  # seeds first: (S, G, ...) per chunk
        out = _run_grid(cfg, keys, aj, sj, rt, eps2, kappa, hill_k, dtype)
        names[:] = sorted(out)
        return tuple(jnp.moveaxis(out[k], 1, 0) for k in names)

    run_key = dict(kind="noisy-sgd", cfg=jax.tree_util.tree_leaves(cfg), describe=cfg.describe(),
                   alpha=a, sigma=s, eps2=eps2, kappa=kappa, ratios=r, hill_k=hill_k,
                   dtype=dtype.name)
    parts = run_chunks(call, key, seeds, chunk, progress, checkpoint, run_key, devices=devices,
                       desc="seeds")
    if not names:  # every chunk came from the checkpoint
        names = sorted(jax.eval_shape(lambda k: _run_grid(cfg, k, aj, sj, rt, eps2, kappa,
                                                          hill_k, dtype),
                                      jax.random.split(key, 1)))
    res = {k: np.moveaxis(np.concatenate([c[i] for c in parts])[:seeds], 0, 1)
           for i, k in enumerate(names)}
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


def iid_compressibility(key: jax.Array, alpha, n: int, trials: int, *, kappa: float = 0.1,
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
    check_key("key", key)
    dtype = check_train_dtype(dtype, "iid_compressibility")
    lo, mce = _iid(key, jnp.asarray(a, dtype), n, trials, kappa, eps2, kind, d, dtype)
    return {"alpha": a, "leftover_fraction": np.asarray(lo, np.float64),
            "mce_pruned_fraction": np.asarray(mce, np.float64)}
