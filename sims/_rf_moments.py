"""The exact risk of a second layer from the exact feature moments (simulation side).

The moments themselves (``M = E phi phi^T``, ``c = E y phi``, ``E y^2``: arc-cosine and erf
closed forms, the adaptive Mehler series with its stated bound, Stein's cross moment) describe
the features' law and live in :mod:`models._rf_moments` (``models.rf_feature_moments``); they
are re-exported here so that ``sims.rf_feature_moments`` and ``sims._rf_moments.MAX_ORDER`` keep
working.

The simulations evaluate ``R(a) = E y^2 - 2 a.c + a^T M a`` in the whitened form
``r_P + |L^T a - u|^2`` (``M = L L^T``, ``u = L^{-1} c``, ``r_P = E y^2 - |u|^2``): a sum of
squares, free of the cancellation of the three-term form near the interpolation peak (float32
included).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from models._config import MATMUL_PRECISION
from models._rf_moments import CLOSED_FORMS as CLOSED_FORMS
from models._rf_moments import MAX_ORDER as MAX_ORDER
from models._rf_moments import TRUNCATION_TOL as TRUNCATION_TOL
from models._rf_moments import RFMoments as RFMoments
from models._rf_moments import check_task as _check_task
from models._rf_moments import rf_feature_moments as rf_feature_moments

_HI = MATMUL_PRECISION
__all__ = ["CLOSED_FORMS", "MAX_ORDER", "TRUNCATION_TOL", "RFMoments", "rf_feature_moments",
           "_check_task", "_risk_form", "_exact_risk"]


class _RiskForm(NamedTuple):
    """Device arrays of the exact risk: whitened (``lt = L^T``, ``u``, ``r0``) or, when ``M`` is
    not numerically positive definite, the direct form (``lt = M``, ``u = c``, ``r0 = E y^2``)."""

    lt: jax.Array
    u: jax.Array
    r0: jax.Array
    whitened: bool


def _risk_form(mom: RFMoments, dt) -> _RiskForm:
    try:
        chol = np.linalg.cholesky(mom.second)
    except np.linalg.LinAlgError:
        return _RiskForm(jnp.asarray(mom.second, dt), jnp.asarray(mom.cross, dt),
                         jnp.asarray(mom.label_second, dt), False)
    u = scipy.linalg.solve_triangular(chol, mom.cross, lower=True)
    r0 = max(mom.label_second - float(u @ u), 0.0)
    return _RiskForm(jnp.asarray(chol.T, dt), jnp.asarray(u, dt), jnp.asarray(r0, dt), True)


def _exact_risk(form_lt, form_u, form_r0, whitened: bool, a):
    """``R(a)``: ``r0 + |L^T a - u|^2`` (whitened) or ``E y^2 - 2 a.c + a^T M a``."""
    ma = jnp.matmul(form_lt, a, precision=_HI)
    if whitened:
        return form_r0 + jnp.sum((ma - form_u) ** 2)
    return form_r0 - 2 * jnp.dot(a, form_u, precision=_HI) + jnp.dot(a, ma, precision=_HI)
