"""Two-layer Flax networks (issue 10): the frozen-layer network is the random-features fit,
masks hold during fine-tuning, pruned and small networks have equal nonzero counts, runs are
reproducible and compile once, bad input is refused before compiling, the command line keeps
its contract.

Compile time dominates (each kernel is one XLA compilation of ~10 s on 2 busy cores), so the
default tests share two compiled kernels: the frozen teacher run (float64) and the digits run
(float32; the command-line test reuses its compilation with the same settings).
"""

import csv
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics as asy
import models
import sims
from models._mlp import features, magnitude_mask, small_width, unit_mask
from overparam import cli
from sims import _mlp

# ----------------------------------------------------------------------------- the RF check
D, POOL, N, NOISE, SEEDS = 10, 60, 20, 0.5, 8
KEY = jax.random.key(3)


@pytest.fixture(scope="module")
def task():
    return models.RFTask.draw(jax.random.key(0), d=D, pool=POOL, n=N, noise=NOISE)


@pytest.fixture(scope="module")
def frozen(task):
    """Second layer trained from zero by GD (lr auto = 1/L) with the first layer frozen at W."""
    return sims.mlp_ensemble(task, widths=[POOL], keep_fraction=[1.0, 0.5], seeds=SEEDS,
                             key=KEY, freeze_first_layer=True, finetune=True, steps=3000,
                             finetune_steps=200, n_test=50, dtype=jnp.float64)


def _teacher_draw(task, key):
    """The training set of one seed, as sims.rf_dense_risk draws it for the same key."""
    kx, ke = jax.random.split(key)
    x = np.asarray(jax.random.normal(kx, (N, D), jnp.float64))
    y = x @ np.asarray(task.teacher) + NOISE * np.asarray(jax.random.normal(ke, (N,), jnp.float64))
    return x, y


def test_frozen_network_is_the_random_features_model(task):
    x = np.asarray(jax.random.normal(jax.random.key(9), (7, D), jnp.float64))
    w = np.asarray(task.weights)
    mu0 = models.rf_feature_moments(task).mu0
    phi = np.asarray(features(jnp.asarray(w), jnp.asarray(x), "relu", centred=True))
    np.testing.assert_allclose(phi, np.maximum(x @ w.T, 0) - mu0, rtol=0, atol=1e-13)
    a = np.asarray(jax.random.normal(jax.random.key(2), (POOL, 1), jnp.float64))
    net = models.TwoLayerNet(width=POOL, activation="relu", centred=True,
                             param_dtype=jnp.float64)
    f = net.apply({"params": {"hidden": jnp.asarray(w), "output": jnp.asarray(a)}}, x)
    np.testing.assert_allclose(np.asarray(f), phi @ a[:, 0], rtol=1e-12)


def test_gd_from_zero_reaches_the_min_norm_fit_and_its_risk(task, frozen):
    """Item 4: the trained second layer equals the min-norm random-features solution to 1e-6,
    its exact risk equals sims.rf_dense_risk's on the same draws, and the mean matches theory."""
    a = frozen.outputs["dense"][0]                                  # (S, P)
    mu0 = models.rf_feature_moments(task).mu0
    w = np.asarray(task.weights)
    for s, ks in enumerate(jax.random.split(KEY, SEEDS)):
        x, y = _teacher_draw(task, ks)
        phi = np.maximum(x @ w.T, 0) - mu0
        a_mn = np.linalg.pinv(phi) @ y
        assert np.max(np.abs(a[s] - a_mn)) <= 1e-6 * max(1.0, np.max(np.abs(a_mn)))
    mc = sims.rf_dense_risk(task, p=POOL, trials=SEEDS, key=KEY)
    np.testing.assert_allclose(frozen.risk_exact["dense"][0], mc.risks.ravel(), rtol=1e-6)
    # theory: exact-moment (finite-d) deterministic equivalent at n = 20, d = 10: 3 s.e. of the
    # 8 seeds plus a 15 % finite-size allowance (the deterministic equivalent's error at this
    # small n; the agreement at larger sizes is tested in tests/test_rf_*.py)
    th = asy.rf_dense_risk(task, p=POOL, second_moment="exact")
    st = sims.summarize(frozen.risk_exact["dense"][0])
    assert abs(st.mean - float(th.risk)) <= 3 * st.stderr + 0.15 * float(th.risk)


