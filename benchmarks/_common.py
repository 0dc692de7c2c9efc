"""Shared plumbing for the benchmark scripts: machine description, timing, JSON output.

Not part of the package; imported by ``bench_theory.py`` and ``bench_sims.py`` (run as
``python benchmarks/bench_*.py``, which puts this folder on ``sys.path``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import numpy as np

import models

# A benchmark is a program: like the command line, it owns its process, so it turns the
# float64 theory on and applies the CPU scheduler workaround before any array is made
# (models._config: importing the packages changes no JAX setting).
models.cpu_scheduler_workaround()
models.enable_x64()

#: Vendor FP64 peak matrix-multiply rates (dense, tensor cores where the chip has them), in
#: FLOP/s.  Source: NVIDIA datasheets -- H100 Tensor Core GPU datasheet ("FP64 Tensor Core:
#: 67 teraFLOPS" SXM, 51 PCIe), H200 Tensor Core GPU product brief ("FP64 Tensor Core: 67
#: TFLOPS" SXM), A100 datasheet (19.5 TFLOPS FP64 Tensor Core).
FP64_MATMUL_PEAK = (
    ("H100 PCIe", 51e12),
    ("H100", 67e12),
    ("H200", 67e12),
    ("A100", 19.5e12),
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fp64_peak(device_kind: str) -> float | None:
    for name, peak in FP64_MATMUL_PEAK:
        if all(part in device_kind for part in name.split()):
            return peak
    return None


def machine_info() -> dict:
    dev = jax.devices()[0]
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count()
    import scipy

    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu_model": cpu_model(),
        "cpu_cores": cores,
        "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "backend": jax.default_backend(),
        "device_kind": dev.device_kind,
        "device_count": jax.device_count(),
        "jax": jax.__version__,
        "jaxlib": getattr(jax.lib, "__version__", None) or _jaxlib_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
        "x64": bool(jax.config.jax_enable_x64),
    }
    if info["backend"] == "gpu":
        info["fp64_matmul_peak_flops"] = fp64_peak(dev.device_kind)
    return info


def _jaxlib_version():
    try:
        import jaxlib

        return jaxlib.__version__
    except Exception:  # pragma: no cover
        return None


def print_machine(info: dict) -> None:
    print(f"machine : {info['cpu_model']}, {info['cpu_cores']} cores "
          f"(load {info['load_avg_1min']:.2f})" if info["load_avg_1min"] is not None else
          f"machine : {info['cpu_model']}, {info['cpu_cores']} cores")
    print(f"backend : {info['backend']} ({info['device_kind']}, {info['device_count']} device(s))")
    print(f"versions: jax {info['jax']}, numpy {info['numpy']}, scipy {info['scipy']}, "
          f"python {info['python']}; x64={info['x64']}")
    if info.get("fp64_matmul_peak_flops"):
        print(f"FP64 matmul peak (datasheet): {info['fp64_matmul_peak_flops'] / 1e12:.1f} TFLOP/s")


def block(tree):
    """``block_until_ready`` on every JAX array of a pytree (NumPy leaves pass through)."""
    for leaf in jax.tree_util.tree_leaves(tree):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    return tree


def _repeat(fn, repeats: int, clock) -> list[float]:
    """``clock`` seconds of ``repeats`` calls of ``fn`` (results blocked on)."""
    times = []
    for _ in range(repeats):
        t0 = clock()
        block(fn())
        times.append(clock() - t0)
    return times


def cpu_time(fn, repeats: int) -> list[float]:
    """CPU seconds of this process (all threads) for ``repeats`` calls of ``fn`` (blocked on):
    the fair measure when the baseline's BLAS is held to one thread and JAX uses every core."""
    return _repeat(fn, repeats, time.process_time)


def time_call(fn, repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` (results blocked on)."""
    return _repeat(fn, repeats, time.perf_counter)


def first_call(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = block(fn())
    return time.perf_counter() - t0, out


def summary(times: list[float]) -> dict:
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "repeats": len(times), "all_s": times}


def gemm_rate(size: int, dtype=np.float64, repeats: int = 5) -> dict:
    """Attainable dense matmul rate on the default device (plain ``jnp.matmul``, HIGHEST)."""
    import jax.numpy as jnp

    key = jax.random.key(0)
    a = jax.random.normal(key, (size, size), dtype)
    b = jax.random.normal(jax.random.fold_in(key, 1), (size, size), dtype)
    f = jax.jit(lambda a, b: jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST))
    block(f(a, b))
    times = time_call(lambda: f(a, b), repeats)
    t = statistics.median(times)
    return {"size": size, "dtype": np.dtype(dtype).name, "median_s": t,
            "flops": 2.0 * size**3, "flop_per_s": 2.0 * size**3 / t}


def write_json(name: str, payload: dict, out_dir: str | Path | None = None) -> Path:
    out = Path(out_dir) if out_dir else RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    tmp.replace(path)
    print(f"wrote {path}")
    return path


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def result_name(kind: str, info: dict, tag: str = "") -> str:
    """``KIND_DEVICE[_TAG].json``, DEVICE being ``cpu`` or e.g. ``h100`` from the device kind."""
    if info["backend"] == "cpu":
        dev = "cpu"
    else:
        words = [w for w in info["device_kind"].lower().split() if w not in ("nvidia", "tesla")]
        dev = words[0] if words else info["backend"]
    return f"{kind}_{dev}{('_' + tag) if tag else ''}.json"


def parser(description: str, *, repeats: int, baseline_repeats: int = 3) -> argparse.ArgumentParser:
    """The flags every benchmark shares: --quick, repeats, output folder and tag."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test, ~seconds)")
    ap.add_argument("--repeats", type=int, default=repeats, help="JAX repeats (median)")
    ap.add_argument("--baseline-repeats", type=int, default=baseline_repeats,
                    help="baseline repeats (median)")
    ap.add_argument("--out-dir", default=None, help="where to write the JSON (default "
                    "benchmarks/results)")
    ap.add_argument("--tag", default="", help="suffix for the JSON file name")
    return ap


def add_peak_fraction(res: dict, info: dict, rate_key: str) -> dict:
    """Add ``fraction_of_fp64_matmul_peak`` (GPU runs: the device's datasheet peak)."""
    peak = info.get("fp64_matmul_peak_flops")
    if peak:
        res["fraction_of_fp64_matmul_peak"] = res[rate_key] / peak
    return res
