"""Same-data retraining after magnitude / saliency pruning of the min-norm fit (p > n).

Mathematics: ``docs/same_data_retraining.md``.  An APPROXIMATION (``method`` =
``conditional-gaussian``), not an exact result: the refit ``theta_S = (X_S^T X_S)^-1 X_S^T y``
uses the data that chose the support ``S``, and no closed form is known.  Two steps:

1. **Condition on the dense fit.**  With whitened columns ``Z`` (``X = Z Lambda^1/2``), the
   min-norm fit ``b = X^T alpha`` and the noise ``e = y - X beta_{<=p}`` fix two linear
   constraints, ``Z^T alpha_hat = c`` (``c_j = b_j / (sqrt(lam_j) ||alpha||)``) and
   ``Z dbar = e`` (``dbar_j = sqrt(lam_j)(b_j - beta_j)``).  Given them the design is
   ``Z = alpha_hat c^T + e_hat f^T + P_alpha^perp Z' P_dbar^perp`` with ``Z'`` i.i.d. N(0, 1)
   (treating ``alpha_hat``, ``dbar`` as fixed).  Rows orthogonal to ``alpha_hat`` are then
   exchangeable; replacing the noise vector by i.i.d. entries of the same mean square
   ``s_e^2 = ||e_perp||^2 / (n - 1)`` makes them i.i.d. jointly Gaussian ``(x_i, r_i)``:
   ``x_i ~ N(0, Sigma_x)``, ``Sigma_x = I + (sigma_u^2 - 1) u u^T``, ``u = dbar_S / sqrt(D_S)``,

       sigma_u^2 = 1 + (D_S / D)(s_e^2 / D - 1),
       Cov(x, r) = u kappa_c,   kappa_c = sqrt(D_S) (s_e^2 (1 + d_bU / D) - d_bU) / D,
       Var r = s_e^2 (1 + d_bU / D)^2 + omega^2 + k_U^2 D_S D_U / D,

   where ``r = y - X_S beta_S`` is the refit's residual target, ``k_U = d_bU / D_U`` and
   ``omega^2 = b_U2 - d_bU^2 / D_U`` (the dropped signal not explained by the coupling of the
   kept columns).  The ``alpha_hat`` row is one deterministic extra row ``(c_S, c_r)``.
2. **The refit is OLS on n - 1 Gaussian rows plus one fixed row** (exact Wishart moments,
   ``A = X^T X ~ W_s(n - 1, Sigma_x)``, ``H = A + c c^T``; Sherman-Morrison for the fixed
   row, whose quadratic forms concentrate): with ``theta_0 = u kappa_c / sigma_u^2``,
   ``sigma_eta^2 = Var r - kappa_c^2 / sigma_u^2``, ``Delta = c_r - c.theta_0``,
   ``k = 1/(N - s - 1)``, ``k_3 = 1/((N - s)(N - s - 1)(N - s - 3))``, ``N = n - 1``,

       E||theta_S - beta_S||^2_Lambda = ||theta_0||^2 + 2 Delta theta_0^T E[H^-1 c]
            + Delta^2 E[c^T H^-2 c] + sigma_eta^2 E tr(H^-1 A H^-1),
       E[A^-1 B A^-1] = k_3 ((N - s - 1) Sigma_x^-1 B Sigma_x^-1 + tr(B Sigma_x^-1) Sigma_x^-1).

Every sum (``c_S.c_S``, ``c_S.dbar_S``, ``D_S``, ``d_bU``, ...) is an expectation under the
coordinate law of ``docs/linear.md`` section 3 with the selection ``|m_j + v_j g| > t_j``
(``t_j = t`` for magnitude, ``t / sqrt(lam_j)`` for saliency); with ``A = (t - m)/v``,
``B = (-t - m)/v``: ``P = Q(A) + Phi(B)``, ``G1 = E[g; sel] = phi(A) - phi(B)``,
``G2 = E[g^2; sel] = Q(A) + A phi(A) + Phi(B) - B phi(B)``.

**Anchoring (the certain-support limit).**  The prediction is the exact fixed-support risk
plus the selection effect the conditional model attributes to the data-dependent choice:

    R_same = sigma_S^2 (n - 1)/(n - s - 1) + E_cg[excess | selected] - E_cg[excess | independent],

where "independent" evaluates the same formula with a support drawn independently of the
fit with the same keep probabilities (``G1 = 0``, ``G2 = P``) and ``sigma_S^2 = sigma^2 +
sum_{i not kept} lambda_i beta_i^2`` (averaged over the keep probabilities).  When the
support is certain (every ``P_j`` in {0, 1}) the two conditional terms coincide and the
prediction IS the fixed-support formula, exactly.

Ridge: the same construction with the ridge dual vector changes only ``<alpha_hat, e>``; it
was measured up to 9.3 % off the simulation on two-level and power-law problems
(``benchmarks/same_data_ridge_check.py``), so ridge fits are refused (:data:`RIDGE_MESSAGE`).

Validity (status INVALID, value NaN): ``p <= n`` (not an interpolating fit), ``s > n - 6``
(the inverse-Wishart moments need ``N - s - 3 > 0`` with a margin), no dropped error
(``D_U <= 0``) or a negative noise norm ``||e_perp||^2`` (beyond rounding).
"""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import models
from models import InputError, LinearTask
from models._errors import check_int_range

