"""Signal-noise patch data and the randomly pruned two-layer network.

Mathematics: ``docs/pruning_at_init.md``.  Setting of Cao, Chen, Belkin, Gu,
"Benign Overfitting in Two-layer Convolutional Neural Networks", NeurIPS 2022, used with
random pruning at initialization by Yang, Liang, Guo, Wu, Wang, "Theoretical
Characterization of How Neural Network Pruning Affects its Generalization", ICLR 2023,
arXiv:2301.00335.

Data.  ``y`` uniform on ``{-1, +1}``; ``x = (x_1, x_2)`` has two patches in ``R^d``: the
signal ``y mu`` and the noise ``xi ~ N(0, sigma_p^2 (I - mu mu^T / ||mu||^2))``.  The signal
is 1-sparse by default (``mu = ||mu|| e_1``); ``signal="dense"`` spreads it evenly,
``mu = ||mu|| (1, ..., 1) / sqrt(d)`` (the control where pruning cannot help).  The signal
sits in patch 0; since the filters are shared across patches and their outputs summed,
the patch order does not matter.

Network.  ``f(W, x) = F_{+1}(x) - F_{-1}(x)`` with
``F_j(x) = (1/m) sum_{r<=m} sum_{k=1,2} act(<w_{j,r} * M_{j,r}, x_k>)`` and
``act(z) = max(0, z)^q``; the second layer is fixed.  Weights are stored as ``W[j, r, :]``
with class index ``j = 0`` for ``+1`` and ``j = 1`` for ``-1``.

Masks.  One uniform ``U`` per first-layer weight, kept when ``U >= p``: a weight kept at
pruning fraction ``p`` is kept at every smaller fraction, so masks are nested across ``p``.
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

SIGNALS = ("sparse", "dense")


def check_pruning_fraction(name: str, p) -> np.ndarray:
    """Pruning fractions must lie in ``[0, 1)`` (``p = 1`` removes every weight)."""
    arr = as_finite_array(name, p)
    bad = (arr < 0) | (arr >= 1)
    if np.any(bad):
        raise InputError(f"{name}: got {float(arr.ravel()[np.flatnonzero(bad.ravel())[0]])!r}; "
                         "allowed: pruning fractions in [0, 1)")
    return arr


def check_power(name: str, q) -> float:
    """The activation power ``q`` of ``max(0, z)^q`` must be a finite real ``>= 1``."""
    arr = as_finite_array(name, q)
    if arr.ndim != 0 or not arr >= 1:
        raise InputError(f"{name}: got {q!r}; allowed: a single real number >= 1")
    return float(arr)


@struct.dataclass
class PatchTask:
    """The signal-noise patch problem and the two-layer network that learns it.

    Attributes:
      mu_norm: signal strength ``||mu|| > 0``.
      sigma_p: noise standard deviation per coordinate ``sigma_p > 0``.
      sigma_0: initialization scale of the first layer ``w ~ N(0, sigma_0^2 I)``.
      n: number of training samples (static).
      d: patch dimension (static).
      m: neurons per class (static).
      q: activation power, ``act(z) = max(0, z)^q`` (static; 3 default, 1 is ReLU).
      signal: ``"sparse"`` (``mu = ||mu|| e_1``) or ``"dense"`` (static).

    Example:
      >>> task = PatchTask.create(n=20, d=1000, m=10, mu_norm=12.0)   # small configuration
      >>> task.mu.shape
      (1000,)
    """

    mu_norm: jax.Array
    sigma_p: jax.Array
    sigma_0: jax.Array
    n: int = struct.field(pytree_node=False)
    d: int = struct.field(pytree_node=False)
    m: int = struct.field(pytree_node=False)
    q: float = struct.field(pytree_node=False, default=3.0)
    signal: str = struct.field(pytree_node=False, default="sparse")

    @classmethod
    def create(cls, *, n: int, d: int, m: int, mu_norm: float, q: float = 3.0,
               sigma_p: float = 1.0, sigma_0: float = 0.01,
               signal: str = "sparse") -> "PatchTask":
        """Validated constructor (defaults: the reference simulation of ``docs/pruning_at_init.md``: ``q=3, sigma_p=1, sigma_0=0.01``)."""
        check_int_range("n", n, 1)
        check_int_range("d", d, 2)
        check_int_range("m", m, 1)
        check_positive("mu_norm", mu_norm)
        check_positive("sigma_p", sigma_p)
        check_positive("sigma_0", sigma_0)
        q = check_power("q", q)
        check_choice("signal", signal, SIGNALS)
        f64 = lambda v: jnp.asarray(float(v), jnp.float64)  # strong float64: one jit trace
        return cls(mu_norm=f64(mu_norm), sigma_p=f64(sigma_p), sigma_0=f64(sigma_0),
                   n=int(n), d=int(d), m=int(m), q=q, signal=signal)

    def with_mu_norm(self, mu_norm: float) -> "PatchTask":
        """The same task with another signal strength (validated; shares compiled sims)."""
        check_positive("mu_norm", mu_norm)
        return self.replace(mu_norm=jnp.asarray(float(mu_norm), jnp.float64))

    @property
    def direction(self) -> jax.Array:
        """Unit vector ``mu / ||mu||`` (float64)."""
        if self.signal == "sparse":
            return jnp.zeros(self.d).at[0].set(1.0)
        return jnp.full(self.d, 1.0 / np.sqrt(self.d))

    @property
    def mu(self) -> jax.Array:
        return self.mu_norm * self.direction

    def describe(self) -> dict:
        return {"n": self.n, "d": self.d, "m": self.m, "q": self.q, "signal": self.signal,
                "mu_norm": float(self.mu_norm), "sigma_p": float(self.sigma_p),
                "sigma_0": float(self.sigma_0)}


def sample_patch_data(task: PatchTask, key: jax.Array, n: int, dtype=jnp.float64):
    """Draw ``n`` labelled examples: ``y`` in ``{-1,+1}`` and ``x`` of shape ``(n, 2, d)``.

    ``x[:, 0] = y mu`` and ``x[:, 1] = xi`` with ``xi = sigma_p (g - <g, u> u)``,
    ``g ~ N(0, I_d)``, ``u = mu / ||mu||``, so ``xi ~ N(0, sigma_p^2 (I - u u^T))``.
    Pure and jit-friendly (``n`` fixes a shape: pass it as a Python int).
    """
    ky, kx = jax.random.split(key)
    y = jnp.where(jax.random.bernoulli(ky, 0.5, (n,)), 1.0, -1.0).astype(dtype)
    u = task.direction.astype(dtype)
    g = jax.random.normal(kx, (n, task.d), dtype)
    xi = task.sigma_p.astype(dtype) * (g - jnp.outer(g @ u, u))
    signal = y[:, None] * (task.mu_norm.astype(dtype) * u)[None, :]
    return jnp.stack([signal, xi], axis=1), y


def mask_uniforms(key: jax.Array, task: PatchTask, dtype=jnp.float32) -> jax.Array:
    """One uniform per first-layer weight, shape ``(2, m, d)``: the common random numbers
    from which :func:`masks_from_uniforms` builds nested masks."""
    return jax.random.uniform(key, (2, task.m, task.d), dtype)


def masks_from_uniforms(u: jax.Array, p) -> jax.Array:
    """Keep a weight when ``U >= p``; ``p`` of any shape gives masks ``p.shape + U.shape``
    (0/1 in ``U``'s dtype).  Traceable: ``p`` is not validated here."""
    p = jnp.asarray(p, u.dtype)
    return (u >= p[(...,) + (None,) * u.ndim]).astype(u.dtype)


def nested_masks(key: jax.Array, shape, p) -> jax.Array:
    """Random pruning masks for every fraction in ``p``, nested across ``p``.

    Each weight gets one ``U ~ Uniform[0, 1)`` and is kept at fraction ``p`` iff ``U >= p``,
    so it is kept with probability ``1 - p`` and ``mask(p') <= mask(p)`` for ``p' >= p``.
    Returns a float array of shape ``np.shape(p) + shape`` (1 = kept).
    """
    p = check_pruning_fraction("p", p)
    shape = tuple(int(s) for s in check_int_range("shape", np.asarray(shape), 1).ravel())
    return masks_from_uniforms(jax.random.uniform(key, shape, jnp.float64), p)


def _wide_float():
    """The widest float JAX has now: float64 under the 64-bit mode, else float32."""
    return jax.dtypes.canonicalize_dtype(jnp.float64)


def patch_init(sigma_0):
    """Initializer ``W ~ N(0, sigma_0^2)``; drawn in the widest float, then cast, so float32
    and float64 networks built from one key share every random number."""

    def init(key, shape, dtype=jnp.float32):
        wide = _wide_float()
        return (jnp.asarray(sigma_0, wide) * jax.random.normal(key, shape, wide)).astype(dtype)

    return init


def activation(z: jax.Array, q: float) -> jax.Array:
    """``max(0, z)^q`` (``q`` a static Python number; integer powers use ``integer_pow``)."""
    r = jnp.maximum(z, 0)
    return r ** int(q) if float(q).is_integer() else r ** q


class PatchNet(nn.Module):
    """The two-layer patch network, trained by ``sims.pruning_at_init`` (Flax linen).

    ``f(W, x) = F_{+1}(x) - F_{-1}(x)``,
    ``F_j(x) = (1/m) sum_r sum_k max(0, <W[j,r] * M[j,r], x_k>)^q``, with the single
    parameter ``W`` of shape ``(2, m, d)`` (class ``j = 0`` is ``+1``), initialized
    ``N(0, sigma_0^2)`` (:func:`patch_init`); the second layer is fixed.  ``x`` has shape
    ``(..., 2, d)``; the output has shape ``(...)``.  Linen (not NNX) because its parameters
    are a plain pytree that ``optax``, ``lax.scan`` and ``vmap`` handle directly (see
    ``sims._training``).

    Training keeps the pruned weights of ``W`` at exactly zero (``sims._training``), so the
    optional ``mask`` (``W * mask``) is only needed to evaluate unmasked weights.

    Attributes:
      m: neurons per class.
      q: activation power (static).
      sigma_0: initialization scale (may be a traced scalar).
      param_dtype: dtype of ``W`` and of the arithmetic (JAX dtype; ``jnp.float32`` default).

    Example:
      >>> net = patch_net(PatchTask.create(n=20, d=1000, m=10, mu_norm=12.0))
      >>> params = net.init(jax.random.key(0), jnp.zeros((2, 1000)))["params"]   # {"W": ...}
    """

    m: int
    q: float = 3.0
    sigma_0: Any = 0.01
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
        d = x.shape[-1]
        w = self.param("W", patch_init(self.sigma_0), (2, self.m, d), self.param_dtype)
        if mask is not None:
            w = w * mask
        z = jnp.einsum("...kd,jrd->...jrk", x.astype(w.dtype), w, precision=MATMUL_PRECISION)
        out = activation(z, self.q).sum(axis=-1).mean(axis=-1)  # (..., 2)
        return out[..., 0] - out[..., 1]


def patch_net(task: PatchTask, param_dtype=jnp.float32) -> PatchNet:
    """The :class:`PatchNet` of ``task`` (``m``, ``q``, ``sigma_0``) with ``param_dtype``."""
    return PatchNet(m=task.m, q=task.q, sigma_0=task.sigma_0, param_dtype=param_dtype)


def init_patch_params(task: PatchTask, key: jax.Array, dtype=jnp.float64) -> jax.Array:
    """First-layer weights ``W[j, r, :] ~ N(0, sigma_0^2 I_d)``, shape ``(2, m, d)``: the
    initializer of :class:`PatchNet` applied to ``key`` itself.  (``PatchNet.init`` draws
    from the same law with linen's per-parameter key derived from ``key``; the simulation
    uses this function so that its random numbers do not depend on linen's key derivation.)"""
    return patch_init(task.sigma_0)(key, (2, task.m, task.d), dtype)


def patch_net_apply(params: jax.Array, mask: jax.Array, x: jax.Array, q: float) -> jax.Array:
    """``PatchNet.apply`` for a bare weight array ``W`` of shape ``(2, m, d)``: the output
    ``f(W * M, x)`` for ``x`` of shape ``(..., 2, d)``, shape ``(...)``."""
    net = PatchNet(m=params.shape[1], q=q, param_dtype=params.dtype)
    return net.apply({"params": {"W": params}}, x, mask)


def signal_connected(mask: jax.Array, direction: jax.Array) -> jax.Array:
    """Neurons per class whose kept weights see the signal: ``#{r : ||M[j,r] * mu|| > 0}``.

    For the 1-sparse signal this counts the neurons that keep coordinate 1; each does so with
    probability ``1 - p``, hence ``Binomial(m, 1 - p)`` per class.  Shape ``mask.shape[:-2]``.
    """
    seen = jnp.abs(mask * direction.astype(mask.dtype)).sum(axis=-1) > 0
    return seen.sum(axis=-1)
