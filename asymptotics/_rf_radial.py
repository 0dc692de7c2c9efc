"""Radial correction of the random-features theory for ReLU at finite ``d`` (``radial=True``).

Mathematics (``docs/random_features.md``, "Radial correction").  With ``x ~ N(0, I_d)`` write
``x = r sqrt(d) x_hat``, ``r = ||x|| / sqrt(d)``, ``x_hat`` uniform on the unit sphere and
independent of ``r``, ``E r^2 = 1``.  For a positively homogeneous activation of degree 1
(``relu``) and uncentred features, ``phi(x) = r g(x_hat)`` and ``y = r u(x_hat) + sigma eps``:
every training row is the row of a problem on the sphere scaled by ``r_i``.  The second
moments (``M``, ``c``, ``E y^2``) are those of the sphere problem (``E r^2 = 1``), which is
what the exact-moment theory uses; the radius matters beyond them:

* **Min-norm interpolation** (ridgeless, ``p > n``) is invariant to scaling a row and its
  label: the fit equals the sphere problem's fit with label noise ``sigma / r_i``, whose
  variance contribution is ``sigma^2 E[1 / r^2] = sigma^2 d / (d - 2)`` exactly (``r`` is
  independent of the rest).  The test noise stays ``sigma^2``.  So the theory is run with the
  training noise ``sigma_in^2 = sigma^2 d/(d-2)`` and the test risk takes back
  ``sigma_in^2 - sigma^2``.  The part of the label the features cannot represent scales with
  ``r`` like the signal and is not inflated.
* **Least squares on ``s < n`` features** (ridgeless ``p < n``, the fresh refit, the
  train-small baseline) is not invariant: to leading order in ``s/n`` the excess risk
  ``(sigma^2 + m^2) s/(n - s - 1)`` becomes ``(sigma^2 + E[r^4] m^2) s/(n - s - 1)``, ``m^2`` the
  misspecification of the ``s`` features (``E[r^4] = (d + 2)/d``; the noise is not scaled by
  ``r``, the misspecification is).

Measured (E3: d = 50, n = 100, sigma = 0.5, key 0, 400 trials, risks exact from the feature
moments): the simulation with Gaussian inputs sits +0.017 / +0.0095 / +0.0072 above the same
simulation with inputs projected on the sphere at p = 200 / 400 / 800 (uncentred), and the
correction predicts +0.016 / +0.0087 / +0.0067; centred features (the default; the centring
constant breaks the homogeneity slightly): +0.014 / +0.010 / +0.0086 measured, +0.016 /
+0.0086 / +0.0066 predicted.  Ridge fits are left uncorrected (not scale invariant; no
derivation here).  Other activations raise: the argument needs ``act(r z) = r act(z)``.
"""

from __future__ import annotations

import numpy as np

from models._errors import InputError


def check_radial(task) -> None:
    """The correction's domain: ``relu`` features and ``d >= 3`` (``E[1/r^2]`` finite)."""
    if task.activation != "relu":
        name = task.activation if isinstance(task.activation, str) else "a callable"
        raise InputError(f"radial: got activation {name}; allowed: 'relu' (the correction "
                         "needs a positively homogeneous activation of degree 1), or "
                         "radial=False")
    if task.d < 3:
        raise InputError(f"radial: got d = {task.d}; allowed: d >= 3 (E d/||x||^2 is finite)")


def radial_moments(d: int) -> tuple[float, float]:
    """``(E[1/r^2], E[r^4])`` for ``r^2 = ||x||^2 / d``, ``x ~ N(0, I_d)``: ``d/(d-2)``,
    ``(d+2)/d``."""
    return d / (d - 2.0), (d + 2.0) / d


def inflated_task(task):
    """The task with the training noise of min-norm interpolation, and ``sigma_in^2 -
    sigma^2`` (what the test risk gives back)."""
    inv_r2, _ = radial_moments(task.d)
    sigma2 = float(task.noise) ** 2
    import jax.numpy as jnp

    return task.replace(noise=jnp.asarray(np.sqrt(sigma2 * inv_r2))), sigma2 * (inv_r2 - 1.0)


def ols_excess(sigma2: float, misfit2, k, n, e_r4: float):
    """Least-squares excess ``(sigma^2 + E[r^4] m^2) k/(n - k - 1)`` (``inf`` at ``k = n -
    1``, NaN beyond)."""
    k = np.asarray(k, float)
    n = np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(k < n - 1, k / (n - k - 1), np.where(k == n - 1, np.inf, np.nan))
    return (sigma2 + e_r4 * np.asarray(misfit2)) * frac
