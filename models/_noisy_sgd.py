"""One-hidden-layer networks, the synthetic teacher task and noise-injected SGD settings.

Mathematics: ``docs/heavy_tailed_sgd.md`` ("Algorithm", "Reference synthetic
experiment"); Wan, Barsbey, Zaidi, Simsekli, arXiv:2306.08125 (ICML 2024), sections 3-4.

Network with ``n`` hidden units, hidden weights ``Theta`` stored as an ``(n, d)`` array whose
row ``i`` is the weight vector ``theta_i`` of unit ``i`` (the paper's \"column\" ``i``):

* ``form="relu"``: ``f(x) = sum_i b_i relu(<theta_i, x>)``, bias-free, both layers trained
  (the experiments of docs/heavy_tailed_sgd.md); init (``init=``) PyTorch's default ``U(-1/sqrt(fan_in),
  1/sqrt(fan_in))`` entries (default) or Gaussian ``N(0, I_d/d)``, ``N(0, 1/n)``.
* ``form="mean-field"``: ``f(x) = (1/n) sum_i b_i act(<theta_i, x>)`` with ``b_i = +-1`` fixed
  (the theory of docs/heavy_tailed_sgd.md, \"Algorithm\"); only ``Theta`` is trained, on the mean-field time scale (the gradient
  of ``theta_i`` is multiplied by ``n``, so a step moves each particle by ``O(eta)`` and the
  dynamics has the McKean-Vlasov limit).

Noise-injected SGD: after every SGD step of size ``eta`` on the logistic loss
``log(1 + exp(-y f(x)))``, ``Theta <- Theta + sigma eta^(1/alpha) N`` with ``N`` unit-scale
alpha-stable of one of three types (``NOISE_TYPES``); the output layer gets no noise.
The network is a Flax linen module (parameters ``{"hidden": (n, d), "output": (n,)}``, a
plain pytree that ``optax`` updates; see ``sims._training`` for why linen).  The mean-field
time scale and the fixed output layer are not part of the module: they are Optax
transformations of the training (``sims.heavy_tailed.noisy_sgd``).  This module only
describes the problem; ``sims.heavy_tailed`` runs it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from flax import struct

from ._config import MATMUL_PRECISION
from ._errors import InputError, as_finite_array, check_choice, check_int_range, check_positive
from ._keys import check_key

#: ``scalar``: one alpha-stable scalar per unit broadcast over its ``d`` weights;
#: ``iid``: i.i.d. entries; ``rotation``: a rotation-invariant vector per unit.
NOISE_TYPES = ("scalar", "iid", "rotation")
FORMS = ("relu", "mean-field")
#: ``uniform``: PyTorch's default for linear layers, entries ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``;
#: ``gaussian``: ``theta_i ~ N(0, I_d/d)`` and (relu form) ``b_i ~ N(0, 1/n)``.
INITS = ("uniform", "gaussian")
ACTIVATIONS = ("relu", "tanh")


@struct.dataclass
class TeacherTask:
    """Binary teacher task of ``docs/heavy_tailed_sgd.md``: ``x ~ N(0, I_d)``, teacher ``g(x) = sum_j s_j relu(<w_j, x>)``
    with unit-norm ``w_j`` and signs ``s = (+, -, +, -, ...)``; label ``y = +1`` if ``g(x)`` is
    above the median of ``g`` over the training inputs, else ``-1``.

    Attributes:
      directions: ``(units, d)`` unit-norm teacher weights.
      signs: ``(units,)`` output signs.
      d, n_train, n_test: sizes (static).
    """

    directions: jax.Array
    signs: jax.Array
    d: int = struct.field(pytree_node=False)
    n_train: int = struct.field(pytree_node=False)
    n_test: int = struct.field(pytree_node=False)

    @classmethod
    def create(cls, *, d: int = 10, units: int = 4, n_train: int = 1000, n_test: int = 4000,
               key: jax.Array | None = None) -> "TeacherTask":
        """Teacher directions uniform on the sphere, drawn from the PRNG ``key`` (validated;
        ``None`` is ``jax.random.key(0)``, the reference teacher).  The directions are drawn
        in float32 and normalized in float64 on the host, so the teacher does not depend on
        JAX's 64-bit mode."""
        d = int(check_int_range("d", d, 1))
        units = int(check_int_range("units", units, 1))
        n_train = int(check_int_range("n_train", n_train, 2))
        n_test = int(check_int_range("n_test", n_test, 1))
        key = jax.random.key(0) if key is None else check_key("key", key)
        w = np.array(jax.random.normal(key, (units, d), jnp.float32), np.float64)
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        signs = np.where(np.arange(units) % 2 == 0, 1.0, -1.0)
        return cls(directions=jnp.asarray(w), signs=jnp.asarray(signs), d=d,
                   n_train=n_train, n_test=n_test)

    def teacher_output(self, x: jax.Array) -> jax.Array:
        w = self.directions.astype(x.dtype)
        return jax.nn.relu(jnp.einsum("bd,ud->bu", x, w, precision=MATMUL_PRECISION)) @ \
            self.signs.astype(x.dtype)

    def sample(self, key: jax.Array, dtype=jnp.float32):
        """``(x_train, y_train, x_test, y_test)``, labels in ``{-1, +1}`` (pure, vmappable)."""
        k1, k2 = jax.random.split(key)
        x_tr = jax.random.normal(k1, (self.n_train, self.d), dtype)
        x_te = jax.random.normal(k2, (self.n_test, self.d), dtype)
        g_tr, g_te = self.teacher_output(x_tr), self.teacher_output(x_te)
        thr = jnp.median(g_tr)
        lab = lambda g: jnp.where(g > thr, 1.0, -1.0).astype(dtype)  # noqa: E731
        return x_tr, lab(g_tr), x_te, lab(g_te)