from . import _grid
from ._dense import dense_risk_point
from ._normal import ndtr
from ._status import Status, raise_if_failed, status_names
from ._threshold import magnitude_threshold

#: rules with a data-dependent support (the others refit exactly by the fixed-support formula)
RULES = ("magnitude", "saliency")
#: the value of the ``method`` column for this prediction
METHOD = "conditional-gaussian"
#: the largest keep size the prediction accepts, relative to n
KEEP_MARGIN = 6
#: grids are padded to at least this many points (one compilation for small grids)
MIN_BUCKET = 4

RIDGE_MESSAGE = ("ridge: the same-data retraining theory covers the min-norm fit only (for "
                 "ridge fits the same construction was measured up to 9 % off the simulation); "
                 "allowed: ridge = 0 with p > n. Simulate ridge fits with "
                 "sims.pruned_risk(..., retrain='same')")


def _phi(z):
    return jnp.exp(-0.5 * z * z) * 0.3989422804014327


def refit_excess(n, s, cc, cd, D, DS, dbU, bU2, c_r, se2):
    """Conditional-Gaussian refit excess ``E||theta_S - beta_S||^2_Lambda`` (module docstring,
    step 2) from the scalar summaries of one conditioning (pure; jnp or NumPy scalars).

    Args:
      n, s: samples and kept columns.  cc: ``c_S.c_S``.  cd: ``c_S.dbar_S``.  D, DS:
      ``||dbar||^2`` and ``||dbar_S||^2``.  dbU: ``dbar_U.(Lambda^1/2 beta)_U``.  bU2:
      ``||(Lambda^1/2 beta)_U||^2``.  c_r: the refit target along ``alpha_hat``.
      se2: mean-square noise per row, ``||e_perp||^2 / (n - 1)``.
    """
    DU = D - DS
    kU = dbU / DU
    om2 = jnp.maximum(bU2 - dbU**2 / DU, 0.0)
    su2 = 1.0 + DS / D * (se2 / D - 1.0)
    kc = jnp.sqrt(DS) * (se2 * (1.0 + dbU / D) - dbU) / D
    var_r = se2 * (1.0 + dbU / D) ** 2 + om2 + kU**2 * DS * DU / D
    th0 = kc / su2                                   # theta_0 = th0 u
    sig_eta2 = var_r - kc**2 / su2
    cu = cd / jnp.sqrt(DS)                           # c.u
    cSc = cc + (1.0 / su2 - 1.0) * cu**2             # c^T Sigma^-1 c
    cS2c = cc + (1.0 / su2**2 - 1.0) * cu**2         # c^T Sigma^-2 c
    trS = s - 1.0 + 1.0 / su2                        # tr Sigma^-1
    N = n - 1.0
    k1 = 1.0 / (N - s - 1.0)
    k3 = 1.0 / ((N - s) * (N - s - 1.0) * (N - s - 3.0))
    t1 = k1 * cSc                                    # c^T A^-1 c (concentrates)
    cA2c = k3 * ((N - s - 1.0) * cS2c + trS * cSc)  # E c^T A^-2 c
    th_Hc = th0 * k1 * (cu / su2) / (1.0 + t1)       # theta_0^T E[H^-1 c]
    delta = c_r - cu * th0
    cH2c = cA2c / (1.0 + t1) ** 2
    trH = k1 * trS - cA2c / (1.0 + t1)
    return th0**2 + 2.0 * th_Hc * delta + delta**2 * cH2c + sig_eta2 * (trH - cH2c)


