"""Ensembles of two-layer networks: trained, magnitude-pruned, fine-tuned, against small ones.

Mathematics: ``docs/two_layer_networks.md``; ``models._mlp`` (the network, masks, counts);
``docs/random_features.md`` for the teacher.  One compiled call trains, for a chunk of seeds x every width x every keep
fraction:

1. the *dense* network of width ``p`` (padded to ``P = max p`` and masked:
   ``models.unit_mask``), ``steps`` updates of ``optimizer`` from its initialization;
2. its magnitude-pruned copy keeping ``m (d + k)`` weights, ``m = max(1, round(q p))``
   (``models.magnitude_mask``, per layer or global), evaluated as pruned and, with
   ``finetune``, after ``finetune_steps`` more updates with the mask fixed (fresh optimizer
   state; ``sims.Trainer(mask=...)`` keeps pruned weights exactly ``0.0``);
3. the *small* dense network of width ``m`` (the same count of nonzero weights), trained from
   its own initialization -- the first ``m`` units of the same draw -- for ``steps`` updates.

Optimizers (Optax; ``Trainer`` / ``train`` of :mod:`sims._training`): ``gd`` (full-batch
``optax.sgd``), ``sgd`` (minibatches of ``batch_size`` drawn with replacement), ``adam``
(minibatches, or full batch without ``batch_size``).  A frozen first layer is
``optax.masked(optax.set_to_zero(), hidden)`` chained after the optimizer.  ``lr="auto"``
(gd / sgd on teacher data) is ``1 / L`` with ``L = 2 lambda_max(Phi^T Phi / n)`` the
curvature of the squared loss in the second layer at the start of each run (features of the
active units, full training set): the step that makes GD from zero converge to the min-norm
second layer with a frozen first layer; a trained first layer adds a bound of its own
curvature (:func:`_auto_lr`).

Data.  *Teacher* (a :class:`models.RFTask`, regression, loss ``mean (y - f)^2``): every seed
draws its own training set exactly as ``sims.rf_dense_risk`` does for the trial with the same
key (``kx, ke = split(key_s)``, ``X = normal(kx, (n, d))``, ``y = X theta + sigma
normal(ke, (n,))``; seed keys ``split(key, seeds)``), and a test set of ``n_test`` fresh
draws; the first layer starts at the task's ``W`` (its first ``p`` rows) and the second at
zero, so with a frozen first layer the network *is* the random-features fit.  With a frozen
first layer the risk of every second layer is also computed exactly (``risk_exact``,
``models.rf_feature_moments``).  *Digits* (a :class:`models.DigitsData`, classification,
softmax cross-entropy, 10 outputs): one split for all seeds; seeds change the initialization
(``N(0, I/d)`` rows, ``N(0, 1/p)`` second layer) and the minibatches.

Per seed key ``key_s``: data ``key_s`` (teacher); ``k_init, k_batch, k_ft =
split(fold_in(key_s, 1), 3)``: one ``N(0, 1)`` draw from ``k_init`` gives the initialization
(its first ``P`` rows, shared by the dense and the small networks) and the teacher's test
set (the remaining ``n_test`` rows: ``x`` and the noise), then minibatches and fine-tuning
minibatches; results do not depend on the chunking or on ``pad_widths`` (up to the rounding
of sums over padded zeros).  Training curves: train/test loss and accuracy at log-spaced
steps.  Long runs: ``progress=True`` shows
a bar over seed chunks and ``checkpoint=PATH`` resumes (:func:`sims._batching.run_chunks`).
Precision: ``dtype`` (float32 default), matmuls at ``models.MATMUL_PRECISION``.  Nothing here
calls ``asymptotics``.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from models import InputError, RFTask
from models._activations import activation_fn
from models._digits import DigitsData
from models._errors import as_finite_array, check_choice, check_int_range
from models._keys import check_key
from models._mlp import (OUTPUT_INITS, apply_net, check_keep_fractions, check_scope,
                         check_widths, features, init_from_draw, magnitude_mask, small_width,
                         unit_mask)
from models._rf_moments import rf_feature_moments

from ._batching import run_chunks
from ._summary import summarize
from ._training import Trainer, check_train_dtype, train

OPTIMIZERS = ("gd", "sgd", "adam")
DATASETS = ("teacher", "digits")
#: training settings per data set when the caller gives none (well-trained networks)
DEFAULTS = {
    "digits": dict(optimizer="adam", lr=1e-3, steps=3000, batch_size=64, finetune_steps=1000,
                   output_init="normal", activation="relu"),
    "teacher": dict(optimizer="gd", lr="auto", steps=2000, batch_size=None, finetune_steps=500,
                    output_init="zeros"),
}
METRICS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")

#: number of times the compiled kernel was traced (tests: no recompilation across seeds)
TRACES = [0]


@dataclasses.dataclass(frozen=True)
class _Config:
    """Everything static of one compiled call (hashable)."""

    classify: bool
    optimizer: str
    batch: int          # 0: full batch
    steps: int
    ft_steps: int
    records: tuple
    ft_records: tuple
    freeze: bool
    scope: str
    activation: Any
    centred: bool
    output_init: str
    width: int          # padded width P of this call
    small: int          # padded small width M
    pool: int           # rows drawn for the initialization (max width of the run)
    d: int
    k: int
    n: int
    n_test: int
    auto_lr: bool
    finetune: bool
    teacher: bool
    dtype: Any


def log_steps(steps: int, count: int = 16) -> np.ndarray:
    """``0`` and about ``count`` log-spaced steps up to ``steps`` (unique integers)."""
    steps_ = np.round(np.geomspace(1, steps, count))
    return np.unique(np.concatenate([[0], steps_])).astype(np.int64)


def _loss_fn(cfg: _Config):
    def loss(params, batch):
        x, y = batch
        out = apply_net(params, x, cfg.activation, cfg.centred)
        if cfg.classify:
            return optax.softmax_cross_entropy_with_integer_labels(out, y).mean()
        return jnp.mean((out[..., 0] - y) ** 2)

    return loss


def _metrics_fn(cfg: _Config, data):
    x_tr, y_tr, x_te, y_te = data
    loss = _loss_fn(cfg)

    def acc(params, x, y):
        if not cfg.classify:
            return jnp.asarray(jnp.nan, cfg.dtype)
        out = apply_net(params, x, cfg.activation, cfg.centred)
        return jnp.mean(jnp.argmax(out, -1) == y).astype(cfg.dtype)

    def metrics(params):
        return {"train_loss": loss(params, (x_tr, y_tr)), "test_loss": loss(params, (x_te, y_te)),
                "train_accuracy": acc(params, x_tr, y_tr), "test_accuracy": acc(params, x_te, y_te)}

    return metrics


def _optimizer(cfg: _Config, lr):
    base = optax.adam(lr) if cfg.optimizer == "adam" else optax.sgd(lr)
    if cfg.freeze:
        return optax.chain(base, optax.masked(optax.set_to_zero(),
                                              {"hidden": True, "output": False}))
    return base


def _auto_lr(cfg: _Config, params, mask, x, y, lr):
    """``lr / L`` at the start of a run (``lr`` is then a factor; units in use only).

    ``L = 2 lambda`` with ``lambda = lambda_max(Phi^T Phi / n)``, the curvature of
    ``mean (y - Phi a)^2`` in the second layer (exact with a frozen first layer).  With a
    trained first layer ``L`` adds ``4 c lambda_X mean(y^2) / lambda``: a bound ``2 |a|^2 c
    lambda_X`` of the first layer's curvature (``c = max act'(w.x)^2`` over the training set,
    ``lambda_X = lambda_max(X^T X / n)``) at the second-layer norm ``|a|^2 = mean(y^2) /
    lambda`` that carries the labels' energy along the top feature direction, doubled."""
    if not cfg.auto_lr:
        return lr
    on = (mask["output"][:, 0] != 0).astype(x.dtype)
    phi = features(params["hidden"], x, cfg.activation, cfg.centred) * on
    n, p = phi.shape
    g = (phi @ phi.T if n <= p else phi.T @ phi) / n
    top = jnp.maximum(jnp.linalg.eigvalsh(g)[-1], jnp.finfo(x.dtype).tiny)   # no feature: no step
    curv = 2.0 * top
    if not cfg.freeze:
        z = jnp.matmul(x, params["hidden"].T, precision=jax.lax.Precision.HIGHEST)
        slope = jax.vmap(jax.grad(lambda t: activation_fn(cfg.activation)(t)))(z.ravel())
        c = jnp.max(jnp.where(jnp.repeat(on[None, :], n, 0).ravel() > 0, slope**2, 0.0))
        lam_x = jnp.linalg.eigvalsh(x.T @ x / n)[-1]
        curv = curv + 4.0 * c * lam_x * jnp.mean(y**2) / top
    return lr / curv


