"""The ``overparam`` command-line contract."""

import csv
import json
import os
import subprocess
import sys

import pytest

from overparam import cli

E2 = "two-level:strong=40,lam_strong=1,lam_weak=0.05,pool=400"


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_theory_contract(tmp_path):
    out = tmp_path / "th.csv"
    assert cli.main(["theory", "--spectrum", E2, "--n", "100", "--noise", "1", "--p", "50", "100",
                     "300", "--ridge", "0", "0.1", "--out", str(out)]) == 0
    rows = read(out)
    assert len(rows) == 6
    for col in ("p", "n", "ridge", "kappa", "dense_risk", "bias", "variance", "status"):
        assert col in rows[0]
    peak = [r for r in rows if r["p"] == "100" and float(r["ridge"]) == 0][0]
    assert peak["dense_risk"] == "inf" and peak["status"] == "diverged"
    side = json.loads((tmp_path / "th.csv.json").read_text())
    assert side["parameters"]["n"] == [100.0] and side["environment"]["jax"]
    assert side["environment"]["device"] and side["environment"]["overparam"]


def test_theory_from_csv_and_default_p(tmp_path):
    spec = tmp_path / "spec.csv"
    spec.write_text("eigenvalue,signal\n" + "".join(f"{1 / (i + 1)},{0.1}\n" for i in range(30)))
    out = tmp_path / "th.csv"
    assert cli.main(["theory", "--spectrum", str(spec), "--n", "10", "--noise", "0.5",
                     "--out", str(out)]) == 0
    rows = read(out)
    assert len(rows) == 1 and rows[0]["p"] == "30" and rows[0]["status"] == "converged"


def test_simulate_and_compare(tmp_path):
    out = tmp_path / "mc.csv"
    assert cli.main(["simulate", "--spectrum", E2, "--n", "100", "--noise", "1", "--p", "50", "300",
                     "--trials", "20", "--seed", "1", "--out", str(out)]) == 0
    rows = read(out)
    assert set(rows[0]) >= {"p", "n", "ridge", "risk_mean", "risk_stderr", "risk_median", "trials"}
    assert rows[0]["trials"] == "20"
    cmp_out = tmp_path / "cmp.csv"
    assert cli.main(["compare", "--spectrum", E2, "--n", "100", "--noise", "1", "--p", "50", "300",
                     "--trials", "20", "--out", str(cmp_out), "--log"]) == 0
    rows = read(cmp_out)
    assert {"dense_risk", "risk_mean", "z"} <= set(rows[0])
    png = tmp_path / "cmp.png"
    assert png.stat().st_size > 10_000 and (tmp_path / "cmp.png.json").exists()


