"""Command-line contract of ``overparam theory|simulate|compare --model rf`` (issue 9)."""

import csv
import json

import numpy as np
import pytest

from overparam import cli


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((60, 12))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    theta = rng.standard_normal(12)
    theta /= np.linalg.norm(theta)
    np.save(tmp_path / "W.npy", w)
    np.save(tmp_path / "THETA.npy", theta)
    return tmp_path / "W.npy", tmp_path / "THETA.npy"


def test_theory_contract_from_files(tmp_path, files):
    w, th = files
    out = tmp_path / "th.csv"
    assert cli.main(["theory", "--model", "rf", "--weights", str(w), "--teacher", str(th),
                     "--activation", "tanh", "--n", "30", "--noise", "0.4", "--p", "20", "30", "50",
                     "--ridge", "0", "0.02", "--out", str(out)]) == 0
    rows = read(out)
    assert len(rows) == 6
    assert {"p", "n", "ridge", "kappa", "dense_risk", "bias", "variance", "status"} <= set(rows[0])
    by = {(r["p"], float(r["ridge"])): r for r in rows}
    assert float(by[("20", 0.0)]["kappa"]) == 0.0                       # ridgeless p < n: OLS
    assert by[("30", 0.0)]["dense_risk"] == "inf" and by[("30", 0.0)]["status"] == "diverged"
    assert by[("50", 0.02)]["status"] == "converged"
    side = json.loads((tmp_path / "th.csv.json").read_text())
    assert side["parameters"]["task"]["activation"] == "tanh" and side["parameters"]["task"]["d"] == 12


def test_simulate_and_compare_from_draws(tmp_path):
    common = ["--model", "rf", "--d", "10", "--pool", "40", "--weights-seed", "3", "--n", "20",
              "--noise", "0.5", "--p", "10", "40", "--ridge", "0"]
    mc = tmp_path / "mc.csv"
    assert cli.main(["simulate", *common, "--trials", "8", "--seed", "1", "--out", str(mc)]) == 0
    rows = read(mc)
    assert len(rows) == 2 and rows[0]["trials"] == "8"
    assert {"p", "n", "ridge", "risk_mean", "risk_stderr", "risk_median", "trials"} <= set(rows[0])
    cmp_ = tmp_path / "cmp.csv"
    assert cli.main(["compare", *common, "--trials", "8", "--uncentred", "--out", str(cmp_)]) == 0
    rows = read(cmp_)
    assert {"dense_risk", "risk_mean", "z", "agrees"} <= set(rows[0])
    assert (tmp_path / "cmp.png").stat().st_size > 10_000


