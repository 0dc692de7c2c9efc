"""Random pruning at initialization: gradient descent on the patch network, vmapped.

Mathematics: ``docs/pruning_at_init.md``; Yang, Liang, Guo, Wu, Wang, ICLR 2023,
arXiv:2301.00335 (setting of Cao, Chen, Belkin, Gu, NeurIPS 2022).

For each seed: training set ``(x_i, y_i)_{i<=n}``, a fresh test set, an initialization
``W_0 ~ N(0, sigma_0^2)`` and one uniform per weight are drawn; for every pruning fraction
``p`` of the grid the mask ``M_p = 1[U >= p]`` (nested across ``p``) is applied and full-batch
gradient descent runs on the logistic loss

    L(W) = (1/n) sum_i log(1 + exp(-y_i f(W * M_p, x_i))),   W <- W - eta grad L(W),

for ``T`` steps inside ``lax.scan``.  Seeds and fractions share one compiled call
(``vmap`` over fractions inside ``vmap`` over seeds); data, initialization and uniforms are
common to all fractions of a seed, so curves over ``p`` are smooth from few seeds.

Recorded at the chosen steps (after that many updates): training loss and error, test
error on fresh data, the maximum signal alignment ``max_{j,r} <w_{j,r} * M, s_j mu>``
(``s_{+1} = 1, s_{-1} = -1``) and the mean noise memorization
``(1/n) sum_i max_r <w_{y_i,r} * M, xi_i>`` — both are pre-activations of the best neuron,
on the signal patch and on a training example's own noise patch.  Also the number of
signal-connected neurons per class.  Errors count a tie ``f = 0`` as one half (a coin flip).

Training is the core of ``sims._training``: the network is the linen module
``models.PatchNet``, the optimizer ``optax.sgd(eta)`` (full batch), and the mask a pytree
``{"W": M_p}`` -- the pruned weights are zeroed at initialization and their updates removed
(``prune_updates``), so they are exactly zero after every update.

Precision: the training arithmetic runs in ``dtype`` (``jnp.float32`` by default:
pre-activations are O(1) and the loss is evaluated with ``logaddexp``; ``jnp.float64`` gives
the same errors, see tests) with matmul precision ``MATMUL_PRECISION`` (HIGHEST) everywhere.
Data, initialization and mask uniforms are drawn in the widest float JAX has (float64 under
the 64-bit mode) and then cast, so float32 and float64 runs share every random number.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import optax

from models import MATMUL_PRECISION, InputError
from models._errors import check_int_range, check_positive
from models._keys import check_key
from models._patch_net import (PatchTask, _wide_float, check_pruning_fraction,
                               init_patch_params, mask_uniforms, masks_from_uniforms,
                               patch_net, sample_patch_data, signal_connected)

from ._batching import run_chunks
from ._summary import summarize
from ._training import Trainer, check_record_steps, check_train_dtype, train

METRICS = ("train_loss", "train_error", "test_error", "signal_alignment",
           "noise_memorization")


@dataclass(frozen=True)
class PruningRun:
    """Measured quantities (NumPy) of :func:`train_pruned`.

    Shapes: ``p (P,)``, ``steps (R,)``, each metric ``(S, P, R)`` (seed, fraction, record),
    ``connected (S, P, 2)`` (signal-connected neurons of class +1 and -1).
    """

    p: np.ndarray
    steps: np.ndarray
    train_loss: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    signal_alignment: np.ndarray
    noise_memorization: np.ndarray
    connected: np.ndarray
    settings: dict = field(default_factory=dict)

    def final(self, name: str) -> np.ndarray:
        """Metric at the last recorded step, shape ``(S, P)``."""
        return getattr(self, name)[..., -1]

    def summary(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Seed mean and standard error of the final metric, each of shape ``(P,)``
        (:func:`sims.summarize` over the seeds: finite runs only; ``inf`` with one seed)."""
        st = summarize(np.moveaxis(self.final(name), 0, -1))
        return st.mean, st.stderr

    def rows(self) -> list[dict]:
        """Tidy rows: one per seed, fraction and recorded step."""
        out = []
        S, P, R = self.train_loss.shape
        for s in range(S):
            for i in range(P):
                for r in range(R):
                    row = {"seed": s, "p": float(self.p[i]), "step": int(self.steps[r])}
                    row.update({k: float(getattr(self, k)[s, i, r]) for k in METRICS})
                    row["connected_pos"] = int(self.connected[s, i, 0])
                    row["connected_neg"] = int(self.connected[s, i, 1])
                    out.append(row)
        return out


def _error(f, y):
    """0-1 error with ties counted as 1/2."""
    return jnp.mean(jnp.where(y * f > 0, 0.0, jnp.where(y * f < 0, 1.0, 0.5)))


def _logistic(f, y):
    return jnp.mean(jnp.logaddexp(0.0, -y * f))


def _metrics(apply, w, x, y, xt, yt, mu):
    """Recorded quantities of the (already masked) weights ``w``."""
    f = apply({"W": w}, x)
    sign = jnp.asarray([1.0, -1.0], w.dtype)
    align = jnp.max(sign[:, None] * jnp.einsum("jrd,d->jr", w, mu, precision=MATMUL_PRECISION))
    zn = jnp.einsum("nd,jrd->njr", x[:, 1], w, precision=MATMUL_PRECISION)
    own = jnp.where(y[:, None] > 0, zn[:, 0], zn[:, 1])
    return {"train_loss": _logistic(f, y),
            "train_error": _error(f, y),
            "test_error": _error(apply({"W": w}, xt), yt),
            "signal_alignment": align,
            "noise_memorization": jnp.mean(jnp.max(own, axis=1))}


