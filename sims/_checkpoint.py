"""Files written by long simulations: atomic writes and resumable trial checkpoints.

A file is written to a temporary name in the same folder and renamed into place
(``os.replace``), so an interrupted run never leaves a half-written file.  A checkpoint is one
``.npz`` holding the finished trial chunks and a tag: the hash of every parameter that
changes the numbers, so a checkpoint is only resumed by the run that wrote it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import jax
import numpy as np


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def jsonable(value: Any) -> Any:
    """Plain JSON values from NumPy/JAX arrays, paths, tuples and non-finite floats."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (np.ndarray, jax.Array)):
        return jsonable(np.asarray(value).tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def run_tag(run_key: Mapping[str, Any]) -> str:
    """SHA-256 of the parameters that fix a run's numbers."""
    return hashlib.sha256(json.dumps(jsonable(dict(run_key)), sort_keys=True).encode()).hexdigest()


def save_checkpoint(path, tag: str, chunks: list) -> None:
    """Chunks are tuples of arrays; stored as ``c{chunk}_{item}`` in one ``.npz``."""
    buf = io.BytesIO()
    arrays = {f"c{c}_{j}": np.asarray(x) for c, part in enumerate(chunks) for j, x in enumerate(part)}
    np.savez(buf, tag=np.array(tag), shape=np.array([len(chunks), len(chunks[0])]), **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path, tag: str) -> list:
    """The saved chunks of the run ``tag`` (empty when there is no checkpoint yet)."""
    path = Path(path)
    if not path.exists():
        return []
    with np.load(path, allow_pickle=False) as z:
        if str(z["tag"]) != tag:
            return []
        n_chunks, n_items = (int(v) for v in z["shape"])
        return [tuple(z[f"c{c}_{j}"] for j in range(n_items)) for c in range(n_chunks)]
