"""Long sweeps survive interruption (sims/_checkpoint.py, sims/_batching.py).

A real ``overparam simulate --checkpoint`` process is killed with SIGKILL mid-sweep (after a
few chunks are on disk, long before the last), then the same command is run again: it must
finish from the saved chunks and write exactly the table of an uninterrupted run (the trial
chunks on disk cover every trial once: no lost and no duplicated trial).  A checkpoint from
other parameters is refused with a message naming them.  The default test covers the linear
setting; the slow ones every other Monte Carlo setting of the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from overparam import cli

ROOT = Path(__file__).resolve().parents[1]

LINEAR = ["--model", "linear", "--spectrum", "isotropic:pool=120,support=10", "--n", "60",
          "--noise", "0.5", "--p", "30", "120", "--trials", "150", "--seed", "4"]
SETTINGS = {
    "linear-pruned": ["--model", "linear", "--spectrum", "isotropic:pool=120,support=10",
                      "--n", "60", "--noise", "0.5", "--p", "120", "--keep", "10",
                      "--rule", "magnitude", "--retrain", "none", "--retrain", "fresh",
                      "--trials", "200", "--seed", "5"],
    "rf": ["--model", "rf", "--d", "10", "--pool", "60", "--n", "30", "--noise", "0.5",
           "--p", "20", "60", "--trials", "200", "--seed", "6"],
    "patch-net": ["--model", "patch-net", "--n", "10", "--d", "40", "--m", "3", "--p", "0",
                  "0.5", "--seeds", "60", "--steps", "40", "--n-test", "20", "--seed", "7"],
    "noisy-sgd": ["--model", "noisy-sgd", "--width", "16", "--d", "4", "--n-train", "32",
                  "--n-test", "32", "--steps", "30", "--batch", "8", "--alpha", "2", "1.75",
                  "--sigma", "0", "0.03", "--seeds", "60", "--seed", "8"],
}


def chunk_files(folder: Path) -> list[tuple[int, int]]:
    out = []
    for f in folder.glob("chunk-*.npz"):
        _, a, b = f.stem.split("-")
        out.append((int(a), int(b)))
    return sorted(out)


def kill_mid_sweep(argv, ckpt: Path, out: Path, after: int = 4) -> list[tuple[int, int]]:
    """Start ``overparam simulate argv``, SIGKILL it once ``after`` chunks are saved; the chunks
    on disk at that moment."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "overparam", "simulate", *argv,
                             "--chunk", "1", "--checkpoint", str(ckpt), "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    try:
        while len(chunk_files(ckpt)) < after:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no chunk saved within 600 s"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return chunk_files(ckpt)


def resume_and_check(argv, tmp_path: Path, total: int) -> None:
    ckpt, out, ref = tmp_path / "ckpt", tmp_path / "resumed.csv", tmp_path / "ref.csv"
    at_kill = kill_mid_sweep(argv, ckpt, out)
    assert 4 <= len(at_kill) < total and not out.exists()      # killed mid-sweep, no table
    assert cli.main(["simulate", *argv, "--chunk", "1", "--checkpoint", str(ckpt),
                     "--out", str(out)]) == 0
    done = chunk_files(ckpt)
    assert done[:len(at_kill)] == at_kill                      # saved chunks kept, not redone
    assert [a for a, _ in done] == [sum(c for _, c in done[:i]) for i in range(len(done))]
    assert sum(c for _, c in done) == total                    # every trial exactly once
    assert cli.main(["simulate", *argv, "--chunk", "1", "--out", str(ref)]) == 0
    assert out.read_text() == ref.read_text()


def test_killed_linear_sweep_resumes_to_the_uninterrupted_table(tmp_path, capsys):
    resume_and_check(LINEAR, tmp_path, total=150)
    capsys.readouterr()
    # the same folder with another seed: refused before anything runs, no table written
    other = [*LINEAR[:-1], "5"]
    assert cli.main(["simulate", *other, "--chunk", "1", "--checkpoint", str(tmp_path / "ckpt"),
                     "--out", str(tmp_path / "other.csv")]) == 2
    err = capsys.readouterr().err
    assert "other parameters (differs in: key)" in err and "another checkpoint path" in err
    assert not (tmp_path / "other.csv").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_killed_sweep_resumes_in_every_setting(tmp_path, name):
    resume_and_check(SETTINGS[name], tmp_path, total=60 if "--seeds" in SETTINGS[name] else 200)


def test_a_file_is_not_taken_for_a_checkpoint(tmp_path, capsys):
    f = tmp_path / "old.npz"
    f.write_bytes(b"not a checkpoint")
    assert cli.main(["simulate", *LINEAR[:-4], "--trials", "4", "--checkpoint", str(f),
                     "--out", str(tmp_path / "x.csv")]) == 2
    assert "is a file, not a checkpoint folder" in capsys.readouterr().err