def _conditioning(lam, beta, count, m, v, P, G1, G2, a, b2, D, n, s, se2):
    """Expected summaries of the kept / dropped sets under the selection law, then the refit
    excess (module docstring)."""
    d = m - beta
    Eb = m * P + v * G1
    Eb2 = m * m * P + 2.0 * m * v * G1 + v * v * G2
    Ebd = m * d * P + (2.0 * m - beta) * v * G1 + v * v * G2
    Ed2 = d * d * P + 2.0 * d * v * G1 + v * v * G2
    EdU = d * (count - P) - v * G1
    cc = jnp.sum(Eb2 / lam) / a**2
    cd = jnp.sum(Ebd) / a
    DS = jnp.sum(lam * Ed2)
    dbU = jnp.sum(lam * beta * EdU)
    bU2 = jnp.sum(lam * beta**2 * (count - P))
    c_r = (b2 - jnp.sum(beta * Eb)) / a
    ex = refit_excess(n, s, cc, cd, D, DS, dbU, bU2, c_r, se2)
    return ex, D - DS


def same_data_point(task: LinearTask, p, s, n, rules: tuple[str, ...], ridge=0.0) -> dict:
    """The prediction at one ``(p, s, n)`` for each rule of ``rules`` (magnitude, saliency;
    pure, vmappable).  Returns arrays with a leading rule axis: ``risk``, ``fixed_support``
    (the fixed-support / fresh-data formula the prediction is anchored to), ``unanchored``
    (``sigma_S^2`` plus the conditional refit excess, without the anchoring), ``threshold``,
    ``status``; plus the dense ``kappa``, ``dense_risk``.

    ``ridge > 0`` evaluates the same construction for the ridge fit (the only changed input is
    ``<alpha_hat, e>``, since ``y - X b = n ridge alpha`` lies along ``alpha_hat``); it is
    NOT validated -- measured up to 9.3 % off the simulation
    (``benchmarks/same_data_ridge_check.py``) -- and :func:`same_data_risk` refuses ridge fits."""
    lam, beta = task.eigenvalues, task.signal
    dt = lam.dtype
    n = jnp.asarray(n, dt)
    s = jnp.asarray(s, dt)
    ridge = jnp.asarray(ridge, dt)
    dense = dense_risk_point(task, p, n, ridge)
    count = (jnp.arange(lam.shape[0]) < p).astype(dt)
    kappa = dense.kappa
    gamma2 = dense.risk
    ok_dense = (dense.status == Status.CONVERGED) & ((p > n) | (ridge > 0)) & jnp.isfinite(gamma2)
    kappa_s = jnp.where(ok_dense, kappa, 1.0)
    gamma2_s = jnp.where(ok_dense, gamma2, 1.0)
    w = lam / (lam + kappa_s)
    m = count * w * beta
    v = jnp.where(count > 0, w * jnp.sqrt(gamma2_s / (n * lam)), 1.0)
    bc = count * beta
    a = jnp.sqrt(gamma2_s) / (kappa_s * jnp.sqrt(n))           # ||alpha||
    b2 = jnp.sum(count * (m * m + v * v))
    bb = jnp.sum(bc * m)
    D = jnp.sum(count * lam * ((m - bc) ** 2 + v * v))
    # <alpha_hat, e> = (alpha^T y - b.beta)/||alpha||, alpha^T y = ||b||^2 + n ridge ||alpha||^2
    ae = (b2 - bb) / a + n * ridge * a
    ne2 = n * dense.sigma_p2 - ae**2                            # ||e_perp||^2
    # noise 0 and nothing unmodelled: ||e_perp|| = 0 up to rounding of the sums
    ne2_ok = ne2 >= -1e-10 * n * (dense.sigma_p2 + D)
    se2 = jnp.maximum(ne2, 0.0) / (n - 1.0)
    total_signal = jnp.sum(lam * beta**2)
    valid = ok_dense & (s <= n - KEEP_MARGIN) & ne2_ok & (s < jnp.sum(count))
    out = {k: [] for k in ("risk", "fixed_support", "unanchored", "threshold", "status")}
    for rule in rules:
        scale = jnp.sqrt(lam) if rule == "saliency" else jnp.ones_like(lam)
        thr = magnitude_threshold(scale * m, scale * v, count, s, throw=False)
        t = jnp.where(thr.status == Status.CONVERGED, thr.value, 1.0) / scale
        A = (t - m) / v
        B = (-t - m) / v
        P = count * (ndtr(-A) + ndtr(B))
        G1 = count * (_phi(A) - _phi(B))
        G2 = count * (ndtr(-A) + A * _phi(A) + ndtr(B) - B * _phi(B))
        args = (lam, bc, count, m, v)
        ex_sel, DU = _conditioning(*args, P, G1, G2, a, b2, D, n, s, se2)
        ex_ind, _ = _conditioning(*args, P, jnp.zeros_like(P), P, a, b2, D, n, s, se2)
        sigma_s2 = task.noise**2 + total_signal - jnp.sum(lam * bc * beta * P)
        fixed = sigma_s2 * (n - 1.0) / (n - s - 1.0)
        good = valid & (DU > 0) & (thr.status == Status.CONVERGED)
        conv = dense.status != Status.NOT_CONVERGED
        conv = conv & ((thr.status == Status.CONVERGED) | ~ok_dense)
        status = jnp.where(good, Status.CONVERGED,
                           jnp.where(conv, Status.INVALID, Status.NOT_CONVERGED))
        # (the risk is at least sigma_p^2; the floor only removes rounding, e.g. at noise 0)
        risk = jnp.maximum(fixed + ex_sel - ex_ind, dense.sigma_p2)
        out["risk"].append(jnp.where(good, risk, jnp.nan))
        out["fixed_support"].append(jnp.where(good, fixed, jnp.nan))
        out["unanchored"].append(jnp.where(good, sigma_s2 + ex_sel, jnp.nan))
        out["threshold"].append(jnp.where(good, thr.value, jnp.nan))
        out["status"].append(status.astype(jnp.int32))
    res = {k: jnp.stack(v) for k, v in out.items()}
    res.update(kappa=kappa, dense_risk=gamma2)
    return res


