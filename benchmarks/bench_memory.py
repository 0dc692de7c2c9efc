"""Peak resident memory of the Monte Carlo engine (``sims.dense_risk``, min-norm), measured.

The chunking promise: ``10^4`` trials at ``n = 500``, ``p = 2000`` run within 4 GiB, because
trials are vmapped in chunks sized to a memory budget (``sims._linear.default_chunk``, 1 GiB
by default) and only the per-trial risks are kept on the host.  This script measures it: each
configuration runs in a fresh process with the engine's own chunk size, which reports its
peak resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``) before the run (imports and the
task) and after it.

The full trial count can take long on a small CPU (``--full``); by default each size runs
one and three chunks of trials: the peak does not grow with the number of chunks (the same
compiled buffers are reused), and what does grow -- the host copies of the risks, at most four
copies of ``trials x grid x 8`` bytes -- is added to give the peak at the full trial count
(0.3 MB for ``10^4`` trials and one grid point).  Results go to
``benchmarks/results/memory_<backend>.json``; the table in ``benchmarks/README.md``.

Run::

    python benchmarks/bench_memory.py [--full | --trials T] [--sizes 500x2000 200x800 1000x4000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_TRIALS = 10_000
LIMIT = 4 * 2**30


def child(n: int, p: int, trials: int, budget: int) -> dict:
    """One run in this process; the numbers as a dict (peak RSS in bytes)."""
    import jax

    import models
    import sims
    from sims import _sharding
    from sims._linear import default_chunk

    models.cpu_scheduler_workaround()
    models.enable_x64()
    task = models.LinearTask.isotropic(pool=p, n=n, noise=0.5, support=10)
    chunk = default_chunk(n, p, 1, 8, budget)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    mc = sims.dense_risk(task, p=p, trials=trials, key=jax.random.key(0), memory_budget=budget)
    seconds = time.perf_counter() - t0
    assert mc.risks.shape == (trials,) and mc.trials == trials
    return {"n": n, "p": p, "trials": trials, "memory_budget": budget,
            "chunk": _sharding.local_chunk(chunk, trials), "chunk_budget": chunk,
            "devices": jax.device_count(), "seconds": seconds,
            "rss_before_run": rss_before,
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "risk_mean": float(mc.mean)}


def run_child(n: int, p: int, trials: int, budget: int) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS", "1"))
    res = subprocess.run([sys.executable, __file__, "--child", f"{n}x{p}", str(trials),
                          str(budget)], capture_output=True, text=True, env=env)
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["500x2000", "200x800", "1000x4000"],
                        help="n x p sizes (the first is the promise's size)")
    parser.add_argument("--budget", type=float, default=2**30, help="memory_budget bytes")
    parser.add_argument("--full", action="store_true", help="run the full 10^4 trials")
    parser.add_argument("--trials", type=int, default=None,
                        help="run this many trials (default: one and three chunks)")
    parser.add_argument("--tag", default="", help="suffix of the results file name")
    parser.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        n, p = (int(v) for v in args.child[0].split("x"))
        print(json.dumps(child(n, p, int(args.child[1]), int(args.child[2]))))
        return 0
    sys.path.insert(0, str(HERE))
    from _common import machine_info

    budget = int(args.budget)
    rows = []
    for size in args.sizes:
        n, p = (int(v) for v in size.split("x"))
        runs = []
        if args.full or args.trials:
            runs.append(run_child(n, p, TARGET_TRIALS if args.full else args.trials, budget))
        else:
            probe = run_child(n, p, 1, budget)
            chunk = probe["chunk_budget"]
            for k in (1, 3):
                runs.append(run_child(n, p, min(TARGET_TRIALS, k * chunk), budget))
        last = runs[-1]
        growth = 4 * 8 * (TARGET_TRIALS - last["trials"])       # host copies of the risks
        row = {"n": n, "p": p, "chunk": last["chunk_budget"], "runs": runs,
               "peak_rss_at_1e4_trials": last["peak_rss"] + growth,
               "measured_at_trials": last["trials"],
               "trials_per_second": last["trials"] / last["seconds"]}
        rows.append(row)
        peaks = ", ".join(f"{r['trials']} trials: {r['peak_rss'] / 2**20:.0f} MiB" for r in runs)
        print(f"n={n:5d} p={p:5d} chunk={row['chunk']:5d}  before run "
              f"{runs[0]['rss_before_run'] / 2**20:.0f} MiB; peak {peaks}; 10^4 trials: "
              f"{row['peak_rss_at_1e4_trials'] / 2**30:.2f} GiB "
              f"({'within' if row['peak_rss_at_1e4_trials'] <= LIMIT else 'OVER'} 4 GiB)")
    info = machine_info()
    out = HERE / "results" / f"memory_{info.get('backend', 'cpu')}{args.tag}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": info, "memory_budget": budget, "full": args.full,
                               "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
