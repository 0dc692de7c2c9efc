"""The command line's persistent compilation cache (JAX's, in a folder of the user's cache).

A researcher runs ``overparam`` many times a day; most of a short command's time used to be
XLA compiling the same programs again (0.9 s of a 200-point theory curve, up to tens of
seconds for a Monte Carlo kernel).  The command line therefore turns on JAX's persistent
compilation cache (``jax_compilation_cache_dir``) before anything is compiled, so a second
process loads the compiled programs from disk instead (``benchmarks/README.md``, "Cold
start").  Results are unchanged: a cache entry is keyed by the program, its compile options,
the device and the JAX/jaxlib versions, and a miss simply compiles.

Where: ``$OVERPARAM_CACHE_DIR`` if set; else ``$XDG_CACHE_HOME/overparam/jax``; else
``~/.cache/overparam/jax``.  ``OVERPARAM_CACHE_DIR=off`` (or ``0``, ``none``, empty) turns it
off.  A cache folder already chosen through JAX itself (``JAX_COMPILATION_CACHE_DIR`` or
``jax.config.update("jax_compilation_cache_dir", ...)``) is left as it is.  The folder is
safe to delete at any time (it is rebuilt on the next run); it is not size-limited, as
JAX's own cache is not.  Every program is cached, however quick to compile: JAX's default
thresholds (1 s of compile time) would skip the small programs a short command consists of.

Library calls (``import asymptotics`` etc.) never turn the cache on: only the command line,
which owns its process, does.
"""

from __future__ import annotations

import os
from pathlib import Path

#: values of ``OVERPARAM_CACHE_DIR`` that turn the cache off.
OFF = ("", "0", "off", "none", "false", "no")


def compilation_cache_dir(environ=None) -> Path | None:
    """The cache folder the command line uses (None: turned off); see the module docstring."""
    env = os.environ if environ is None else environ
    if "OVERPARAM_CACHE_DIR" in env:
        value = env["OVERPARAM_CACHE_DIR"].strip()
        return None if value.lower() in OFF else Path(value).expanduser()
    base = env.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "overparam" / "jax"


def enable_compilation_cache(environ=None) -> Path | None:
    """Turn on JAX's persistent compilation cache in :func:`compilation_cache_dir`.

    Returns the folder in use, or None when the cache is off, the folder cannot be created
    (the command then simply compiles), or JAX already has a cache folder (left unchanged).
    Call before the first compilation."""
    import jax

    if jax.config.jax_compilation_cache_dir:
        return None
    path = compilation_cache_dir(environ)
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return path