def test_mask_invariance_and_equal_counts(frozen):
    assert frozen.mask_violations == 0
    pruned, ft = frozen.outputs["pruned"][0, 1], frozen.outputs["finetuned"][0, 1]   # (S, P)
    assert np.all(ft[pruned == 0] == 0.0)                  # pruned weights stay exactly zero
    assert np.all((pruned != 0).sum(-1) <= 30) and np.any(ft != pruned)
    # frozen first layer: second-layer counts, m k with m = round(q p)
    np.testing.assert_array_equal(frozen.nonzero, [[POOL, POOL // 2]])
    np.testing.assert_array_equal(frozen.small_width, [[POOL, POOL // 2]])
    small = frozen.outputs["small"][0, 1]
    assert np.all(small[:, POOL // 2:] == 0) and np.all((small != 0).sum(-1) <= POOL // 2)


def test_reproducible_and_compiled_once_across_seeds(task, frozen):
    kw = dict(widths=[POOL], keep_fraction=[1.0, 0.5], seeds=SEEDS, freeze_first_layer=True,
              finetune=True, steps=3000, finetune_steps=200, n_test=50, dtype=jnp.float64)
    before = _mlp.TRACES[0]
    again = sims.mlp_ensemble(task, key=KEY, **kw)
    other = sims.mlp_ensemble(task, key=jax.random.key(4), **kw)
    assert _mlp.TRACES[0] == before                       # no new trace for new seeds
    for name in _mlp.METRICS:
        np.testing.assert_array_equal(again.pruned[name], frozen.pruned[name])
    np.testing.assert_array_equal(again.outputs["finetuned"], frozen.outputs["finetuned"])
    assert not np.array_equal(other.pruned["test_loss"], frozen.pruned["test_loss"])


def test_checkpoint_resumes_the_same_numbers(task, frozen, tmp_path):
    kw = dict(widths=[POOL], keep_fraction=[1.0, 0.5], seeds=SEEDS, freeze_first_layer=True,
              finetune=True, steps=3000, finetune_steps=200, n_test=50, dtype=jnp.float64)
    ck = tmp_path / "mlp.npz"
    first = sims.mlp_ensemble(task, key=KEY, checkpoint=ck, **kw)
    assert ck.exists()
    resumed = sims.mlp_ensemble(task, key=KEY, checkpoint=ck, **kw)   # every chunk from disk
    for run in (first, resumed):
        np.testing.assert_array_equal(run.outputs["finetuned"], frozen.outputs["finetuned"])
        np.testing.assert_array_equal(run.pruned["test_loss"], frozen.pruned["test_loss"])


# ----------------------------------------------------------------------------- masks
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_magnitude_mask_keeps_a_fixed_count(scope):
    P, d, k = 12, 5, 3
    params = {"hidden": jax.random.normal(jax.random.key(0), (P, d)),
              "output": jnp.zeros((P, k))}        # ties at zero: the count is still exact
    active = unit_mask(P, 9, d, k)
    prune = jax.jit(lambda p_, a_, m_: magnitude_mask(p_, a_, m_, scope=scope))
    for m in (1, 4, 9):
        mask = jax.device_get(prune(params, active, m))
        total = int(sum(np.sum(v) for v in jax.tree.leaves(mask)))
        assert total == m * (d + k)                        # = the small network's weights
        assert np.sum(mask["hidden"][9:]) == 0 and np.sum(mask["output"][9:]) == 0
        if scope == "layer":
            assert int(np.sum(mask["hidden"])) == m * d
    np.testing.assert_array_equal(small_width([10, 256, 64], [0.01, 0.1, 1.0]), [1, 26, 64])


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,match", [
    (dict(keep_fraction=[0.0]), r"^keep_fraction: got 0.0; allowed: fractions in \(0, 1\]"),
    (dict(keep_fraction=[1.5]), r"^keep_fraction: got 1.5"),
    (dict(widths=[0]), r"^width: got 0; allowed: integers in \[1"),
    (dict(widths=[POOL + 1]), r"^width: got 61; allowed: integers in \[1, 60\]"),
    (dict(optimizer="rmsprop"), r"^optimizer: unknown value 'rmsprop'"),
    (dict(lr=float("nan")), r"^lr: 1 non-finite"),
    (dict(lr=float("inf")), r"^lr: 1 non-finite"),
    (dict(lr=-0.1), r"^lr: got -0.1"),
    (dict(optimizer="adam", lr="auto"), r"^lr: 'auto' is for gd and sgd"),
    (dict(optimizer="sgd", batch_size=None), r"^batch_size: sgd needs"),
])
def test_bad_input_refused_before_compiling(task, kwargs, match):
    args = dict(widths=[10], keep_fraction=[1.0], seeds=2, key=KEY, steps=5)
    args.update(kwargs)
    before = _mlp.TRACES[0]
    with pytest.raises(models.InputError, match=match):
        sims.mlp_ensemble(task, **args)
    assert _mlp.TRACES[0] == before


def test_unknown_data_refused():
    with pytest.raises(models.InputError, match=r"^data: got str; allowed: a models.RFTask"):
        sims.mlp_ensemble("mnist", widths=[4], seeds=1, key=KEY)


# ----------------------------------------------------------------------------- digits
def test_digits_split_is_stratified_standardized_and_fixed_by_the_key():
    pytest.importorskip("sklearn")
    a = models.load_digits(jax.random.key(0))
    b = models.load_digits(jax.random.key(0))
    c = models.load_digits(jax.random.key(1))
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.y_test, c.y_test) or not np.array_equal(a.x_test, c.x_test)
    assert a.x_train.shape == (1438, 64) and a.x_test.shape == (359, 64)
    _, y = models._digits.raw_digits()
    for cl in range(10):                                 # round(0.2 n_c) of every class
        assert (a.y_test == cl).sum() == round(0.2 * (y == cl).sum())
    np.testing.assert_allclose(a.x_train.mean(0), 0, atol=1e-5)
    sd = a.x_train.std(0)
    assert np.all((np.abs(sd - 1) < 1e-4) | (sd == 0))


def test_digits_without_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(models.InputError, match=r"^data: 'digits' needs scikit-learn.*"
                                                r"overparam\[digits\]"):
        models.load_digits(jax.random.key(0))


DIGITS_ARGV = ["--width", "8", "16", "--keep-fraction", "1", "0.5", "--finetune", "--seeds", "2",
               "--seed", "0", "--steps", "60", "--finetune-steps", "20"]


@pytest.fixture(scope="module")
def digits_run():
    pytest.importorskip("sklearn")
    data = models.load_digits(jax.random.key(0))
    return sims.mlp_ensemble(data, widths=[8, 16], keep_fraction=[1.0, 0.5], seeds=2,
                             key=jax.random.key(0), finetune=True, steps=60, finetune_steps=20)


def test_digits_ensemble_trains_prunes_and_finetunes(digits_run):
    r = digits_run
    assert r.mask_violations == 0                        # both layers: pruned weights stay 0
    np.testing.assert_array_equal(r.small_width, [[8, 4], [16, 8]])
    np.testing.assert_array_equal(r.nonzero, r.small_width * (64 + 10))
    acc = r.pruned["test_accuracy"]
    assert acc.shape == (2, 2, 2) and np.all(acc[:, 0] > 0.25)    # chance is 0.1
    loss = r.curves["dense"]["train_loss"]                    # (W, S, records)
    assert np.all(loss[..., -1] < loss[..., 0])
    np.testing.assert_array_equal(r.record_steps[[0, -1]], [0, 60])
    assert np.all(np.isnan(r.dense["test_accuracy"]) == False)  # noqa: E712


def test_cli_contract(digits_run, tmp_path, capsys):
    out = tmp_path / "mlp.csv"
    before = _mlp.TRACES[0]
    assert cli.main(["simulate", "--model", "mlp", "--data", "digits", *DIGITS_ARGV,
                     "--out", str(out)]) == 0
    assert _mlp.TRACES[0] == before                      # the Python run's compilation
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 2 * 2                        # width x keep x finetune
    need = ("data,width,keep_fraction,finetune,seeds,train_loss_mean,test_loss_mean,"
            "test_loss_stderr,test_accuracy_mean,test_accuracy_stderr").split(",")
    assert set(need) <= set(rows[0])
    assert {(r["width"], r["keep_fraction"], r["finetune"]) for r in rows} == {
        (w, q, f) for w in ("8", "16") for q in ("1.0", "0.5") for f in ("False", "True")}
    # same key, same numbers as the Python API
    py = {(row["width"], row["keep_fraction"], row["finetune"]): row for row in digits_run.rows()}
    for r in rows:
        ref = py[(int(r["width"]), float(r["keep_fraction"]), r["finetune"] == "True")]
        assert float(r["test_accuracy_mean"]) == pytest.approx(ref["test_accuracy_mean"], abs=1e-12)
    side = json.loads(out.with_suffix(".csv.json").read_text())
    assert side["parameters"]["training"]["optimizer"] == "adam"
    assert side["parameters"]["data_description"]["data"] == "digits"


@pytest.mark.parametrize("argv,match", [
    (["--data", "mnist", "--width", "8"], r"--data: unknown value 'mnist'"),
    (["--width", "0"], r"--width: got 0"),
    (["--width", "8", "--keep-fraction", "0"], r"--keep-fraction: got 0.0"),
    (["--width", "8", "--keep-fraction", "1.1"], r"--keep-fraction: got 1.1"),
    (["--width", "8", "--optimizer", "rmsprop"], r"--optimizer: unknown value 'rmsprop'"),
    (["--width", "8", "--lr", "nan"], r"--lr: got 'nan'"),
    (["--data", "teacher", "--width", "8", "--d", "5"], r"--n/--noise: missing"),
    (["--width", "8", "--lr", "auto"], r"--lr: 'auto' is for gd and sgd"),
    (["--width", "8", "--optimizer", "sgd", "--batch-size", "full"], r"--batch-size: sgd needs"),
])
def test_cli_bad_input_one_line_nonzero(tmp_path, capsys, argv, match):
    out = tmp_path / "x.csv"
    assert cli.main(["simulate", "--model", "mlp", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("overparam: error: ")
    import re
    assert re.search(match, err[0])
    assert not out.exists()


# ----------------------------------------------------------------------------- slow: quality
@pytest.mark.slow
def test_digits_width_256_default_settings_quality():
    """Item 7 (the benchmark prints the sklearn comparison): default settings, width 256."""
    pytest.importorskip("sklearn")
    data = models.load_digits(jax.random.key(0))
    run = sims.mlp_ensemble(data, widths=[256], keep_fraction=[1.0, 0.1], seeds=3,
                            key=jax.random.key(1), finetune=True)
    dense = run.pruned["test_accuracy"][0, 0].mean()
    ft = run.finetuned["test_accuracy"][0, 1].mean()
    assert dense >= 0.965                                  # sklearn MLPClassifier: ~0.98
    assert dense - ft <= 0.03


@pytest.mark.slow
def test_mlp_width_sweep_figure_quick(tmp_path):
    from overparam_figures import mlp_width_sweep as fig

    assert fig.main(["--quick", "--outdir", str(tmp_path)]) == 0
    assert (tmp_path / "mlp_width_sweep.png").stat().st_size > 10_000
    side = json.loads((tmp_path / "mlp_width_sweep.csv.json").read_text())
    assert side["parameters"]["figure"] == "mlp-width-sweep"
    with open(tmp_path / "mlp_width_sweep.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["data"] for r in rows} == {"digits", "teacher"}
    assert {"dense", "pruned", "pruned+finetuned", "small"} <= {r["variant"] for r in rows}
    assert any(r["theory"] != "" for r in rows)
