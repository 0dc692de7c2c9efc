"""Optimal ridge penalty from the differentiable dense theory.

The dense risk ``gamma^2(lambda_r)`` is differentiated through the fixed point by the
implicit function theorem; the minimiser over ``lambda_r > 0`` is found by BFGS in
``t = log lambda_r`` (``optimistix.BFGS``).  For isotropic features the answer is known in
closed form, ``lambda_r* = sigma_p^2 p / (n ||beta||^2)`` (Hastie et al. 2019, Thm. 5; in the
objective ``(1/n)||y - X b||^2 + lambda_r ||b||^2``), which the tests check.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import optimistix as optx

from models import LinearTask
from models._errors import check_int_range

from ._dense import dense_risk_point
from ._status import SolverError


@dataclasses.dataclass(frozen=True)
class OptimalRidge:
    ridge: float
    risk: float
    steps: int


def optimal_ridge(task: LinearTask, p: int | None = None, n: int | None = None, *,
                  init: float = 1.0, rtol: float = 1e-10) -> OptimalRidge:
    """Ridge penalty minimising the theoretical dense test risk at ``(p, n)``."""
    p = task.pool_size if p is None else int(check_int_range("p", p, 1, task.pool_size))
    n = task.n if n is None else int(check_int_range("n", n, 1))
    if not init > 0:
        raise ValueError("init: the starting ridge must be > 0")

    def loss(t, args):
        return dense_risk_point(task, p, n, jnp.exp(t)).risk

    sol = optx.minimise(loss, optx.BFGS(rtol=rtol, atol=1e-12), jnp.log(jnp.asarray(init, jnp.float64)),
                        max_steps=200, throw=False)
    if sol.result != optx.RESULTS.successful:
        raise SolverError(f"optimal_ridge: BFGS did not converge ({sol.result})")
    r = float(jnp.exp(sol.value))
    return OptimalRidge(ridge=r, risk=float(dense_risk_point(task, p, n, r).risk),
                        steps=int(sol.stats["num_steps"]))
