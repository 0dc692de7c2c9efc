"""The ``overparam`` command-line contract."""

import csv
import json
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
    res = subprocess.run([sys.executable, "-m", "overparam", "theory", "--spectrum",
                          "isotropic:pool=200,support=10", "--n", "100", "--noise", "0.5",
                          "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert abs(float(read(out)[0]["dense_risk"]) - 1.0) < 1e-10   # E1


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
    # same-data retraining has no theory: refused by `theory`
    assert cli.main(["theory", "--spectrum", "isotropic:pool=200,support=10", "--n", "100",
                     "--noise", "0.5", "--keep", "10", "--retrain", "same", "--out", str(out)]) == 2
    assert "--retrain" in capsys.readouterr().err
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
    same = [r for r in rows if r["retrain"] == "same"]
    assert same and all(r["risk"] == "" and r["status"] == "no_theory" for r in same)
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
