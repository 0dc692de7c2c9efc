"""Random pruning at initialization: effective SNR, thresholds, bounds (float64 closed forms).

Reference: H. Yang, Y. Liang, X. Guo, L. Wu, Z. Wang, "Theoretical Characterization of How
Neural Network Pruning Affects its Generalization", ICLR 2023, arXiv:2301.00335 (JMLR 2025:
"Pruning Before Training May Improve Generalization, Provably"), in the setting of Cao, Chen,
Belkin, Gu, "Benign Overfitting in Two-layer Convolutional Neural Networks", NeurIPS 2022.
Mathematics: ``docs/pruning_at_init.md``.

The theorems hold up to absolute constants that the papers do not give; they are exposed
as keyword arguments ``C`` (theorem A's exponent), ``C_q`` (benign-regime threshold) and
``c`` (over-pruning onset), each defaulting to 1 (no calibration: order-of-magnitude
boundaries).  Everything is NumPy float64 and broadcasts over its arguments.

Status.  Each function returns an :class:`~asymptotics.Estimate` (``value``, ``status`` of
``value``'s shape, ``error`` 0: closed forms).  Exact statements (the SNR, the binomial
counts of signal-connected neurons, the floor ``(1/2) p^m``, ``p_max``) are CONVERGED.
Statements of theorem A (``theorem_a_bound``, ``benign_margin``, ``p_min``) are INVALID
where the theorem does not apply (:func:`validity_flags`: ``d < n^2``, or ``(1 - p) d < n``
where training cannot reach zero loss); the value is still computed (it is a formula) but
not backed by the theorem.  ``throw=True`` (the default) raises
:class:`~asymptotics.SolverError` on INVALID points; sweeps past the validity region pass
``throw=False``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

import models
from models._errors import check_int_range, check_positive
from models._patch_net import PatchTask, check_power, check_pruning_fraction

from ._status import Status, estimate


def _exact(value, where: str, throw: bool):
    value = np.asarray(value, np.float64)
    return estimate(value, np.full(value.shape, Status.CONVERGED), where=where, throw=throw)


def _theorem_a(value, valid, where: str, throw: bool):
    value, valid = np.broadcast_arrays(np.asarray(value, np.float64), valid)
    status = np.where(valid, Status.CONVERGED, Status.INVALID)
    return estimate(value, status, where=f"{where} (outside theorem A's validity region)",
                    throw=throw)


def _flags(n, d, p):
    n, d = np.asarray(n, np.float64), np.asarray(d, np.float64)
    high = d >= n**2
    return high, high & ((1.0 - np.asarray(p, np.float64)) * d >= n)


def _pos(name, v):
    return check_positive(name, v).astype(np.float64)


def effective_snr(mu_norm, sigma_p, d, p, *, throw: bool = True):
    """``SNR_p = ||mu|| / (sigma_p sqrt((1 - p) d))``: pruning shrinks the effective noise
    dimension to ``d_eff = (1 - p) d`` while a kept sparse signal coordinate is untouched."""
    models.require_x64("effective_snr")
    return _exact(_snr(mu_norm, sigma_p, d, p), "effective_snr", throw)


def _snr(mu_norm, sigma_p, d, p):
    mu, s, d = _pos("mu_norm", mu_norm), _pos("sigma_p", sigma_p), _pos("d", d)
    p = check_pruning_fraction("p", p)
    return mu / (s * np.sqrt((1.0 - p) * d))


def p_min(n, d, mu_norm, sigma_p=1.0, q=3.0, *, C_q: float = 1.0, throw: bool = True):
    """Smallest fraction of the benign regime (q-power activation, theorem A):

    ``n ||mu||^q >= C_q sigma_p^q ((1-p) d)^{q/2}``  <=>  ``n SNR_p^q >= C_q``  <=>
    ``p >= p_min = 1 - (n ||mu||^q / (C_q sigma_p^q))^{2/q} / d``.

    ``p_min <= 0`` means the unpruned network is already benign.  INVALID where ``d < n^2``.
    """
    models.require_x64("p_min")
    n, d = _pos("n", n), _pos("d", d)
    mu, s = _pos("mu_norm", mu_norm), _pos("sigma_p", sigma_p)
    q = check_power("q", q)
    C_q = float(_pos("C_q", C_q))
    value = 1.0 - (n * mu**q / (C_q * s**q)) ** (2.0 / q) / d
    return _theorem_a(value, _flags(n, d, 0.0)[0], "p_min", throw)


def benign_margin(n, d, mu_norm, p, sigma_p=1.0, q=3.0, *, C_q: float = 1.0,
                  throw: bool = True):
    """``n SNR_p^q / C_q``: at least 1 in the benign regime (theorem A's condition).
    INVALID outside theorem A's validity region."""
    models.require_x64("benign_margin")
    n = _pos("n", n)
    q = check_power("q", q)
    value = n * _snr(mu_norm, sigma_p, d, p) ** q / float(_pos("C_q", C_q))
    return _theorem_a(value, _flags(n, d, p)[1], "benign_margin", throw)


def theorem_a_bound(n, d, mu_norm, p, sigma_p=1.0, *, C: float = 1.0, throw: bool = True):
    """Test-error bound under mild pruning (theorem A):

    ``P(y f(W_T, x) < 0) <= exp(-C n ||mu||^4 / ((1 - p) sigma_p^4 d))``,

    decreasing in ``p``.  Meaningful only in the benign regime ``p >= p_min``; INVALID where
    ``d < n^2`` or ``(1 - p) d < n`` (:func:`validity_flags`).
    """
    models.require_x64("theorem_a_bound")
    n, d = _pos("n", n), _pos("d", d)
    mu, s = _pos("mu_norm", mu_norm), _pos("sigma_p", sigma_p)
    p = check_pruning_fraction("p", p)
    value = np.exp(-float(_pos("C", C)) * n * mu**4 / ((1.0 - p) * s**4 * d))
    return _theorem_a(value, _flags(n, d, p)[1], "theorem_a_bound", throw)


def over_pruning_onset(m, *, c: float = 1.0, throw: bool = True):
    """``p_max = 1 - c/m``: beyond it the expected number ``(1 - p) m`` of neurons per class
    that keep the signal coordinate falls below ``c`` (theorem B)."""
    models.require_x64("over_pruning_onset")
    m = check_int_range("m", m, 1).astype(np.float64)
    return _exact(1.0 - float(_pos("c", c)) / m, "over_pruning_onset", throw)


def signal_connected_pmf(k, m, p, *, throw: bool = True):
    """``P(K = k)`` for ``K ~ Binomial(m, 1 - p)``, the neurons of one class whose mask keeps
    the (1-sparse) signal coordinate: each weight is kept independently w.p. ``1 - p``."""
    models.require_x64("signal_connected_pmf")
    m = check_int_range("m", m, 1).astype(np.float64)
    k = check_int_range("k", k, 0).astype(np.float64)
    p = check_pruning_fraction("p", p)
    logc = gammaln(m + 1) - gammaln(k + 1) - gammaln(np.maximum(m - k, 0) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        logpmf = logc + k * np.log1p(-p) + (m - k) * np.where(m - k > 0, np.log(p), 0.0)
    return _exact(np.where(k <= m, np.exp(logpmf), 0.0), "signal_connected_pmf", throw)


def prob_no_signal_neuron(m, p, *, throw: bool = True):
    """``P(K = 0) = p^m`` for one class."""
    models.require_x64("prob_no_signal_neuron")
    return _exact(_p_none(m, p), "prob_no_signal_neuron", throw)


def _p_none(m, p):
    m = check_int_range("m", m, 1).astype(np.float64)
    return check_pruning_fraction("p", p) ** m


def error_floor(m, p, *, throw: bool = True):
    """Over-pruning test-error floor ``(1/2) p^m`` (theorem B): a class left without any
    signal-connected neuron (probability ``p^m``) errs on its half of the test set half the
    time, ``2 classes x 1/2 (class weight) x 1/2 (coin flip) x p^m``."""
    models.require_x64("error_floor")
    return _exact(0.5 * _p_none(m, p), "error_floor", throw)


def validity_flags(n, d, p) -> dict:
    """Regime conditions of the theorems, as booleans broadcast over ``p``.

    ``high_dimensional``: ``d >= n^2`` (the over-parameterization the analysis assumes);
    ``can_memorize``: ``(1 - p) d >= n`` (enough kept noise coordinates for gradient descent
    to fit every training point, needed for "training loss -> 0").  ``status``: CONVERGED
    (the flags are exact statements; their conjunction is theorem A's validity region).
    """
    models.require_x64("validity_flags")
    n = check_int_range("n", n, 1).astype(np.float64)
    d = check_int_range("d", d, 1).astype(np.float64)
    p = check_pruning_fraction("p", p)
    can = (1.0 - p) * d >= n
    return {"high_dimensional": np.broadcast_to(d >= n**2, p.shape).copy(),
            "can_memorize": can,
            "status": np.full(np.shape(can), Status.CONVERGED, np.int32)}


def pruning_theory(task: PatchTask, p, *, C: float = 1.0, C_q: float = 1.0,
                   c: float = 1.0, throw: bool = True) -> dict:
    """Every prediction of this module for ``task`` on the grid ``p`` (a dict of arrays).

    ``status`` (per ``p``): CONVERGED inside theorem A's validity region (``d >= n^2`` and
    ``(1 - p) d >= n``), INVALID outside it; ``throw=True`` raises
    :class:`~asymptotics.SolverError` on INVALID points (sweeps pass ``throw=False``).
    """
    models.require_x64("pruning_theory")
    n, d, m, q = task.n, task.d, task.m, task.q
    mu, s = float(task.mu_norm), float(task.sigma_p)
    p = check_pruning_fraction("p", p)
    v = dict(throw=False)
    out = {"p": p, "effective_snr": effective_snr(mu, s, d, p, **v).value,
           "benign_margin": benign_margin(n, d, mu, p, s, q, C_q=C_q, **v).value,
           "theorem_a_bound": theorem_a_bound(n, d, mu, p, s, C=C, **v).value,
           "prob_no_signal_neuron": prob_no_signal_neuron(m, p, **v).value,
           "error_floor": error_floor(m, p, **v).value,
           "expected_connected": (1.0 - p) * m,
           "p_min": np.full(p.shape, p_min(n, d, mu, s, q, C_q=C_q, **v).value),
           "p_max": np.full(p.shape, over_pruning_onset(m, c=c, **v).value)}
    flags = validity_flags(n, d, p)
    flags.pop("status")
    out.update(flags)
    out["status"] = np.where(flags["high_dimensional"] & flags["can_memorize"],
                             Status.CONVERGED, Status.INVALID).astype(np.int32)
    if throw:
        from ._status import raise_if_failed
        raise_if_failed(out["status"], "pruning_theory (outside theorem A's validity region)")
    return out