@pytest.mark.parametrize("args,arg", [
    (["--n", "100", "--noise", "1", "--p", "5000"], "--p"),
    (["--n", "0", "--noise", "1"], "--n"),
    (["--n", "100", "--noise", "-1"], "--noise"),
    (["--n", "100", "--noise", "1", "--ridge", "-0.5"], "--ridge"),
    (["--n", "100", "--noise", "nan"], "--noise"),
])
def test_bad_input_exit_code(tmp_path, capsys, args, arg):
    code = cli.main(["theory", "--spectrum", E2, *args, "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and arg in err and "allowed" in err
    assert not (tmp_path / "x.csv").exists()


def test_bad_spectrum_file(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("eigenvalue,signal\n1.0,0.1\n-2.0,0.0\n")
    assert cli.main(["theory", "--spectrum", str(bad), "--n", "10", "--noise", "1",
                     "--out", str(tmp_path / "x.csv")]) == 2
    assert "eigenvalues" in capsys.readouterr().err
    assert cli.main(["theory", "--spectrum", "nope.csv", "--n", "10", "--noise", "1",
                     "--out", str(tmp_path / "x.csv")]) == 2
    assert cli.main(["simulate", "--model", "unknown", "--out", "x"]) == 2
    assert cli.main(["figure", "no-such-figure"]) == 2


def test_console_script_installed(tmp_path):
    out = tmp_path / "t.csv"
    env = dict(os.environ, OVERPARAM_CACHE_DIR=str(tmp_path / "cache"))
    res = subprocess.run([sys.executable, "-m", "overparam", "theory", "--spectrum",
                          "isotropic:pool=200,support=10", "--n", "100", "--noise", "0.5",
                          "--out", str(out)], capture_output=True, text=True, timeout=120,
                         env=env)
    assert res.returncode == 0, res.stderr
    assert abs(float(read(out)[0]["dense_risk"]) - 1.0) < 1e-10   # E1
    # the command line stored its compiled programs in the persistent cache (overparam/_cache.py)
    assert any(f.name.startswith("jit_") for f in (tmp_path / "cache").iterdir())


def test_pruning_columns(tmp_path, capsys):
    out = tmp_path / "pt.csv"
    assert cli.main(["theory", "--spectrum", "isotropic:pool=200,support=10", "--n", "100",
                     "--noise", "0.5", "--p", "200", "--keep", "10", "--rule", "magnitude",
                     "--rule", "oracle", "--retrain", "none", "--retrain", "fresh",
                     "--out", str(out)]) == 0
    rows = read(out)
    assert {"keep", "rule", "retrain", "risk", "dense_risk", "status"} <= set(rows[0])
    mp = [r for r in rows if r["rule"] == "magnitude" and r["retrain"] == "none"][0]
    assert abs(float(mp["risk"]) - 0.6989) < 1e-4 and abs(float(mp["dense_risk"]) - 1) < 1e-10
    # same-data retraining: the conditional-Gaussian approximation (magnitude, saliency; min-norm
    # fits, p > n), the exact fixed-support formula for oracle; refused for ridge fits
    assert cli.main(["theory", "--spectrum", "isotropic:pool=200,support=10", "--n", "100",
                     "--noise", "0.5", "--keep", "10", "--rule", "magnitude", "--rule", "oracle",
                     "--retrain", "same", "--out", str(out)]) == 0
    same = {r["rule"]: r for r in read(out)}
    assert same["magnitude"]["method"] == "conditional-gaussian" and float(same["magnitude"]["risk"]) > 0
    assert same["oracle"]["method"] == "exact" and same["oracle"]["status"] == "converged"
    assert cli.main(["theory", "--spectrum", "isotropic:pool=200,support=10", "--n", "100",
                     "--noise", "0.5", "--keep", "10", "--ridge", "0.1", "--retrain", "same",
                     "--out", str(out)]) == 2
    assert "--retrain: 'same'" in capsys.readouterr().err
    sim = tmp_path / "ps.csv"
    assert cli.main(["simulate", "--spectrum", "isotropic:pool=200,support=10", "--n", "100",
                     "--noise", "0.5", "--keep", "10", "--rule", "magnitude", "--retrain", "same",
                     "--trials", "8", "--out", str(sim)]) == 0
    rows = read(sim)
    assert {"keep", "rule", "retrain", "risk_mean", "risk_stderr", "risk_median"} <= set(rows[0])
    cmp_ = tmp_path / "pc.csv"
    assert cli.main(["compare", "--spectrum", "isotropic:pool=200,support=10", "--n", "100",
                     "--noise", "0.5", "--p", "150", "200", "--keep", "10", "--rule", "magnitude",
                     "--retrain", "none", "--retrain", "same", "--trials", "8",
                     "--out", str(cmp_)]) == 0
    rows = read(cmp_)
    same = {r["p"]: r for r in rows if r["retrain"] == "same"}
    assert same["150"]["method"] == "conditional-gaussian" and same["150"]["z"] != ""
    assert same["200"]["risk"] != "" and same["200"]["status"] == "converged"
    assert (tmp_path / "pc.png").exists()


@pytest.mark.parametrize("args,arg", [
    (["--keep", "300"], "--keep"), (["--keep", "0"], "--keep"),
    (["--keep", "10", "--rule", "biggest"], "--rule"),
    (["--keep", "10", "--retrain", "twice"], "--retrain"), (["--rule", "magnitude"], "--rule"),
])
def test_pruning_bad_input(tmp_path, capsys, args, arg):
    code = cli.main(["theory", "--spectrum", "isotropic:pool=200,support=10", "--n", "100",
                     "--noise", "0.5", *args, "--out", str(tmp_path / "x.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and arg in err and len(err.splitlines()) == 1


PAI = ["--n", "8", "--d", "60", "--m", "3", "--mu-norm", "3", "--p", "0", "0.5"]
PAI_TRAIN = ["--seeds", "2", "--steps", "20", "--record-steps", "10", "--n-test", "20"]


def test_patch_net_simulate_contract(tmp_path):
    out = tmp_path / "pai.csv"
    assert cli.main(["simulate", "--model", "patch-net", *PAI, *PAI_TRAIN, "--out", str(out)]) == 0
    rows = read(out)
    assert len(rows) == 2 * 2 * 2                          # seeds x p x recorded steps (10, 20)
    assert {"seed", "p", "step", "test_error", "signal_alignment", "connected_pos"} <= set(rows[0])
    side = json.loads((tmp_path / "pai.csv.json").read_text())
    assert side["parameters"]["model"] == "patch-net" and side["environment"]["jax"]


def test_patch_net_theory_and_compare(tmp_path, capsys):
    th = tmp_path / "pt.csv"
    assert cli.main(["theory", "--model", "patch-net", *PAI, "--out", str(th)]) == 0
    rows = read(th)
    assert len(rows) == 2 and {"p", "error_floor", "p_min", "expected_connected", "status"} <= set(rows[0])
    assert float(rows[1]["error_floor"]) == 0.5 * 0.5**3          # (1/2) p^m
    # d = 60 < n^2 = 64: outside theorem A's validity region, reported, never hidden
    assert {r["status"] for r in rows} == {"invalid"}
    cmp_ = tmp_path / "pc.csv"
    assert cli.main(["compare", "--model", "patch-net", *PAI, *PAI_TRAIN, "--out", str(cmp_)]) == 0
    rows = read(cmp_)
    assert {r["quantity"] for r in rows} == {"signal_connected", "no_signal_class", "test_error"}
    sc = [r for r in rows if r["quantity"] == "signal_connected" and r["p"] == "0.0"][0]
    assert float(sc["value"]) == 3.0 and float(sc["value_mean"]) == 3.0    # p = 0 keeps all
    assert all(r["status"] == "no_theory" and r["z"] == "" for r in rows if r["quantity"] == "test_error")
    assert (tmp_path / "pc.png").exists()


NOISY = ["--alpha", "2", "1.75", "--sigma", "0", "0.05", "--width", "32", "--steps", "20",
         "--n-train", "100", "--n-test", "100", "--batch", "10"]


def test_noisy_sgd_contract(tmp_path):
    out = tmp_path / "noisy.csv"
    assert cli.main(["simulate", "--model", "noisy-sgd", *NOISY, "--seeds", "2", "--out", str(out)]) == 0
    rows = read(out)
    assert len(rows) == 4 and {"alpha", "sigma", "seed", "mce_pruned_fraction"} <= set(rows[0])
    side = json.loads((tmp_path / "noisy.csv.json").read_text())
    assert side["parameters"]["noise_type"] == "rotation"
    th = tmp_path / "nt.csv"
    assert cli.main(["theory", "--model", "noisy-sgd", "--alpha", "2", "--sigma", "0.03",
                     "--noise-type", "iid", "--out", str(th)]) == 0
    row = read(th)[0]
    assert row["status"] == "converged" and abs(float(row["mce_pruned_fraction"]) - 0.2109) < 1e-4
    cmp_ = tmp_path / "nc.csv"
    assert cli.main(["compare", "--model", "noisy-sgd", *NOISY, "--seeds", "2", "--out", str(cmp_)]) == 0
    assert {r["status"] for r in read(cmp_)} <= {"no_theory", "limit"}


@pytest.mark.parametrize("args,arg", [
    (["--alpha", "3", "--sigma", "0.1"], "alpha"), (["--alpha", "1.5", "--sigma", "-1"], "sigma"),
    (["--alpha", "1.5", "1.7", "--sigma", "0.1"], "--sigma"), (["--noise-type", "x"], "--noise-type"),
    (["--eps2", "1.5"], "--eps2"),
])
def test_noisy_sgd_bad_input(tmp_path, capsys, args, arg):
    out = tmp_path / "bad.csv"
    assert cli.main(["simulate", "--model", "noisy-sgd", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert arg in err and "allowed" in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("args,arg", [
    (["--p", "1.0"], "--p"), (["--n", "0"], "n"), (["--signal", "wide"], "signal"),
    (["--q", "0.5"], "q"), (["--seeds", "0"], "--seeds"), (["--dtype", "int8"], "--dtype"),
])
def test_patch_net_bad_input(tmp_path, capsys, args, arg):
    out = tmp_path / "bad.csv"
    assert cli.main(["simulate", "--model", "patch-net", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert arg in err and "allowed" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_every_model_routes_theory_simulate_compare(capsys):
    from overparam import registry

    for name in registry.names():
        has_theory = registry.get(name).theory is not None     # mlp: simulate only
        for command in ("theory", "simulate", "compare"):
            expected = 0 if has_theory or command == "simulate" else 2
            assert cli.main([command, "--model", name, "--help"]) == expected
    assert cli.main(["models"]) == 0
    assert set(registry.names()) <= set(capsys.readouterr().out.split())


def test_python_dash_m_and_demo(tmp_path):
    res = subprocess.run([sys.executable, "-m", "overparam", "demo", "--outdir", str(tmp_path),
                          "--trials", "4"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    for name in ("dense_double_descent.png", "dense_double_descent.csv", "coordinate_law.png"):
        assert (tmp_path / name).exists() and (tmp_path / (name + ".json")).exists()
