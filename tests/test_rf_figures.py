"""Smoke test of the random-features figure script (``--quick``): files, sidecars, CSV columns,
theory values taken from ``asymptotics`` (not invented), bad input refused before writing."""

import csv
import json

import jax
import numpy as np
import pytest

import asymptotics as asy
import models
from overparam_figures import rf_sparse_double_descent as rf_sdd


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_rf_sparse_double_descent_quick(tmp_path, capsys):
    assert rf_sdd.main(["--quick", "--outdir", str(tmp_path)]) == 0
    stem = "rf_sparse_double_descent"
    png = tmp_path / f"{stem}.png"
    assert png.stat().st_size > 10_000
    for name in (f"{stem}.png", f"{stem}.csv", f"{stem}_theory.csv"):
        side = json.loads((tmp_path / (name + ".json")).read_text())
        assert side["parameters"]["figure"] == "rf-sparse-double-descent"
        assert side["environment"]["jax"]
    rows = read(tmp_path / f"{stem}.csv")
    assert rows and {"p", "n", "ridge", "keep", "rule", "retrain", "theory", "theory_stderr",
                     "theory_source", "mc_mean", "mc_stderr", "z", "rel_err", "agrees",
                     "within_2se", "near_peak", "wide", "trials"} <= set(rows[0])
    lines = read(tmp_path / f"{stem}_theory.csv")
    assert {"p", "n", "keep", "curve", "risk", "stderr", "status"} <= set(lines[0])
    base = {"dense", "magnitude", "magnitude+fresh", "train-small"}
    assert {r["curve"] for r in lines} == base | {c + "-exact-moment" for c in base}
    # every (width, rule, retrain) of the quick grid is there; same-data retraining has no theory
    widths = sorted({int(r["p"]) for r in rows if not r["rule"].startswith("train-small")})
    assert widths == list(rf_sdd.QUICK_P)
    same = [r for r in rows if r["retrain"] == "same"]
    assert len(same) == len(widths) and all(r["theory"] == "" and r["agrees"] == "" for r in same)
    assert all(r["theory"] != "" and r["z"] != "" for r in rows if r["retrain"] != "same")

    # the figure's theory is asymptotics' theory: the E3 task (weights seed 0) called directly
    task = models.RFTask.draw(jax.random.key(0), d=50, pool=800, n=100, noise=0.5)
    direct = asy.rf_dense_risk(task, p=np.array(widths), throw=False)
    dense = {int(r["p"]): float(r["theory"]) for r in rows if r["rule"] == "dense"}
    np.testing.assert_allclose([dense[p] for p in widths], direct.risk, rtol=1e-12)
    assert dense[800] == pytest.approx(0.490, abs=1e-3)      # docs: kappa 1.035, risk 0.49
    small = [r for r in rows if r["rule"] == "train-small"]
    assert len(small) == 1
    assert float(small[0]["theory"]) == pytest.approx(float(asy.rf_train_small(task, keep=40)),
                                                      rel=1e-12)
    # the exact-moment lines are asymptotics' finite-d correction, judged at every marker
    ex = {(int(r["p"]), r["retrain"]): float(r["theory"]) for r in rows
          if r["rule"] == "magnitude-exact-moment"}
    assert set(ex) == {(p, m) for p in widths for m in ("none", "fresh")}
    small_ex = [r for r in rows if r["rule"] == "train-small-exact-moment"]
    assert float(small_ex[0]["theory"]) == pytest.approx(
        float(asy.rf_train_small(task, keep=40, second_moment="exact", radial=True)), rel=1e-12)
    # ... with the radial correction of ReLU features (asymptotics/_rf_radial.py)
    dense_ex = {int(r["p"]): float(r["theory"]) for r in rows if r["rule"] == "dense-exact-moment"}
    np.testing.assert_allclose([dense_ex[p] for p in widths], asy.rf_dense_risk(
        task, p=np.array(widths), second_moment="exact", radial=True).risk, rtol=1e-12)
    line = {int(r["p"]): float(r["risk"]) for r in lines if r["curve"] == "dense"}
    np.testing.assert_allclose([line[p] for p in widths], direct.risk, rtol=1e-10)
    out = capsys.readouterr().out
    assert "rf-sparse-double-descent, exact-moment + radial theory: width >= 2n:" in out
    assert "within 3 s.e. + 5%" in out and "within 3 s.e. + 2%" in out


@pytest.mark.parametrize("argv,match", [
    (["--keep", "0"], r"^--keep: got 0; allowed"),
    (["--n", "1"], r"^--n: got 1; allowed"),
])
def test_rf_sparse_double_descent_bad_input(tmp_path, argv, match):
    with pytest.raises(models.InputError, match=match):
        rf_sdd.main(argv + ["--quick", "--outdir", str(tmp_path / "out")])
    assert not list(tmp_path.iterdir())          # nothing written before the input is checked