@partial(jax.jit, static_argnames=("rules",))
def _same_data_grid(task, p, s, n, ridge, *, rules):
    return jax.vmap(lambda pp, ss, nn, rr: same_data_point(task, pp, ss, nn, rules, rr))(
        p, s, n, ridge)


@dataclasses.dataclass(frozen=True)
class SameDataRiskCurve:
    """Same-data retraining prediction on a ``(p, keep, n)`` grid (NumPy); rule-dependent
    arrays have a trailing rule axis.

    ``risk``: total test risk after pruning and refitting on the same data (NaN where the
    status is not CONVERGED).  ``fixed_support``: the fixed-support (fresh-data) formula
    ``sigma_S^2 (n-1)/(n-s-1)`` at the same keep probabilities, the anchor of the prediction.
    ``unanchored``: ``sigma_S^2`` plus the conditional refit excess alone (a diagnostic: it
    does not contain the certain-support limit).
    ``status``: :class:`Status` per (point, rule): INVALID outside the validity region
    (``p <= n``, ``keep > n - 6``, no dropped error), NOT_CONVERGED if the fixed point or the
    threshold failed.  ``method``: ``conditional-gaussian`` (an approximation, never exact).
    """

    p: np.ndarray
    keep: np.ndarray
    n: np.ndarray
    rules: tuple[str, ...]
    kappa: np.ndarray
    dense_risk: np.ndarray
    risk: np.ndarray
    fixed_support: np.ndarray
    unanchored: np.ndarray
    threshold: np.ndarray
    status: np.ndarray
    method: str = METHOD

    def rows(self) -> list[dict]:
        out = []
        for i in np.ndindex(self.p.shape):
            for j, rule in enumerate(self.rules):
                out.append(dict(p=int(self.p[i]), n=int(self.n[i]), keep=int(self.keep[i]),
                                rule=rule, retrain="same", risk=float(self.risk[i + (j,)]),
                                fixed_support=float(self.fixed_support[i + (j,)]),
                                method=self.method,
                                status=str(status_names(self.status[i + (j,)]))))
        return out