def _minibatch(cfg: _Config):
    if cfg.batch == 0:
        return None

    def draw(key, data):
        x, y = data
        idx = jax.random.randint(key, (cfg.batch,), 0, x.shape[0])
        return x[idx], y[idx]

    return draw


def _fit(cfg, params, mask, key, data, lr, records):
    """Train ``params`` (masked) and record the metrics; returns final params and curves."""
    x_tr, y_tr = data[0], data[1]
    loss = _loss_fn(cfg)
    metrics = _metrics_fn(cfg, data)
    step = _auto_lr(cfg, jax.tree.map(lambda v, m: v * m, params, mask), mask, x_tr, y_tr, lr)
    tr = Trainer(loss, _optimizer(cfg, step), mask=mask, minibatch=_minibatch(cfg))
    state, curves = train(tr, tr.init(key, params), (x_tr, y_tr), jnp.asarray(records),
                          lambda s: metrics(s.params))
    return state.params, curves


@partial(jax.jit, static_argnames=("cfg",))
def _kernel(keys, widths, smalls, lr, consts, cfg: _Config):
    TRACES[0] += 1
    dt = cfg.dtype
    z_all = None                # per seed, set in per_seed

    def data_of(ks):
        if cfg.teacher:
            weights, theta, noise = consts
            kx, ke = jax.random.split(ks)
            x = jax.random.normal(kx, (cfg.n, cfg.d), dt)
            y = (jnp.matmul(x, theta.astype(dt), precision=jax.lax.Precision.HIGHEST)
                 + noise.astype(dt) * jax.random.normal(ke, (cfg.n,), dt))
            zt = z_all[cfg.pool:]          # the test set shares the initialization's draw
            xt = zt[:, :cfg.d]
            yt = (jnp.matmul(xt, theta.astype(dt), precision=jax.lax.Precision.HIGHEST)
                  + noise.astype(dt) * zt[:, cfg.d])
            return (x, y, xt, yt)
        return consts

    def init(width, active):
        w = consts[0] if cfg.teacher else None
        return init_from_draw(z_all[:cfg.pool], width, cfg.d, active=active, weights=w,
                              output_init=cfg.output_init)

    def per_seed(ks):
        nonlocal z_all
        k_init, k_batch, k_ft = jax.random.split(jax.random.fold_in(ks, 1), 3)
        # one N(0, 1) draw: rows [:pool] initialize, rows [pool:] are the teacher's test set
        z_all = jax.random.normal(k_init, (cfg.pool + (cfg.n_test if cfg.teacher else 0),
                                           cfg.d + cfg.k), dt)
        data = data_of(ks)
        metrics = _metrics_fn(cfg, data)

        def per_width(p, ms):
            active = unit_mask(cfg.width, p, cfg.d, cfg.k, dt)
            dense, d_curves = _fit(cfg, init(cfg.width, p), active, k_batch, data, lr,
                                   cfg.records)

            def per_keep(m):
                mask = magnitude_mask(dense, active, m, scope=cfg.scope,
                                      frozen_first_layer=cfg.freeze)
                pruned = jax.tree.map(lambda v, q: jnp.where(q != 0, v, 0.0), dense, mask)
                out = {"pruned": (metrics(pruned), pruned["output"])}
                if cfg.finetune:
                    ft, ft_curves = _fit(cfg, pruned, mask, k_ft, data, lr, cfg.ft_records)
                    out["finetuned"] = (metrics(ft), ft["output"], ft_curves,
                                        jax.tree.map(lambda v, q: jnp.sum((v != 0) & (q == 0)),
                                                     ft, mask))
                s_mask = unit_mask(cfg.small, m, cfg.d, cfg.k, dt)
                small, s_curves = _fit(cfg, init(cfg.small, m), s_mask, k_batch, data, lr,
                                       cfg.records)
                out["small"] = (metrics(small), small["output"], s_curves)
                # weights kept by each mask (frozen first layer: the trainable second layer)
                count = ((lambda q: jnp.sum(q["output"] != 0)) if cfg.freeze else
                         (lambda q: sum(jnp.sum(v != 0) for v in jax.tree.leaves(q))))
                out["nonzero"] = (count(mask), count(s_mask))
                return out

            return {"dense": (metrics(dense), dense["output"], d_curves),
                    "keeps": jax.vmap(per_keep)(ms)}

        return jax.vmap(per_width)(widths, smalls)

    return jax.vmap(per_seed)(keys)


