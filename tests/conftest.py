"""Test set-up.

Tolerances for theory vs Monte Carlo are never tuned: tests use the project's one agreement
rule, ``overparam.assert_agrees`` / ``overparam.AGREEMENT`` (``|mc_mean - theory| <= 3 stderr +
allowance |theory|``, the allowance being the finite-size effect stated in docs/linear.md),
with ``overparam.EXACT`` (no allowance) where the theory is an exact finite-n formula.
"""

import models

# The suite runs the theory in float64 and the Monte Carlo on a CPU backend that must start
# with the scheduler workaround (models._config): both before any array is made.
models.cpu_scheduler_workaround()
models.enable_x64()
