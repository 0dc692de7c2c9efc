"""Two-layer networks (Flax linen) trained with Optax, their pruning masks and nonzero counts.

Mathematics: ``docs/two_layer_networks.md``.  Network of width ``p`` on inputs ``x`` in ``R^d`` with ``k`` outputs (``k = 1``: regression):

    f(x) = sum_{i<=p} a_i phi_i(x),   phi_i(x) = act(w_i.x) - c_i,

with first-layer rows ``w_i`` (the parameter ``"hidden"``, ``(p, d)``), second layer ``a``
(``"output"``, ``(p, k)``), the activation ``act`` of the random-features task
(``models.ACTIVATIONS`` or a JAX callable) and the centring ``c_i = mu0(|w_i|) =
E act(|w_i| G)``, ``G ~ N(0, 1)`` (``centred=True``; ``c_i = 0`` otherwise).  With the first
layer frozen at the rows of a :class:`models.RFTask` and ``centred = task.centred`` this is
*exactly* the random-features model of ``docs/random_features.md`` ("Model"): the same
``W``, the same ``mu0_i = a_0(r_i)`` (:func:`models.ge_coefficients`, the quadrature of
:func:`models.rf_feature_moments`).  For a trained first layer the centring follows the
current rows (``mu0`` is a smooth function of ``|w_i|``, differentiated through the fixed
quadrature).  No biases: the random-features model has none, and with no biases the
nonzero count of a network is the count of its weights.

Masks are a separate pytree with the structure of the parameters (0/1 arrays,
``sims.Trainer(mask=...)`` keeps masked weights exactly zero).  A network of width ``p``
padded to ``P >= p`` units is the width-``P`` network with :func:`unit_mask` (units
``>= p`` removed from both layers): widths are swept with one array shape.

Pruning to a fixed count (:func:`magnitude_mask`).  A network pruned at keep fraction
``q`` keeps ``K = m (d + k)`` weights, ``m = max(1, round(q p))``: exactly the weight count
of the dense *small* network of width ``m`` it is compared with (:func:`small_width`), so
pruned and small networks have equal nonzero counts (the fraction kept is ``m / p``, within
``1 / (2p)`` of ``q``).  ``scope="layer"`` keeps the ``m d`` largest ``|w|`` of the first
layer and the ``m k`` largest ``|a|`` of the second; ``scope="global"`` the ``K`` largest
magnitudes of both layers together.  With a frozen first layer only the second layer is
pruned (the random-features pruning of ``sims.rf_pruned_risk``), to ``m k`` weights, the
trainable count of the small network.

Reference: the "verified on neural networks" step of Chang, Li, Oymak, Thrampoulidis,
"Provable Benefits of Overparameterization in Model Compression", AAAI 2021
(arXiv:2012.08749), section 5.
"""

from __future__ import annotations

from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from ._activations import activation_fn, ge_coefficients
from ._config import MATMUL_PRECISION
from ._errors import InputError, as_finite_array, check_choice, check_int_range

#: magnitude pruning over each layer separately, or over both layers together
PRUNE_SCOPES = ("layer", "global")
#: second-layer initializations: zeros (the random-features fit from zero) or N(0, 1/p)
OUTPUT_INITS = ("zeros", "normal")


class TwoLayerNet(nn.Module):
    """``f(x) = sum_i a_i (act(w_i.x) - c_i)`` (see the module docstring), Flax linen.

    Attributes:
      width: number of hidden units ``p`` (the padded width when swept).
      out_dim: outputs ``k`` (1 for regression: ``__call__`` then returns shape ``(...)``).
      activation: a name of ``models.ACTIVATIONS`` or a JAX callable (static).
      centred: subtract ``mu0(|w_i|)`` from unit ``i`` (random-features convention).
      param_dtype: dtype of both layers and of the arithmetic (explicit; float32 default).

    Parameters ``{"hidden": (p, d), "output": (p, k)}``; ``init`` draws the first layer
    ``N(0, I_d / d)`` row by row and the second ``N(0, 1/p)`` (:func:`init_params` gives
    the drawn or random-features initializations used by ``sims``).

    Example:
      >>> net = TwoLayerNet(width=8, out_dim=3)
      >>> params = net.init(jax.random.key(0), jnp.zeros((1, 5)))["params"]
      >>> params["hidden"].shape, params["output"].shape, net.apply({"params": params},
      ...     jnp.ones((2, 5))).shape
      ((8, 5), (8, 3), (2, 3))
    """

    width: int
    out_dim: int = 1
    activation: Any = "relu"
    centred: bool = False
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        d = x.shape[-1]
        dt = self.param_dtype
        w = self.param("hidden", lambda k, s, t: jax.random.normal(k, s, t) / np.sqrt(d).astype(t),
                       (self.width, d), dt)
        a = self.param("output", lambda k, s, t: jax.random.normal(k, s, t)
                       / np.sqrt(self.width).astype(t), (self.width, self.out_dim), dt)
        phi = features(w, x.astype(dt), self.activation, self.centred)
        f = jnp.matmul(phi, a, precision=MATMUL_PRECISION)
        return f[..., 0] if self.out_dim == 1 else f


