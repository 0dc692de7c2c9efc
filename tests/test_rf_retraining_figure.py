"""Smoke test of ``figures/rf_retraining_vs_width.py`` (``--quick``): files, sidecars, CSV
columns, the random-features theory taken from ``asymptotics`` with the same key and draws,
bad input refused before anything is written."""

import csv
import json

import jax
import numpy as np
import pytest

import asymptotics as asy
import models
from overparam_figures import rf_retraining_vs_width as fig


def read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_rf_retraining_vs_width_quick(tmp_path, capsys):
    assert fig.main(["--quick", "--outdir", str(tmp_path)]) == 0
    stem = "rf_retraining_vs_width"
    assert (tmp_path / f"{stem}.png").stat().st_size > 10_000
    for name in (f"{stem}.png", f"{stem}.csv", f"{stem}_theory.csv"):
        side = json.loads((tmp_path / (name + ".json")).read_text())
        assert side["parameters"]["figure"] == "rf-retraining-vs-width"
        assert side["environment"]["jax"]
    rows = read(tmp_path / f"{stem}.csv")
    assert {"p", "n", "model", "quantity", "mean", "stderr", "theory", "theory_stderr", "z",
            "agrees"} <= set(rows[0])
    widths = sorted({int(r["p"]) for r in rows})
    assert widths == list(fig.QUICK_P)
    quantities = {"pruned", "retrain-same", "retrain-fresh", "gain-same", "gain-fresh"}
    for model in ("linear", "rf"):
        got = {(int(r["p"]), r["quantity"]) for r in rows if r["model"] == model}
        assert got == {(p, q) for p in widths for q in quantities}
    for r in rows:
        if r["quantity"] in ("retrain-same", "gain-same"):       # no theory: simulation only
            assert r["theory"] == "" and r["z"] == "" and r["agrees"] == ""
        else:
            assert r["theory"] != "" and r["z"] != ""
    by = {(r["model"], int(r["p"]), r["quantity"]): r for r in rows}
    # the gain is the paired difference: its mean is the difference of the two means
    for model in ("linear", "rf"):
        for p in widths:
            for mode in ("same", "fresh"):
                gain = float(by[(model, p, f"gain-{mode}")]["mean"])
                diff = (float(by[(model, p, "pruned")]["mean"])
                        - float(by[(model, p, f"retrain-{mode}")]["mean"]))
                assert gain == pytest.approx(diff, rel=1e-9, abs=1e-12)

    # random features: the same asymptotics call, the same key and draws as the figure
    task = models.RFTask.draw(jax.random.key(0), d=50, pool=800, n=100, noise=0.5)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(0), 1), 0)
    direct = asy.rf_pruned_risk(task, p=np.array(widths), keep=40, rule=("magnitude",),
                                retrain="fresh", draws=256, key=key, throw=False)
    for i, p in enumerate(widths):
        assert float(by[("rf", p, "retrain-fresh")]["theory"]) == pytest.approx(
            float(direct.fresh[i, 0]), rel=1e-12)
        assert float(by[("rf", p, "retrain-fresh")]["theory_stderr"]) == pytest.approx(
            float(direct.fresh_se[i, 0]), rel=1e-12)
        assert float(by[("rf", p, "pruned")]["theory"]) == pytest.approx(
            float(direct.pruned[i, 0]), rel=1e-12)
        assert float(by[("rf", p, "gain-fresh")]["theory"]) == pytest.approx(
            float(direct.pruned[i, 0] - direct.fresh[i, 0]), rel=1e-9, abs=1e-12)
    # linear: pruned and fresh-refit theory from asymptotics.pruned_risk
    lin = models.LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05, n=100,
                                      noise=1.0, pool=800)
    fresh = asy.pruned_risk(lin, p=np.array(widths), keep=40, rule=("magnitude",),
                            retrain="fresh", throw=False)
    for i, p in enumerate(widths):
        assert float(by[("linear", p, "retrain-fresh")]["theory"]) == pytest.approx(
            float(fresh.risk[i, 0]), rel=1e-12)
    out = capsys.readouterr().out
    assert "rf-retraining-vs-width: at p = 800" in out


@pytest.mark.parametrize("argv,match", [
    (["--keep", "0"], r"^--keep: got 0; allowed"),
    (["--trials", "1"], r"^--trials: got 1; allowed"),
])
def test_rf_retraining_vs_width_bad_input(tmp_path, argv, match):
    with pytest.raises(models.InputError, match=match):
        fig.main(argv + ["--quick", "--outdir", str(tmp_path / "out")])
    assert not list(tmp_path.iterdir())          # nothing written before the input is checked
