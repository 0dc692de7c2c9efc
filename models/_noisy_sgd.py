"""One-hidden-layer networks, the synthetic teacher task and noise-injected SGD settings.

Theory note ``shared/theory/heavy_tailed_sgd.md`` ("Algorithm", "Reference synthetic
experiment"); Wan, Barsbey, Zaidi, Simsekli, arXiv:2306.08125 (ICML 2024), sections 3-4.

Network with ``n`` hidden units, hidden weights ``Theta`` stored as an ``(n, d)`` array whose
row ``i`` is the weight vector ``theta_i`` of unit ``i`` (the note's "column" ``i``):

* ``form="relu"``: ``f(x) = sum_i b_i relu(<theta_i, x>)``, bias-free, both layers trained
  (the note's experiments); init (``init=``) PyTorch's default ``U(-1/sqrt(fan_in),
  1/sqrt(fan_in))`` entries (default) or Gaussian ``N(0, I_d/d)``, ``N(0, 1/n)``.
* ``form="mean-field"``: ``f(x) = (1/n) sum_i b_i act(<theta_i, x>)`` with ``b_i = +-1`` fixed
  (the note's theory); only ``Theta`` is trained, on the mean-field time scale (the gradient
  of ``theta_i`` is multiplied by ``n``, so a step moves each particle by ``O(eta)`` and the
  dynamics has the McKean-Vlasov limit).

Noise-injected SGD: after every SGD step of size ``eta`` on the logistic loss
``log(1 + exp(-y f(x)))``, ``Theta <- Theta + sigma eta^(1/alpha) N`` with ``N`` unit-scale
alpha-stable of one of three types (``NOISE_TYPES``); the output layer gets no noise.
This module only describes the problem; ``sims.heavy_tailed`` runs it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ._config import MATMUL_PRECISION
from ._errors import InputError, as_finite_array, check_choice, check_int_range, check_positive

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
    """Binary task of the note: ``x ~ N(0, I_d)``, teacher ``g(x) = sum_j s_j relu(<w_j, x>)``
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
               seed: int = 0) -> "TeacherTask":
        """Teacher directions uniform on the sphere, drawn from ``seed`` (validated)."""
        d = int(check_int_range("d", d, 1))
        units = int(check_int_range("units", units, 1))
        n_train = int(check_int_range("n_train", n_train, 2))
        n_test = int(check_int_range("n_test", n_test, 1))
        seed = int(check_int_range("seed", seed, 0))
        w = np.array(jax.random.normal(jax.random.key(seed), (units, d), jnp.float64))
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


@struct.dataclass
class OneHiddenLayerNet:
    """A bias-free one-hidden-layer network; see the module docstring for the two forms.

    Parameters are a dict ``{"hidden": (n, d), "output": (n,)}``.
    """

    width: int = struct.field(pytree_node=False)
    input_dim: int = struct.field(pytree_node=False)
    form: str = struct.field(pytree_node=False, default="relu")
    activation: str = struct.field(pytree_node=False, default="relu")
    init_law: str = struct.field(pytree_node=False, default="uniform")

    @classmethod
    def create(cls, *, width: int, input_dim: int, form: str = "relu",
               activation: str = "relu", init: str = "uniform") -> "OneHiddenLayerNet":
        return cls(width=int(check_int_range("width", width, 1)),
                   input_dim=int(check_int_range("input_dim", input_dim, 1)),
                   form=check_choice("form", form, FORMS),
                   activation=check_choice("activation", activation, ACTIVATIONS),
                   init_law=check_choice("init", init, INITS))

    @property
    def trains_output(self) -> bool:
        return self.form == "relu"

    @property
    def hidden_grad_scale(self) -> float:
        """``n`` for the mean-field time scale, 1 otherwise."""
        return float(self.width) if self.form == "mean-field" else 1.0

    def init(self, key: jax.Array, dtype=jnp.float32) -> dict:
        kh, ko = jax.random.split(key)
        shape, d, n = (self.width, self.input_dim), self.input_dim, self.width
        if self.init_law == "uniform":
            hidden = jax.random.uniform(kh, shape, dtype, -1.0, 1.0) / np.sqrt(d)
        else:
            hidden = jax.random.normal(kh, shape, dtype) / np.sqrt(d)
        if self.form == "relu":
            out = (jax.random.uniform(ko, (n,), dtype, -1.0, 1.0) if self.init_law == "uniform"
                   else jax.random.normal(ko, (n,), dtype)) / np.sqrt(n)
        else:
            out = jax.random.rademacher(ko, (self.width,), dtype)
        return {"hidden": hidden, "output": out}

    def apply(self, params: dict, x: jax.Array, unit_mask: jax.Array | None = None) -> jax.Array:
        """Logits ``f(x)`` for a batch ``x`` of shape ``(B, d)``; ``unit_mask`` (``(n,)``, 0/1)
        removes pruned units."""
        act = jax.nn.relu if self.activation == "relu" else jnp.tanh
        h = act(jnp.einsum("bd,nd->bn", x, params["hidden"], precision=MATMUL_PRECISION))
        b = params["output"] if unit_mask is None else params["output"] * unit_mask
        f = jnp.einsum("bn,n->b", h, b, precision=MATMUL_PRECISION)
        return f / self.width if self.form == "mean-field" else f


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
    net: OneHiddenLayerNet
    steps: int = struct.field(pytree_node=False)
    batch: int = struct.field(pytree_node=False)
    eta: float = struct.field(pytree_node=False)
    noise_type: str = struct.field(pytree_node=False, default="rotation")

    @classmethod
    def create(cls, *, width: int = 2000, d: int = 10, n_train: int = 1000, n_test: int = 4000,
               steps: int = 5000, batch: int = 100, eta: float = 0.01,
               noise_type: str = "rotation", form: str = "relu", activation: str = "relu",
               init: str = "uniform", teacher_units: int = 4,
               teacher_seed: int = 0) -> "NoisySGDTask":
        """Validated constructor; defaults are the note's reference experiment."""
        task = TeacherTask.create(d=d, units=teacher_units, n_train=n_train, n_test=n_test,
                                  seed=teacher_seed)
        net = OneHiddenLayerNet.create(width=width, input_dim=d, form=form, activation=activation,
                                       init=init)
        steps = int(check_int_range("steps", steps, 1))
        batch = int(check_int_range("batch", batch, 1, n_train))
        eta = float(check_positive("eta", eta))
        return cls(task=task, net=net, steps=steps, batch=batch, eta=eta,
                   noise_type=check_choice("noise_type", noise_type, NOISE_TYPES))

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
