"""Files written by long simulations: atomic writes and resumable trial checkpoints.

A file is written to a temporary name in the same folder and renamed into place
(``os.replace``), so an interrupted run never leaves a half-written file.  A checkpoint is a
folder (:class:`TrialCheckpoint`): one ``.npz`` per finished trial chunk and a ``run.json``
with the hash of every parameter that changes the numbers, so a checkpoint is only resumed
by the run that wrote it (another run is refused with a message naming what differs).
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


FORMAT = "overparam-trial-checkpoint/1"


class TrialCheckpoint:
    """A folder of finished trial chunks of one run, resumable after any interruption.

    ``run.json`` names the run (the hash of every parameter that changes the numbers, and one
    hash per parameter so that a mismatch can be named); each finished chunk is one file
    ``chunk-<start>-<count>.npz`` (trials ``[start, start + count)``, the arrays the compiled
    call returned), written atomically.  :meth:`load` returns the contiguous chunks from trial
    0, so a run killed at any instant resumes with no lost and no duplicated trial.  A folder
    written by a run with other parameters is refused (``InputError`` naming the parameters
    that differ), never mixed in.
    """

    def __init__(self, path, run_key: Mapping[str, Any], write: bool = True):
        self.path = Path(path)
        self.fields = {str(k): run_tag({"v": v})[:16] for k, v in run_key.items()}
        self.tag = run_tag(run_key)
        self.write = write

    def _refuse(self, why: str, allowed: str):
        from models import InputError

        raise InputError(f"checkpoint: {str(self.path)!r} {why}; allowed: {allowed}")

    def load(self) -> list[tuple[int, int, tuple]]:
        """``[(start, count, arrays), ...]`` of the finished chunks (empty for a new folder)."""
        if not self.path.exists():
            return []
        if not self.path.is_dir():
            self._refuse("is a file, not a checkpoint folder (checkpoints written before "
                         "issue 11 were single .npz files: delete it to start afresh)",
                         "a new path or a folder written by the same run")
        meta_path = self.path / "run.json"
        if not meta_path.exists():
            if any(self.path.iterdir()):
                self._refuse("is a folder without run.json (not a checkpoint)",
                             "an empty or new folder, or a checkpoint of the same run")
            return []
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            self._refuse("has an unreadable run.json", "a checkpoint written by overparam")
        if meta.get("format") != FORMAT:
            self._refuse(f"has format {meta.get('format')!r}", f"{FORMAT!r}")
        if meta.get("tag") != self.tag:
            old = meta.get("fields", {})
            diff = sorted(k for k in set(old) | set(self.fields)
                          if old.get(k) != self.fields.get(k))
            self._refuse("was written by a run with other parameters (differs in: "
                         + ", ".join(diff or ["?"]) + ")",
                         "the same parameters to resume it, or another checkpoint path "
                         "(delete the folder to start afresh)")
        chunks = {}
        for f in self.path.glob("chunk-*.npz"):
            try:
                _, a, b = f.stem.split("-")
                chunks[int(a)] = (int(b), f)
            except ValueError:
                continue
        out, start = [], 0
        while start in chunks:
            count, f = chunks[start]
            with np.load(f, allow_pickle=False) as z:
                parts = tuple(z[f"a{j}"] for j in range(int(z["items"])))
            out.append((start, count, parts))
            start += count
        return out

    def save(self, start: int, count: int, parts) -> None:
        """Store one finished chunk (atomically; ``run.json`` first)."""
        if not self.write:
            return
        meta = self.path / "run.json"
        if not meta.exists():
            atomic_write_bytes(meta, json.dumps({"format": FORMAT, "tag": self.tag,
                                                 "fields": self.fields}, indent=1).encode())
        buf = io.BytesIO()
        np.savez(buf, items=np.array(len(parts)),
                 **{f"a{j}": np.asarray(x) for j, x in enumerate(parts)})
        atomic_write_bytes(self.path / f"chunk-{start:010d}-{count:010d}.npz", buf.getvalue())