def row_norms(w: jax.Array) -> jax.Array:
    """``|w_i|`` with a zero-safe gradient (removed rows of padded networks have norm 0)."""
    sq = jnp.sum(w * w, axis=-1)
    safe = jnp.where(sq > 0, sq, 1.0)
    return jnp.where(sq > 0, jnp.sqrt(safe), 0.0)


def features(w: jax.Array, x: jax.Array, activation="relu", centred: bool = False) -> jax.Array:
    """``phi_i(x) = act(w_i.x) - c_i`` for ``x`` of shape ``(..., d)``: shape ``(..., p)``;
    ``c_i = mu0(|w_i|)`` (:func:`models.ge_coefficients`) when ``centred``, else 0."""
    z = jnp.matmul(x, w.T, precision=MATMUL_PRECISION)
    phi = activation_fn(activation)(z)
    if centred:
        phi = phi - ge_coefficients(activation, row_norms(w))[0].astype(phi.dtype)
    return phi


def apply_net(params: dict, x: jax.Array, activation="relu", centred: bool = False) -> jax.Array:
    """``TwoLayerNet.apply`` for a bare parameter dict (any width): ``(..., k)``."""
    net = TwoLayerNet(width=params["hidden"].shape[0], out_dim=params["output"].shape[1],
                      activation=activation, centred=centred, param_dtype=params["hidden"].dtype)
    out = net.apply({"params": params}, x)
    return out[..., None] if net.out_dim == 1 else out


def init_params(key: jax.Array, width: int, d: int, out_dim: int, *, active=None,
                pool: int | None = None, weights=None, output_init: str = "normal",
                dtype=jnp.float32) -> dict:
    """Initial parameters of a (padded) network of ``width`` units, ``active`` of them used.

    One draw ``Z ~ N(0, 1)`` of shape ``(pool, d + k)`` from ``key``, ``pool >= width``.
    First layer: the first ``width`` rows of ``weights`` (the random-features ``W``) or of
    ``Z[:, :d] / sqrt(d)`` (rows ``N(0, I_d / d)``); second layer zeros or
    ``Z[:width, d:] / sqrt(active)`` (``N(0, 1/active)``).  Drawing ``pool`` rows and slicing
    makes unit ``i`` the same in every padded width and every small network (common random
    numbers); rows ``>= active`` are removed by :func:`unit_mask`.  ``active`` may be traced
    (default ``width``).
    """
    pool = width if pool is None else max(int(pool), width)
    # one draw for both layers (each random call site costs compile time on CPU)
    z = jax.random.normal(key, (pool, d + out_dim), dtype)
    return init_from_draw(z, width, d, active=active, weights=weights,
                          output_init=output_init)


def init_from_draw(z: jax.Array, width: int, d: int, *, active=None, weights=None,
                   output_init: str = "normal") -> dict:
    """:func:`init_params` from its standard-normal draw ``z`` (``(>= width, d + k)``)."""
    dtype = z.dtype
    out_dim = z.shape[1] - d
    active = width if active is None else active
    z = z[:width]
    if weights is None:
        w = z[:, :d] / jnp.sqrt(jnp.asarray(d, dtype))
    else:
        w = jnp.asarray(weights)[:width].astype(dtype)
    if output_init == "zeros":
        a = jnp.zeros((width, out_dim), dtype)
    else:
        a = z[:, d:] / jnp.sqrt(jnp.asarray(active, dtype))
    return {"hidden": w, "output": a}