def _scaled(law: str, fan: int):
    """Initializer: ``law`` ``"uniform"`` (``U(-1, 1) / sqrt(fan)``, PyTorch's default for a
    linear layer of fan-in ``fan``), ``"gaussian"`` (``N(0, 1) / sqrt(fan)``) or
    ``"rademacher"`` (``+-1``)."""

    def init(key, shape, dtype=jnp.float32):
        if law == "uniform":
            return jax.random.uniform(key, shape, dtype, -1.0, 1.0) / np.sqrt(fan).astype(dtype)
        if law == "gaussian":
            return jax.random.normal(key, shape, dtype) / np.sqrt(fan).astype(dtype)
        return jax.random.rademacher(key, shape, dtype)

    return init


class OneHiddenLayerNet(nn.Module):
    """A bias-free one-hidden-layer network (Flax linen); see the module docstring.

    Parameters ``{"hidden": (n, d), "output": (n,)}`` (row ``i`` of ``hidden`` is unit
    ``i``'s weight vector ``theta_i``), of dtype ``param_dtype``:

    * ``form="relu"``: ``f(x) = sum_i b_i act(<theta_i, x>)``; ``init_law="uniform"``:
      ``theta_i`` entries ``U(-1/sqrt(d), 1/sqrt(d))``, ``b_i ~ U(-1/sqrt(n), 1/sqrt(n))``
      (PyTorch's default); ``"gaussian"``: ``N(0, 1/d)`` and ``N(0, 1/n)``.
    * ``form="mean-field"``: ``f(x) = (1/n) sum_i b_i act(<theta_i, x>)`` with ``b_i = +-1``
      (Rademacher); the ``b_i`` stay fixed in training (an Optax freeze, not the module).

    ``__call__(x, unit_mask=None)`` gives the logits for ``x`` of shape ``(B, d)``;
    ``unit_mask`` (``(n,)``, 0/1) removes pruned units.  Matmuls use ``MATMUL_PRECISION``.
    Linen (not NNX) because its parameters are a plain pytree (see ``sims._training``).

    Example:
      >>> net = OneHiddenLayerNet.create(width=500)
      >>> params = net.init(jax.random.key(0), jnp.zeros((1, 10)))["params"]
      >>> params["hidden"].shape, params["hidden"].dtype
      ((500, 10), dtype('float32'))
    """

    width: int
    form: str = "relu"
    activation: str = "relu"
    init_law: str = "uniform"
    param_dtype: Any = jnp.float32

    @classmethod
    def create(cls, *, width: int, form: str = "relu", activation: str = "relu",
               init: str = "uniform", param_dtype=jnp.float32) -> "OneHiddenLayerNet":
        """Validated constructor."""
        return cls(width=int(check_int_range("width", width, 1)),
                   form=check_choice("form", form, FORMS),
                   activation=check_choice("activation", activation, ACTIVATIONS),
                   init_law=check_choice("init", init, INITS),
                   param_dtype=jnp.dtype(param_dtype))

    @property
    def trains_output(self) -> bool:
        """The relu form trains both layers; the mean-field form keeps ``b`` fixed."""
        return self.form == "relu"

    @property
    def hidden_grad_scale(self) -> float:
        """``n`` for the mean-field time scale, 1 otherwise."""
        return float(self.width) if self.form == "mean-field" else 1.0

    @nn.compact
    def __call__(self, x: jax.Array, unit_mask: jax.Array | None = None) -> jax.Array:
        n, d = self.width, x.shape[-1]
        hidden = self.param("hidden", _scaled(self.init_law, d), (n, d), self.param_dtype)
        out_law = self.init_law if self.form == "relu" else "rademacher"
        b = self.param("output", _scaled(out_law, n), (n,), self.param_dtype)
        act = jax.nn.relu if self.activation == "relu" else jnp.tanh
        h = act(jnp.einsum("bd,nd->bn", x.astype(hidden.dtype), hidden,
                           precision=MATMUL_PRECISION))
        if unit_mask is not None:
            b = b * unit_mask
        f = jnp.einsum("bn,n->b", h, b, precision=MATMUL_PRECISION)
        return f / n if self.form == "mean-field" else f


