"""The linear Gaussian task: a feature pool, a signal, noise, a sample size.

Mathematics: ``docs/linear.md`` section 1 (Chang, Li, Oymak, Thrampoulidis,
AAAI 2021, arXiv:2012.08749).

A pool of ``D`` features ``x ~ N(0, diag(lambda))`` and labels ``y = x^T beta + sigma eps``.
A model of size ``p`` uses the first ``p`` features of the pool, in pool order; the
unmodelled ones act as extra noise ``sigma_p^2 = sigma^2 + sum_{i>p} lambda_i beta_i^2``.
Other growth rules are a re-ordering of the pool: :meth:`LinearTask.shuffled` gives the
"random subset" rule (nested subsets, so a curve over ``p`` stays smooth).

The proportional-limit form of the same problem is :class:`SpectralLaw`: a weighted
law of ``(Lambda, B^2)`` with ``B = sqrt(p) beta``, given as atoms, a finite mixture or a
continuous density integrated by Gauss-Legendre quadrature.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ._config import require_x64
from ._errors import InputError, as_finite_array, check_int_range, check_positive


def _validate_pool(eigenvalues, signal, noise, n, ridge):
    lam = as_finite_array("eigenvalues", eigenvalues, ndim=1)
    if lam.size == 0:
        raise InputError("eigenvalues: empty pool; allowed: at least one feature")
    check_positive("eigenvalues", lam)
    beta = as_finite_array("signal", signal, ndim=1)
    if beta.shape != lam.shape:
        raise InputError(f"signal: has {beta.size} entries but the pool has {lam.size}; "
                         "allowed: one signal value per eigenvalue")
    check_positive("noise", noise, strict=False)
    check_int_range("n", n, 1)
    check_positive("ridge", ridge, strict=False)
    return lam, beta


@struct.dataclass
class LinearTask:
    """A linear Gaussian regression problem over a feature pool.

    Attributes:
      eigenvalues: ``(D,)`` feature variances ``lambda_i > 0``, in pool (growth) order.
      signal: ``(D,)`` true coefficients ``beta_i``.
      noise: label-noise standard deviation ``sigma >= 0``.
      ridge: penalty ``lambda_r >= 0`` of ``(1/n)||y - X b||^2 + lambda_r ||b||^2``.
      n: number of training samples (static).
      name: a short description of the spectrum (static, for tables and figures).

    Example:
      >>> task = LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05,
      ...                             signal_power=1.0, noise=1.0, n=100, pool=2000)
      >>> task.pool_size
      2000
    """

    eigenvalues: jax.Array
    signal: jax.Array
    noise: jax.Array
    ridge: jax.Array
    n: int = struct.field(pytree_node=False)
    name: str = struct.field(pytree_node=False, default="custom")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def create(cls, eigenvalues, signal, *, noise: float, n: int, ridge: float = 0.0,
               name: str = "custom") -> "LinearTask":
        """Validated constructor from arrays (the one every other constructor calls).

        Needs JAX's 64-bit mode (the task's leaves are float64; see ``models._config``)."""
        lam, beta = _validate_pool(eigenvalues, signal, noise, n, ridge)
        require_x64("LinearTask")
        return cls(eigenvalues=jnp.asarray(lam), signal=jnp.asarray(beta),
                   noise=jnp.asarray(float(noise)), ridge=jnp.asarray(float(ridge)),
                   n=int(n), name=name)

    @classmethod
    def isotropic(cls, *, pool: int, n: int, noise: float, support: int | None = None,
                  signal_power: float = 1.0, eigenvalue: float = 1.0,
                  ridge: float = 0.0) -> "LinearTask":
        """``Sigma = eigenvalue * I``; ``beta`` uniform on the first ``support`` features.

        ``sum_i lambda_i beta_i^2 = signal_power``; ``support=None`` spreads the signal over
        the whole pool.  Worked example E1 (``docs/linear.md`` section 6) is
        ``isotropic(pool=200, n=100, noise=0.5, support=10)``.
        """
        check_int_range("pool", pool, 1)
        k = pool if support is None else int(check_int_range("support", support, 1, pool))
        check_positive("signal_power", signal_power, strict=False)
        check_positive("eigenvalue", eigenvalue)
        lam = np.full(pool, float(eigenvalue))
        beta = np.zeros(pool)
        beta[:k] = np.sqrt(signal_power / (k * eigenvalue))
        return cls.create(lam, beta, noise=noise, n=n, ridge=ridge,
                          name=f"isotropic(support={k})")

    @classmethod
    def two_level(cls, *, strong: int, lam_strong: float, lam_weak: float, n: int,
                  noise: float, signal_power: float = 1.0, pool: int = 2000,
                  ridge: float = 0.0) -> "LinearTask":
        """A strong block of ``strong`` features (variance ``lam_strong``) carrying all the
        signal, followed by weak pure-noise features (variance ``lam_weak``).

        ``beta_i = sqrt(signal_power / (strong * lam_strong))`` on the strong block, so that
        ``sum_i lambda_i beta_i^2 = signal_power``.  Worked example E2 (``docs/linear.md`` section 6) is
        ``two_level(strong=40, lam_strong=1, lam_weak=0.05, n=100, noise=1)``.
        """
        check_int_range("pool", pool, 1)
        k = int(check_int_range("strong", strong, 1, pool))
        check_positive("lam_strong", lam_strong)
        check_positive("lam_weak", lam_weak)
        check_positive("signal_power", signal_power, strict=False)
        lam = np.full(pool, float(lam_weak))
        lam[:k] = lam_strong
        beta = np.zeros(pool)
        beta[:k] = np.sqrt(signal_power / (k * lam_strong))
        return cls.create(lam, beta, noise=noise, n=n, ridge=ridge,
                          name=f"two-level(strong={k}, {lam_strong:g}/{lam_weak:g})")

    @classmethod
    def power_law(cls, *, pool: int, n: int, noise: float, a: float, b: float,
                  signal_power: float = 1.0, ridge: float = 0.0) -> "LinearTask":
        """``lambda_i = i^-a`` and ``beta_i proportional to i^-b`` (i = 1..pool), scaled so
        that ``sum_i lambda_i beta_i^2 = signal_power``."""
        check_int_range("pool", pool, 1)
        as_finite_array("a", a)
        as_finite_array("b", b)
        check_positive("signal_power", signal_power, strict=False)
        i = np.arange(1, pool + 1, dtype=np.float64)
        lam = i ** (-float(a))
        beta = i ** (-float(b))
        beta *= np.sqrt(signal_power / np.sum(lam * beta**2))
        return cls.create(lam, beta, noise=noise, n=n, ridge=ridge,
                          name=f"power-law(a={a:g}, b={b:g})")

    @classmethod
    def from_csv(cls, path, *, n: int, noise: float, ridge: float = 0.0) -> "LinearTask":
        """Read a pool from a CSV file with header ``eigenvalue,signal`` (one row per
        feature, in pool order)."""
        lam, beta = read_spectrum_csv(path)
        return cls.create(lam, beta, noise=noise, n=n, ridge=ridge, name=Path(path).name)

    # ------------------------------------------------------------------ derived views
    @property
    def pool_size(self) -> int:
        return int(self.eigenvalues.shape[0])

    def replace_sizes(self, *, n: int | None = None, ridge: float | None = None,
                      noise: float | None = None) -> "LinearTask":
        """A copy with another sample size, ridge or noise (validated)."""
        return LinearTask.create(self.eigenvalues, self.signal,
                                 noise=float(self.noise) if noise is None else noise,
                                 n=self.n if n is None else n,
                                 ridge=float(self.ridge) if ridge is None else ridge,
                                 name=self.name)

    def shuffled(self, key: jax.Array) -> "LinearTask":
        """The random-subset growth rule: the pool in a random order drawn from ``key``.

        The first ``p`` features of the shuffled pool are a uniformly random subset of size
        ``p``, nested in ``p``.
        """
        perm = np.asarray(jax.random.permutation(key, self.pool_size))
        return self.replace(eigenvalues=self.eigenvalues[perm], signal=self.signal[perm],
                            name=self.name + ", random order")

    def grid_axes(self, p=None, n=None, ridge=None):
        """Validated ``(p, n, ridge)`` grid axes as NumPy arrays (not yet broadcast), with the
        task's defaults: the whole pool, ``self.n`` and ``self.ridge``.  Raises
        :class:`InputError` naming the axis and its range."""
        p = self.pool_size if p is None else p
        n = self.n if n is None else n
        ridge = float(self.ridge) if ridge is None else ridge
        return (check_int_range("p", p, 1, self.pool_size), check_int_range("n", n, 1),
                check_positive("ridge", ridge, strict=False))

    def effective_noise(self, p: int) -> float:
        """``sigma_p^2 = sigma^2 + sum_{i>p} lambda_i beta_i^2`` (host-side, float)."""
        lam = np.asarray(self.eigenvalues)
        beta = np.asarray(self.signal)
        return float(self.noise) ** 2 + float(np.sum(lam[p:] * beta[p:] ** 2))

    def describe(self) -> dict:
        """JSON-friendly summary (for sidecars)."""
        lam = np.asarray(self.eigenvalues)
        beta = np.asarray(self.signal)
        return {"spectrum": self.name, "pool": self.pool_size, "n": self.n,
                "noise": float(self.noise), "ridge": float(self.ridge),
                "signal_power": float(np.sum(lam * beta**2)),
                "eigenvalue_range": [float(lam.min()), float(lam.max())]}


def read_spectrum_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """Parse a ``eigenvalue,signal`` CSV file; raise :class:`InputError` when malformed."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"spectrum: file {str(path)!r} not found; allowed: a CSV file with "
                         "header 'eigenvalue,signal'")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if not rows or [c.strip().lower() for c in rows[0]] != ["eigenvalue", "signal"]:
        got = ",".join(rows[0]) if rows else "(empty file)"
        raise InputError(f"spectrum: {path.name} has header {got!r}; allowed: exactly "
                         "'eigenvalue,signal' then one row per feature")
    lam, beta = [], []
    for k, r in enumerate(rows[1:], start=2):
        if len(r) != 2:
            raise InputError(f"spectrum: {path.name} line {k} has {len(r)} fields; allowed: "
                             "two numbers 'eigenvalue,signal'")
        try:
            lam.append(float(r[0]))
            beta.append(float(r[1]))
        except ValueError:
            raise InputError(f"spectrum: {path.name} line {k} is not numeric ({','.join(r)!r}); "
                             "allowed: two numbers 'eigenvalue,signal'") from None
    if not lam:
        raise InputError(f"spectrum: {path.name} has no rows; allowed: at least one feature")
    lam_a, beta_a = np.array(lam), np.array(beta)
    as_finite_array("eigenvalues", lam_a)
    check_positive("eigenvalues", lam_a)
    as_finite_array("signal", beta_a)
    return lam_a, beta_a


