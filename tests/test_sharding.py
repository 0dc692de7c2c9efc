"""Monte Carlo trials sharded over devices (sims/_sharding.py): the numbers for a given key do
not depend on the device count, to the last bit in float64 on CPU.

Several CPU devices exist only if XLA is told so before it starts
(``--xla_force_host_platform_device_count=4``), so these checks run in a subprocess.  The
default test goes through the command line (``overparam simulate --devices 4|2|1``) and the
sidecar; the slow one compares the raw per-trial arrays of every Monte Carlo runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

import models
import sims
from sims import _sharding

ROOT = Path(__file__).resolve().parents[1]


def run_with_devices(code: str, *args, devices: int = 4, timeout: int = 600):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
               XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") +
                          f" --xla_force_host_platform_device_count={devices}").strip())
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
                         capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


CLI_RUNS = """
import sys
from overparam.cli import main
out = sys.argv[1]
base = ["simulate", "--model", "linear", "--spectrum", "isotropic:pool=60,support=10",
        "--n", "30", "--noise", "0.5", "--p", "10", "29", "60", "--ridge", "0", "0.1",
        "--trials", "14", "--chunk", "2", "--seed", "3"]
for d in (4, 2, 1):
    assert main(base + ["--devices", str(d), "--out", f"{out}/d{d}.csv"]) == 0
"""


def test_four_two_one_devices_give_identical_csv_from_the_command_line(tmp_path):
    run_with_devices(CLI_RUNS, tmp_path)
    text = {d: (tmp_path / f"d{d}.csv").read_text() for d in (4, 2, 1)}
    assert text[4] == text[2] == text[1]
    assert len(text[4].splitlines()) == 1 + 6             # header + 3 p x 2 ridge
    for d in (4, 2, 1):
        env = json.loads((tmp_path / f"d{d}.csv.json").read_text())["environment"]
        # 14 trials, 2 per device per call: the first call fills 4 devices (8 trials)
        assert (env["device_count"], env["devices_used"]) == (4, d)
        assert json.loads((tmp_path / f"d{d}.csv.json").read_text())["parameters"]["devices"] == d


RAW_RUNS = """
import sys
import jax, numpy as np
jax.config.update("jax_enable_x64", True)
import models, sims
out = {}
lin = models.LinearTask.isotropic(pool=80, n=30, noise=0.5, support=10)
rf = models.RFTask.draw(jax.random.key(5), d=8, pool=40, n=20, noise=0.3)
patch = models.PatchTask.create(n=10, d=40, m=3, mu_norm=6.0)
sgd = models.NoisySGDTask.create(width=16, steps=8, n_train=32, n_test=32, batch=8)
for d in (1, 2, 4):
    r = {}
    mc = sims.dense_risk(lin, p=[20, 29, 80], ridge=[[0.0], [0.1]], trials=11,
                         key=jax.random.key(1), chunk=2, keep_coefficients=5, devices=d)
    r["dense"], r["coef"] = mc.risks, mc.coefficients
    pr = sims.pruned_risk(lin, p=[40, 80], keep=[5, 10], retrain=("none", "same", "fresh"),
                          trials=7, key=jax.random.key(2), chunk=2, devices=d)
    r["pruned"], r["pruned_dense"] = pr.risks, pr.dense
    r["small"] = sims.train_small_risk(lin, keep=[5, 10], trials=7, key=jax.random.key(3),
                                       chunk=2, devices=d).risks
    r["rf"] = sims.rf_dense_risk(rf, p=[10, 40], trials=7, key=jax.random.key(4), chunk=2,
                                 devices=d).risks
    r["rf_pruned"] = sims.rf_pruned_risk(rf, p=[40], keep=[5], retrain=("none", "fresh"),
                                         trials=7, key=jax.random.key(6), chunk=2,
                                         devices=d).risks
    run = sims.train_pruned(patch, [0.0, 0.5], jax.random.key(7), seeds=5, steps=10, n_test=20,
                            chunk=1, devices=d)
    r["patch"] = np.stack([run.train_loss, run.test_error, run.noise_memorization])
    h = sims.train_noisy_sgd(sgd, [2.0, 1.75], [0.0, 0.03], jax.random.key(8), seeds=3, chunk=1,
                             devices=d)
    r["sgd"] = h["column_norms"]
    net = sims.mlp_ensemble(rf, widths=[8], keep_fraction=[0.5], seeds=5, key=jax.random.key(9),
                            finetune=True, steps=20, finetune_steps=10, chunk=1, devices=d)
    r["mlp"] = np.stack([net.dense["test_loss"][:, None], net.pruned["test_loss"],
                         net.finetuned["test_loss"]])
    out.update({f"{k}_{d}": v for k, v in r.items()})
np.savez(sys.argv[1], **out)
"""


@pytest.mark.slow
def test_every_runner_is_bit_identical_on_one_two_four_devices(tmp_path):
    run_with_devices(RAW_RUNS, tmp_path / "raw.npz")
    z = np.load(tmp_path / "raw.npz")
    names = sorted({k.rsplit("_", 1)[0] for k in z.files})
    assert len(names) == 10
    for name in names:
        for d in (2, 4):
            np.testing.assert_array_equal(z[f"{name}_{d}"], z[f"{name}_1"], err_msg=f"{name}, {d}")


# ------------------------------------------------------------------ in-process (one device)
def test_device_argument_is_checked_before_anything_runs():
    task = models.LinearTask.isotropic(pool=20, n=10, noise=0.5)
    for bad in (0, jax.device_count() + 1, 1.5):
        with pytest.raises(models.InputError, match=r"^devices: got .*allowed: integers in \[1, "):
            sims.dense_risk(task, p=20, trials=4, key=jax.random.key(0), devices=bad)


def test_local_chunk_depends_on_visible_not_used_devices():
    # the per-device batch is capped by the visible devices only: 1, 2 or all of them in use
    # share it, hence the identical numbers
    v = jax.device_count()
    assert _sharding.local_chunk(1000, 10 * v) == 10
    assert _sharding.local_chunk(3, 10 * v) == 3
    assert _sharding.devices_for(5, 2, jax.devices()) == jax.devices()[:min(v, 3)]


def test_distributed_start_needs_complete_settings():
    assert _sharding.initialize_distributed({}) is False
    with pytest.raises(models.InputError,
                       match=r"^OVERPARAM_NUM_PROCESSES, OVERPARAM_PROCESS_ID: "):
        _sharding.initialize_distributed({"OVERPARAM_COORDINATOR": "localhost:1234"})
    with pytest.raises(models.InputError, match=r"^OVERPARAM_PROCESS_ID: got 2 "):
        _sharding.initialize_distributed({"OVERPARAM_COORDINATOR": "localhost:1234",
                                          "OVERPARAM_NUM_PROCESSES": "2",
                                          "OVERPARAM_PROCESS_ID": "2"})


@pytest.mark.slow
def test_two_processes_over_loopback_give_the_one_process_table(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    res = subprocess.run([sys.executable, str(ROOT / "examples" / "two_process_cpu.py"),
                          "--outdir", str(tmp_path), "--port", str(port)],
                         capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 processes, 2 devices, sharded over 2" in res.stdout
    assert "tables identical: True" in res.stdout
