"""The curve solver of ``dense_risk`` (asymptotics/_curve.py: exact roots at a few anchors,
every other point from an anchor's certified power-series table) against the per-point Newton
solver, point by point, and the series certificate against exact roots."""

import jax
import jax.numpy as jnp
import numpy as np

import models
from asymptotics import _dense


def _per_point(task, p, n, ridge):
    f = jax.jit(jax.vmap(_dense.dense_risk_point, in_axes=(None, 0, 0, 0)))
    return f(task, jnp.asarray(p), jnp.asarray(n, jnp.float64), jnp.asarray(ridge, jnp.float64))


def test_curve_equals_per_point_solver_on_a_mixed_unsorted_grid():
    # power-law pool (not isotropic: the start bound is not exact), unsorted p with repeats,
    # two n and two ridges interleaved, the ridgeless threshold p = n and OLS points inside
    task = models.LinearTask.power_law(pool=400, n=100, noise=0.5, a=1.0, b=0.5)
    rng = np.random.default_rng(0)
    p = rng.integers(1, 401, size=61)
    p[:4] = [100, 100, 150, 400]
    n = np.where(np.arange(61) % 3 == 0, 150.0, 100.0)
    ridge = np.where(np.arange(61) % 4 == 0, 1e-2, 0.0)
    # and a dense run (n 100, ridgeless), shuffled: continuation along it
    dense = rng.permutation(np.arange(200, 264))
    p, n, ridge = (np.concatenate([p, dense]), np.concatenate([n, np.full(64, 100.0)]),
                   np.concatenate([ridge, np.zeros(64)]))
    curve = _dense._dense_curve_grid(task, jnp.asarray(p), jnp.asarray(n), jnp.asarray(ridge))
    got = dict(zip(_dense.DensePoint._fields, np.asarray(curve)))
    ref = _per_point(task, p, n, ridge)
    np.testing.assert_array_equal(got["status"], np.asarray(ref.status))
    for field in ("kappa", "risk", "bias", "variance", "df1", "df2"):
        a, b = got[field], np.asarray(getattr(ref, field))
        both = np.isfinite(b)
        np.testing.assert_array_equal(np.isfinite(a), both, err_msg=field)
        np.testing.assert_allclose(a[both], b[both], rtol=1e-10, atol=1e-300, err_msg=field)
    # along the dense run nearly every point is solved from an anchor's table (steps 1)
    assert np.sum(got["steps"][61:] == 1) >= 60
    # one compilation serves other values of the same shapes
    before = _dense._dense_curve_grid._cache_size()
    _dense._dense_curve_grid(task, jnp.asarray(p[::-1]), jnp.asarray(n), jnp.asarray(ridge))
    assert _dense._dense_curve_grid._cache_size() == before



def _tables_for(lam, beta2, kappas):
    """The anchor tables of ``asymptotics._curve`` at ``kappas`` (and the padded arrays)."""
    from asymptotics import _curve

    lam_pad, g_pad, lb, gb, bmin = _curve.blocked_pool(lam, lam * beta2)
    return _curve._anchor_tables(lb, gb, jnp.asarray(kappas)), lam_pad, g_pad, bmin