@dataclasses.dataclass(frozen=True)
class MLPSimulation:
    """Result of :func:`mlp_ensemble` (NumPy arrays; seeds on the last axis of every metric).

    Attributes:
      data: ``"teacher"`` or ``"digits"``.
      widths: ``(W,)``; keep: ``(K,)`` keep fractions; small_width ``(W, K)`` (``m``);
      nonzero: ``(W, K)`` nonzero weights of the pruned network (= those of the small one;
        with a frozen first layer: second-layer weights).
      seeds: number of seeds; record_steps / finetune_record_steps: curve steps.
      dense: metric -> ``(W, S)``; pruned, finetuned, small: metric -> ``(W, K, S)``
        (``finetuned`` is ``None`` without fine-tuning); metrics ``train_loss, test_loss,
        train_accuracy, test_accuracy`` (accuracies NaN for regression).
      curves: variant -> metric -> ``(..., S, R)`` (``dense (W, S, R)``, ``finetuned`` and
        ``small`` ``(W, K, S, R)``).
      risk_exact: frozen first layer on teacher data: variant -> exact risk
        ``E (y - f(x))^2`` of each trained second layer (``models.rf_feature_moments``).
      outputs: frozen first layer: variant -> trained second layers (``dense (W, S, P)``).
      parameters: the settings used (JSON-friendly).
    """

    data: str
    widths: np.ndarray
    keep: np.ndarray
    small_width: np.ndarray
    nonzero: np.ndarray
    seeds: int
    record_steps: np.ndarray
    finetune_record_steps: np.ndarray | None
    dense: dict
    pruned: dict
    finetuned: dict | None
    small: dict
    curves: dict
    risk_exact: dict | None
    outputs: dict | None
    parameters: dict
    mask_violations: int = 0

    def rows(self) -> list[dict]:
        """One row per (width, keep fraction, fine-tune): the command line's table."""
        rows = []
        cls = self.data == "digits"
        for i, p in enumerate(self.widths):
            for j, q in enumerate(self.keep):
                for ft in ((False, True) if self.finetuned is not None else (False,)):
                    src = self.finetuned if ft else self.pruned
                    row = dict(data=self.data, width=int(p), keep_fraction=float(q), finetune=ft,
                               seeds=self.seeds, nonzero=int(self.nonzero[i, j]),
                               small_width=int(self.small_width[i, j]))
                    for name in METRICS:
                        if name.endswith("accuracy") and not cls:
                            row[f"{name}_mean"] = row[f"{name}_stderr"] = ""
                            continue
                        st = summarize(src[name][i, j])
                        row[f"{name}_mean"], row[f"{name}_stderr"] = _num(st.mean), _num(st.stderr)
                    for name in ("test_loss", "test_accuracy"):
                        if name.endswith("accuracy") and not cls:
                            row[f"small_{name}_mean"] = row[f"small_{name}_stderr"] = ""
                            continue
                        st = summarize(self.small[name][i, j])
                        row[f"small_{name}_mean"] = _num(st.mean)
                        row[f"small_{name}_stderr"] = _num(st.stderr)
                    st = summarize(self.dense["test_loss"][i])
                    row["dense_test_loss_mean"] = _num(st.mean)
                    if self.risk_exact is not None:
                        st = summarize(self.risk_exact["finetuned" if ft else "pruned"][i, j])
                        row["risk_exact_mean"], row["risk_exact_stderr"] = (_num(st.mean),
                                                                            _num(st.stderr))
                        st = summarize(self.risk_exact["small"][i, j])
                        row["small_risk_exact_mean"] = _num(st.mean)
                    rows.append(row)
        return rows


