"""Benchmark: two-layer network ensembles (``sims.mlp_ensemble``), vmapped over seeds vs a Python
loop over seeds at equal work, and the digits quality bar against scikit-learn.

(1) Speed.  Digits (``models.load_digits(jax.random.key(0))``), width ``--width`` (256), Adam
    with minibatches of 64 (the defaults) for ``--steps`` steps, keep fraction 1 (every seed
    trains the dense network and its "small" twin of the same width: two trainings), no
    fine-tuning.  JAX path: ``sims.mlp_ensemble(..., seeds=S)`` -- one compiled call vmapped
    over the ``S`` seeds.  Baseline: the same entry point with ``chunk=1``, i.e. a Python loop
    over the seeds, one compiled call per seed (compiled once): exactly the same work and the
    same random numbers, so the two results must agree (asserted, float32 rounding).  First
    calls (compile + run) timed separately, then medians.  Examples per second count training
    examples (``2 S steps batch``); FLOPs analytically (below) against the device's measured
    float32 matmul rate (``_common.gemm_rate``).
(2) Quality (issue 10, item 7).  Width 256 with the default settings (3000 Adam steps,
    minibatch 64, lr 1e-3) and 3 seeds: test accuracy of the dense network and of the network
    pruned to 10 % of its weights by magnitude and fine-tuned (1000 steps, mask fixed), beside
    scikit-learn's ``MLPClassifier(hidden_layer_sizes=(256,))`` (its defaults: Adam, lr 1e-3,
    batch 200, L2 1e-4, early stop on the training loss) on the same split, 3 seeds.
    Bar: dense within 1.5 points of scikit-learn; pruning + fine-tuning costs at most 3 points.

FLOPs per training example and step (2 per multiply-add): forward ``2 (d p + p k)``, backward
twice that: ``6 (d p + p k)``; each recorded evaluation ``2 (d p + p k) (n_train + n_test)``.

(3) With ``--padding``: widths 16-256 (4 seeds, 300 steps) trained in one call padded to 256
    and masked, one call per width, and ``pad_widths="auto"`` (groups within a factor 2):
    compiled calls, first call (compile + run) and warm time; the numbers must agree.

Usage: ``python benchmarks/bench_mlp.py [--quick] [--seeds S] [--steps T] [--width P]
[--repeats R] [--skip-quality] [--padding]``.
"""

from __future__ import annotations

import time

import jax
import numpy as np

import models
import sims
from sims import _mlp

import _common


def flops(run_steps, records, batch, d, p, k, n_eval, seeds, trainings=2):
    per = 6.0 * (d * p + p * k) * batch * run_steps + 2.0 * (d * p + p * k) * n_eval * records
    return per * seeds * trainings


