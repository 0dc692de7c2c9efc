"""Output files: tidy CSV tables and JSON sidecars, written atomically.

Every table the engine writes gets a sidecar ``<file>.json`` holding all parameters, the
package, JAX and NumPy versions, and the device, so that a figure or a CSV can always be
traced back to the run that made it.  Files are written to a temporary name in the same
folder and renamed into place, so an interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import jax
import numpy as np

from sims._checkpoint import atomic_write_bytes as atomic_write_bytes
from sims._checkpoint import jsonable as _jsonable


def environment(devices_used: int | None = None) -> dict:
    """Package, JAX, NumPy versions and the device the run used: ``device_count`` visible
    devices (every host's), ``devices_used`` the most a Monte Carlo run was sharded over
    (given by ``overparam simulate|compare``; absent elsewhere), ``process_count`` hosts."""
    try:
        version = metadata.version("overparam")
    except metadata.PackageNotFoundError:  # running from a source tree
        version = "source"
    devices = jax.devices()
    return {
        "overparam": version,
        "jax": jax.__version__,
        "jaxlib": metadata.version("jaxlib") if _has("jaxlib") else None,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "device": str(devices[0].device_kind) if devices else None,
        "device_count": len(devices),
        **({} if devices_used is None else {"devices_used": int(devices_used)}),
        "process_count": jax.process_count(),
        "x64": bool(jax.config.read("jax_enable_x64")),
        "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _has(dist: str) -> bool:
    try:
        metadata.version(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


def write_sidecar(path, parameters: Mapping[str, Any], **extra) -> Path:
    """Write ``<path>.json`` with ``parameters``, ``extra`` and :func:`environment`."""
    path = Path(path)
    devices_used = extra.pop("devices_used", None)
    payload = {"file": path.name, "parameters": _jsonable(dict(parameters)),
               "environment": environment(devices_used), **_jsonable(extra)}
    return atomic_write_bytes(path.with_name(path.name + ".json"),
                              (json.dumps(payload, indent=2, sort_keys=False) + "\n").encode())


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if math.isnan(v):
            return "nan"
        return repr(v)
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def write_csv(path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
              parameters: Mapping[str, Any] | None = None, **extra) -> Path:
    """Write a tidy CSV (one row per grid point and method) atomically, plus its sidecar
    (``extra`` keyword values are stored in the sidecar too)."""
    rows = list(rows)
    if columns is None:
        columns = []
        for r in rows:
            columns += [k for k in r if k not in columns]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r.get(c, "")) for c in columns])
    out = atomic_write_bytes(path, buf.getvalue().encode())
    write_sidecar(out, parameters or {}, columns=list(columns), rows=len(rows), **extra)
    return out


def read_csv(path) -> list[dict[str, str]]:
    """Read a CSV written by :func:`write_csv` (values as strings)."""
    with Path(path).open(newline="") as fh:
        return list(csv.DictReader(fh))


def save_figure(fig, path, parameters: Mapping[str, Any] | None = None, dpi: int = 200) -> Path:
    """Save a matplotlib figure atomically (format from the suffix) plus its sidecar."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    out = atomic_write_bytes(path, buf.getvalue())
    write_sidecar(out, parameters or {})
    return out