def same_data_risk(task: LinearTask, p, keep, rule=RULES, n=None, ridge=None, *,
                   throw: bool = True) -> SameDataRiskCurve:
    """Test risk after pruning the min-norm fit (``p > n``) to ``keep`` weights by magnitude
    or saliency and refitting least squares on the SAME data (the conditional-Gaussian
    approximation of ``docs/same_data_retraining.md``; one compiled ``vmap`` over the grid).

    Args:
      task: the linear task (ridge 0).  p, keep, n: grid axes (broadcast together).
      rule: ``magnitude`` and/or ``saliency`` (data-independent supports -- oracle, random --
        refit exactly by the fixed-support formula: :func:`asymptotics.pruned_risk` with
        ``retrain='fresh'``).
      ridge: must be 0 (or None with ``task.ridge == 0``): ridge fits are refused.
      throw: raise :class:`SolverError` if a point is INVALID or NOT_CONVERGED.

    Example:
      >>> task = models.LinearTask.two_level(strong=40, lam_strong=1, lam_weak=0.05, n=100,
      ...                                    noise=1, pool=1200)
      >>> th = asy.same_data_risk(task, p=800, keep=40, rule="magnitude")
      >>> round(float(th.risk[0]), 2), th.method                # simulation: 2.181 +- 0.004
      (2.16, 'conditional-gaussian')
    """
    models.require_x64("same_data_risk")
    rules = models.check_rules(rule)
    bad = [r for r in rules if r not in RULES]
    if bad:
        raise InputError(f"rule: {bad[0]!r} has a data-independent support (its same-data refit "
                         "is the fixed-support formula: pruned_risk(..., retrain='fresh')); "
                         "allowed: magnitude, saliency")
    ridge = float(task.ridge) if ridge is None else ridge
    if np.any(np.asarray(ridge, dtype=float) != 0):
        raise InputError(RIDGE_MESSAGE)
    p, n, _ = task.grid_axes(p, n, 0.0)
    keep = check_int_range("keep", keep, 1)
    shape, flat = _grid.broadcast_grid(p=p, keep=keep, n=n)
    if np.any(flat["keep"] > flat["p"]):
        i = int(np.flatnonzero(flat["keep"] > flat["p"])[0])
        raise InputError(f"keep: got {flat['keep'][i]} with p = {flat['p'][i]}; allowed: "
                         "integers in [1, p]")
    if np.any(flat["keep"] >= flat["n"] - 1):
        raise InputError("keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"keep in [1, n - 2] (n = {int(flat['n'].min())}); the prediction is "
                         f"valid for keep <= n - {KEEP_MARGIN}")
    size, padded = _grid.pad(flat)
    if size < MIN_BUCKET:            # small grids share one compilation
        padded = {k: np.concatenate([v, np.repeat(v[:1], MIN_BUCKET - v.size)])
                  for k, v in padded.items()}
    # the task's name is a static field: drop it so that tasks of one shape share a compilation
    plain = task.replace(name="")
    out = _same_data_grid(plain, jnp.asarray(padded["p"]), jnp.asarray(padded["keep"], jnp.float64),
                          jnp.asarray(padded["n"], jnp.float64),
                          jnp.zeros(padded["p"].shape, jnp.float64), rules=rules)
    res = _grid.unpad(out, size, shape)
    if throw:
        raise_if_failed(res["status"], "same_data_risk (p <= n, keep > n - 6, fixed point or "
                        "threshold)")
    return SameDataRiskCurve(p=flat["p"].reshape(shape), keep=flat["keep"].reshape(shape),
                             n=flat["n"].reshape(shape), rules=rules, **res)
