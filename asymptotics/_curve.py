"""The dense theory along a whole grid: continuation, per-point truncation, one fused pass.

Same mathematics as :func:`asymptotics.dense_risk_point` (``docs/linear.md`` section 2; the
fixed point ``h(u) = 0`` in ``u = 1/kappa`` of :mod:`asymptotics._fixed_point`, then the
closed forms of :mod:`asymptotics._dense`), organised for a curve instead of a point:

* **Sorted grid, continuation.**  The points are sorted by ``(n, ridge, p)`` inside the
  compiled call and solved in that order (``lax.scan``).  A point whose predecessor has the
  same ``n`` and ``ridge`` starts from a prediction built from it: with ``h_j`` the residual
  at the predecessor (``p_j`` features) and ``Delta(u)`` the contribution of the features
  ``p_j <= i < p_{j+1}``, ``h_{j+1} = h_j + Delta``; both are expanded to second order around
  the predecessor's root ``u_j`` and the quadratic is solved (error ``O(delta^3)``,
  ``delta`` the relative change of ``u`` between neighbours; ~1e-8 for 1000 points over a
  pool of 10^4).  The prediction is never below the point's closed-form lower bound
  (:func:`asymptotics._fixed_point.prefix_start`), which is also the start of every point
  without a usable predecessor.
* **One pass per point, truncated.**  A pass evaluates ``r = 1/(lambda u + 1)`` once per
  feature and accumulates, in one fused reduction over the shortest of :data:`PIECES`
  static prefixes of the pool that covers the point (no point evaluates more than ``K /
  PIECES`` features beyond its own ``p`` and the next point's new ones): ``h, h', h''``
  and the closing sums ``df1 = sum w``, ``df2 = sum w^2``, ``shrink = sum lambda beta^2
  r^2`` (``w = lambda u r``, ``kappa/(lambda+kappa) = r``) with their ``u``-derivatives,
  and ``Delta, Delta', Delta''`` for the next point.
* **Closing sums fused into the last step.**  The Newton step ``du = -h/h'`` of the pass
  is final when the a-posteriori bound of :func:`asymptotics._fixed_point._newton`
  certifies ``|u_1 - u*| <= RTOL u`` (it holds from either side of the root: from above,
  one step lands below it with the same error bound).  The closing sums are then taken at
  ``u_1`` by a first-order Taylor step from the pass (error ``<= (du/u)^2 <= RTOL/2``
  relative), so a point whose prediction is good costs ONE pass over its ``p`` features:
  ``sum_p p`` atom evaluations for the whole curve, the one-pass limit of
  ``benchmarks/README.md``.  The few points a pass does not certify (the first of a run,
  points just past the ridgeless threshold and the next few) are finished afterwards by
  the vmapped Newton solver of :mod:`asymptotics._fixed_point` started at ``u_1``, and one
  exact closing pass.
* Ridgeless points with ``p <= n`` (ordinary least squares, ``kappa = 0``) need no root:
  ``df1 = df2 = p``, ``shrink = 0`` exactly.

Status and ``steps`` (passes over the features, the closing one not counted) per point as
for :func:`asymptotics.dense_risk_point`; a point not certified within
``_fixed_point.MAX_STEPS`` Newton steps is NOT_CONVERGED (its values NaN).

Measured (``benchmarks/README.md``): 1000 points, pool 10^4, ``n`` 2000, 2-core CPU: 735
of 1000 ridgeless points (999 of 1000 with ridge 1e-3) take one pass.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from . import _fixed_point
from ._fixed_point import FixedPoint, fused_sums, prefix_start
from ._status import Status

#: static prefixes of the pool a pass may be cut to (:func:`_pass`): a point evaluates at
#: most ``K / PIECES`` features beyond the ones it needs.
PIECES = 8
#: lanes of the vmapped Newton that finishes the points a single pass did not certify.
FALLBACK = 32

_MAIN = 7   # accumulators over i < p: w, lam r^2, lam^2 r^3, w^2, w lam r^2, g r^2, g lam r^3
_NEXT = 3   # accumulators over p <= i < p_next: w, lam r^2, lam^2 r^3


def _summands(lam, lb2, u):
    """The seven summands of the module docstring at ``u`` (unmasked, stacked)."""
    t = lam * u
    r = 1.0 / (t + 1.0)
    w = t * r
    lr2 = lam * r * r
    l2r3 = lr2 * lam * r
    gr2 = lb2 * r * r
    return jnp.stack([w, lr2, l2r3, w * w, w * lr2, gr2, gr2 * lam * r])


def _masked_sums(lam, lb2, u, p, p_end):
    """``(main[7], next[3])``: the summands summed over ``i < p`` and ``p <= i < p_end``, as
    ONE variadic reduction (:func:`asymptotics._fixed_point.fused_sums`; on a CPU under
    ``scan`` 2-4x faster than ten separate sums or a masked matrix-vector product, measured
    by CPU time)."""
    i = jnp.arange(lam.shape[0])
    main = i < p
    nxt = (~main) & (i < p_end)
    x = _summands(lam, lb2, u)
    zero = jnp.zeros_like(lam)
    s = fused_sums(*[jnp.where(main, x[k], zero) for k in range(_MAIN)],
                   *[jnp.where(nxt, x[k], zero) for k in range(_NEXT)])
    return jnp.stack(s[:_MAIN]), jnp.stack(s[_MAIN:])


def prefix_switch(K: int, pieces: int, p, branch, operands):
    """``branch(size)(operands)`` for the shortest of ``pieces`` static prefixes of a pool of
    ``K`` features (``ceil(K (k+1) / pieces)``, k = 0..pieces-1) that covers the first ``p``
    features, by ``lax.switch`` (``p`` traced)."""
    pieces = max(1, min(pieces, K))
    sizes = [-(-K * (k + 1) // pieces) for k in range(pieces)]
    # the first piece with sizes[k] >= p: k = ceil(p pieces / K) - 1
    k = jnp.clip((p * pieces + K - 1) // K - 1, 0, pieces - 1)
    return lax.switch(k, [branch(z) for z in sizes], operands)


def _pass(lam, lb2, u, p, p_end, pieces: int):
    """Sums of the module docstring at ``u``: ``(main[7], next[3])`` over ``i < p`` and
    ``p <= i < p_end``, in one pass (:func:`_masked_sums`).

    Truncation: the pool is cut into ``pieces`` static prefixes (``K/pieces, 2K/pieces,
    ..., K`` features) and ``lax.switch`` runs the shortest one that covers ``p_end``; a
    dynamic-length loop over chunks would truncate exactly but costs more in loop overhead
    than it saves on a CPU (measured: 3-4x slower per point)."""
    def branch(size):
        def run(ops):
            u, p, p_end = ops
            main, nxt = _masked_sums(lam[:size], lb2[:size], u, p, p_end)
            return jnp.concatenate([main, nxt])
        return run

    s = prefix_switch(lam.shape[0], pieces, p_end, branch, (u, p, p_end))
    return s[:_MAIN], s[_MAIN:]


def _newton_update(u, main, n, ridge, u_low):
    """From a pass at ``u``: the Newton iterate ``u1`` (never below ``u_low``), the step
    taken, ``h'``, ``h''``, and whether the error bound certifies ``u1`` (to ``RTOL``)."""
    s1, s2, s3 = main[0], main[1], main[2]
    h = s1 / n + ridge * u - 1.0
    dh = s2 / n + ridge
    step = -h / dh
    u1 = jnp.maximum(u + step, u_low)   # never below the certified lower bound
    adu = jnp.abs(step)
    tol = _fixed_point.ATOL + _fixed_point.RTOL * jnp.abs(u1)
    early = (adu <= 1e-2 * jnp.abs(u1)) & (2.0 * adu * adu <= _fixed_point.RTOL * u1 * u1)
    # the error bounds of _fixed_point._newton hold for a plain Newton step from either side
    certified = ((adu <= tol) | early) & (u + step >= u_low) & jnp.isfinite(u1) & (u1 > 0)
    return u1, h, dh, -2.0 * s3 / n, certified