def _num(v) -> float | str:
    v = float(v)
    return v if np.isfinite(v) else ""


def _check_lr(lr, optimizer: str, teacher: bool):
    if isinstance(lr, str):
        if lr != "auto":
            raise InputError(f"lr: got {lr!r}; allowed: a finite number > 0 or 'auto'")
        if optimizer == "adam" or not teacher:
            raise InputError("lr: 'auto' is for gd and sgd on teacher data; allowed: a finite "
                             "number > 0")
        return 1.0, True
    v = as_finite_array("lr", lr)
    if v.ndim != 0 or not v > 0:
        raise InputError(f"lr: got {lr!r}; allowed: a finite number > 0 or 'auto'")
    return float(v), False


def check_settings(data, widths, keep, *, seeds, optimizer, lr, steps, batch_size,
                   finetune_steps, scope, output_init, n_test):
    """Validate every argument of :func:`mlp_ensemble` (``InputError`` before compiling)."""
    if isinstance(data, RFTask):
        teacher = True
    elif isinstance(data, DigitsData):
        teacher = False
    else:
        raise InputError(f"data: got {type(data).__name__}; allowed: a models.RFTask (teacher) "
                         "or models.DigitsData (digits)")
    widths = check_widths("width", widths)
    if teacher and widths.max() > data.pool_size:
        raise InputError(f"width: got {int(widths.max())}; allowed: integers in [1, "
                         f"{data.pool_size}] (the rows of the task's W)")
    keep = check_keep_fractions("keep_fraction", keep)
    seeds = int(check_int_range("seeds", seeds, 1))
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    lr_value, auto = _check_lr(lr, optimizer, teacher)
    steps = int(check_int_range("steps", steps, 1))
    finetune_steps = int(check_int_range("finetune_steps", finetune_steps, 1))
    n = data.n if teacher else data.x_train.shape[0]
    if batch_size is not None:
        batch_size = int(check_int_range("batch_size", batch_size, 1, n))
        if optimizer == "gd":
            raise InputError("batch_size: gd is full-batch; allowed: no batch size with gd, or "
                             "optimizer sgd / adam")
    elif optimizer == "sgd":
        raise InputError("batch_size: sgd needs a minibatch size; allowed: integers in "
                         f"[1, {n}]")
    check_scope("prune_scope", scope)
    check_choice("output_init", output_init, OUTPUT_INITS)
    n_test = int(check_int_range("n_test", n_test, 1))
    return teacher, widths, keep, seeds, optimizer, lr_value, auto, steps, batch_size, \
        finetune_steps, n_test


