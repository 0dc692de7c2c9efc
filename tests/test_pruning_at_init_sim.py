"""Simulation claims of random pruning at initialization (Yang et al., ICLR 2023).

Small configuration of ``docs/pruning_at_init.md``: n=20, d=1000, m=10, q=3,
||mu||=12, sigma_p=1, sigma_0=0.01, eta=0.02, T=1500, 2000 test points, nested masks.

Number of seeds: 32 (sparse), 16 (dense control).  With m = 10 the mask (which neurons
keep the signal coordinate, and whether their initial alignment is positive) makes the
per-seed test error nearly bimodal (about 0 or about 1/4-1/2): the per-seed standard
deviation of a paired difference err(p) - err(p') is ~0.25, so its 32-seed standard error
is ~0.045.  A 64-seed pilot (another key) gave err(0) - err(0.7) = 0.20 and
err(0.97) - err(0.85) = 0.23, so the issue's thresholds (0.1) lie >= 2 standard errors
below the expected differences (a 16-seed run missed the first by only 0.01: too few).
The thresholds are the issue's claims, not fitted.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import PatchTask
from sims.pruning_at_init import _simulate, train_pruned

P = [0.0, 0.5, 0.7, 0.85, 0.95, 0.97]
SEEDS = {"sparse": 32, "dense": 16}
CONFIG = dict(n=20, d=1000, m=10, q=3.0, mu_norm=12.0, sigma_p=1.0, sigma_0=0.01)


@pytest.fixture(scope="module")
def runs():
    key = jax.random.key(2023)
    return {sig: train_pruned(PatchTask.create(**CONFIG, signal=sig), P, key, seeds=SEEDS[sig],
                              eta=0.02, steps=1500, record_steps=[0, 300, 1500], n_test=2000)
            for sig in ("sparse", "dense")}


def _diff_se(run, i, j):
    """Standard error of the seed-mean difference err(p_i) - err(p_j) (paired seeds)."""
    e = run.final("test_error")
    return np.std(e[:, i] - e[:, j], ddof=1) / np.sqrt(e.shape[0])


def test_mild_pruning_improves_generalization(runs):
    mean, _ = runs["sparse"].summary("test_error")
    print("sparse test error", dict(zip(P, mean.round(3))), "s.e. diff", _diff_se(runs["sparse"], 0, 2))
    assert mean[P.index(0.7)] <= mean[P.index(0.0)] - 0.1


def test_over_pruning_hurts_generalization(runs):
    mean, _ = runs["sparse"].summary("test_error")
    assert mean[P.index(0.97)] >= mean[P.index(0.85)] + 0.1


def test_training_error_zero_up_to_085(runs):
    """Training fits every point for p <= 0.85, except a point whose own-class neurons are all
    inactive on it: then its gradient vanishes and it stalls at f = 0, loss log 2 / n.

    Such a stall needs all m = 10 own-class pre-activations of the point to be negative at
    initialization (probability ~2^-m per point, ~2% per seed of n = 20 points); a 64-seed
    pilot had 1 stalled seed at p = 0.85 and none at p <= 0.7.  The test allows at most two
    stalled seeds of 32 at p = 0.85 (expected ~0.6; P(>= 3) ~ 3%), requires the stall
    signature (training loss >= 0.99 k log 2 / n for k misfit points) in each, and exact
    zeros for p <= 0.7.
    """
    run = runs["sparse"]
    err, loss = run.final("train_error"), run.final("train_loss")
    n = CONFIG["n"]
    for i, p in enumerate(P):
        if p <= 0.7:
            assert np.all(err[:, i] == 0), (p, err[:, i])
        elif p <= 0.85:
            bad = np.flatnonzero(err[:, i] > 0)
            assert bad.size <= 2, (p, err[:, i])
            for s in bad:
                k = round(err[s, i] * n)
                assert loss[s, i] >= 0.99 * k * np.log(2) / n, (loss[s, i], k)


def test_dense_signal_shows_no_benefit(runs):
    """Dense mu: pruning removes signal and noise alike.  No fraction p > 0 beats p = 0 by
    more than 2 paired standard errors."""
    run = runs["dense"]
    mean, _ = run.summary("test_error")
    for i in range(1, len(P)):
        assert mean[i] >= mean[0] - 2 * _diff_se(run, i, 0), (P[i], mean[i], mean[0])
    # while the sparse signal gains at least 0.1 (the claim above) at some p
    assert np.min(runs["sparse"].summary("test_error")[0][1:]) <= runs["sparse"].summary("test_error")[0][0] - 0.1


def test_unpruned_sparse_and_dense_agree_in_law(runs):
    """At p = 0 the Gaussian initialization is rotation invariant, so sparse and dense mu
    give the same law of the test error: their means agree within 4 standard errors."""
    a, b = runs["sparse"].final("test_error")[:, 0], runs["dense"].final("test_error")[:, 0]
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert abs(a.mean() - b.mean()) <= 4 * se


def test_signal_connected_binomial(runs):
    """Signal-connected neurons per class ~ Binomial(m, 1 - p): the mean over seeds and the
    two classes (64 draws) matches m (1 - p) within 4 standard errors."""
    c = runs["sparse"].connected.astype(float)  # (S, P, 2)
    m, p = CONFIG["m"], np.asarray(P)
    mean = c.mean(axis=(0, 2))
    se = np.sqrt(m * p * (1 - p) / (c.shape[0] * 2))
    assert np.all(np.abs(mean - m * (1 - p)) <= 4 * se + 1e-12)


def test_feature_learning_traces(runs):
    """At initialization alignments are O(sigma_0 ||mu||) and O(sigma_0 sigma_p sqrt(d));
    under mild pruning training grows the best signal alignment by orders of magnitude."""
    run = runs["sparse"]
    i = P.index(0.7)
    a = run.signal_alignment[:, i, :]
    assert np.all(a[:, 0] < 10 * 0.01 * 12)                # init: |<w, mu>| ~ 0.12, max of 20
    assert np.median(a[:, -1]) > 10 * np.median(a[:, 0])


def test_no_recompilation_across_settings(monkeypatch):
    """One compiled call serves every ||mu||, eta, p grid and step schedule of given sizes."""
    import sims.pruning_at_init as pai

    task = PatchTask.create(n=8, d=50, m=3, mu_norm=2.0)
    _simulate.clear_cache()
    monkeypatch.setattr(pai, "signal_connected", chex.assert_max_traces(pai.signal_connected, n=1))
    train_pruned(task, [0.0, 0.5], jax.random.key(0), seeds=2, steps=5, n_test=10, record_steps=[5])
    train_pruned(task.with_mu_norm(3.0), [0.2, 0.9], jax.random.key(1), seeds=2,
                 steps=9, eta=0.1, n_test=10, record_steps=[9])
    _simulate.clear_cache()


def test_float32_matches_float64_early():
    """Same random draws in both dtypes (sampled in float64): early in training, before the
    fast phase amplifies rounding, the recorded quantities agree to float32 accuracy
    (relative 1e-4 allows ~1e3 ulp of accumulated rounding over 100 steps)."""
    task = PatchTask.create(n=20, d=300, m=4, mu_norm=12.0)
    r = {dt: train_pruned(task, [0.0, 0.7], jax.random.key(5), seeds=2, steps=100,
                          record_steps=[100], n_test=200, dtype=dt) for dt in (jnp.float32, jnp.float64)}
    for name in ("train_loss", "signal_alignment", "noise_memorization"):
        np.testing.assert_allclose(getattr(r[jnp.float32], name), getattr(r[jnp.float64], name),
                                   rtol=1e-4, err_msg=name)
    assert r[jnp.float32].settings["dtype"] == "float32"


def test_training_core_keeps_pruned_weights_zero():
    """The port: one seed's training through ``sims._training`` with the linen ``PatchNet``
    keeps every pruned weight at exactly 0.0 and matches the hand-written gradient step
    ``W <- W - eta M * grad f(W * M)`` (the loop it replaced) after 20 steps."""
    import optax

    from models._patch_net import init_patch_params, nested_masks, patch_net, sample_patch_data
    from sims._training import Trainer, train

    task = PatchTask.create(n=10, d=80, m=3, mu_norm=4.0)
    x, y = sample_patch_data(task, jax.random.key(1), task.n)
    w0 = init_patch_params(task, jax.random.key(2))
    mask = nested_masks(jax.random.key(3), w0.shape, 0.6)
    net = patch_net(task, jnp.float64)

    def loss(params, batch):
        return jnp.mean(jnp.logaddexp(0.0, -batch[1] * net.apply({"params": params}, batch[0])))

    tr = Trainer(loss, optax.sgd(0.5), mask={"W": mask})
    _, rec = train(tr, tr.init(jax.random.key(0), {"W": w0}), (x, y), jnp.arange(1, 21),
                   lambda s: s.params["W"])
    assert np.all(np.asarray(rec)[:, np.asarray(mask) == 0] == 0.0)
    w = w0
    for _ in range(20):
        g = jax.grad(lambda v: loss({"W": v * mask}, (x, y)))(w)
        w = w - 0.5 * g
    np.testing.assert_allclose(rec[-1], w * mask, rtol=1e-10, atol=1e-15)
    assert float(jnp.max(jnp.abs(rec[-1] - w0 * mask))) > 1e-3   # it did train


@pytest.mark.slow
def test_reference_run_1():
    """Run 1 of docs/pruning_at_init.md (\"Reference simulation\") (n=20, d=4000, m=20, ||mu||=20, eta=0.01, T=2500, 4 seeds):
    the benign band (p = 0.7 beats p = 0 by >= 0.1), over-pruning (p = 0.99 worse than
    p = 0.85 by >= 0.1) and the training fit up to p = 0.98 (stall exception as above).
    With m = 20 the per-class probability of no signal neuron at p = 0.85 is 0.04, so four
    seeds suffice for differences of this size."""
    p = [0.0, 0.3, 0.5, 0.7, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99]
    task = PatchTask.create(n=20, d=4000, m=20, q=3.0, mu_norm=20.0)
    run = train_pruned(task, p, jax.random.key(1), seeds=4, eta=0.01, steps=2500,
                       record_steps=[2500], n_test=2000)
    mean, _ = run.summary("test_error")
    print("run 1 test error", dict(zip(p, mean.round(3))),
          "train error", dict(zip(p, run.summary("train_error")[0].round(3))))
    assert mean[p.index(0.7)] <= mean[p.index(0.0)] - 0.1
    assert mean[p.index(0.99)] >= mean[p.index(0.85)] + 0.1
    err, loss = run.final("train_error"), run.final("train_loss")
    for i in range(p.index(0.98) + 1):
        for s in np.flatnonzero(err[:, i] > 0):
            assert loss[s, i] >= 0.99 * round(err[s, i] * 20) * np.log(2) / 20
        assert np.sum(err[:, i] > 0) <= 1
