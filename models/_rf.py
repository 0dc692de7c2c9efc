"""The random-features regression task.

Mathematics: ``docs/random_features.md`` ("Model").  Inputs ``x ~ N(0, I_d)``, labels
``y = x.theta + sigma eps``; features ``phi_i(x) = act(w_i.x)`` from fixed first-layer weights
``W`` (``P x d``; a model of width ``p`` uses the first ``p`` rows), centred by default
(``act(w_i.x) - E act(w_i.x)``); the second layer ``a`` is fitted by min-norm / OLS / ridge
least squares on ``n`` samples, with the objective ``(1/n)||y - Phi a||^2 + ridge ||a||^2``.
The risk of any second layer is the total test risk ``E (y - a.phi(x))^2``, noise included.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ._activations import ACTIVATIONS, activation_fn
from ._config import require_x64
from ._errors import InputError, as_finite_array, check_choice, check_int_range, check_positive
from ._keys import check_key

#: laws of the first-layer rows: uniform on the unit sphere, or N(0, I_d / d)
WEIGHT_LAWS = ("sphere", "gaussian")


@struct.dataclass
class RFTask:
    """A random-features regression problem (float64 leaves; needs JAX's 64-bit mode).

    Attributes:
      weights: ``(P, d)`` first-layer weights; width ``p`` uses the first ``p`` rows.
      teacher: ``(d,)`` teacher ``theta``.
      noise: label-noise standard deviation ``sigma >= 0``.
      ridge: penalty of ``(1/n)||y - Phi a||^2 + ridge ||a||^2``.
      n: training samples (static).
      activation: a name of ``models.ACTIVATIONS`` or a JAX-traceable callable (static).
      centred: features ``act(w.x) - E act(w.x)`` (default) or uncentred (static).
      name: a short description (static).

    Example:
      >>> task = models.RFTask.draw(jax.random.key(0), d=50, pool=800, n=100, noise=0.5)
      >>> task.pool_size, task.d
      (800, 50)
    """

    weights: jax.Array
    teacher: jax.Array
    noise: jax.Array
    ridge: jax.Array
    n: int = struct.field(pytree_node=False)
    activation: object = struct.field(pytree_node=False, default="relu")
    centred: bool = struct.field(pytree_node=False, default=True)
    name: str = struct.field(pytree_node=False, default="random features")

    @classmethod
    def create(cls, weights, teacher, *, noise: float, n: int, activation="relu",
               centred: bool = True, ridge: float = 0.0, name: str | None = None) -> "RFTask":
        """Validated constructor from arrays: finite, no zero row, ``teacher`` of length ``d``."""
        w = as_finite_array("weights", weights, ndim=2)
        if w.shape[0] == 0 or w.shape[1] == 0:
            raise InputError(f"weights: has shape {w.shape}; allowed: (P, d) with P >= 1, d >= 1")
        norms = np.linalg.norm(w, axis=1)
        if np.any(norms == 0):
            raise InputError(f"weights: row {int(np.flatnonzero(norms == 0)[0])} is zero; "
                             "allowed: rows with a positive norm")
        theta = as_finite_array("teacher", teacher, ndim=1)
        if theta.shape[0] != w.shape[1]:
            raise InputError(f"teacher: has {theta.shape[0]} entries but the weights have d = "
                             f"{w.shape[1]} columns; allowed: a teacher of length d")
        check_positive("noise", noise, strict=False)
        check_int_range("n", n, 1)
        check_positive("ridge", ridge, strict=False)
        activation_fn(activation)
        require_x64("RFTask")
        label = activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")
        return cls(weights=jnp.asarray(w), teacher=jnp.asarray(theta),
                   noise=jnp.asarray(float(noise)), ridge=jnp.asarray(float(ridge)), n=int(n),
                   activation=activation, centred=bool(centred),
                   name=name or f"random features ({label}, {'centred' if centred else 'uncentred'})")

    @classmethod
    def draw(cls, key: jax.Array, *, d: int, pool: int, n: int, noise: float,
             activation="relu", law: str = "sphere", centred: bool = True,
             ridge: float = 0.0) -> "RFTask":
        """Draw ``W`` (``pool x d``: rows uniform on the unit sphere, or ``N(0, I_d / d)``) and a
        normalised Gaussian teacher (``||theta|| = 1``) from ``key``."""
        check_key("key", key)
        d = int(check_int_range("d", d, 1))
        pool = int(check_int_range("pool", pool, 1))
        check_choice("law", law, WEIGHT_LAWS)
        require_x64("RFTask.draw")
        kw, kt = jax.random.split(key)
        w = np.array(jax.random.normal(kw, (pool, d), jnp.float64))
        w = w / np.linalg.norm(w, axis=1, keepdims=True) if law == "sphere" else w / np.sqrt(d)
        theta = np.array(jax.random.normal(kt, (d,), jnp.float64))
        theta /= np.linalg.norm(theta)
        return cls.create(w, theta, noise=noise, n=n, activation=activation, centred=centred,
                          ridge=ridge)

    @property
    def pool_size(self) -> int:
        return int(self.weights.shape[0])

    @property
    def d(self) -> int:
        return int(self.weights.shape[1])

    @property
    def label_second_moment(self) -> float:
        """``E y^2 = ||theta||^2 + sigma^2`` (host side)."""
        return float(np.sum(np.asarray(self.teacher) ** 2) + float(self.noise) ** 2)

    def act(self, z):
        """The activation applied elementwise (uncentred)."""
        return activation_fn(self.activation)(z)

    def grid_axes(self, p=None, n=None, ridge=None):
        """Validated ``(p, n, ridge)`` grid axes (NumPy, not broadcast) with the task's defaults
        (the whole pool, ``self.n``, ``self.ridge``)."""
        p = self.pool_size if p is None else p
        n = self.n if n is None else n
        ridge = float(self.ridge) if ridge is None else ridge
        return (check_int_range("p", p, 1, self.pool_size), check_int_range("n", n, 1),
                check_positive("ridge", ridge, strict=False))

    def describe(self) -> dict:
        """JSON-friendly summary (for sidecars)."""
        norms = np.linalg.norm(np.asarray(self.weights), axis=1)
        act = self.activation if isinstance(self.activation, str) else "custom"
        return {"model": "rf", "name": self.name, "pool": self.pool_size, "d": self.d,
                "n": self.n, "noise": float(self.noise), "ridge": float(self.ridge),
                "activation": act, "centred": self.centred,
                "teacher_norm": float(np.linalg.norm(np.asarray(self.teacher))),
                "row_norm_range": [float(norms.min()), float(norms.max())]}


__all__ = ["RFTask", "WEIGHT_LAWS", "ACTIVATIONS"]
