"""Bad input: clear one-line errors naming the argument and range, before compilation."""

import numpy as np
import pytest

import asymptotics as asy
import models
from asymptotics import _dense


@pytest.mark.parametrize("lam,beta,kw,arg", [
    ([1.0, -0.5], [1.0, 0.0], {}, "eigenvalues"),
    ([1.0, 0.0], [1.0, 0.0], {}, "eigenvalues"),
    ([1.0, np.inf], [1.0, 0.0], {}, "eigenvalues"),
    ([1.0, np.nan], [1.0, 0.0], {}, "eigenvalues"),
    ([1.0, 1.0], [1.0, np.nan], {}, "signal"),
    ([1.0, 1.0], [1.0], {}, "signal"),
    ([1.0, 1.0], [1.0, 0.0], {"noise": -1.0}, "noise"),
    ([1.0, 1.0], [1.0, 0.0], {"noise": np.nan}, "noise"),
    ([1.0, 1.0], [1.0, 0.0], {"ridge": -0.1}, "ridge"),
    ([1.0, 1.0], [1.0, 0.0], {"n": 0}, "n"),
])
def test_task_validation(lam, beta, kw, arg):
    with pytest.raises(models.InputError, match=rf"^{arg}: .*; allowed: "):
        models.LinearTask.create(lam, beta, **({"noise": 1.0, "n": 10} | kw))


@pytest.mark.parametrize("kw,arg", [(dict(p=0), "p"), (dict(p=51), "p"), (dict(p=2.5), "p"),
                                    (dict(n=0), "n"), (dict(ridge=-1e-3), "ridge"),
                                    (dict(ridge=np.inf), "ridge")])
def test_theory_grid_validation_before_compiling(kw, arg):
    task = models.LinearTask.isotropic(pool=50, n=20, noise=0.5)
    before = _dense._dense_grid._cache_size()
    with pytest.raises(models.InputError, match=rf"^{arg}: "):
        asy.dense_risk(task, **kw)
    assert _dense._dense_grid._cache_size() == before


@pytest.mark.parametrize("content,needle", [
    ("lambda,beta\n1,0\n", "header"), ("eigenvalue,signal\n1\n", "fields"),
    ("eigenvalue,signal\n1,abc\n", "not numeric"), ("eigenvalue,signal\n", "no rows"),
    ("eigenvalue,signal\n-1,0\n", "eigenvalues"), ("", "header"),
])
def test_malformed_csv(tmp_path, content, needle):
    f = tmp_path / "s.csv"
    f.write_text(content)
    with pytest.raises(models.InputError, match=needle):
        models.LinearTask.from_csv(f, n=10, noise=1.0)


def test_csv_roundtrip(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("eigenvalue,signal\n2.0,0.5\n1.0,-0.25\n0.5,0\n")
    task = models.LinearTask.from_csv(f, n=10, noise=1.0)
    np.testing.assert_array_equal(task.eigenvalues, [2.0, 1.0, 0.5])
    np.testing.assert_array_equal(task.signal, [0.5, -0.25, 0.0])


def test_random_subset_growth_is_a_nested_permutation():
    import jax
    task = models.LinearTask.power_law(pool=100, n=10, noise=1.0, a=1.0, b=1.0)
    sh = task.shuffled(jax.random.key(0))
    assert sorted(np.asarray(sh.eigenvalues).tolist()) == sorted(np.asarray(task.eigenvalues).tolist())
    assert not np.array_equal(sh.eigenvalues, task.eigenvalues)
    # pairs (lambda_i, beta_i) move together
    pairs = set(zip(np.asarray(task.eigenvalues).round(12), np.asarray(task.signal).round(12)))
    assert set(zip(np.asarray(sh.eigenvalues).round(12), np.asarray(sh.signal).round(12))) == pairs
