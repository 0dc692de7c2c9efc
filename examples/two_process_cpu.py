"""A Monte Carlo sweep run by two cooperating processes on one machine (CPU, loopback).

This is the multi-host set-up of a GPU cluster or a TPU slice in miniature: every process runs
the same ``overparam simulate`` command, ``jax.distributed.initialize`` (started by the
environment variables ``OVERPARAM_COORDINATOR``, ``OVERPARAM_NUM_PROCESSES``,
``OVERPARAM_PROCESS_ID``; ``sims/_sharding.py``) joins them into one runtime whose
``jax.devices()`` lists the devices of both, the trials are sharded over all of them, every
process receives all results and process 0 alone writes the table.  The script then runs the
same command in one process on one device and checks that the two tables are identical.

Run from the repository root (about a minute on two cores)::

    python examples/two_process_cpu.py [--outdir out/two_process] [--port 12357]

On a real cluster, start one process per host with the coordinator's address instead of
``localhost`` (README, "Many devices and hosts").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

COMMAND = ["simulate", "--model", "linear", "--spectrum", "isotropic:pool=200,support=10",
           "--n", "100", "--noise", "0.5", "--p", "50", "100", "200", "--trials", "40",
           "--chunk", "4", "--seed", "0"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", default="out/two_process")
    parser.add_argument("--port", type=int, default=12357)
    args = parser.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    base = dict(os.environ, OPENBLAS_NUM_THREADS="1", OVERPARAM_CACHE_DIR="off")
    procs = []
    for pid in range(2):
        env = dict(base, OVERPARAM_COORDINATOR=f"localhost:{args.port}",
                   OVERPARAM_NUM_PROCESSES="2", OVERPARAM_PROCESS_ID=str(pid))
        log = open(out / f"process{pid}.log", "w")
        procs.append((subprocess.Popen([sys.executable, "-m", "overparam", *COMMAND,
                                        "--out", str(out / "two_processes.csv")],
                                       env=env, stdout=log, stderr=subprocess.STDOUT), log))
    codes = []
    for p, log in procs:
        codes.append(p.wait(timeout=900))
        log.close()
    if any(codes):
        print(f"a process failed (exit codes {codes}); see {out}/process*.log")
        return 1
    env = json.loads((out / "two_processes.csv.json").read_text())["environment"]
    print(f"two processes: {env['process_count']} processes, {env['device_count']} devices, "
          f"sharded over {env['devices_used']}")
    one = subprocess.run([sys.executable, "-m", "overparam", *COMMAND,
                          "--out", str(out / "one_process.csv")], env=base)
    if one.returncode:
        return 1
    same = (out / "two_processes.csv").read_text() == (out / "one_process.csv").read_text()
    print("tables identical:", same)
    return 0 if same and env["process_count"] == 2 and env["devices_used"] == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
