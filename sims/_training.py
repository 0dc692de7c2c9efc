"""Training core: a pure ``(init, step)`` pair over any ``optax.GradientTransformation``.

Every network trained in ``sims`` goes through this module (pruning at initialization,
noise-injected SGD); the two settings differ only in their loss, their optimizer (a chain of
Optax transformations) and their metrics.

* :class:`TrainState` -- ``(step, params, opt_state, key)``, a pytree (a ``NamedTuple``), so
  it is carried by ``lax.scan`` and batched by ``vmap`` like any array.
* :class:`Trainer` -- a small immutable object holding the loss, the optimizer, an optional
  pruning mask and an optional minibatch sampler, with pure ``init(key, params) -> state``
  and ``step(state, data) -> state``.  One step is

      g = grad L(theta_t; batch_t),   (u_t, s_{t+1}) = tx.update(g, s_t, theta_t),
      theta_{t+1} = theta_t + M * u_t,

  with ``tx`` any ``optax.GradientTransformation`` (``optax.sgd``, ``optax.adam``,
  ``optax.chain(optax.sgd(eta), sims.stable_noise(...))``, ...) and ``M`` the mask.
* :func:`train` -- runs ``step`` in ``lax.scan`` and records ``metrics(state)`` after chosen
  numbers of updates.  Nothing in it is static except array shapes, so it ``vmap``\\ s over
  seeds (keys), masks and traced hyper-parameters (step sizes, noise levels) under one
  ``jit``: build the :class:`Trainer` inside the vmapped function (its fields are closed
  over at trace time, Optax style).
* :func:`prune_updates` -- the mask as an Optax transformation, ``u -> where(M, u, 0)``.

Masks.  A mask is a pytree with the structure of the parameters whose leaves are 0/1 (or
boolean) arrays broadcastable to the parameter, or ``None`` for an unpruned leaf.
``Trainer.init`` zeroes the pruned parameters and ``Trainer`` appends
:func:`prune_updates` to its optimizer, so the update of a pruned weight is exactly ``0``
(``where``, not a product: even a non-finite update is removed) and the weight stays
exactly ``0.0`` after every update, whatever the optimizer (SGD, Adam, injected noise).

Why Flax ``linen`` (one Flax API across the project).  A linen module is an immutable
description whose parameters are a plain nested dict: ``init`` returns the pytree and
``apply(params, x)`` is a pure function of it.  That is exactly what this core needs --
parameters that ``optax`` updates, ``lax.scan`` carries, ``vmap`` batches over seeds and
masks, and masks that mirror them leaf for leaf -- with no ``split``/``merge`` of mutable
module state (Flax NNX) at every ``jit``/``vmap`` boundary.  The networks
(``models.PatchNet``, ``models.OneHiddenLayerNet``) are linen modules for that reason.

Example (least squares by Adam, pruned, vmapped over seeds):
  >>> import jax, jax.numpy as jnp, optax
  >>> loss = lambda w, b: jnp.mean((b[0] @ w - b[1]) ** 2)
  >>> x = jax.random.normal(jax.random.key(0), (32, 4)); y = x @ jnp.arange(4.0)
  >>> mask = jnp.array([1.0, 0.0, 1.0, 1.0])
  >>> def run(key):
  ...     tr = Trainer(loss, optax.adam(0.1), mask=mask)
  ...     state = tr.init(key, jax.random.normal(key, (4,)))
  ...     return train(tr, state, (x, y), jnp.array([0, 100]), lambda s: {"w": s.params})
  >>> _, rec = jax.vmap(run)(jax.random.split(jax.random.key(1), 3))
  >>> rec["w"].shape, bool(jnp.all(rec["w"][..., 1] == 0))
  ((3, 2, 4), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from models import InputError
from models._config import require_x64
from models._errors import check_int_range

PyTree = Any


class TrainState(NamedTuple):
    """State of one training run (a pytree).

    Attributes:
      step: number of updates done (int32 scalar).
      params: the parameter pytree (e.g. ``variables["params"]`` of a linen module).
      opt_state: the optimizer state (including the key of a noise transformation).
      key: PRNG key of the minibatch draws (split once per step; unused in full batch).
    """

    step: jax.Array
    params: PyTree
    opt_state: optax.OptState
    key: jax.Array


def apply_mask(tree: PyTree, mask: PyTree | None) -> PyTree:
    """``where(M, x, 0)`` leaf by leaf; ``None`` (whole mask or a leaf) keeps the leaf."""
    if mask is None:
        return tree

    def one(x, m):
        if m is None:
            return x
        return jnp.where(jnp.asarray(m) != 0, x, jnp.zeros((), jnp.result_type(x)))

    return jax.tree.map(one, tree, mask)


def prune_updates(mask: PyTree) -> optax.GradientTransformation:
    """Optax transformation that removes the updates of pruned weights: ``u -> where(M, u, 0)``.

    Put it last in an ``optax.chain`` so that nothing after it can move a pruned weight;
    with pruned weights at ``0`` they then stay exactly ``0.0``.  ``mask`` is a pytree with
    the structure of the parameters (leaves 0/1 or boolean, broadcastable; ``None`` leaves
    are not pruned).  Unlike ``optax.masked``, whose mask selects whole leaves and must be
    static, this mask is elementwise and may be traced (so masks ``vmap``).

    Example:
      >>> params = {"w": jnp.ones(3, jnp.float32), "b": jnp.ones((), jnp.float32)}
      >>> tx = optax.chain(optax.adam(1e-2), prune_updates({"w": jnp.array([1, 0, 1]), "b": None}))
      >>> updates, _ = tx.update(params, tx.init(params))
      >>> updates["w"]
      Array([-0.01,  0.  , -0.01], dtype=float32)
    """

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        del params
        return apply_mask(updates, mask), state

    return optax.GradientTransformation(init_fn, update_fn)


@dataclass(frozen=True)
class Trainer:
    """Pure training step over an Optax optimizer.

    Attributes:
      loss: ``loss(params, batch) -> scalar``, differentiated with ``jax.grad``.
      optimizer: any ``optax.GradientTransformation`` (hyper-parameters may be traced).
      mask: optional pruning mask (pytree like the parameters, see the module docstring);
        pruned parameters are zeroed at ``init`` and never updated.
      minibatch: optional ``minibatch(key, data) -> batch``; ``None`` is full batch
        (``batch = data`` at every step).
    """

    loss: Callable[[PyTree, Any], jax.Array]
    optimizer: optax.GradientTransformation
    mask: PyTree | None = None
    minibatch: Callable[[jax.Array, Any], Any] | None = None

    @property
    def transform(self) -> optax.GradientTransformation:
        """The optimizer followed by :func:`prune_updates` (when there is a mask)."""
        if self.mask is None:
            return self.optimizer
        return optax.chain(self.optimizer, prune_updates(self.mask))

    def init(self, key: jax.Array, params: PyTree) -> TrainState:
        """State before the first update: masked parameters, fresh optimizer state."""
        params = apply_mask(params, self.mask)
        return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                          opt_state=self.transform.init(params), key=key)

    def step(self, state: TrainState, data: Any) -> TrainState:
        """One update on ``data`` (full batch) or on a minibatch drawn from it."""
        key = state.key
        if self.minibatch is None:
            batch = data
        else:
            key, sub = jax.random.split(key)
            batch = self.minibatch(sub, data)
        grads = jax.grad(self.loss)(state.params, batch)
        updates, opt_state = self.transform.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(step=state.step + 1, params=params, opt_state=opt_state, key=key)


def train(trainer: Trainer, state: TrainState, data: Any, record_steps,
          metrics: Callable[[TrainState], dict] | None = None) -> tuple[TrainState, dict]:
    """Run ``trainer.step`` and record ``metrics(state)`` after chosen numbers of updates.

    Args:
      trainer: the :class:`Trainer`.
      state: the initial state (``trainer.init(key, params)``).
      data: the data passed to every step (the full batch, or what ``minibatch`` draws from).
      record_steps: a Python ``int`` ``T`` -- ``T`` steps in one ``lax.scan`` of static
        length, metrics recorded once at the end -- or a 1-d integer array of nondecreasing
        numbers of updates ``t_1 <= ... <= t_R`` (``0`` records the initial state), which may
        be traced: a ``lax.scan`` over the records advances from ``t_{k-1}`` to ``t_k`` with a
        ``fori_loop``, so schedules of the same length share one compilation.
      metrics: ``metrics(state) -> dict`` of arrays; ``None`` records nothing.

    Returns:
      ``(final_state, records)``: ``records[name]`` has a leading axis of length ``R`` (1 for
      an ``int`` ``record_steps``).
    """
    measure = (lambda s: {}) if metrics is None else metrics

    if isinstance(record_steps, (int, np.integer)):
        def body(s, _):
            return trainer.step(s, data), None

        state, _ = jax.lax.scan(body, state, None, length=int(record_steps))
        return state, jax.tree.map(lambda v: jnp.asarray(v)[None], measure(state))

    stops = jnp.asarray(record_steps)

    def segment(carry, stop):
        s, start = carry
        s = jax.lax.fori_loop(start, stop, lambda _, s_: trainer.step(s_, data), s)
        return (s, stop), measure(s)

    (state, _), records = jax.lax.scan(segment, (state, jnp.zeros((), stops.dtype)), stops)
    return state, records


# ----------------------------------------------------------------------------- validation
def check_record_steps(steps: int, record_steps) -> np.ndarray:
    """Recorded steps: increasing integers in ``[0, steps]`` ending at ``steps`` (appended
    when missing); ``None`` gives 11 evenly spaced steps."""
    steps = int(check_int_range("steps", steps, 1))
    if record_steps is None:
        return np.unique(np.round(np.linspace(0, steps, 11)).astype(np.int64))
    r = check_int_range("record_steps", record_steps, 0, steps).ravel()
    if r.size == 0 or np.any(np.diff(r) <= 0):
        raise InputError("record_steps: not strictly increasing; allowed: increasing "
                         f"integers in [0, {steps}]")
    return r if r[-1] == steps else np.append(r, steps)


_TRAIN_DTYPES = (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64))


def check_train_dtype(dtype, where: str) -> jnp.dtype:
    """A JAX floating dtype for training arithmetic: ``jnp.float32`` or ``jnp.float64`` (the
    latter needs JAX's 64-bit mode).  Strings are refused: dtypes are JAX dtypes in the
    Python API (a command line converts its strings first)."""
    if isinstance(dtype, str):
        raise InputError(f"dtype: got the string {dtype!r}; allowed: a JAX dtype, jnp.float32 "
                         "or jnp.float64")
    try:
        dt = jnp.dtype(dtype)
    except TypeError:
        raise InputError(f"dtype: got {dtype!r}; allowed: jnp.float32 or jnp.float64") from None
    if dt not in _TRAIN_DTYPES:
        raise InputError(f"dtype: got {dt.name}; allowed: jnp.float32 or jnp.float64")
    if dt == jnp.dtype(jnp.float64):
        require_x64(f"{where}(dtype=jnp.float64)")
    return dt
