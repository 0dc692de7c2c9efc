"""pytest set-up for the whole repository: the tests in ``tests/`` and the docstring examples
of the packages (``--doctest-modules``).

The suite runs the theory in float64 and the Monte Carlo on a CPU backend that starts with the
scheduler workaround (``models._config``): both before any array is made.  Docstring
examples see ``jax``, ``jnp``, ``np``, ``models``, ``asy`` (``asymptotics``), ``sims`` and
``overparam`` without importing them.
"""

import os

import models

# In-process CLI tests must not switch the whole session to JAX's persistent compilation
# cache (overparam/_cache.py); tests that want it set OVERPARAM_CACHE_DIR themselves.
os.environ.setdefault("OVERPARAM_CACHE_DIR", "off")
models.cpu_scheduler_workaround()
models.enable_x64()

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    import jax
    import jax.numpy as jnp
    import numpy as np

    import asymptotics
    import overparam
    import sims

    doctest_namespace.update(jax=jax, jnp=jnp, np=np, models=models, asy=asymptotics,
                             sims=sims, overparam=overparam)