@functools.partial(jax.jit, static_argnames=("n_test", "dtype"))
def _simulate(task, keys, p, record_steps, eta, n_test, dtype):
    """One compiled call: ``vmap`` over seeds (``keys``) of ``vmap`` over fractions ``p``."""
    mu = task.mu.astype(dtype)
    net = patch_net(task, dtype)
    wide = _wide_float()

    def apply(params, x):
        return net.apply({"params": params}, x)

    def per_seed(key):
        k_train, k_test, k_init, k_mask = jax.random.split(key, 4)
        # Draws in the widest float, then cast: float32 and float64 runs share every number.
        x, y = (a.astype(dtype) for a in sample_patch_data(task, k_train, task.n, wide))
        xt, yt = (a.astype(dtype) for a in sample_patch_data(task, k_test, n_test, wide))
        # The parameter pytree of ``net`` ({"W": (2, m, d)}), drawn by the module's own
        # initializer on the seed's init key (not linen's per-parameter key derived from it):
        # the same numbers as before the port to the training core, so results are unchanged.
        params0 = {"W": init_patch_params(task, k_init, dtype)}
        masks = masks_from_uniforms(mask_uniforms(k_mask, task, wide), p).astype(dtype)

        def per_mask(mask):
            trainer = Trainer(loss=lambda w, b: _logistic(apply(w, b[0]), b[1]),
                              optimizer=optax.sgd(eta.astype(dtype)), mask={"W": mask})
            _, rec = train(trainer, trainer.init(k_init, params0), (x, y), record_steps,
                           lambda s: _metrics(apply, s.params["W"], x, y, xt, yt, mu))
            return rec

        return jax.vmap(per_mask)(masks), signal_connected(masks, task.direction)

    return jax.vmap(per_seed)(keys)


def train_pruned(task: PatchTask, p, key: jax.Array, *, seeds: int = 4, eta: float = 0.02,
                 steps: int = 1500, record_steps=None, n_test: int = 2000,
                 dtype=jnp.float32, chunk: int | None = None, devices=None,
                 progress: bool = False, checkpoint=None) -> PruningRun:
    """Train the randomly pruned patch network for every seed and fraction of ``p``.

    Args:
      task: the data and network (:class:`models.PatchTask`).
      p: pruning fractions in ``[0, 1)`` (1-d grid).
      key: PRNG key; seed ``s`` uses ``jax.random.split(key, seeds)[s]``.
      seeds: independent repetitions (data, test set, init, mask uniforms).
      eta, steps: constant step size and number of full-batch GD steps.
      record_steps: steps at which metrics are recorded (default 11 evenly spaced; the
        final step is always recorded).
      n_test: size of the fresh test set per seed.
      dtype: JAX dtype of the training arithmetic, ``jnp.float32`` (default) or
        ``jnp.float64`` (needs JAX's 64-bit mode).
      chunk: seeds per device per compiled call (default: all of them); ``devices``,
        ``progress`` and ``checkpoint`` (a folder: finished seed chunks saved atomically,
        an interrupted run resumes) as in :func:`sims._batching.run_chunks`.

    Example (the small configuration of ``docs/pruning_at_init.md``):
      >>> task = PatchTask.create(n=20, d=1000, m=10, mu_norm=12.0)
      >>> run = train_pruned(task, [0, 0.5, 0.7, 0.85, 0.95, 0.97], jax.random.key(0),
      ...                    seeds=2, steps=100)   # the reference run of docs/pruning_at_init.md: seeds=4, steps=1500
      >>> run.summary("test_error")[0].shape
      (6,)
    """
    if not isinstance(task, PatchTask):
        raise InputError(f"task: got {type(task).__name__}; allowed: a models.PatchTask")
    p = check_pruning_fraction("p", p)
    if p.ndim != 1 or p.size == 0:
        raise InputError(f"p: has shape {p.shape}; allowed: a non-empty 1-d grid of fractions")
    seeds = int(check_int_range("seeds", seeds, 1))
    check_positive("eta", eta)
    rec = check_record_steps(steps, record_steps)
    n_test = int(check_int_range("n_test", n_test, 1))
    dtype = check_train_dtype(dtype, "train_pruned")
    check_key("key", key)
    chunk = seeds if chunk is None else int(check_int_range("chunk", chunk, 1))
    wide = _wide_float()
    pw, recj, etaw = jnp.asarray(p, wide), jnp.asarray(rec), jnp.asarray(float(eta), wide)

    def call(keys, start):
        out, conn = _simulate(task, keys, pw, recj, etaw, n_test, dtype)
        return tuple(out[k] for k in METRICS) + (conn,)

    run_key = dict(kind="pruning-at-init", task=jax.tree_util.tree_leaves(task),
                   describe=task.describe(), p=p, rec=rec,
                   eta=float(eta), steps=int(steps), n_test=n_test, dtype=dtype.name)
    parts = run_chunks(call, key, seeds, chunk, progress, checkpoint, run_key, devices=devices,
                       desc="seeds")
    out = {k: np.concatenate([c[i] for c in parts])[:seeds].astype(np.float64)
           for i, k in enumerate(METRICS)}
    conn = np.concatenate([c[-1] for c in parts])[:seeds]
    settings = {**task.describe(), "seeds": seeds, "eta": float(eta), "steps": int(steps),
                "n_test": n_test, "dtype": dtype.name}
    return PruningRun(p=p, steps=rec, connected=np.asarray(conn), settings=settings, **out)
