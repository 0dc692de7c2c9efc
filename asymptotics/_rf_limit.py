"""Random-features dense risk in the proportional limit (no dependence on ``W``).

Mathematics: ``docs/random_features.md`` (Gaussian equivalence) and ``docs/linear.md``
section 2 (the proportional-limit form :class:`models.SpectralLaw`).  The limit is the one of
Mei & Montanari 2019 (arXiv:1908.05355, Thm. 1; isotropic inputs, linear teacher, the ratios
``psi1 = p / d`` and ``psi2 = n / d`` fixed as ``d -> inf``); we reach it through the
conditional Gaussian-equivalent theory of :mod:`asymptotics._rf` by replacing the spectrum of
``W`` with its deterministic limit, the Marchenko-Pastur law.  The ridgeless Mei-Montanari
closed form is reproduced to ~1e-14 (ReLU, tanh, erf; ``tests/test_rf_limit.py``).  Against
the conditional theory at ``d = 400``, ``n = 800`` (widths 200..3200 outside 700..900, ReLU
and tanh, ridge 0 and 0.1): within 0.32 % for one drawn ``W`` with the teacher spread evenly
over its singular directions (the teacher average, step 2); a drawn teacher moves the
conditional risk by 0.1-7.7 % (an ``O(d^{-1/2})`` fluctuation, sd 1-3.6 % per width, mean over
8 draws within 0.6 %).

Derivation.  Conditional on ``W`` (``p x d``, rows ``w_i`` of norm 1) the width-``p`` model is
the linear model with covariance ``M = mu1^2 W W^T + mu_star^2 I_p``, signal
``beta_F = M^{-1} c``, ``c = mu1 W theta``, and noise
``sigma_eff^2 = ||theta||^2 + sigma^2 - c^T M^{-1} c`` (:mod:`asymptotics._rf`).  Write
``W = U S Q^T`` (thin SVD, ``r = min(p, d)`` singular values ``s_j``).

1. *Spectrum.*  ``W W^T`` has unit diagonal (unit rows), so its eigenvalues average to
   ``tr(W W^T) / p = 1``.  For Gaussian rows ``N(0, I_d / d)``, ``W W^T = Z Z^T / d`` with ``Z``
   (``p x d``) standard: the sample covariance of ``d`` samples in dimension ``p``, whose
   eigenvalue law tends to Marchenko-Pastur with ratio ``psi1 = p / d`` and scale 1,

       f(x) = sqrt((b - x)(x - a)) / (2 pi psi1 x)  on  [a, b] = [(1 - sqrt psi1)^2, (1 + sqrt psi1)^2],

   of mass ``min(1, 1 / psi1)``, plus an atom at ``x = 0`` of mass ``(1 - 1 / psi1)_+`` (the
   ``p - d`` null directions when ``p > d``).  Rows uniform on the sphere are Gaussian rows
   divided by their norms, which are ``1 + O(d^{-1/2})`` uniformly: same limit law.
   Equivalently the ``d x d`` matrix ``W^T W`` (same nonzero eigenvalues) is
   ``(p / d)`` times a sample covariance of ratio ``d / p``: ``psi1 * MP(1 / psi1)``.
   Hence the law of the eigenvalues of ``M`` over its ``p`` directions is that of
   ``Lambda = mu1^2 x + mu_star^2``, ``x ~ MP(psi1)`` (atom included: ``Lambda = mu_star^2``
   with mass ``(1 - 1 / psi1)_+``).
2. *Signal.*  ``U^T c = mu1 S Q^T theta``, so ``(U^T beta_F)_j = mu1 s_j (Q^T theta)_j /
   Lambda_j`` and ``beta_F`` has no component on the null space of ``W^T``.  The law of ``W``
   is invariant under ``W -> W O`` (``O`` orthogonal; both row laws), so ``Q`` is Haar and
   independent of ``S``: ``(Q^T theta)_j^2`` averages ``||theta||^2 / d`` whatever ``s_j``.
   The dense theory sees the signal only through sums over eigen-directions of smooth
   functions times ``(U^T beta_F)_j^2``, which concentrate on their averages, so
   ``B^2 = p (U^T beta_F)_j^2`` may be replaced by its conditional mean
   ``E[B^2 | Lambda] = psi1 ||theta||^2 mu1^2 x / Lambda^2`` (0 on the atom).
3. *Noise.*  ``c^T M^{-1} c = sum_j mu1^2 s_j^2 (Q^T theta)_j^2 / Lambda_j
   -> psi1 ||theta||^2 E[mu1^2 x / (mu1^2 x + mu_star^2)]`` (``E`` over ``MP(psi1)``, the atom
   contributes 0), so
   ``sigma_eff^2 = sigma^2 + ||theta||^2 (1 - psi1 E[mu1^2 x / Lambda])``.
4. *Risk.*  The law of ``(Lambda, B^2)`` with the noise ``sigma_eff^2`` is a
   :class:`models.SpectralLaw`; :func:`asymptotics.dense_risk_law_point` at ``psi = p / n =
   psi1 / psi2`` gives ``kappa`` and ``gamma^2`` (``kappa - lambda_r = kappa psi E[Lambda /
   (Lambda + kappa)]``, ``docs/linear.md`` section 2), with ``n`` scaled out: ``kappa``
   and the risks are those of the conditional theory at ``(p, n, ridge)``.

Uncentred features add ``mu0^2 1 1^T`` to ``M``: one spike, an ``O(1/p)`` share of the
directions, and ``c`` is unchanged (``E y = 0``), so the limit does not depend on ``mu0``
(as in Mei & Montanari, whose risk depends on the activation only through ``mu1`` and
``mu_star``): ``centred`` is accepted and changes nothing.  Likewise ``law`` (``sphere`` or
``gaussian`` rows) changes nothing in the limit.

Quadrature.  The MP part is integrated in the angle ``theta`` of ``x = |1 + sqrt(psi1)
e^{i theta}|^2``, where ``f(x) dx = (2 / pi) sin^2(theta) / x(theta) d theta`` on
``[0, pi]``: the square-root edges disappear (Gauss-Legendre directly in ``x``, as
:meth:`models.SpectralLaw.from_density` does, converges only algebraically there).  Near
``psi1 = 1`` the factor ``1 / x`` has a narrow peak of width ``|1 - sqrt psi1|`` at the lower
edge (at ``psi1 = 1`` the lower edge is 0, which ``from_density`` cannot take); the
substitution ``pi - theta = eps sinh(t)`` resolves it.  Measured: with the default 256 nodes
the mass, mean and second moment are exact to 2e-14 at every ``psi1`` tried (0.05 to 100,
including 0.999, 1 and 1.001); ``from_density`` with 200 nodes on the same density is off by
1e-5..6e-5 (linear nodes) or 5e-7..5e-6 (log nodes) for ``psi1`` in 0.9..1.1.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import models
from models import InputError, SpectralLaw
from models._errors import check_choice, check_int_range, check_positive
from models._rf import WEIGHT_LAWS

from . import _grid
from ._dense import DensePoint, dense_risk_law_point
from ._status import Status, raise_if_failed, status_names

#: default number of quadrature nodes of the Marchenko-Pastur part
MP_NODES = 256
#: ridgeless points with ``|psi1 - psi2| <= PEAK_RTOL * psi2`` are the peak ``p = n``
PEAK_RTOL = 1e-12


def marchenko_pastur_quadrature(ratio: float, nodes: int = MP_NODES):
    """Quadrature of the Marchenko-Pastur law of ratio ``ratio`` (``= p / d``) and scale 1:
    the eigenvalue law of ``W W^T`` for ``p`` unit rows in dimension ``d`` (module docstring).

    Returns ``(x, w, atom)``: nodes ``x > 0`` and weights ``w`` of the continuous part (total
    ``min(1, 1 / ratio)``), and the mass ``(1 - 1 / ratio)_+`` of the atom at 0, so that
    ``E g(x) ~= sum_k w_k g(x_k) + atom * g(0)`` for smooth ``g``.  Mean 1, second moment
    ``1 + ratio``.

    Example:
      >>> x, w, atom = marchenko_pastur_quadrature(2.0)
      >>> round(float(w.sum()), 12), atom, round(float(w @ x), 12)
      (0.5, 0.5, 1.0)
    """
    ratio = float(check_positive("ratio", ratio))
    nodes = int(check_int_range("nodes", nodes, 8))
    q = np.sqrt(ratio)
    # theta = pi - u, u = eps sinh(t): x = (1 - q)^2 + 4 q sin^2(u / 2) (no cancellation)
    eps = max(abs(1.0 - q) / np.sqrt(q), 1e-3)
    top = np.arcsinh(np.pi / eps)
    z, wz = np.polynomial.legendre.leggauss(nodes)
    t = 0.5 * top * (z + 1.0)
    u = eps * np.sinh(t)
    du = 0.5 * top * wz * eps * np.cosh(t)
    x = (1.0 - q) ** 2 + 4.0 * q * np.sin(0.5 * u) ** 2
    w = du * (2.0 / np.pi) * np.sin(u) ** 2 / x
    return x, w, max(1.0 - 1.0 / ratio, 0.0)


def rf_limit_law(mu1: float, mu_star: float, psi1: float, *, noise: float = 0.0,
                 teacher_norm: float = 1.0, ridge: float = 0.0, nodes: int = MP_NODES,
                 name: str = "rf-limit") -> tuple[SpectralLaw, float]:
    """The proportional-limit law of ``(Lambda, B^2)`` of the Gaussian-equivalent model at
    ``psi1 = p / d`` (module docstring, steps 1-3), as a :class:`models.SpectralLaw` whose
    noise is ``sigma_eff`` (label noise ``noise`` plus the unexplained signal), and the
    explained fraction ``psi1 E[mu1^2 x / Lambda]`` of ``||theta||^2``.

    Atoms: the ``nodes`` quadrature nodes of the MP part (``Lambda = mu1^2 x + mu_star^2``,
    ``E[B^2 | Lambda] = psi1 ||theta||^2 mu1^2 x / Lambda^2``) and the atom
    ``Lambda = mu_star^2`` (no signal) of mass ``(1 - 1 / psi1)_+`` (kept with mass 0 when
    ``psi1 <= 1``: one shape for every ``psi1``).  Needs ``mu_star > 0`` (a non-linear
    activation; ``mu_star^2 <= 1e-10 mu1^2`` counts as 0, the rounding level of
    :func:`models.ge_coefficients`): with ``mu_star = 0`` the atom has no variance.
    """
    mu1s, ms2 = float(mu1) ** 2, float(mu_star) ** 2
    if not ms2 > 1e-10 * mu1s:
        raise InputError(f"activation: mu_star = {float(mu_star)!r}; allowed: a non-linear "
                         "activation (mu_star > 0)")
    x, w, atom = marchenko_pastur_quadrature(psi1, nodes)
    lam = mu1s * x + ms2
    s2 = psi1 * teacher_norm**2 * mu1s * x / lam**2
    explained = float(psi1 * np.sum(w * mu1s * x / lam))
    lam = np.concatenate([lam, [ms2]])
    s2 = np.concatenate([s2, [0.0]])
    w = np.concatenate([w, [atom]])
    sigma2 = float(noise) ** 2 + teacher_norm**2 * max(1.0 - explained, 0.0)
    law = SpectralLaw.mixture(lam, w, s2, noise=np.sqrt(sigma2), ridge=ridge, name=name)
    return law, explained


@dataclasses.dataclass(frozen=True)
class RFLimitCurve:
    """Proportional-limit dense theory on a grid (NumPy arrays of the grid's shape).

    ``risk`` is the total test risk ``gamma^2`` (noise included); ``sigma_eff2`` the
    Gaussian-equivalent noise (label noise plus the part of the teacher the width cannot
    represent); ``kappa`` the effective regularisation (same units as the ridge);
    ``status`` :class:`Status` codes (DIVERGED with ``inf`` at the ridgeless ``p = n``)."""

    psi1: np.ndarray
    psi2: np.ndarray
    noise: np.ndarray
    ridge: np.ndarray
    kappa: np.ndarray
    risk: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    sigma_eff2: np.ndarray
    df1: np.ndarray
    df2: np.ndarray
    status: np.ndarray
    steps: np.ndarray

    def rows(self) -> list[dict]:
        """One dict per grid point."""
        names = status_names(self.status.ravel())
        keys = ("psi1", "psi2", "noise", "ridge", "kappa", "risk", "bias", "variance",
                "sigma_eff2")
        cols = [getattr(self, k).ravel() for k in keys]
        return [dict(zip(keys, map(float, vals)), status=str(st))
                for *vals, st in zip(*cols, names)]


@jax.jit
def _limit_grid(eig, sig2, weights, index, psi, ridge, noise2):
    def one(i, ps, rr, nn):
        law = SpectralLaw(eigenvalues=eig[i], signal2=sig2[i], weights=weights[i],
                          noise=jnp.sqrt(nn), ridge=rr, name="rf-limit")
        return dense_risk_law_point(law, ps, rr)
    return _grid.pack(jax.vmap(one)(index, psi, ridge, noise2))


def rf_limit_dense_risk(activation, psi1, psi2, noise, ridge=0.0, *, teacher_norm: float = 1.0,
                        centred: bool = True, law: str = "sphere", nodes: int = MP_NODES,
                        throw: bool = True) -> RFLimitCurve:
    """Dense test risk of min-norm / ridge random features in the proportional limit
    ``p, n, d -> inf``, ``p / d = psi1``, ``n / d = psi2`` (module docstring): independent of
    ``W``, the limit of :func:`asymptotics.rf_dense_risk` for ``d -> inf``.

    Args:
      activation: a name of ``models.ACTIVATIONS`` or a JAX-traceable callable (coefficients
        ``mu1``, ``mu_star`` at unit row norm, :func:`models.ge_coefficients`).
      psi1, psi2, noise, ridge: ``p / d > 0``, ``n / d > 0``, label-noise standard deviation
        ``sigma >= 0`` and ridge ``>= 0`` (the penalty of ``(1/n)||y - Phi a||^2 + ridge
        ||a||^2``, as in :func:`asymptotics.rf_dense_risk`); broadcast together.
      teacher_norm: ``||theta||``.
      centred, law: accepted for symmetry with :class:`models.RFTask`; the limit depends on
        neither (module docstring).
      nodes: quadrature nodes of the Marchenko-Pastur part.

    Returns an :class:`RFLimitCurve`.  Ridgeless ``psi1 = psi2`` (``p = n``): ``inf``, status
    DIVERGED.  The Mei-Montanari ridge is ``ridge / psi1`` (their penalty is ``(p lambda / d)
    ||a||^2``).

    Example (ReLU, noise 0.5, p = 2 n = 4 d):
      >>> c = asy.rf_limit_dense_risk("relu", 4.0, 2.0, 0.5)
      >>> round(float(c.risk), 4), round(float(c.kappa), 4)
      (0.9085, 0.1479)

    Raises:
      InputError: bad input. SolverError: unconverged points (``throw``).
    """
    models.require_x64("rf_limit_dense_risk")
    models.activation_fn(activation)
    check_choice("law", law, WEIGHT_LAWS)
    tn = float(check_positive("teacher_norm", teacher_norm, strict=False))
    nodes = int(check_int_range("nodes", nodes, 8))
    psi1 = check_positive("psi1", psi1)
    psi2 = check_positive("psi2", psi2)
    noise = check_positive("noise", noise, strict=False)
    ridge = check_positive("ridge", ridge, strict=False)
    shape, flat = _grid.broadcast_grid(psi1=psi1, psi2=psi2, noise=noise, ridge=ridge)
    _, mu1, mu_star = (float(v) for v in models.ge_coefficients(activation, jnp.float64(1.0)))
    widths, index = np.unique(flat["psi1"], return_inverse=True)
    laws = [rf_limit_law(mu1, mu_star, float(r), teacher_norm=tn, nodes=nodes)[0]
            for r in widths]
    eig = np.stack([np.asarray(lw.eigenvalues) for lw in laws])
    sig2 = np.stack([np.asarray(lw.signal2) for lw in laws])
    wts = np.stack([np.asarray(lw.weights) for lw in laws])
    unexplained = np.array([float(lw.noise) ** 2 for lw in laws])[index.ravel()]
    noise2 = flat["noise"] ** 2 + unexplained
    psi = flat["psi1"] / flat["psi2"]
    size, padded = _grid.pad({"i": index.ravel(), "psi": psi, "ridge": flat["ridge"],
                              "noise2": noise2})
    out = _limit_grid(jnp.asarray(eig), jnp.asarray(sig2), jnp.asarray(wts),
                      jnp.asarray(padded["i"]), jnp.asarray(padded["psi"], jnp.float64),
                      jnp.asarray(padded["ridge"], jnp.float64),
                      jnp.asarray(padded["noise2"], jnp.float64))
    res = _grid.unpack(out, DensePoint, size, shape)
    # the ridgeless peak p = n: the law's weights sum to 1 only up to rounding, so the
    # engine's test 1 - df2/n <= 0 may miss it by an ulp; it is infinite whenever
    # sigma_eff^2 > 0 (always, for a non-linear activation or noise > 0)
    peak = ((flat["ridge"] == 0) & (np.abs(flat["psi1"] - flat["psi2"])
                                    <= PEAK_RTOL * flat["psi2"])).reshape(shape)
    peak &= res["sigma_p2"] > 0
    for k in ("risk", "variance"):        # kappa = 0 there: the bias is 0, as in _dense
        res[k] = np.where(peak, np.inf, res[k])
    res["status"] = np.where(peak, np.int32(Status.DIVERGED), res["status"]).astype(np.int32)
    if throw:
        raise_if_failed(res["status"], "rf_limit_dense_risk (fixed point)")
    sigma_eff2 = res.pop("sigma_p2")
    return RFLimitCurve(psi1=flat["psi1"].reshape(shape), psi2=flat["psi2"].reshape(shape),
                        noise=flat["noise"].reshape(shape), ridge=flat["ridge"].reshape(shape),
                        sigma_eff2=sigma_eff2, **res)