def _bad(tmp_path, capsys, argv):
    out = tmp_path / "bad.csv"
    code = cli.main(["theory", "--model", "rf", *argv, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "allowed" in err, err
    assert not out.exists()
    return err


@pytest.mark.parametrize("weights,teacher,needle", [
    (np.array([[1.0, np.inf], [0.0, 1.0]]), np.ones(2), "weights: 1 non-finite"),
    (np.array([[0.0, 0.0], [0.0, 1.0]]), np.ones(2), "weights: row 0 is zero"),
    (np.eye(3), np.ones(2), "teacher: has 2 entries but the weights have d = 3"),
    (np.ones(3), np.ones(3), "--weights: W.npy has shape (3,)"),
])
def test_bad_files(tmp_path, capsys, weights, teacher, needle):
    np.save(tmp_path / "W.npy", weights)
    np.save(tmp_path / "T.npy", teacher)
    err = _bad(tmp_path, capsys, ["--weights", str(tmp_path / "W.npy"), "--teacher",
                                  str(tmp_path / "T.npy"), "--n", "10", "--noise", "0.1"])
    assert needle in err


@pytest.mark.parametrize("argv,needle", [
    (["--d", "5", "--pool", "8", "--p", "9"], "--p: got 9"),
    (["--d", "5", "--pool", "8", "--activation", "gelu"], "--activation: unknown name 'gelu'"),
    (["--d", "0", "--pool", "8"], "--d: got 0"),
    (["--pool", "8"], "--d/--pool: missing"),
    (["--d", "5", "--pool", "8", "--second-moment", "mehler"],
     "--second-moment: unknown value 'mehler'; allowed: one of 'gaussian-equivalent', 'exact'"),
    (["--weights", "nope.npy", "--teacher", "nope.npy"], "--weights: file 'nope.npy' not found"),
    (["--d", "5", "--pool", "8", "--activation", "tanh", "--radial"],
     "--radial: got --activation 'tanh'; allowed: --activation relu"),
])
def test_bad_flags(tmp_path, capsys, argv, needle):
    err = _bad(tmp_path, capsys, argv + ["--n", "10", "--noise", "0.1"])
    assert needle in err


def test_exact_second_moment(tmp_path, files):
    """``--second-moment exact``: the finite-d correction, the same numbers as the library call
    and the choice recorded in the sidecar; the default stays the Gaussian equivalent."""
    import asymptotics as asy
    import models

    w, th = files
    common = ["--model", "rf", "--weights", str(w), "--teacher", str(th), "--activation", "erf",
              "--n", "20", "--noise", "0.2", "--p", "40", "60", "--ridge", "0", "0.01"]
    ex, ge = tmp_path / "ex.csv", tmp_path / "ge.csv"
    assert cli.main(["theory", *common, "--second-moment", "exact", "--out", str(ex)]) == 0
    assert cli.main(["theory", *common, "--out", str(ge)]) == 0
    rows, base = read(ex), read(ge)
    assert len(rows) == 4 and all(r["status"] == "converged" for r in rows)
    task = models.RFTask.create(np.load(w), np.load(th), noise=0.2, n=20, activation="erf")
    ref = asy.rf_dense_risk(task, p=[40, 40, 60, 60], n=20, ridge=[0, 0.01, 0, 0.01],
                            second_moment="exact")
    got = {(int(r["p"]), float(r["ridge"])): float(r["dense_risk"]) for r in rows}
    for p, r, v in zip(ref.p, ref.ridge, ref.risk):
        assert got[(int(p), float(r))] == pytest.approx(float(v), rel=1e-12)
    # at d = 12 the correction is visible: the exact-moment risk differs from the default's
    assert all(abs(float(a["dense_risk"]) / float(b["dense_risk"]) - 1) > 1e-3
               for a, b in zip(rows, base))
    side = json.loads((tmp_path / "ex.csv.json").read_text())["parameters"]
    assert side["second_moment"] == "exact"
    assert side["theory_second_moment"]["kind"] == "exact"
    # pruned rows too (--keep): the library's exact-moment pruned theory, same key and draws
    import jax
    pr = tmp_path / "pr.csv"
    assert cli.main(["theory", *common[:-3], "--keep", "5", "--rule", "magnitude", "--draws",
                     "256", "--second-moment", "exact", "--out", str(pr)]) == 0
    ref = asy.rf_pruned_risk(task, p=[[40], [60]], keep=[[5]], n=20, ridge=[[0.0], [0.0]],
                             rule="magnitude", draws=256, key=jax.random.key(0),
                             second_moment="exact")
    got = sorted((int(r["p"]), float(r["risk"])) for r in read(pr))
    np.testing.assert_allclose([v for _, v in got], ref.risk.ravel(), rtol=1e-12)
    assert "erf" in side["theory_second_moment"]["second"]
    base_side = json.loads((tmp_path / "ge.csv.json").read_text())["parameters"]
    assert base_side["theory_second_moment"]["kind"] == "gaussian-equivalent"


def test_pruned_contract(tmp_path, capsys):
    common = ["--model", "rf", "--d", "10", "--pool", "40", "--n", "20", "--noise", "0.5",
              "--p", "30", "40", "--keep", "8", "--rule", "magnitude"]
    th = tmp_path / "pt.csv"
    assert cli.main(["theory", *common, "--retrain", "none", "--retrain", "fresh", "--draws", "256",
                     "--out", str(th)]) == 0
    rows = read(th)
    assert len(rows) == 4
    assert {"keep", "rule", "retrain", "risk", "risk_stderr"} <= set(rows[0])
    assert all(float(r["risk_stderr"]) > 0 for r in rows)          # sampled: its error is shown
    # same-data retraining has no closed form: theory refuses it, compare leaves it empty
    assert cli.main(["theory", *common, "--retrain", "same", "--out", str(th)]) == 2
    assert "--retrain: 'same'" in capsys.readouterr().err
    assert cli.main(["theory", *common[:-2], "--rule", "oracle", "--out", str(th)]) == 2
    assert "--rule: 'oracle' is not available" in capsys.readouterr().err
    mc = tmp_path / "pm.csv"
    assert cli.main(["simulate", *common, "--retrain", "none", "--retrain", "same", "--trials", "6",
                     "--out", str(mc)]) == 0
    rows = read(mc)
    assert len(rows) == 4 and {"keep", "rule", "retrain", "risk_mean", "risk_stderr"} <= set(rows[0])
    cmp_ = tmp_path / "pc.csv"
    assert cli.main(["compare", *common, "--retrain", "none", "--retrain", "same", "--trials", "6",
                     "--draws", "256", "--out", str(cmp_)]) == 0
    rows = read(cmp_)
    same = [r for r in rows if r["retrain"] == "same"]
    assert same and all(r["status"] == "no_theory" and r["z"] == "" for r in same)
    assert all(float(r["theory_stderr"]) > 0 for r in rows if r["retrain"] == "none")
    assert (tmp_path / "pc.png").exists()


def test_radial_flag(tmp_path):
    """``--radial``: the library's radial correction (asymptotics/_rf_radial.py), dense and
    pruned rows, recorded in the sidecar."""
    import jax

    import asymptotics as asy
    import models

    common = ["--model", "rf", "--d", "12", "--pool", "60", "--weights-seed", "3", "--n", "20",
              "--noise", "0.4", "--p", "10", "40", "60", "--second-moment", "exact"]
    out = tmp_path / "r.csv"
    assert cli.main(["theory", *common, "--radial", "--out", str(out)]) == 0
    task = models.RFTask.draw(jax.random.key(3), d=12, pool=60, n=20, noise=0.4)
    ref = asy.rf_dense_risk(task, p=[10, 40, 60], second_moment="exact", radial=True)
    got = [float(r["dense_risk"]) for r in read(out)]
    np.testing.assert_allclose(got, ref.risk, rtol=1e-12)
    assert json.loads((tmp_path / "r.csv.json").read_text())["parameters"][
        "theory_radial_correction"] is True
    pr = tmp_path / "pr.csv"
    assert cli.main(["theory", *common, "--radial", "--keep", "5", "--rule", "magnitude",
                     "--retrain", "fresh", "--draws", "256", "--out", str(pr)]) == 0
    ref = asy.rf_pruned_risk(task, p=[[10], [40], [60]], keep=[[5]], rule="magnitude",
                             retrain="fresh", draws=256, key=jax.random.key(0),
                             second_moment="exact", radial=True)
    got = sorted((int(r["p"]), float(r["risk"])) for r in read(pr))
    np.testing.assert_allclose([v for _, v in got], ref.risk.ravel(), rtol=1e-12)
