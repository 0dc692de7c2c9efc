"""Shared test helpers.

Tolerances for theory vs Monte Carlo are never tuned: a point agrees when
``|mc_mean - theory| <= 3 * stderr + allowance * |theory|``, the allowance being the
finite-size effect stated in the theory note (2% away from |p - n| < 0.1 n).
"""

import numpy as np

import models

# The suite runs the theory in float64 and the Monte Carlo on a CPU backend that must start
# with the scheduler workaround (models._config): both before any array is made.
models.cpu_scheduler_workaround()
models.enable_x64()


def assert_mc_agrees(theory, mean, stderr, *, n_se=3.0, allowance=0.02, what=""):
    theory, mean, stderr = (np.asarray(a, dtype=float) for a in (theory, mean, stderr))
    bound = n_se * stderr + allowance * np.abs(theory)
    bad = np.abs(mean - theory) > bound
    assert not bad.any(), (f"{what}: Monte Carlo disagrees with theory at {np.flatnonzero(bad)}: "
                           f"theory={theory[bad]}, mc={mean[bad]} +- {stderr[bad]}")