def curve_point(carry, x, lam, lb2, pieces: int = PIECES):
    """One point of the sorted curve (a ``lax.scan`` body; module docstring): ONE pass.

    ``carry = (u_pred, pred_ok)``: the prediction left by the previous point.
    ``x = (p, n, ridge, p_next, cont, u_low)``: ``cont`` says the previous point has the
    same ``n`` and ridge (its prediction applies); ``p_next`` is the next point's ``p`` when
    it continues from this one (else ``p``); ``u_low`` the closed-form lower bound
    (:func:`prefix_start`; 0 for ridgeless ``p <= n``).

    Returns the new carry and ``(u, main)``: the start used and the pass's seven sums over
    ``i < p``; the Newton update, its certificate and the closing sums are formed after the
    scan, for all points at once.  The body has no control flow beyond the pass's
    ``switch``, and as few scalar operations as possible: on a CPU every operation of a
    ``scan`` body costs ~1-2 us, and a ``while``/``cond`` nested in it ~70 us per point,
    several times the pass itself.  Uncertified points are finished by
    :func:`dense_curve_sums`."""
    u_pred, pred_ok = carry
    p, n, ridge, p_next, cont, u_low = x
    u = jnp.where(cont & pred_ok, jnp.maximum(u_pred, u_low), u_low)
    main, nxt = _pass(lam, lb2, u, p, p_next, pieces)
    u1, h, dh, hpp, _ = _newton_update(u, main, n, ridge, u_low)
    du = u1 - u
    # prediction for the next point: h_next(u1 + e) ~ a + b e + c e^2 = 0
    a = h + dh * du + 0.5 * hpp * du * du + (nxt[0] + nxt[1] * du) / n
    b = dh + hpp * du + (nxt[1] - 2.0 * nxt[2] * du) / n
    c = 0.5 * hpp - nxt[2] / n
    disc = b * b - 4.0 * a * c
    root_ok = (disc >= 0) & (b > 0)
    e = jnp.where(root_ok, -2.0 * a / jnp.where(root_ok, b + jnp.sqrt(jnp.maximum(disc, 0.0)),
                                                 1.0), -a / jnp.where(b != 0, b, 1.0))
    u_next = u1 + e
    next_ok = (u_low > 0) & jnp.isfinite(u_next) & (u_next > 0)
    return (jnp.where(next_ok, u_next, 0.0), next_ok), (u, main)


