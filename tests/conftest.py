"""Test set-up (see also the repository's root ``conftest.py``: float64 and the CPU workaround).

Tolerances for theory vs Monte Carlo are never tuned: tests use the project's one agreement
rule, ``overparam.assert_agrees`` / ``overparam.AGREEMENT`` (``|mc_mean - theory| <= 3 stderr +
allowance |theory|``, the allowance being the finite-size effect stated in docs/linear.md),
with ``overparam.EXACT`` (no allowance) where the theory is an exact finite-n formula.
"""