@struct.dataclass
class SpectralLaw:
    """Proportional-limit form: the joint law of ``(Lambda, B^2)`` with ``B = sqrt(p) beta``.

    The law is a weighted set of atoms ``(lambda_k, E[B^2 | Lambda = lambda_k], w_k)`` with
    ``sum_k w_k = 1``.  A model has ``psi = p / n`` features per sample.  Fixed point
    (``docs/linear.md`` section 2):
    ``kappa - lambda_r = kappa psi E[Lambda / (Lambda + kappa)]`` and
    ``gamma^2 = (sigma^2 + E[Lambda B^2 kappa^2/(Lambda+kappa)^2]) /
    (1 - psi E[Lambda^2/(Lambda+kappa)^2])``.
    """

    eigenvalues: jax.Array
    signal2: jax.Array
    weights: jax.Array
    noise: jax.Array
    ridge: jax.Array
    name: str = struct.field(pytree_node=False, default="law")

    @classmethod
    def mixture(cls, eigenvalues, weights, signal2, *, noise: float, ridge: float = 0.0,
                name: str = "mixture") -> "SpectralLaw":
        """A finite mixture: atom ``k`` carries weight ``weights[k]`` (normalised to 1)."""
        lam = as_finite_array("eigenvalues", eigenvalues, ndim=1)
        check_positive("eigenvalues", lam)
        w = check_positive("weights", as_finite_array("weights", weights, ndim=1), strict=False)
        if w.shape != lam.shape or w.sum() <= 0:
            raise InputError("weights: need one non-negative weight per eigenvalue with a "
                             "positive sum; allowed: weights >= 0, same length as eigenvalues")
        require_x64("SpectralLaw")
        s2 = check_positive("signal2", as_finite_array("signal2", signal2, ndim=1), strict=False)
        if s2.shape != lam.shape:
            raise InputError("signal2: need one E[B^2 | Lambda] per eigenvalue; allowed: "
                             "finite values >= 0, same length as eigenvalues")
        check_positive("noise", noise, strict=False)
        check_positive("ridge", ridge, strict=False)
        return cls(eigenvalues=jnp.asarray(lam), signal2=jnp.asarray(s2),
                   weights=jnp.asarray(w / w.sum()), noise=jnp.asarray(float(noise)),
                   ridge=jnp.asarray(float(ridge)), name=name)

    @classmethod
    def from_task(cls, task: LinearTask, p: int) -> "SpectralLaw":
        """The empirical law of the first ``p`` features of ``task`` (one atom per feature).

        Unmodelled signal is folded into the noise (``sigma -> sigma_p``), so that the
        proportional-form theory at ``psi = p / n`` equals the atom-form theory at ``p``.
        """
        p = int(check_int_range("p", p, 1, task.pool_size))
        lam = np.asarray(task.eigenvalues)[:p]
        beta = np.asarray(task.signal)[:p]
        return cls.mixture(lam, np.full(p, 1.0 / p), p * beta**2,
                           noise=np.sqrt(task.effective_noise(p)), ridge=float(task.ridge),
                           name=f"atoms of {task.name}, p={p}")

    @classmethod
    def from_density(cls, density: Callable[[np.ndarray], np.ndarray], support: tuple[float, float],
                     signal2: Callable[[np.ndarray], np.ndarray] | float, *, noise: float,
                     ridge: float = 0.0, nodes: int = 200, log_scale: bool = False,
                     name: str = "density") -> "SpectralLaw":
        """A continuous law of ``Lambda`` with density ``density`` on ``support``, integrated
        by ``nodes``-point Gauss-Legendre quadrature (in ``log lambda`` if ``log_scale``).

        ``signal2`` is ``E[B^2 | Lambda = lambda]`` as a function (or a constant).  The
        density need not be normalised; it is normalised by the same quadrature.
        """
        lo, hi = (float(v) for v in support)
        if not (0 < lo < hi < np.inf):
            raise InputError(f"support: got {support!r}; allowed: 0 < lo < hi < inf")
        check_int_range("nodes", nodes, 2)
        x, w = np.polynomial.legendre.leggauss(int(nodes))
        if log_scale:
            t = 0.5 * (np.log(hi) - np.log(lo)) * x + 0.5 * (np.log(hi) + np.log(lo))
            lam = np.exp(t)
            jac = 0.5 * (np.log(hi) - np.log(lo)) * lam
        else:
            lam = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
            jac = np.full_like(lam, 0.5 * (hi - lo))
        dens = as_finite_array("density", density(lam))
        weights = w * jac * dens
        if np.any(weights < 0):
            raise InputError("density: negative values on the support; allowed: a density >= 0")
        s2 = signal2(lam) if callable(signal2) else np.full_like(lam, float(signal2))
        return cls.mixture(lam, weights, s2, noise=noise, ridge=ridge, name=name)