def test_series_certificate_never_accepts_an_inaccurate_point():
    # Every (anchor, point) pair over a range of distances, three spectra, ridgeless and
    # ridge: a certified series solution must equal the exact Newton solution (to the
    # solver's tolerance, kappa and both closing sums); pairs far apart must be refused
    # (q > Q_MAX), and near pairs accepted (the certificate is not vacuous).
    from asymptotics import _curve, _fixed_point

    K, n = 1500, 400.0
    spectra = {"power": 1.0 / np.arange(1, K + 1),
               "two-level": np.r_[np.full(60, 5.0), np.full(K - 60, 0.02)],
               "flat": np.ones(K)}
    ps = np.arange(420, K + 1, 20)
    for name, lam_np in spectra.items():
        lam = jnp.asarray(lam_np)
        beta2 = jnp.asarray(np.random.default_rng(1).uniform(0.5, 1.5, K) / K)
        for ridge in (0.0, 1e-2):
            exact = jax.vmap(lambda p: _fixed_point.effective_regularization_prefix(
                lam, p, n, ridge).kappa)(jnp.asarray(ps))
            exact = np.asarray(exact)
            anchors = exact[::8]
            tables, lam_pad, g_pad, bmin = _tables_for(lam, beta2, anchors)

            J, A = np.meshgrid(np.arange(len(ps)), np.arange(len(anchors)), indexing="ij")
            J, A = J.ravel(), A.ravel()
            pj = jnp.asarray(ps[J])
            rows = tables[pj // _curve.BLOCK, A]
            kap, _, df2, shrink, cert = jax.jit(jax.vmap(
                lambda row, ka, p: _curve._series_point(row, ka, lam_pad, g_pad, bmin, p, n,
                                                        ridge)))(rows, jnp.asarray(anchors[A]),
                                                                 pj)
            kref = jnp.asarray(exact[J])
            mask = jnp.arange(K)[None, :] < pj[:, None]
            w = lam / (lam + kref[:, None])
            ref_df2 = jnp.sum(jnp.where(mask, w * w, 0.0), axis=1)
            ref_sh = jnp.sum(jnp.where(mask, lam * beta2 * (1.0 - w) ** 2, 0.0), axis=1)
            cert = np.asarray(cert)
            where = f"{name} ridge {ridge}"
            for got, ref, tol in ((kap, kref, 2e-12), (df2, ref_df2, 1e-11),
                                  (shrink, ref_sh, 1e-11)):
                err = np.abs(np.asarray(got) / np.asarray(ref) - 1)[cert]
                assert np.all(err < tol), (where, err.max())
            # pairs whose series diverges (q >= 0.9: |tau| times the largest z of the prefix)
            lam_min = np.minimum.accumulate(lam_np)[ps[J] - 1]
            q = np.abs(1 - exact[J] / anchors[A]) * anchors[A] / (lam_min + anchors[A])
            if ridge == 0:   # kappa spans decades from the threshold: such pairs exist
                assert np.any(q >= 0.9), where
            assert not np.any(cert & (q >= 0.9)), where
            assert cert.sum() >= len(ps), (where, cert.sum())


def test_curve_equals_per_point_solver_on_several_spectra():
    # fine grids (the curve's use) on spectra that move kappa differently: the table
    # solves nearly every point, the rest go through the fallback; all equal the
    # per-point solver to 1e-10
    K, n = 3000, 600
    rng = np.random.default_rng(2)
    spectra = {"power": 1.0 / np.arange(1, K + 1),
               "steep": np.arange(1, K + 1) ** -2.0,
               "two-level": np.r_[np.full(100, 10.0), np.full(K - 100, 0.01)],
               "flat": np.ones(K),
               "random order": rng.permutation(np.exp(rng.uniform(-8, 2, K)))}
    p = np.unique(np.linspace(20, K, 300).astype(int))
    p = p[p != n]
    for name, lam in spectra.items():
        beta = rng.normal(size=K) * np.sqrt(1.0 / K)
        task = models.LinearTask.create(lam, beta, noise=0.3, n=n)
        for ridge in (0.0, 1e-3):
            pp = np.asarray(p)
            nn = np.full(pp.shape, float(n))
            rr = np.full(pp.shape, ridge)
            curve = _dense._dense_curve_grid(task, jnp.asarray(pp), jnp.asarray(nn),
                                             jnp.asarray(rr))
            got = dict(zip(_dense.DensePoint._fields, np.asarray(curve)))
            ref = _per_point(task, pp, nn, rr)
            np.testing.assert_array_equal(got["status"], np.asarray(ref.status), err_msg=name)
            for field in ("kappa", "risk", "df2", "bias"):
                a, b = got[field], np.asarray(getattr(ref, field))
                both = np.isfinite(b)
                np.testing.assert_allclose(a[both], b[both], rtol=1e-10, atol=1e-300,
                                           err_msg=f"{name} ridge {ridge} {field}")
            # steps 1 or 2: solved from an anchor's table (first or second round); anchors
            # and points finished by the per-point Newton take more.  Measured: 97-98 % on
            # the first four spectra, 87-88 % on the random-order one (kappa spans three
            # decades relative to lambda_min there: ~30 anchors for 241 points)
            root = (ridge > 0) | (pp > n)
            from_table = np.sum(got["steps"][root] <= 2)
            assert from_table >= 0.8 * np.sum(root), (name, ridge, from_table, np.sum(root))
