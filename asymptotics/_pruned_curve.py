"""The pruned theory along a whole grid: continuation of the threshold, truncated passes.

Same mathematics and outputs as :func:`asymptotics._pruning.pruned_point` (``docs/linear.md``
section 4; Chang, Li, Oymak, Thrampoulidis, AAAI 2021, arXiv:2012.08749, Thm. 2), organised
for a curve the way :mod:`asymptotics._curve` organises the dense theory:

* **Dense fixed point** for every point by the curve solver
  (:func:`asymptotics._curve.dense_curve_sums`: anchor tables, no pass per point).
* **Threshold by continuation.**  Points are sorted by ``(n, ridge, s, p)`` and solved in that
  order.  Magnitude and saliency solve ``g(t) = log(S(e^t) / s) = 0`` (``S(c) = sum_{i<p}
  P(|Z_i| >= c / scale_i)``, the equation of :mod:`asymptotics._threshold`) by Newton steps
  from a prediction in ``log p``: the quadratic through the roots of the three previous
  points of the same run (median error 8e-7 on the benchmark's curve), the line through
  two, the previous root, or the single-Gaussian start of
  :func:`asymptotics.magnitude_threshold`.  All threshold rules share each pass (one set of
  coordinate moments ``m_i, d_i, v_i``).
* **Two passes per point, truncated.**  A first scan takes :data:`PASSES` light Newton passes
  (``S`` and ``S'`` only) over the shortest of :data:`PIECES` static prefixes of the pool
  that covers ``p`` (``lax.switch``, :func:`asymptotics._curve.prefix_switch`).  A second scan
  takes one full pass at the resulting root: ``S``, ``S'`` and the closing sums with their
  ``c``-derivatives -- the pruned excess ``sum lambda_i {E[(Z_i - beta_i)^2; kept] + beta_i^2
  P(dropped)}``, the dropped signal ``sum lambda_i beta_i^2 P(dropped)`` and the kept
  true-signal count -- over blocks of the pool (:func:`_full_pass`).
* **Certificate.**  The full pass gives a last Newton step ``delta``.  The root is accepted
  when ``|delta| <=`` :data:`STEP_CERT` (1e-6) and the steps contract (``|delta|`` at most a
  quarter of the light pass's step, or below ``TOL_T`` = 1e-12 of
  :mod:`asymptotics._threshold`); the threshold is then ``c e^delta`` and the closing sums
  are moved to it by a first-order Taylor step (error ``O(delta^2)``, ~1e-12 relative; on
  most points ``delta`` is itself ~1e-13).  Any other point (the first few of a run, points
  next to the interpolation peak) is solved again by the bracketed Newton of
  :mod:`asymptotics._threshold` started from the curve's estimate, and its closing sums
  evaluated exactly at that root (:func:`_solve_point`).  Points whose dense fixed point
  is not converged are NOT_CONVERGED, as in the per-point solver.
* **Data-independent rules** (oracle, random, a user support) need no threshold: one masked
  pass per point over the pool in a fixed order (oracle: the pool sorted once by the score
  ``lambda_i beta_i^2``, ties by pool order; a point keeps the first ``s`` of its features
  in that order, the support of :func:`models.oracle_mask`).

Used by :func:`asymptotics.pruned_risk` on a CPU for large grids with noise (the
deterministic-coordinate branch of noise 0 and the per-feature keep probabilities stay with
the per-point solver); agreement with the per-point solver is tested to 1e-9
(``tests/test_pruned_theory.py``).  Measured in ``benchmarks/README.md``
(``bench_pruned.py``): 200 points over a pool of 10^4, 3 rules, 2-core CPU: ~0.16 s against
~0.75 s per point and ~1.9 s for the SciPy loop.  Where the time goes there: the light
scan ~45 ms, the full scan ~60 ms (~27 ns per feature and rule: two ``erfc`` and two
``exp`` plus eight sums), the bracketed solver for ~28 of 200 points ~30 ms, the oracle
rule ~20 ms, the dense curve ~8 ms (~3 ms since the anchor tables of
:mod:`asymptotics._curve`; the whole call 142 ms against the SciPy loop's 1.71 s).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import ndtri

from . import _curve
from ._curve import prefix_switch
from ._dense import _dense_from_sums, _prefix_tables
from ._fixed_point import fused_sums
from ._normal import ndtr, phi
from ._status import Status
from ._threshold import MAX_STEPS, TOL_T, _solve

#: static prefixes of the pool a pass may be cut to (:func:`asymptotics._curve.prefix_switch`).
PIECES = 8
#: light Newton passes per point before the full (closing) pass.
PASSES = 1
#: largest accepted last Newton step in ``t = log c`` (the Taylor closing error is its square).
STEP_CERT = 1e-6
#: a root whose last Newton step is below this (in ``log c``) predicts the next point.
GOOD_STEP = 0.5
#: static prefixes for the bracketed solver of the points the continuation did not certify
#: (few per curve: fewer branches to compile; benchmark curve: 2 -> 178 ms, compile 5.4 s;
#: 4 -> 165 ms, 6.4 s; 8 -> 160 ms, 7.7 s).
FIX_PIECES = 4

_THRESHOLD_RULES = ("magnitude", "saliency")


def _moments(lam, beta, inv_sqrt_lam, kappa, gsn, diverged):
    """Coordinate law of the fit (``docs/linear.md`` section 4): mean ``m``, ``d = m - beta``
    and standard deviation ``v`` per feature; ``gsn = gamma / sqrt(n)``.  At the peak only the
    direction of the exploding noise picks the support (``m = 0``, ``gamma = 1``)."""
    denom = lam + kappa
    w = lam / denom
    m = jnp.where(diverged, 0.0, w * beta)
    d = jnp.where(diverged, -beta, -(kappa / denom) * beta)
    v = w * gsn * inv_sqrt_lam
    return m, d, v


def _rule_sums(lam, lb2, nz, m, d, v, inv_scale, c, mask, full: bool):
    """The summands at threshold ``c`` for one rule (``a_i = c inv_scale_i``, masked):

    ``S = sum keep``, ``D = sum dens`` (``dens = -d keep / dc``); with ``full`` also
    ``E = sum lambda ((d + v z1)^2 phi1 + (d - v z2)^2 phi2) inv_scale / v`` (so that
    ``dR/dc = DB - E``), ``DB = sum lambda beta^2 dens``, ``R = sum lambda (E[(Z - beta)^2;
    kept] + beta^2 P(dropped))``, ``B = sum lambda beta^2 P(dropped)``, ``K = sum 1{beta !=
    0} keep`` and ``DK = sum 1{beta != 0} dens`` (``dK/dc = -DK``)."""
    z1, z2, f1, f2, keep = _base(m, v, inv_scale, c)
    return _terms(lam, lb2, nz, d, v, inv_scale, mask, full, z1, z2, f1, f2, keep)


def _base(m, v, inv_scale, c):
    """``z1 = (a - m)/v``, ``z2 = (a + m)/v``, their densities and ``P(|Z| >= a)``."""
    a = c * inv_scale
    inv_v = 1.0 / v
    z1 = (a - m) * inv_v
    z2 = (a + m) * inv_v
    return z1, z2, phi(z1), phi(z2), ndtr(-z1) + ndtr(-z2)


def _terms(lam, lb2, nz, d, v, inv_scale, mask, full, z1, z2, f1, f2, keep):
    """The summands of :func:`_rule_sums` from :func:`_base`."""
    inv_v = 1.0 / v
    dens = (f1 + f2) * inv_scale * inv_v
    terms = [keep, dens]
    if full:
        dropped = jnp.maximum(1.0 - keep, 0.0)
        vz1, vz2 = v * z1, v * z2
        kept_sq = (d * d + v * v) * keep + (2.0 * d + vz1) * v * f1 - (2.0 * d - vz2) * v * f2
        e1, e2 = d + vz1, d - vz2
        terms += [lam * (e1 * e1 * f1 + e2 * e2 * f2) * inv_scale * inv_v, lb2 * dens,
                  lam * kept_sq + lb2 * dropped, lb2 * dropped, nz * keep, nz * dens]
    zero = jnp.zeros_like(lam)
    return [jnp.where(mask, x, zero) for x in terms]


def _inv_scales(isl, rules):
    """``(R, size)``: ``a_i = c * inv_scale_i`` per rule (saliency: ``1/sqrt(lambda_i)``)."""
    return jnp.stack([isl if rule == "saliency" else jnp.ones_like(isl) for rule in rules])


def _pass(atoms, c, p, kappa, gsn, diverged, rules, pieces, full: bool):
    """Sums of :func:`_rule_sums` for every threshold rule at its own ``c`` (``(R,)``), over
    ``i < p``, in one pass over the shortest static prefix covering ``p``.

    The summands are stacked and summed along the features (``jnp.sum(stack, axis=1)``): on
    the XLA CPU backend a variadic reduction (:func:`asymptotics._fixed_point.fused_sums`)
    of these transcendental summands ran 3-4x slower per feature (measured, 10^4 to 10^6
    features), unlike the dense pass's rational ones."""
    lam, beta, lb2, nz, isl = atoms

    def branch(size):
        def run(ops):
            c, p, kappa, gsn, diverged = ops
            sl = lambda x: x[:size]  # noqa: E731
            m, d, v = _moments(sl(lam), sl(beta), sl(isl), kappa, gsn, diverged)
            mask = jnp.arange(size) < p
            terms = []
            for j, rule in enumerate(rules):
                inv_scale = sl(isl) if rule == "saliency" else jnp.ones((size,), lam.dtype)
                terms += _rule_sums(sl(lam), sl(lb2), sl(nz), m, d, v, inv_scale, c[j], mask,
                                    full)
            return jnp.sum(jnp.stack(terms), axis=1).reshape(len(rules), -1)
        return run

    return prefix_switch(lam.shape[0], pieces, p, branch, (c, p, kappa, gsn, diverged))