#: ``pad_widths="auto"`` pads a width to at most this multiple of the group's smallest
PAD_RATIO = 2.0


def width_groups(widths: np.ndarray, pad_widths) -> list[np.ndarray]:
    """Indices of the widths trained in one compiled call, each padded to its group's largest.

    ``True``: one group (one compilation; work ``len(widths) * max(widths)``); ``False``: one
    group per width (no padding; one compilation each); ``"auto"``: consecutive sorted widths
    while the largest is at most :data:`PAD_RATIO` times the smallest (padding costs at most a
    factor 2 in work, a compilation per group)."""
    if pad_widths is True:
        return [np.arange(widths.size)]
    if pad_widths is False:
        return [np.array([i]) for i in range(widths.size)]
    check_choice("pad_widths", pad_widths, (True, False, "auto"))
    order = np.argsort(widths, kind="stable")
    groups, cur = [], [order[0]]
    for i in order[1:]:
        if widths[i] <= PAD_RATIO * widths[cur[0]]:
            cur.append(i)
        else:
            groups.append(np.array(cur))
            cur = [i]
    groups.append(np.array(cur))
    return groups


def resolve_settings(data, optimizer=None, lr=None, steps=None, batch_size="default",
                     finetune_steps=None, output_init=None):
    """The training settings with the data set's defaults filled in (:data:`DEFAULTS`):
    ``(optimizer, lr, steps, batch_size, finetune_steps, output_init)``.  An optimizer other
    than the default gets ``lr="auto"`` (gd / sgd on teacher data) or ``1e-3``, and sgd a
    minibatch of ``min(64, n)``; ``batch_size=None`` is full batch.  Validates the choices
    that the defaults depend on (``InputError``)."""
    if isinstance(data, RFTask):
        kind, n = "teacher", data.n
    elif isinstance(data, DigitsData):
        kind, n = "digits", data.x_train.shape[0]
    else:
        raise InputError(f"data: got {type(data).__name__}; allowed: a models.RFTask (teacher) "
                         "or models.DigitsData (digits)")
    dflt = DEFAULTS[kind]
    optimizer = dflt["optimizer"] if optimizer is None else check_choice(
        "optimizer", optimizer, OPTIMIZERS)
    if lr is None:
        lr = dflt["lr"] if optimizer == dflt["optimizer"] else (
            "auto" if kind == "teacher" and optimizer != "adam" else 1e-3)
    _check_lr(lr, optimizer, kind == "teacher")
    steps = dflt["steps"] if steps is None else steps
    if isinstance(batch_size, str) and batch_size == "default":
        if optimizer == "gd":
            batch_size = None
        elif optimizer == dflt["optimizer"]:
            batch_size = dflt["batch_size"]
        else:
            batch_size = min(64, n)
    finetune_steps = dflt["finetune_steps"] if finetune_steps is None else finetune_steps
    output_init = dflt["output_init"] if output_init is None else output_init
    return optimizer, lr, steps, batch_size, finetune_steps, output_init