def sklearn_accuracy(data, width, seeds):
    from sklearn.neural_network import MLPClassifier

    accs = []
    for s in range(seeds):
        clf = MLPClassifier(hidden_layer_sizes=(width,), random_state=s, max_iter=500)
        clf.fit(data.x_train, data.y_train)
        accs.append(clf.score(data.x_test, data.y_test))
    return np.array(accs)


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n")[0], repeats=3, baseline_repeats=3)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--padding", action="store_true",
                    help="also time widths padded into one call vs one call per width vs groups")
    a = ap.parse_args(argv)
    if a.quick:
        a.seeds, a.steps, a.width, a.repeats, a.baseline_repeats = 4, 50, 32, 1, 1
    info = _common.machine_info()
    _common.print_machine(info)
    data = models.load_digits(jax.random.key(0))
    n_tr, n_te = data.x_train.shape[0], data.x_test.shape[0]
    kw = dict(widths=[a.width], keep_fraction=[1.0], seeds=a.seeds, key=jax.random.key(1),
              steps=a.steps)

    def run(chunk):
        return sims.mlp_ensemble(data, chunk=chunk, **kw)

    first_v, rv = _common.first_call(lambda: run(a.seeds))
    first_l, rl = _common.first_call(lambda: run(1))
    worst = max(float(np.max(np.abs(rv.pruned[m] - rl.pruned[m]))) for m in _mlp.METRICS)
    assert worst < 1e-3, f"vmapped and looped ensembles differ by {worst}"
    tv = _common.summary(_common.time_call(lambda: run(a.seeds), a.repeats))
    tl = _common.summary(_common.time_call(lambda: run(1), a.baseline_repeats))
    records = len(rv.record_steps)
    fl = flops(a.steps, records, 64, 64, a.width, 10, n_tr + n_te, a.seeds)
    examples = 2.0 * a.seeds * a.steps * 64
    gemm = _common.gemm_rate(1024 if not a.quick else 256, np.float32)
    res = {
        "problem": dict(data="digits", width=a.width, seeds=a.seeds, steps=a.steps, batch=64,
                        optimizer="adam", trainings_per_seed=2, records=records),
        "vmapped": {**tv, "first_call_s": first_v, "examples_per_s": examples / tv["median_s"],
                    "gflop_per_s": fl / tv["median_s"] / 1e9},
        "loop": {**tl, "first_call_s": first_l, "examples_per_s": examples / tl["median_s"],
                 "gflop_per_s": fl / tl["median_s"] / 1e9},
        "speedup": tl["median_s"] / tv["median_s"],
        "max_abs_difference": worst,
        "gemm_float32": gemm,
    }
    res["vmapped"]["fraction_of_gemm_rate"] = fl / tv["median_s"] / gemm["flop_per_s"]
    print(f"ensemble of {a.seeds} seeds, width {a.width}, {a.steps} Adam steps (x2 trainings): "
          f"vmapped {tv['median_s']:.2f} s ({res['vmapped']['examples_per_s']:.3g} examples/s, "
          f"{res['vmapped']['gflop_per_s']:.2f} GFLOP/s = "
          f"{res['vmapped']['fraction_of_gemm_rate']:.1%} of the f32 matmul rate "
          f"{gemm['flop_per_s'] / 1e9:.1f} GFLOP/s; first call {first_v:.1f} s) vs loop over "
          f"seeds {tl['median_s']:.2f} s ({res['loop']['examples_per_s']:.3g} examples/s; first "
          f"call {first_l:.1f} s): {res['speedup']:.2f}x; max |difference| {worst:.1e}")

    if a.padding:
        # (3) widths: one padded call, one call per width, or groups within a factor 2
        ws = [16, 32, 64, 128, 256] if not a.quick else [8, 16, 32]
        pkw = dict(keep_fraction=[1.0], seeds=4, key=jax.random.key(2),
                   steps=300 if not a.quick else 30)
        res["padding"] = {}
        runs = {}
        for mode in (True, False, "auto"):
            f = lambda mode=mode: sims.mlp_ensemble(data, ws, pad_widths=mode, **pkw)  # noqa: E731
            first, runs[mode] = _common.first_call(f)
            warm = _common.summary(_common.time_call(f, 1))["median_s"]
            groups = len(_mlp.width_groups(np.array(ws), mode))
            res["padding"][str(mode)] = dict(first_call_s=first, warm_s=warm, groups=groups)
            print(f"widths {ws}, pad_widths={mode!s:<5}: {groups} compiled call(s), first call "
                  f"{first:.1f} s, warm {warm:.2f} s")
        diff = max(float(np.max(np.abs(runs[True].pruned[m] - runs[mo].pruned[m])))
                   for m in _mlp.METRICS for mo in (False, "auto"))
        assert diff < 1e-3, f"padded and unpadded widths differ by {diff}"
        res["padding"]["max_abs_difference"] = diff

    if not a.skip_quality:
        t0 = time.perf_counter()
        qkw = {} if not a.quick else dict(steps=200, finetune_steps=100)
        q = sims.mlp_ensemble(data, widths=[256], keep_fraction=[1.0, 0.1], seeds=3,
                              key=jax.random.key(1), finetune=True, **qkw)
        t_q = time.perf_counter() - t0
        dense = q.pruned["test_accuracy"][0, 0]
        ft = q.finetuned["test_accuracy"][0, 1]
        pr = q.pruned["test_accuracy"][0, 1]
        small = q.small["test_accuracy"][0, 1]
        t0 = time.perf_counter()
        sk = sklearn_accuracy(data, 256, 3)
        t_sk = time.perf_counter() - t0
        res["quality"] = dict(dense=dense, pruned_10=pr, pruned_10_finetuned=ft,
                              small_equal_count=small, sklearn=sk, seconds_ours=t_q,
                              seconds_sklearn=t_sk, nonzero=int(q.nonzero[0, 1]),
                              gap_dense_vs_sklearn=float(sk.mean() - dense.mean()),
                              cost_of_pruning=float(dense.mean() - ft.mean()))
        print("digits, width 256, 3 seeds, same split (test accuracy %, mean +- s.e.):")
        for name, v in (("scikit-learn MLPClassifier(256)", sk), ("ours, dense (defaults)", dense),
                        ("ours, pruned to 10 % by magnitude", pr),
                        ("ours, pruned to 10 % + fine-tuned", ft),
                        (f"ours, small dense width {int(q.small_width[0, 1])} (same count)",
                         small)):
            se = 100 * v.std(ddof=1) / np.sqrt(v.size)
            print(f"  {name:<40} {100 * v.mean():6.2f} +- {se:.2f}")
        print(f"  dense vs scikit-learn: {100 * (dense.mean() - sk.mean()):+.2f} points (bar: "
              f">= -1.5); pruning + fine-tuning: {100 * (ft.mean() - dense.mean()):+.2f} points "
              f"(bar: >= -3); ours {t_q:.0f} s (3 seeds x dense, pruned, fine-tuned, small, "
              f"compile included), scikit-learn {t_sk:.0f} s")
    _common.write_json(_common.result_name("mlp", info, a.tag),
                       {"machine": info, **res}, a.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