def _start(lam, beta2, isl, kappa, gsn, diverged, p, s, rules):
    """Single-Gaussian start ``log(v_rms Phi^-1(1 - s/(2p)))`` per rule (the start of
    :func:`asymptotics._threshold.magnitude_threshold`), from one masked pass."""
    K = lam.shape[0]
    mask = jnp.arange(K) < p
    denom = lam + kappa
    w = lam / denom
    m2 = jnp.where(diverged, 0.0, w * w * beta2)
    v2 = (w * gsn * isl) ** 2
    zero = jnp.zeros_like(lam)
    terms = []
    for rule in rules:
        sc2 = lam if rule == "saliency" else jnp.ones_like(lam)
        terms.append(jnp.where(mask, sc2 * (m2 + v2), zero))
    second = jnp.stack(fused_sums(*terms))
    P = jnp.asarray(p, lam.dtype)
    q = jnp.clip(1.0 - 0.5 * s / P, 0.5, 1.0 - 1e-16)
    return jnp.log(jnp.sqrt(second / P) * ndtri(q))


def _full_pass(atoms, c, p, kappa, gsn, diverged, rules, chunk: int):
    """The full sums of :func:`_rule_sums` (``(R, 8)``) over ``i < p``, as a loop over
    ``ceil(p / chunk)`` blocks of the pool: one kernel to compile instead of one per static
    prefix (compile 0.5 s instead of 2 s for 8 prefixes), the same speed for this heavy
    pass (measured: ~260 us per point at p = 5000, two rules; the light pass, 4x cheaper per
    feature, pays the loop's overhead and keeps the prefixes of :func:`_pass`)."""
    lam = atoms[0]
    K = lam.shape[0]
    R = len(rules)
    nch = -(-K // chunk)
    blocks = [jnp.concatenate([x, jnp.ones((nch * chunk - K,), x.dtype)]).reshape(nch, chunk)
              for x in atoms]
    ones = jnp.ones((chunk,), lam.dtype)
    # XLA CPU fuses the transcendental part (``_base``) into the stacked sums; for one rule
    # it then re-evaluates it for each of the eight summands (115 ms for the benchmark curve
    # instead of 54 ms), for two rules it does not (59 ms).  For one rule the part is
    # written to a buffer first (``dynamic_update_slice``), which materialises it; the same
    # buffer made two rules slower (94 ms), so they fuse as they are.  Measured on the
    # benchmark's 200-point curve, 2-core CPU, jax 0.10.2.
    buffered = R == 1

    def body(i, state):
        acc, buf = state
        lam_, beta_, lb2_, nz_, isl_ = (x[i] for x in blocks)
        m, d, v = _moments(lam_, beta_, isl_, kappa, gsn, diverged)
        scales = [isl_ if rule == "saliency" else ones for rule in rules]
        mask = i * chunk + jnp.arange(chunk) < p
        base = [_base(m, v, sc, c[j]) for j, sc in enumerate(scales)]
        if buffered:
            buf = lax.dynamic_update_slice(buf, jnp.stack([jnp.stack(b) for b in base]),
                                           (0, 0, 0))
            base = [[buf[j, k] for k in range(5)] for j in range(R)]
        terms = []
        for j, sc in enumerate(scales):
            terms += _terms(lam_, lb2_, nz_, d, v, sc, mask, True, *base[j])
        return acc + jnp.sum(jnp.stack(terms), axis=1).reshape(R, -1), buf

    acc, _ = lax.fori_loop(0, (p + chunk - 1) // chunk, body,
                           (jnp.zeros((R, 8), lam.dtype),
                            jnp.zeros((R, 5, chunk) if buffered else (), lam.dtype)))
    return acc


def _predict(hist_t, hist_x, x, nval, cont, t_start):
    """Prediction of ``t = log c`` at ``x = log p`` from the roots of the previous points of
    the run (``hist_t[0]`` the latest, at ``hist_x``): the quadratic through three, the line
    through two, the last root, or ``t_start`` (error on the benchmark's curve, 200 points:
    median 8e-7 and at most 3e-5 past the first few points for the quadratic, against 1e-4
    and 7e-4 for a secant in ``p``).  A repeated ``x`` falls back to a lower order."""
    t1, t2, t3 = hist_t
    x1, x2, x3 = hist_x
    d12, d13, d23 = x1 - x2, x1 - x3, x2 - x3
    ok2 = d12 != 0
    ok3 = ok2 & (d13 != 0) & (d23 != 0)
    s12 = jnp.where(ok2, d12, 1.0)
    s13 = jnp.where(ok3, d13, 1.0)
    s23 = jnp.where(ok3, d23, 1.0)
    line = t1 + (t1 - t2) * (x - x1) / s12
    quad = (t1 * (x - x2) * (x - x3) / (s12 * s13) - t2 * (x - x1) * (x - x3) / (s12 * s23)
            + t3 * (x - x1) * (x - x2) / (s13 * s23))
    pred = jnp.where((nval >= 3) & ok3, quad, jnp.where((nval >= 2) & ok2, line, t1))
    return jnp.where(cont & (nval >= 1), pred, t_start)


def _threshold_curve(atoms, order, p, s, n, ridge, kappa, gsn, diverged, dense_ok, rules):
    """Thresholds and closing sums for every point (sorted order inside), module docstring.

    Two scans over the sorted points: the first takes :data:`PASSES` light Newton passes per
    point (``S``, ``S'`` only) from the prediction; the second one full pass per point at the
    resulting root, which gives the closing sums and a last Newton step ``delta`` that
    certifies the root.  Returns, in the input order, ``(c, closing, certified, passes)``:
    ``c`` ``(points, R)``, the closing sums ``(points, R, 3)`` (``R, B, K`` at ``c``), the
    certificate ``(points, R)``, the passes taken."""
    lam, beta, lb2, nz, isl = atoms
    dt = lam.dtype
    R = len(rules)
    K = lam.shape[0]
    ps, ss, ns, rs = p[order], s[order], n[order], ridge[order]
    kap, g, dv = kappa[order], gsn[order], diverged[order]
    same = (ns[1:] == ns[:-1]) & (rs[1:] == rs[:-1]) & (ss[1:] == ss[:-1])
    cont = jnp.concatenate([jnp.zeros((1,), bool), same])
    t_start = jax.vmap(lambda kk, gg, dd, pp, s_: _start(lam, beta * beta, isl, kk, gg, dd,
                                                          pp, s_, rules))(kap, g, dv, ps, ss)
    t_start = jnp.where(jnp.isfinite(t_start), t_start, 0.0)

    def newton(t, S, D, s_):
        dg = -jnp.exp(t) * D / S
        ok = jnp.isfinite(S) & (S > 0) & (dg < 0)
        delta = jnp.where(ok, -jnp.log(S / s_) / jnp.where(ok, dg, -1.0), jnp.nan)
        return delta, dg

    def light(carry, x):
        t, delta, hist_t, hist_x, nval = carry
        pp, s_, kk, gg, dd, cc, ts, k = x
        t = jnp.where(k == 0, _predict(hist_t, hist_x, jnp.log(pp.astype(dt)), nval, cc, ts),
                      t + jnp.where(jnp.isfinite(delta), jnp.clip(delta, -1.0, 1.0), 0.0))
        sums = _pass(atoms, jnp.exp(t), pp, kk, gg, dd, rules, PIECES, False)
        delta, _ = newton(t, sums[:, 0], sums[:, 1], s_)
        # after the point's last light pass: the history holds roots good enough to predict
        # from (not necessarily certified); a point that is not, or a new run, restarts it
        last = k == PASSES - 1
        root = t + delta
        good = jnp.isfinite(root) & (jnp.abs(delta) <= GOOD_STEP)
        upd = last & good
        hist_t = jnp.where(upd, jnp.concatenate([root[None], hist_t[:-1]]), hist_t)
        x_new = jnp.broadcast_to(jnp.log(pp.astype(dt)), (R,))
        hist_x = jnp.where(upd, jnp.concatenate([x_new[None], hist_x[:-1]]), hist_x)
        nval_new = jnp.where(good, jnp.where(cc, jnp.minimum(nval + 1, 3), 1), 0)
        nval = jnp.where(last, nval_new, nval)
        return (t, delta, hist_t, hist_x, nval), (t, delta)

    rep = lambda x: jnp.repeat(x, PASSES, axis=0)  # noqa: E731
    kk_ = jnp.tile(jnp.arange(PASSES), ps.shape[0])
    init = (jnp.zeros((R,), dt), jnp.zeros((R,), dt), jnp.zeros((3, R), dt),
            jnp.zeros((3, R), dt), jnp.zeros((R,), jnp.int32))
    _, (t, delta) = lax.scan(light, init, (rep(ps), rep(ss), rep(kap), rep(g), rep(dv),
                                           rep(cont), rep(t_start), kk_))
    t = t.reshape(-1, PASSES, R)
    delta = delta.reshape(-1, PASSES, R)
    d_light = delta[:, -1]
    t_f = t[:, -1] + jnp.where(jnp.isfinite(d_light), jnp.clip(d_light, -1.0, 1.0), 0.0)

    chunk = -(-K // (2 * PIECES))

    def full(_, x):
        pp, kk, gg, dd, tt = x
        return None, _full_pass(atoms, jnp.exp(tt), pp, kk, gg, dd, rules, chunk)

    _, sums = lax.scan(full, None, (ps, kap, g, dv, t_f))
    S, D, E, DB, Rs, B, Kp, DK = (sums[..., k] for k in range(8))
    d_f, _ = newton(t_f, S, D, ss[:, None])
    cert = (jnp.isfinite(t_f) & jnp.isfinite(d_f) & (jnp.abs(d_f) <= STEP_CERT)
            & ((jnp.abs(d_f) <= 0.25 * jnp.abs(d_light)) | (jnp.abs(d_f) <= TOL_T))
            & dense_ok[order][:, None] & jnp.isfinite(Rs))
    c_f = jnp.exp(t_f)
    dc = c_f * jnp.expm1(d_f)
    c = c_f * jnp.exp(d_f)
    closing = jnp.stack([Rs + (DB - E) * dc, B + DB * dc, Kp - DK * dc], axis=-1)
    inv = jnp.zeros_like(order).at[order].set(jnp.arange(order.shape[0], dtype=order.dtype))
    return c[inv], closing[inv], cert[inv], jnp.full(c.shape, PASSES + 1, jnp.int32)[inv]


def _solve_point(atoms, p, s, kappa, gsn, diverged, rules, pieces, t_init=None):
    """One point the continuation did not certify: the bracketed Newton of
    :mod:`asymptotics._threshold` per rule on the shortest static prefix covering ``p``, then
    the closing sums exactly at its root (no Taylor step).  Returns ``(c, closing, ok,
    steps)`` of shapes ``(R,)``, ``(R, 3)``, ``(R,)``, ``(R,)``."""
    lam, beta, lb2, nz, isl = atoms
    dt = lam.dtype

    def branch(size):
        def run(ops):
            p, s, kappa, gsn, diverged, t_init = ops
            sl = lambda x: x[:size]  # noqa: E731
            m, d, v = _moments(sl(lam), sl(beta), sl(isl), kappa, gsn, diverged)
            mask = jnp.arange(size) < p
            count = mask.astype(dt)
            inv_scale = _inv_scales(sl(isl), rules)
            thr = jax.vmap(lambda ms, vs, ti: _solve(ms, vs, count, s, MAX_STEPS, ti))(
                m / inv_scale, v / inv_scale, t_init)
            sums = jnp.sum(jnp.stack(_rule_sums(sl(lam), sl(lb2), sl(nz), m, d, v, inv_scale,
                                                thr.value[:, None], mask, True)), axis=-1).T
            ok = (thr.status == Status.CONVERGED) & jnp.all(jnp.isfinite(sums), axis=1)
            return thr.value, sums[:, 4:7], ok, thr.steps
        return run

    if t_init is None:
        t_init = jnp.full((len(rules),), jnp.nan, dt)
    return prefix_switch(lam.shape[0], pieces, p, branch,
                         (p, s, kappa, gsn, diverged, t_init))


def _fixed_rule(rule, lam, beta, lb2, nz, isl, order_oracle, support_mask, kappa, gsn,
                diverged, p, s):
    """``(R, B, K)`` sums for a data-independent rule at one point (masked pass)."""
    K = lam.shape[0]
    if rule == "oracle" and support_mask is None:
        # the pool sorted once by decreasing lambda beta^2 (ties by pool order); a point keeps
        # the first s of its own features in that order: models.oracle_mask's support
        lam_o, beta_o, lb2_o, nz_o, isl_o = (x[order_oracle] for x in (lam, beta, lb2, nz, isl))
        inside = order_oracle < p
        rank = jnp.cumsum(inside.astype(jnp.int32)) - 1
        keep = (inside & (rank < s)).astype(lam.dtype)
    else:
        lam_o, beta_o, lb2_o, nz_o, isl_o = lam, beta, lb2, nz, isl
        inside = jnp.arange(K) < p
        if rule == "oracle":
            keep = support_mask * inside
        else:  # random
            keep = inside * (s / jnp.asarray(p, lam.dtype))
    m, d, v = _moments(lam_o, beta_o, isl_o, kappa, gsn, diverged)
    dropped = jnp.maximum(1.0 - keep, 0.0)
    zero = jnp.zeros_like(lam)
    Rsum, B, Kp = fused_sums(jnp.where(inside, lam_o * keep * (d * d + v * v) + lb2_o * dropped, zero),
                             jnp.where(inside, lb2_o * dropped, zero), nz_o * keep)
    return jnp.stack([Rsum, B, Kp])


def pruned_curve(task, p, s, n, ridge, support_mask, rules):
    """The output dict of :func:`asymptotics._pruning.pruned_point`, vmapped over the grid,
    without ``keep_prob`` (module docstring; call under ``jit``; ``task.noise > 0``)."""
    lam, beta = task.eigenvalues, task.signal
    dt = lam.dtype
    K = lam.shape[0]
    beta2 = beta * beta
    lb2 = lam * beta2
    nz = (beta != 0).astype(dt)
    isl = 1.0 / jnp.sqrt(lam)
    m_pts = p.shape[0]
    p = jnp.minimum(jnp.asarray(p, jnp.int32), K)
    s = jnp.asarray(s, dt)
    n = jnp.asarray(n, dt)
    ridge = jnp.asarray(ridge, dt)
    noise2 = task.noise**2

    fp, df1, df2, shrink = _curve.dense_curve_sums(lam, beta2, p, n, ridge)
    _, tail = _prefix_tables(lam, beta2)
    sigma_p2 = noise2 + tail[p]
    dense = _dense_from_sums(fp, df1, df2, shrink, n, sigma_p2, dt)
    diverged = dense.status == Status.DIVERGED
    dense_ok = dense.status != Status.NOT_CONVERGED
    kappa = jnp.where(dense_ok, dense.kappa, 0.0)
    gamma = jnp.sqrt(jnp.where(diverged | ~dense_ok, 1.0, dense.risk))
    gsn = gamma / jnp.sqrt(n)

    data_rules = tuple(r for r in rules if r in _THRESHOLD_RULES)
    per_rule = {}
    if data_rules:
        # sorted by (n, ridge, s, p); a repeated point (the grid's padding repeats its first
        # entry) is moved to the end, evaluated on an empty prefix and given its first
        # occurrence's results
        sorted_ = jnp.lexsort((p, s, ridge, n))
        ps, ss, ns, rs = p[sorted_], s[sorted_], n[sorted_], ridge[sorted_]
        dup = jnp.concatenate([jnp.zeros((1,), bool),
                               (ps[1:] == ps[:-1]) & (ss[1:] == ss[:-1]) & (ns[1:] == ns[:-1])
                               & (rs[1:] == rs[:-1])])
        first = sorted_[lax.cummax(jnp.where(dup, 0, jnp.arange(m_pts)))]
        rep = jnp.zeros_like(sorted_).at[sorted_].set(first)   # input index -> first occurrence
        order = sorted_[jnp.argsort(dup, stable=True)]
        own = rep == jnp.arange(m_pts)
        atoms = (lam, beta, lb2, nz, isl)
        c, closing, cert, passes = _threshold_curve(atoms, order, jnp.where(own, p, 0), s, n,
                                                    ridge, kappa, gsn, diverged, dense_ok,
                                                    data_rules)

        # points the continuation did not certify: the bracketed solver, one at a time
        def more(state):
            return jnp.any(state[0])

        def fix(state):
            todo, c, closing, cert, passes = state
            j = jnp.argmax(todo)
            # started from the curve's estimate of the root (its last Newton iterate)
            cj, clj, okj, stj = _solve_point(atoms, p[j], s[j], kappa[j], gsn[j], diverged[j],
                                             data_rules, FIX_PIECES, jnp.log(c[j]))
            return (todo.at[j].set(False), c.at[j].set(cj), closing.at[j].set(clj),
                    cert.at[j].set(okj), passes.at[j].add(stj + 1))

        todo = dense_ok & ~jnp.all(cert, axis=1) & own
        _, c, closing, cert, passes = lax.while_loop(more, fix, (todo, c, closing, cert, passes))
        c, closing, cert, passes = (x[rep] for x in (c, closing, cert, passes))
        for j, rule in enumerate(data_rules):
            per_rule[rule] = (c[:, j], closing[:, j], cert[:, j], passes[:, j])
    order_oracle = jnp.argsort(-lb2, stable=True)
    for rule in rules:
        if rule in per_rule:
            continue
        sums = jax.vmap(lambda kk, gg, dd, pp, s_, rule=rule: _fixed_rule(
            rule, lam, beta, lb2, nz, isl, order_oracle, support_mask, kk, gg, dd, pp, s_))(
            kappa, gsn, diverged, p, s)
        per_rule[rule] = (jnp.full((m_pts,), jnp.nan, dt), sums, dense_ok,
                          jnp.zeros((m_pts,), jnp.int32))

    nan = jnp.asarray(jnp.nan, dt)
    out = {k: [] for k in ("risk", "retrain_exact", "retrain_asymptotic", "threshold",
                           "kept_signal", "status", "steps")}
    for rule in rules:
        c, sums, ok, steps = per_rule[rule]
        risk = jnp.where(diverged, jnp.inf, dense.sigma_p2 + sums[:, 0])
        sigma_s2 = noise2 + tail[p] + sums[:, 1]
        out["risk"].append(jnp.where(ok, risk, nan))
        out["retrain_exact"].append(jnp.where(ok & (s < n - 1), sigma_s2 * (n - 1) / (n - s - 1), nan))
        out["retrain_asymptotic"].append(jnp.where(ok & (s < n), sigma_s2 / (1 - s / n), nan))
        out["threshold"].append(jnp.where(ok, c, nan))
        out["kept_signal"].append(sums[:, 2])
        out["status"].append(jnp.where(ok, jnp.where(diverged, Status.DIVERGED, Status.CONVERGED),
                                       Status.NOT_CONVERGED).astype(jnp.int32))
        out["steps"].append(steps)
    res = {k: jnp.stack(v, axis=1) for k, v in out.items()}
    res.update(kappa=dense.kappa, dense_risk=dense.risk, status_dense=dense.status)

    return res