def unit_mask(width: int, active, d: int, out_dim: int, dtype=jnp.float32) -> dict:
    """Mask of the first ``active`` of ``width`` units (both layers; ``active`` may be traced)."""
    on = (jnp.arange(width) < active).astype(dtype)
    return {"hidden": jnp.broadcast_to(on[:, None], (width, d)),
            "output": jnp.broadcast_to(on[:, None], (width, out_dim))}


def small_width(width, keep_fraction) -> np.ndarray:
    """``m = max(1, round(q p))``: the width of the small dense network, and the pruned
    network's nonzero count ``m (d + k)`` (host side, NumPy)."""
    return np.maximum(1, np.round(np.asarray(keep_fraction) * np.asarray(width))).astype(np.int64)


def nonzero_count(params_or_mask: dict) -> jax.Array:
    """Number of nonzero weights of a parameter or mask pytree."""
    return sum(jnp.sum(leaf != 0) for leaf in jax.tree.leaves(params_or_mask))


def _top(score: jax.Array, allowed: jax.Array, count) -> jax.Array:
    """0/1 mask of the ``count`` largest ``score`` among ``allowed`` entries (ties by index)."""
    s = jnp.where(allowed, score, -jnp.inf).ravel()
    order = jnp.argsort(-s, stable=True)
    rank = jnp.empty_like(order).at[order].set(jnp.arange(s.shape[0]))
    return ((rank < count) & allowed.ravel()).reshape(score.shape)


def magnitude_mask(params: dict, active: dict, m, *, scope: str = "layer",
                   frozen_first_layer: bool = False) -> dict:
    """Magnitude-pruning mask keeping ``m (d + k)`` weights (see the module docstring).

    Args:
      params: trained parameters ``{"hidden": (P, d), "output": (P, k)}``.
      active: the mask of the units in use (:func:`unit_mask`); only they are kept.
      m: the small width (traced allowed): ``m d`` first-layer and ``m k`` second-layer
        weights per layer, or ``m (d + k)`` in all with ``scope="global"``.
      frozen_first_layer: prune the second layer only (``m k`` weights kept; the first layer
        keeps its active rows).

    Returns a 0/1 mask pytree in the parameters' dtype.
    """
    w, a = params["hidden"], params["output"]
    chex.assert_rank([w, a], 2)
    chex.assert_equal_shape([w, active["hidden"]])
    chex.assert_equal_shape([a, active["output"]])
    d, k = w.shape[1], a.shape[1]
    on_w, on_a = active["hidden"] != 0, active["output"] != 0
    dt = w.dtype
    if frozen_first_layer:
        return {"hidden": on_w.astype(dt), "output": _top(jnp.abs(a), on_a, m * k).astype(dt)}
    if scope == "layer":
        return {"hidden": _top(jnp.abs(w), on_w, m * d).astype(dt),
                "output": _top(jnp.abs(a), on_a, m * k).astype(dt)}
    both = jnp.concatenate([jnp.abs(w).ravel(), jnp.abs(a).ravel()])
    allowed = jnp.concatenate([on_w.ravel(), on_a.ravel()])
    keep = _top(both, allowed, m * (d + k))
    return {"hidden": keep[:w.size].reshape(w.shape).astype(dt),
            "output": keep[w.size:].reshape(a.shape).astype(dt)}


def check_keep_fractions(name: str, keep) -> np.ndarray:
    """Keep fractions in ``(0, 1]`` (1-d float array)."""
    q = np.atleast_1d(as_finite_array(name, keep)).ravel()
    bad = (q <= 0) | (q > 1)
    if q.size == 0:
        raise InputError(f"{name}: empty; allowed: fractions in (0, 1]")
    if np.any(bad):
        raise InputError(f"{name}: got {float(q[bad][0])!r}; allowed: fractions in (0, 1]")
    return q


def check_widths(name: str, widths) -> np.ndarray:
    """Widths: integers ``>= 1`` (1-d int array)."""
    w = np.atleast_1d(check_int_range(name, widths, 1)).ravel()
    if w.size == 0:
        raise InputError(f"{name}: empty; allowed: integers >= 1")
    return w


def check_scope(name: str, scope: str) -> str:
    return check_choice(name, scope, PRUNE_SCOPES)


__all__ = ["TwoLayerNet", "PRUNE_SCOPES", "OUTPUT_INITS", "features", "apply_net", "init_params",
           "init_from_draw", "unit_mask", "small_width", "magnitude_mask", "nonzero_count"]
