"""The architecture's promises: independent evaluators, one registry, one comparison, no
JAX configuration changed at import."""

import json
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import overparam
from overparam import registry
from overparam.compare import AGREEMENT, Agreement, Comparison, compare


def _loaded_after(imports: list[str], env_extra: str = "") -> dict:
    """Import ``imports`` in a fresh interpreter; report the loaded top-level packages and
    the JAX configuration it ends with."""
    code = (
        "import sys, json, os\n"
        + "".join(f"import {m}\n" for m in imports)
        + "import jax\n"
        + "print(json.dumps({'modules': sorted(sys.modules),"
          " 'x64': bool(jax.config.read('jax_enable_x64')),"
          " 'xla_flags': os.environ.get('XLA_FLAGS', '')}))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def _submodules(package: str) -> list[str]:
    mod = __import__(package)
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules(mod.__path__)]


def test_sims_never_loads_asymptotics():
    out = _loaded_after(["sims"] + _submodules("sims"))
    assert not [m for m in out["modules"] if m == "asymptotics" or m.startswith("asymptotics.")]
    assert not [m for m in out["modules"] if m.startswith("overparam")]


def test_asymptotics_never_loads_sims():
    out = _loaded_after(["asymptotics"] + _submodules("asymptotics"))
    assert not [m for m in out["modules"] if m == "sims" or m.startswith("sims.")]
    assert not [m for m in out["modules"] if m.startswith("overparam")]


def test_models_loads_neither_evaluator():
    out = _loaded_after(["models"] + _submodules("models"))
    bad = [m for m in out["modules"] if m.split(".")[0] in ("sims", "asymptotics", "overparam")]
    assert not bad


def test_import_changes_no_jax_configuration():
    # Importing every package leaves JAX in 32-bit mode; only sims' documented scheduler flag
    # (jaxlib <= 0.10, models._config) may be added to XLA_FLAGS.
    out = _loaded_after(["models", "asymptotics", "sims", "overparam", "overparam.cli"])
    assert out["x64"] is False
    # and loads nothing heavy before it is used (cold start, models/_lazy.py)
    heavy = ("flax", "optax", "optimistix", "matplotlib", "scipy", "tqdm", "overparam_figures")
    assert not [m for m in out["modules"] if m.split(".")[0] in heavy]
    flags = out["xla_flags"].split()
    assert all("xla_cpu_enable_concurrency_optimized_scheduler" in f for f in flags)


def test_theory_without_float64_says_the_line_to_add():
    code = ("import numpy as np, models\n"
            "try:\n"
            "    models.LinearTask.isotropic(pool=10, n=5, noise=1.0)\n"
            "except models.PrecisionError as e:\n"
            "    print('ERR', e)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "ERR" in res.stdout and 'jax.config.update("jax_enable_x64", True)' in res.stdout


def test_figures_import_overparam_not_the_reverse():
    out = _loaded_after(["overparam", "overparam.cli", "overparam.compare", "overparam.registry"])
    assert not [m for m in out["modules"] if m.startswith("overparam_figures")]


def test_every_setting_is_complete():
    for name in registry.names():
        s = registry.get(name)
        assert s.name == name and s.summary and callable(s.problem) and callable(s.simulate)
        assert set(s.columns) >= {"simulate"}
        if s.theory is not None:
            assert {"theory", "compare"} <= set(s.columns)


def test_unknown_model_names_the_allowed_ones():
    with pytest.raises(overparam_input_error(), match=r"^--model: unknown model 'nope'; allowed: "):
        registry.get("nope")


def overparam_input_error():
    import models
    return models.InputError


def _rows(values, status="converged", **axes):
    n = len(values)
    return [dict({k: v[i] for k, v in axes.items()}, risk=values[i], status=status)
            for i in range(n)]


def test_compare_joins_on_axes_and_judges_with_one_rule():
    theory = _rows([1.0, 2.0, 4.0], p=[10, 20, 40], n=[100] * 3, ridge=[0.0] * 3)
    sim = [dict(p=p, n=100, ridge=0.0, risk_mean=m, risk_stderr=0.01, risk_median=m, trials=50,
                nonfinite_trials=0) for p, m in ((40, 4.05), (10, 1.0), (20, 2.2))]
    c = compare(theory, sim)
    assert isinstance(c, Comparison) and c.size == 3
    np.testing.assert_array_equal(c.axes["p"], [40, 10, 20])      # simulation order
    np.testing.assert_allclose(c.theory, [4.0, 1.0, 2.0])
    # 4.05 vs 4: |0.05| <= 0.03 + 0.08 agrees; 2.2 vs 2: 0.2 > 0.03 + 0.04 does not
    np.testing.assert_array_equal(c.agrees(), [True, True, False])
    np.testing.assert_allclose(c.z, [5.0, 0.0, 20.0])
    assert c.agrees(Agreement(3.0, 0.1)).all()
    rows = c.rows()
    assert rows[2]["agrees"] is False and rows[2]["z"] == pytest.approx(20.0)


def test_compare_gives_no_z_at_the_ridgeless_peak_and_judges_no_point_near_it():
    theory = _rows([50.0, 60.0, 3.0, 3.0], p=[99, 101, 95, 60], n=[100] * 4,
                   ridge=[0.0, 0.0, 0.0, 0.0])
    sim = [dict(p=p, n=100, ridge=0.0, risk_mean=m, risk_stderr=1.0, risk_median=m, trials=9,
                nonfinite_trials=0) for p, m in ((99, 80.0), (101, 10.0), (95, 9.0), (60, 3.5))]
    c = compare(theory, sim)
    assert np.isnan(c.z[:2]).all() and np.isfinite(c.z[2:]).all()
    np.testing.assert_array_equal(c.judged, [False, False, False, True])
    assert c.all_agree()


def test_compare_refuses_different_grids_and_skips_points_without_theory():
    theory = _rows([1.0], p=[10], n=[100], ridge=[0.0])
    sim = [dict(p=11, n=100, ridge=0.0, risk_mean=1.0, risk_stderr=0.1, risk_median=1.0,
                trials=5, nonfinite_trials=0)]
    with pytest.raises(ValueError, match="grids differ: no theory row for p=11"):
        compare(theory, sim)
    theory = _rows([""], status="no_theory", p=[11], n=[100], ridge=[0.0])
    c = compare(theory, sim)
    assert not c.judged.any() and c.rows()[0]["z"] == "" and np.isnan(c.theory[0])


def test_agreement_rule_per_dtype_is_defined_once():
    assert overparam.agreement_for("float64") is AGREEMENT["float64"]
    assert overparam.agreement_for(np.float32) is AGREEMENT["float32"]
    with pytest.raises(ValueError, match="no agreement rule for int32"):
        overparam.agreement_for("int32")