def _closing(lam, lb2, u, p):
    """Exact closing sums ``(df1, df2, shrink)`` at ``u`` over the first ``p`` features."""
    s, _ = _masked_sums(lam, lb2, u, p, p)
    return s[0], s[3], s[5]


def dense_curve_sums(lam, beta2, p, n, ridge):
    """Fixed points and closing sums for a whole grid (pure; call under ``jit``).

    ``p`` (int), ``n``, ``ridge``: ``(points,)`` in any order.  Returns ``(FixedPoint,
    df1, df2, shrink)`` in the input order (``shrink = kappa^2 sum lambda beta^2 /
    (lambda + kappa)^2`` over the first ``p`` features).

    Points whose single pass is not certified (the first of a run, points just past the
    ridgeless threshold, the few after them) are finished in groups of :data:`FALLBACK`
    lanes by the vmapped Newton solver
    (:func:`asymptotics._fixed_point.effective_regularization_prefix`, started at ``u1``)
    and one exact closing pass."""
    dtype = lam.dtype
    K = lam.shape[0]
    m = p.shape[0]
    csum = jnp.concatenate([jnp.zeros((1,), dtype), jnp.cumsum(lam)])
    lb2 = lam * beta2
    p = jnp.minimum(jnp.asarray(p, jnp.int32), K)
    order = jnp.lexsort((p, ridge, n))
    ps, ns, rs = p[order], n[order], ridge[order]
    same = (ns[1:] == ns[:-1]) & (rs[1:] == rs[:-1])
    cont = jnp.concatenate([jnp.zeros((1,), bool), same])
    p_next = jnp.concatenate([jnp.where(same, ps[1:], ps[:-1]), ps[-1:]])
    p_next = jnp.maximum(p_next, ps)
    no_root = (rs <= 0) & (ps.astype(dtype) <= ns)
    u_low = jnp.where(no_root, 0.0,
                      jax.vmap(prefix_start, in_axes=(None, 0, 0, 0))(csum, ps, ns, rs))

    def step(carry, x):
        return curve_point(carry, x, lam, lb2, PIECES)

    init = (jnp.zeros((), dtype), jnp.zeros((), bool))
    _, (u0, main) = lax.scan(step, init, (ps, ns, rs, p_next, cont, u_low))
    u1, _, _, _, cert = _newton_update(u0, main.T, ns, rs, u_low)
    du = u1 - u0
    # closing sums at u1: first-order Taylor from the pass at u0 (error (du/u)^2 relative)
    df1 = main[:, 0] + main[:, 1] * du
    df2 = main[:, 3] + 2.0 * main[:, 4] * du
    shrink = main[:, 5] - 2.0 * main[:, 6] * du
    steps = jnp.where(no_root, 0, 1).astype(jnp.int32)
    todo = ~no_root & ~cert
    ok = no_root | cert

    # finish the uncertified points, FALLBACK lanes at a time
    lanes = min(FALLBACK, m)

    def more(state):
        return jnp.any(state[0])

    def finish(state):
        todo, u1, ok, steps, df1, df2, shrink = state
        (idx,) = jnp.nonzero(todo, size=lanes, fill_value=m)
        real = idx < m
        j = jnp.where(real, idx, 0)
        fp = jax.vmap(lambda pp, nn, rr, us: _fixed_point.effective_regularization_prefix(
            lam, pp, nn, rr, csum=csum, u_start=us,
            max_steps=max(_fixed_point.MAX_STEPS - 1, 0)))(ps[j], ns[j], rs[j], u1[j])
        conv = fp.status == Status.CONVERGED
        uf = 1.0 / jnp.where(conv, fp.kappa, 1.0)
        c1, c2, c3 = jax.vmap(lambda uu, pp: _closing(lam, lb2, uu, pp))(uf, ps[j])
        put = lambda arr, val: arr.at[idx].set(val, mode="drop")  # noqa: E731
        return (put(todo, False), put(u1, uf), put(ok, conv), put(steps, steps[j] + fp.steps),
                put(df1, c1), put(df2, c2), put(shrink, c3))

    state = lax.while_loop(more, finish, (todo, u1, ok, steps, df1, df2, shrink))
    _, u1, ok, steps, df1, df2, shrink = state

    nan = jnp.asarray(jnp.nan, dtype)
    pf = ps.astype(dtype)
    kappa = jnp.where(no_root, 0.0, jnp.where(ok, 1.0 / jnp.where(ok, u1, 1.0), nan))
    df1 = jnp.where(no_root, pf, jnp.where(ok, df1, nan))
    df2 = jnp.where(no_root, pf, jnp.where(ok, df2, nan))
    shrink = jnp.where(no_root, 0.0, jnp.where(ok, shrink, nan))
    status = jnp.where(ok, Status.CONVERGED, Status.NOT_CONVERGED).astype(jnp.int32)
    inv = jnp.zeros_like(order).at[order].set(jnp.arange(m, dtype=order.dtype))
    take = lambda x: x[inv]  # noqa: E731
    return (FixedPoint(kappa=take(kappa), status=take(status), steps=take(steps)),
            take(df1), take(df2), take(shrink))