def mlp_ensemble(data, widths, keep_fraction=(1.0,), *, seeds: int, key: jax.Array,
                 finetune: bool = False, optimizer: str | None = None, lr=None,
                 steps: int | None = None, batch_size: int | None | str = "default",
                 finetune_steps: int | None = None, freeze_first_layer: bool = False,
                 prune_scope: str = "layer", output_init: str | None = None,
                 activation=None, centred: bool | None = None, n_test: int = 2000,
                 dtype=jnp.float32, pad_widths="auto", chunk: int | None = None,
                 progress: bool = False, checkpoint=None, devices=None) -> MLPSimulation:
    """Train, prune, fine-tune and compare ensembles of two-layer networks (one ``jit``).

    Args:
      data: a :class:`models.RFTask` (teacher regression; ``n = task.n``, the activation and
        centring of the task) or :class:`models.DigitsData` (:func:`models.load_digits`).
      widths: hidden widths ``p`` (teacher: at most the task's pool).
      keep_fraction: fractions ``q`` in ``(0, 1]``; each keeps ``m (d + k)`` weights,
        ``m = max(1, round(q p))`` (``models.small_width``).
      seeds: ensemble size; ``key``: a ``jax.random`` key (seed keys ``split(key, seeds)``).
      finetune: also fine-tune every pruned network with its mask fixed.
      optimizer, lr, steps, batch_size, finetune_steps, output_init: default to
        ``DEFAULTS[data set]`` (``batch_size=None``: full batch).
      freeze_first_layer: train the second layer only (teacher: the random-features model).
      prune_scope: ``"layer"`` or ``"global"`` magnitude pruning.
      pad_widths: ``True``: one compiled call for all widths, padded to the largest and
        masked; ``False``: one call per width; ``"auto"`` (default): groups of widths within
        a factor :data:`PAD_RATIO` (:func:`width_groups`).
      chunk: seeds per compiled call (per device); ``progress``, ``checkpoint``, ``devices``:
        see :func:`sims._batching.run_chunks` (resume after an interruption; seeds sharded
        over devices, the same numbers for any device count).

    Returns an :class:`MLPSimulation`.

    Example (teacher, frozen first layer: the random-features min-norm fit by GD; not run
    as a doctest -- one compilation takes ~10 s on 2 cores -- tests/test_mlp.py runs it):
      >>> task = models.RFTask.draw(jax.random.key(0), d=10, pool=40, n=20, noise=0.5)
      >>> run = sims.mlp_ensemble(task, widths=[40], keep_fraction=[1.0, 0.5], seeds=2,
      ...     key=jax.random.key(1), freeze_first_layer=True, steps=200)  # doctest: +SKIP
      >>> run.pruned["test_loss"].shape, run.nonzero.tolist()  # doctest: +SKIP
      ((1, 2, 2), [[40, 20]])
    """
    kind = "teacher" if isinstance(data, RFTask) else "digits"
    dflt = DEFAULTS[kind]
    optimizer, lr, steps, batch_size, finetune_steps, output_init = resolve_settings(
        data, optimizer, lr, steps, batch_size, finetune_steps, output_init)
    (teacher, widths, keep, seeds, optimizer, lr_value, auto, steps, batch_size, finetune_steps,
     n_test) = check_settings(data, widths, keep_fraction, seeds=seeds, optimizer=optimizer,
                              lr=lr, steps=steps, batch_size=batch_size,
                              finetune_steps=finetune_steps, scope=prune_scope,
                              output_init=output_init, n_test=n_test)
    check_key("key", key)
    dt = check_train_dtype(dtype, "sims.mlp_ensemble")
    if teacher:
        if activation is not None or centred is not None:
            raise InputError("activation/centred: teacher data uses the task's; allowed: set "
                             "them in models.RFTask")
        activation, centred = data.activation, data.centred
        d, k, n = data.d, 1, data.n
        consts = (jnp.asarray(np.asarray(data.weights)[:int(widths.max())], dt),
                  jnp.asarray(data.teacher, dt), jnp.asarray(float(data.noise), dt))
    else:
        activation = dflt["activation"] if activation is None else activation
        centred = False if centred is None else bool(centred)
        d, k, n = data.x_train.shape[1], data.n_classes, data.x_train.shape[0]
        n_test = data.x_test.shape[0]
        consts = (jnp.asarray(data.x_train, dt), jnp.asarray(data.y_train, jnp.int32),
                  jnp.asarray(data.x_test, dt), jnp.asarray(data.y_test, jnp.int32))
    activation_fn(activation)
    chunk = seeds if chunk is None else min(int(check_int_range("chunk", chunk, 1)), seeds)
    smalls = small_width(widths[:, None], keep[None, :])                      # (W, K)
    records = log_steps(steps)
    ft_records = log_steps(finetune_steps) if finetune else np.array([0])
    pool = int(widths.max())
    groups = width_groups(widths, pad_widths)
    outs = []
    for g in groups:
        cfg = _Config(classify=not teacher, optimizer=optimizer, batch=batch_size or 0,
                      steps=steps, ft_steps=finetune_steps, records=tuple(records.tolist()),
                      ft_records=tuple(ft_records.tolist()), freeze=bool(freeze_first_layer),
                      scope=prune_scope, activation=activation, centred=bool(centred),
                      output_init=output_init, width=int(widths[g].max()),
                      small=int(smalls[g].max()), pool=pool, d=d, k=k, n=n, n_test=n_test,
                      auto_lr=auto, finetune=bool(finetune), teacher=teacher, dtype=dt)
        w_arr = jnp.asarray(widths[g], jnp.int32)
        s_arr = jnp.asarray(smalls[g], jnp.int32)
        treedef = []

        def call(keys, start, cfg=cfg, w_arr=w_arr, s_arr=s_arr, treedef=treedef):
            out = _kernel(keys, w_arr, s_arr, jnp.asarray(lr_value, dt), consts, cfg)
            leaves, td = jax.tree.flatten(out)
            treedef[:] = [td]
            return tuple(leaves)

        run_key = dict(kind="mlp", cfg=repr(cfg), widths=widths[g], smalls=smalls[g],
                       lr=lr_value, consts=[np.asarray(c) for c in consts][:3])
        ck = None if checkpoint is None else (
            checkpoint if len(groups) == 1 else f"{checkpoint}.w{int(widths[g][0])}")
        chunks = run_chunks(call, key, seeds, chunk, progress, ck, run_key, devices=devices)
        if not treedef:   # everything resumed from a checkpoint: get the structure by tracing
            treedef.append(jax.tree.structure(jax.eval_shape(
                lambda kk: _kernel(kk, w_arr, s_arr, jnp.asarray(lr_value, dt), consts, cfg),
                jax.random.split(key, chunk))))
        leaves = [np.concatenate([c[i] for c in chunks])[:seeds] for i in range(len(chunks[0]))]
        outs.append(jax.tree.unflatten(treedef[0], leaves))
    return _assemble(outs, groups, data, teacher, widths, keep, smalls, seeds, records,
                     ft_records if finetune else None, bool(freeze_first_layer),
                     dict(data=kind, optimizer=optimizer, lr=lr if auto else lr_value,
                          steps=steps, batch_size=batch_size, finetune_steps=finetune_steps,
                          freeze_first_layer=bool(freeze_first_layer), prune_scope=prune_scope,
                          output_init=output_init,
                          activation=activation if isinstance(activation, str) else "custom",
                          centred=bool(centred), n_train=n, n_test=n_test, dtype=dt.name,
                          pad_widths=pad_widths))


