"""Status of the pruning-at-initialization closed forms: INVALID outside theorem A's validity
region (docs/pruning_at_init.md: training must reach zero loss, (1-p) d >= n; the
analysis assumes d >= n^2), CONVERGED for the exact statements; throw= on both."""

import numpy as np
import pytest

import asymptotics as asy
from models import PatchTask

SMALL = dict(n=20, d=1000, m=10, q=3.0, mu_norm=12.0)


def test_theorem_a_invalid_where_training_cannot_memorize():
    p = np.array([0.0, 0.97, 0.99])                     # (1-p) d = 1000, 30, 10 vs n = 20
    b = asy.theorem_a_bound(20, 1000, 12.0, p, throw=False)
    assert b.status.tolist() == [asy.Status.CONVERGED] * 2 + [asy.Status.INVALID]
    np.testing.assert_allclose(b.value, np.exp(-20 * 12.0**4 / ((1 - p) * 1000)), rtol=1e-14)
    with pytest.raises(asy.SolverError, match=r"theorem_a_bound.*1 invalid"):
        asy.theorem_a_bound(20, 1000, 12.0, p)
    m = asy.benign_margin(20, 1000, 12.0, p, throw=False)
    assert m.status.tolist() == b.status.tolist()


def test_p_min_invalid_below_the_high_dimensional_regime():
    assert asy.p_min(20, 1000, 12.0).status == asy.Status.CONVERGED       # d >= n^2 = 400
    low = asy.p_min(40, 1000, 12.0, throw=False)                           # d < 1600
    assert low.status == asy.Status.INVALID and np.isfinite(low.value)
    with pytest.raises(asy.SolverError, match=r"p_min.*1 invalid"):
        asy.p_min(40, 1000, 12.0)


def test_exact_statements_converged():
    p = np.array([0.0, 0.5, 0.995])
    for est in (asy.error_floor(10, p), asy.prob_no_signal_neuron(10, p),
                asy.effective_snr(12.0, 1.0, 1000, p)):
        assert est.status.tolist() == [asy.Status.CONVERGED] * 3 and est.error == 0.0
    assert asy.over_pruning_onset(10).status == asy.Status.CONVERGED


def test_pruning_theory_status_column_and_throw():
    task = PatchTask.create(**SMALL)
    th = asy.pruning_theory(task, [0.0, 0.9, 0.99], throw=False)
    assert th["status"].tolist() == [asy.Status.CONVERGED] * 2 + [asy.Status.INVALID]
    with pytest.raises(asy.SolverError, match=r"pruning_theory.*1 invalid"):
        asy.pruning_theory(task, [0.0, 0.99])