@struct.dataclass
class NoisySGDTask:
    """Everything that fixes one noise-injected SGD run except ``(alpha, sigma)`` and the key.

    Attributes:
      task: the teacher task.
      net: the student network.
      steps, batch: SGD steps and minibatch size (static).
      eta: step size (static, it fixes ``eta^(1/alpha)`` only through traced ``alpha``).
      noise_type: one of ``NOISE_TYPES`` (static).
    """

    task: TeacherTask
    net: OneHiddenLayerNet = struct.field(pytree_node=False)
    steps: int = struct.field(pytree_node=False)
    batch: int = struct.field(pytree_node=False)
    eta: float = struct.field(pytree_node=False)
    noise_type: str = struct.field(pytree_node=False, default="rotation")

    @classmethod
    def create(cls, *, width: int = 2000, d: int = 10, n_train: int = 1000, n_test: int = 4000,
               steps: int = 5000, batch: int = 100, eta: float = 0.01,
               noise_type: str = "rotation", form: str = "relu", activation: str = "relu",
               init: str = "uniform", teacher_units: int = 4,
               teacher_key: jax.Array | None = None) -> "NoisySGDTask":
        """Validated constructor; defaults are the reference experiment of ``docs/heavy_tailed_sgd.md``
        (``teacher_key=None`` is ``jax.random.key(0)``, see :meth:`TeacherTask.create`)."""
        # every check before the teacher is drawn (jax.random: compiled)
        n_train = int(check_int_range("n_train", n_train, 2))
        net = OneHiddenLayerNet.create(width=width, form=form, activation=activation, init=init)
        steps = int(check_int_range("steps", steps, 1))
        batch = int(check_int_range("batch", batch, 1, n_train))
        eta = float(check_positive("eta", eta))
        noise_type = check_choice("noise_type", noise_type, NOISE_TYPES)
        task = TeacherTask.create(d=d, units=teacher_units, n_train=n_train, n_test=n_test,
                                  key=teacher_key)
        return cls(task=task, net=net, steps=steps, batch=batch, eta=eta, noise_type=noise_type)

    def init_params(self, key: jax.Array, dtype=jnp.float32) -> dict:
        """Initial parameters ``{"hidden": (n, d), "output": (n,)}`` of the student in
        ``dtype`` (``self.net.init`` on a dummy batch)."""
        net = self.net.clone(param_dtype=jnp.dtype(dtype))
        return net.init(key, jnp.zeros((1, self.task.d), dtype))["params"]

    def describe(self) -> dict:
        return {"width": self.net.width, "d": self.task.d, "n_train": self.task.n_train,
                "n_test": self.task.n_test, "steps": self.steps, "batch": self.batch,
                "eta": self.eta, "noise_type": self.noise_type, "form": self.net.form,
                "activation": self.net.activation, "init": self.net.init_law}


def check_noise_grid(alpha, sigma) -> tuple[np.ndarray, np.ndarray]:
    """Validate an ``(alpha, sigma)`` grid: equal-length 1-d arrays, ``0 < alpha <= 2``,
    ``sigma >= 0``."""
    a = np.atleast_1d(as_finite_array("alpha", alpha))
    s = np.atleast_1d(as_finite_array("sigma", sigma))
    if a.ndim != 1 or s.ndim != 1 or a.shape != s.shape:
        raise InputError(f"sigma: {s.size} values for {a.size} alpha values; allowed: one sigma "
                         "per alpha (paired grid points)")
    bad = (a <= 0) | (a > 2)
    if np.any(bad):
        raise InputError(f"alpha: got {float(a[bad][0])!r}; allowed: 0 < alpha <= 2")
    check_positive("sigma", s, strict=False)
    return a, s