def _assemble(outs, groups, data, teacher, widths, keep, smalls, seeds, records, ft_records,
              frozen, parameters) -> MLPSimulation:
    W = widths.size

    def gather(get):
        arrs = [None] * W
        for out, g in zip(outs, groups):
            a = get(out)                                  # (S, Wg, ...)
            for j, i in enumerate(g):
                arrs[i] = a[:, j]
        return arrs

    def metric_block(get):
        res = {}
        for name in METRICS:
            per = gather(lambda o: get(o)[name])      # list of (S, ...)
            res[name] = np.stack([np.moveaxis(np.asarray(a, np.float64), 0, -1) for a in per])
        return res

    dense = metric_block(lambda o: o["dense"][0])
    pruned = metric_block(lambda o: o["keeps"]["pruned"][0])
    small = metric_block(lambda o: o["keeps"]["small"][0])

    def curve_block(get):
        res = {}
        for name in METRICS:
            per = gather(lambda o: get(o)[name])       # (S, [K,] R)
            res[name] = np.stack([np.moveaxis(np.asarray(a, np.float64), 0, -2) for a in per])
        return res

    curves = {"dense": curve_block(lambda o: o["dense"][2]),
              "small": curve_block(lambda o: o["keeps"]["small"][2])}
    finetuned, violations = None, 0
    if ft_records is not None:
        finetuned = metric_block(lambda o: o["keeps"]["finetuned"][0])
        curves["finetuned"] = curve_block(lambda o: o["keeps"]["finetuned"][2])
        for out in outs:
            violations += int(sum(np.sum(v) for v in jax.tree.leaves(out["keeps"]["finetuned"][3])))
    nz = gather(lambda o: o["keeps"]["nonzero"][0])          # (S, K)
    nz_small = gather(lambda o: o["keeps"]["nonzero"][1])
    nonzero = np.stack([a[0] for a in nz]).astype(np.int64)
    if not all(np.array_equal(a, b) for a, b in zip(nz, nz_small)):
        raise AssertionError("pruned and small networks differ in nonzero count")
    risk_exact = outputs = None
    if frozen:
        pool = int(widths.max())

        def out_block(get, variant):
            per = []
            for a in gather(get):                  # (S, [K,] P_g, 1)
                a = np.moveaxis(np.asarray(a, np.float64)[..., 0], 0, -2)
                per.append(np.concatenate(
                    [a, np.zeros(a.shape[:-1] + (pool - a.shape[-1],))], axis=-1))
            return np.stack(per)

        outputs = {"dense": out_block(lambda o: o["dense"][1], "dense"),
                   "pruned": out_block(lambda o: o["keeps"]["pruned"][1], "pruned"),
                   "small": out_block(lambda o: o["keeps"]["small"][1], "small")}
        if ft_records is not None:
            outputs["finetuned"] = out_block(lambda o: o["keeps"]["finetuned"][1], "ft")
        if teacher:
            mom = rf_feature_moments(data, int(widths.max()))
            risk_exact = {v: _exact(mom, a) for v, a in outputs.items()}
    return MLPSimulation(data="teacher" if teacher else "digits", widths=widths, keep=keep,
                         small_width=smalls, nonzero=nonzero, seeds=seeds, record_steps=records,
                         finetune_record_steps=ft_records, dense=dense, pruned=pruned,
                         finetuned=finetuned, small=small, curves=curves, risk_exact=risk_exact,
                         outputs=outputs, parameters=parameters, mask_violations=violations)


def _exact(mom, a) -> np.ndarray:
    """Exact risks of second layers ``a`` (``(..., S, P_a)``, zero beyond the active units)."""
    P = mom.second.shape[0]
    a = np.asarray(a, np.float64)
    if a.shape[-1] < P:
        a = np.concatenate([a, np.zeros(a.shape[:-1] + (P - a.shape[-1],))], axis=-1)
    return mom.risk(a[..., :P])
