"""Every figure script runs at small settings and writes its picture, its tables and their
JSON sidecars (the pruning figures, with their numbers, are in test_pruning_figures.py; the
dense double descent and the coordinate law run through ``overparam demo`` in test_cli.py)."""

import json

import pytest

from overparam.cli import available_figures
from overparam_figures import heavy_tailed_compressibility, pruning_at_init, pruning_at_init_phase


def _has_outputs(folder, names):
    for name in names:
        f = folder / name
        assert f.exists() and f.stat().st_size > 0, name
        side = json.loads((folder / (name + ".json")).read_text())
        assert side["environment"]["jax"] and "parameters" in side


def test_every_figure_is_listed():
    assert set(available_figures()) == {
        "coordinate-law", "dense-double-descent", "heavy-tailed-compressibility", "mlp-width-sweep",
        "pruning-at-init", "pruning-at-init-phase", "pruning-threshold", "pruning-vs-keep",
        "rf-proportional-limit", "rf-retraining-vs-width", "rf-sparse-double-descent", "sparse-double-descent"}


def test_pruning_at_init_quick(tmp_path):
    assert pruning_at_init.main(["--quick", "--no-phase", "--seeds", "2",
                                 "--outdir", str(tmp_path)]) == 0
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs
    _has_outputs(tmp_path, pngs + sorted(p.name for p in tmp_path.glob("*.csv")))


def test_pruning_at_init_phase_quick(tmp_path):
    assert pruning_at_init_phase.main(["--quick", "--seeds", "2", "--outdir", str(tmp_path)]) == 0
    _has_outputs(tmp_path, ["phase.png", "phase.csv"])


def test_heavy_tailed_compressibility_small(tmp_path):
    assert heavy_tailed_compressibility.main([
        "--widths", "40", "80", "--steps", "40", "--seeds", "2", "--iid-sizes", "100", "1000",
        "--iid-trials", "20", "--outdir", str(tmp_path)]) == 0
    _has_outputs(tmp_path, ["width_sweep.csv", "accuracy_vs_ratio.csv", "column_norms.csv"]
                 + sorted(p.name for p in tmp_path.glob("*.png")))


@pytest.mark.parametrize("module,argv,match", [
    (heavy_tailed_compressibility, ["--widths", "5"], r"^--widths: got 5; allowed"),
])
def test_figure_bad_input_writes_nothing(tmp_path, module, argv, match):
    import models

    with pytest.raises(models.InputError, match=match):
        module.main(argv + ["--outdir", str(tmp_path)])
    assert not list(tmp_path.iterdir())
