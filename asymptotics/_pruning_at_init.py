"""Random pruning at initialization: effective SNR, thresholds, bounds (float64 closed forms).

Reference: H. Yang, Y. Liang, X. Guo, L. Wu, Z. Wang, "Theoretical Characterization of How
Neural Network Pruning Affects its Generalization", ICLR 2023, arXiv:2301.00335 (JMLR 2025:
"Pruning Before Training May Improve Generalization, Provably"), in the setting of Cao, Chen,
Belkin, Gu, "Benign Overfitting in Two-layer Convolutional Neural Networks", NeurIPS 2022.
Theory note: ``shared/theory/pruning_at_init.md``.

The theorems hold up to absolute constants that the papers do not give; they are exposed
as keyword arguments ``C`` (theorem A's exponent), ``C_q`` (benign-regime threshold) and
``c`` (over-pruning onset), each defaulting to 1 (no calibration: order-of-magnitude
boundaries).  Everything is NumPy float64 and broadcasts over its arguments.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from models._errors import check_int_range, check_positive
from models._patch_net import PatchTask, check_power, check_pruning_fraction


def _pos(name, v):
    return check_positive(name, v).astype(np.float64)


def effective_snr(mu_norm, sigma_p, d, p):
    """``SNR_p = ||mu|| / (sigma_p sqrt((1 - p) d))``: pruning shrinks the effective noise
    dimension to ``d_eff = (1 - p) d`` while a kept sparse signal coordinate is untouched."""
    mu, s, d = _pos("mu_norm", mu_norm), _pos("sigma_p", sigma_p), _pos("d", d)
    p = check_pruning_fraction("p", p)
    return mu / (s * np.sqrt((1.0 - p) * d))


def p_min(n, d, mu_norm, sigma_p=1.0, q=3.0, *, C_q: float = 1.0):
    """Smallest fraction of the benign regime (q-power activation, theorem A):

    ``n ||mu||^q >= C_q sigma_p^q ((1-p) d)^{q/2}``  <=>  ``n SNR_p^q >= C_q``  <=>
    ``p >= p_min = 1 - (n ||mu||^q / (C_q sigma_p^q))^{2/q} / d``.

    ``p_min <= 0`` means the unpruned network is already benign.
    """
    n, d = _pos("n", n), _pos("d", d)
    mu, s = _pos("mu_norm", mu_norm), _pos("sigma_p", sigma_p)
    q = check_power("q", q)
    C_q = float(_pos("C_q", C_q))
    return 1.0 - (n * mu**q / (C_q * s**q)) ** (2.0 / q) / d


def benign_margin(n, d, mu_norm, p, sigma_p=1.0, q=3.0, *, C_q: float = 1.0):
    """``n SNR_p^q / C_q``: at least 1 in the benign regime (theorem A's condition)."""
    n = _pos("n", n)
    q = check_power("q", q)
    return n * effective_snr(mu_norm, sigma_p, d, p) ** q / float(_pos("C_q", C_q))


def theorem_a_bound(n, d, mu_norm, p, sigma_p=1.0, *, C: float = 1.0):
    """Test-error bound under mild pruning (theorem A):

    ``P(y f(W_T, x) < 0) <= exp(-C n ||mu||^4 / ((1 - p) sigma_p^4 d))``,

    decreasing in ``p``.  Meaningful only in the benign regime ``p >= p_min``.
    """
    n, d = _pos("n", n), _pos("d", d)
    mu, s = _pos("mu_norm", mu_norm), _pos("sigma_p", sigma_p)
    p = check_pruning_fraction("p", p)
    return np.exp(-float(_pos("C", C)) * n * mu**4 / ((1.0 - p) * s**4 * d))


def over_pruning_onset(m, *, c: float = 1.0):
    """``p_max = 1 - c/m``: beyond it the expected number ``(1 - p) m`` of neurons per class
    that keep the signal coordinate falls below ``c`` (theorem B)."""
    m = check_int_range("m", m, 1).astype(np.float64)
    return 1.0 - float(_pos("c", c)) / m


def signal_connected_pmf(k, m, p):
    """``P(K = k)`` for ``K ~ Binomial(m, 1 - p)``, the neurons of one class whose mask keeps
    the (1-sparse) signal coordinate: each weight is kept independently w.p. ``1 - p``."""
    m = check_int_range("m", m, 1).astype(np.float64)
    k = check_int_range("k", k, 0).astype(np.float64)
    p = check_pruning_fraction("p", p)
    logc = gammaln(m + 1) - gammaln(k + 1) - gammaln(np.maximum(m - k, 0) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        logpmf = logc + k * np.log1p(-p) + (m - k) * np.where(m - k > 0, np.log(p), 0.0)
    return np.where(k <= m, np.exp(logpmf), 0.0)


def prob_no_signal_neuron(m, p):
    """``P(K = 0) = p^m`` for one class."""
    m = check_int_range("m", m, 1).astype(np.float64)
    return check_pruning_fraction("p", p) ** m


def error_floor(m, p):
    """Over-pruning test-error floor ``(1/2) p^m`` (theorem B): a class left without any
    signal-connected neuron (probability ``p^m``) errs on its half of the test set half the
    time, ``2 classes x 1/2 (class weight) x 1/2 (coin flip) x p^m``."""
    return 0.5 * prob_no_signal_neuron(m, p)


def validity_flags(n, d, p) -> dict:
    """Regime conditions of the theorems, as booleans broadcast over ``p``.

    ``high_dimensional``: ``d >= n^2`` (the over-parameterization the analysis assumes);
    ``can_memorize``: ``(1 - p) d >= n`` (enough kept noise coordinates for gradient descent
    to fit every training point, needed for "training loss -> 0").
    """
    n = check_int_range("n", n, 1).astype(np.float64)
    d = check_int_range("d", d, 1).astype(np.float64)
    p = check_pruning_fraction("p", p)
    return {"high_dimensional": np.broadcast_to(d >= n**2, p.shape).copy(),
            "can_memorize": (1.0 - p) * d >= n}


def pruning_theory(task: PatchTask, p, *, C: float = 1.0, C_q: float = 1.0,
                   c: float = 1.0) -> dict:
    """Every prediction of this module for ``task`` on the grid ``p`` (a dict of arrays)."""
    n, d, m, q = task.n, task.d, task.m, task.q
    mu, s = float(task.mu_norm), float(task.sigma_p)
    p = check_pruning_fraction("p", p)
    out = {"p": p, "effective_snr": effective_snr(mu, s, d, p),
           "benign_margin": benign_margin(n, d, mu, p, s, q, C_q=C_q),
           "theorem_a_bound": theorem_a_bound(n, d, mu, p, s, C=C),
           "prob_no_signal_neuron": prob_no_signal_neuron(m, p),
           "error_floor": error_floor(m, p),
           "expected_connected": (1.0 - p) * m,
           "p_min": np.full(p.shape, p_min(n, d, mu, s, q, C_q=C_q)),
           "p_max": np.full(p.shape, over_pruning_onset(m, c=c))}
    out.update(validity_flags(n, d, p))
    return out
