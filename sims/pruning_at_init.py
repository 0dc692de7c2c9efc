"""Random pruning at initialization: gradient descent on the patch network, vmapped.

Theory note: ``shared/theory/pruning_at_init.md``; Yang, Liang, Guo, Wu, Wang, ICLR 2023,
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

Precision: the training arithmetic runs in ``dtype`` (float32 by default: pre-activations
are O(1) and the loss is evaluated with ``logaddexp``; float64 gives the same errors, see
tests) with matmul precision ``MATMUL_PRECISION`` (HIGHEST) everywhere.
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from models import MATMUL_PRECISION, InputError
from models._errors import check_choice, check_int_range, check_positive
from models._patch_net import (PatchTask, check_pruning_fraction, init_patch_params,
                               mask_uniforms,
                               masks_from_uniforms, patch_net_apply, sample_patch_data,
                               signal_connected)

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
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
        """Seed mean and standard error of the final metric, each of shape ``(P,)``."""
        v = self.final(name)
        se = v.std(axis=0, ddof=1) / np.sqrt(v.shape[0]) if v.shape[0] > 1 else np.zeros(v.shape[1])
        return v.mean(axis=0), se

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


def _loss(w, mask, x, y, q):
    return jnp.mean(jnp.logaddexp(0.0, -y * patch_net_apply(w, mask, x, q)))


def _metrics(w, mask, x, y, xt, yt, mu, q):
    f = patch_net_apply(w, mask, x, q)
    weff = w * mask
    sign = jnp.asarray([1.0, -1.0], w.dtype)
    align = jnp.max(sign[:, None] * jnp.einsum("jrd,d->jr", weff, mu, precision=MATMUL_PRECISION))
    zn = jnp.einsum("nd,jrd->njr", x[:, 1], weff, precision=MATMUL_PRECISION)
    own = jnp.where(y[:, None] > 0, zn[:, 0], zn[:, 1])
    return {"train_loss": jnp.mean(jnp.logaddexp(0.0, -y * f)),
            "train_error": _error(f, y),
            "test_error": _error(patch_net_apply(w, mask, xt, q), yt),
            "signal_alignment": align,
            "noise_memorization": jnp.mean(jnp.max(own, axis=1))}


def _train_one(w0, mask, x, y, xt, yt, mu, eta, record_steps, q):
    """GD from ``w0`` under ``mask``; metrics after ``record_steps[k]`` updates."""
    grad = jax.grad(_loss)

    def gd(_, w):
        return w - eta * grad(w, mask, x, y, q)

    def segment(carry, stop):
        w, t = carry
        w = jax.lax.fori_loop(t, stop, gd, w)
        return (w, stop), _metrics(w, mask, x, y, xt, yt, mu, q)

    _, rec = jax.lax.scan(segment, (w0, jnp.asarray(0, record_steps.dtype)), record_steps)
    return rec


@functools.partial(jax.jit, static_argnames=("n_test", "dtype"))
def _simulate(task, keys, p, record_steps, eta, n_test, dtype):
    """One compiled call: ``vmap`` over seeds (``keys``) of ``vmap`` over fractions ``p``."""
    mu = task.mu.astype(dtype)

    def per_seed(key):
        k_train, k_test, k_init, k_mask = jax.random.split(key, 4)
        # Draws in float64, then cast: float32 and float64 runs share every random number.
        x, y = (a.astype(dtype) for a in sample_patch_data(task, k_train, task.n))
        xt, yt = (a.astype(dtype) for a in sample_patch_data(task, k_test, n_test))
        w0 = init_patch_params(task, k_init).astype(dtype)
        masks = masks_from_uniforms(mask_uniforms(k_mask, task, jnp.float64), p).astype(dtype)
        train = functools.partial(_train_one, w0, x=x, y=y, xt=xt, yt=yt, mu=mu,
                                  eta=eta.astype(dtype), record_steps=record_steps, q=task.q)
        rec = jax.vmap(lambda mk: train(mask=mk))(masks)
        return rec, signal_connected(masks, task.direction)

    return jax.vmap(per_seed)(keys)


def check_record_steps(steps: int, record_steps) -> np.ndarray:
    """Recorded steps: increasing integers in ``[0, steps]`` ending at ``steps``."""
    steps = int(check_int_range("steps", steps, 1))
    if record_steps is None:
        return np.unique(np.round(np.linspace(0, steps, 11)).astype(np.int64))
    r = check_int_range("record_steps", record_steps, 0, steps).ravel()
    if r.size == 0 or np.any(np.diff(r) <= 0):
        raise InputError("record_steps: not strictly increasing; allowed: increasing "
                         f"integers in [0, {steps}]")
    return r if r[-1] == steps else np.append(r, steps)


def train_pruned(task: PatchTask, p, key: jax.Array, *, seeds: int = 4, eta: float = 0.02,
                 steps: int = 1500, record_steps=None, n_test: int = 2000,
                 dtype: str = "float32") -> PruningRun:
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
      dtype: ``"float32"`` (default) or ``"float64"`` training arithmetic.

    Example (the small configuration of the theory note):
      >>> task = PatchTask.create(n=20, d=1000, m=10, mu_norm=12.0)
      >>> run = train_pruned(task, [0, 0.5, 0.7, 0.85, 0.95, 0.97], jax.random.key(0))
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
    check_choice("dtype", dtype, tuple(DTYPES))
    keys = jax.random.split(key, seeds)
    out, conn = _simulate(task, keys, jnp.asarray(p, jnp.float64), jnp.asarray(rec),
                          jnp.asarray(float(eta), jnp.float64), n_test, DTYPES[dtype])
    out = {k: np.asarray(v, np.float64) for k, v in out.items()}
    settings = {**task.describe(), "seeds": seeds, "eta": float(eta), "steps": int(steps),
                "n_test": n_test, "dtype": dtype}
    return PruningRun(p=p, steps=rec, connected=np.asarray(conn), settings=settings, **out)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="overparam simulate --model patch-net",
        description="Gradient descent on the randomly pruned two-layer patch network "
                    "(Yang et al., ICLR 2023).  Writes one CSV row per seed, p and recorded step.")
    ap.add_argument("--n", type=int, default=20, help="training samples")
    ap.add_argument("--d", type=int, default=1000, help="patch dimension")
    ap.add_argument("--m", type=int, default=10, help="neurons per class")
    ap.add_argument("--q", type=float, default=3.0, help="activation power (>= 1)")
    ap.add_argument("--mu-norm", type=float, default=12.0, help="signal strength ||mu||")
    ap.add_argument("--sigma-p", type=float, default=1.0, help="noise standard deviation")
    ap.add_argument("--sigma-0", type=float, default=0.01, help="initialization scale")
    ap.add_argument("--signal", default="sparse", help="sparse | dense")
    ap.add_argument("--p", type=float, nargs="+",
                    default=[0.0, 0.5, 0.7, 0.85, 0.95, 0.97], help="pruning fractions")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0, help="master PRNG seed")
    ap.add_argument("--eta", type=float, default=0.02, help="GD step size")
    ap.add_argument("--steps", type=int, default=1500, help="GD steps")
    ap.add_argument("--record-steps", type=int, nargs="+", default=None)
    ap.add_argument("--n-test", type=int, default=2000)
    ap.add_argument("--dtype", default="float32", help="float32 | float64")
    ap.add_argument("--out", required=True, help="output CSV path")
    return ap


def simulate_cli(argv: list[str]) -> int:
    """``overparam simulate --model patch-net [options] --out OUT.csv``."""
    from ._io import write_csv

    args = _parser().parse_args(argv)
    task = PatchTask.create(n=args.n, d=args.d, m=args.m, q=args.q, mu_norm=args.mu_norm,
                            sigma_p=args.sigma_p, sigma_0=args.sigma_0, signal=args.signal)
    check_int_range("seed", args.seed, 0)
    run = train_pruned(task, args.p, jax.random.key(args.seed), seeds=args.seeds, eta=args.eta,
                       steps=args.steps, record_steps=args.record_steps, n_test=args.n_test,
                       dtype=args.dtype)
    write_csv(args.out, run.rows(), parameters={**run.settings, "seed": args.seed,
                                                "p": list(map(float, run.p)),
                                                "record_steps": run.steps.tolist(),
                                                "model": "patch-net"})
    mean, se = run.summary("test_error")
    for pi, mi, si in zip(run.p, mean, se):
        print(f"p={pi:.3f}  test_error={mi:.3f} +- {si:.3f}")
    print(f"wrote {args.out}")
    return 0
