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
import numpy as np
import optimistix as optx

import models
from models import InputError, LinearTask
from models._errors import check_int_range

from ._dense import dense_risk_point
from ._status import SolverError, Status


@dataclasses.dataclass(frozen=True)
class OptimalRidge:
    """``ridge``: the minimiser; ``risk``: the dense risk there; ``steps``: BFGS steps;
    ``status``: CONVERGED, or NOT_CONVERGED (BFGS failed or its step cap was reached, e.g.
    when the optimum is at the boundary ``ridge -> 0``, noise 0; values NaN)."""

    ridge: float
    risk: float
    steps: int
    status: Status = Status.CONVERGED


def optimal_ridge(task: LinearTask, p: int | None = None, n: int | None = None, *,
                  init: float = 1.0, rtol: float = 1e-10, max_steps: int = 200,
                  throw: bool = True) -> OptimalRidge:
    """Ridge penalty minimising the theoretical dense test risk at ``(p, n)``.

    Raises :class:`SolverError` with ``throw=True`` when BFGS does not converge within
    ``max_steps``; with ``throw=False`` the result has status NOT_CONVERGED and NaN values.
    """
    models.require_x64("optimal_ridge")
    p = task.pool_size if p is None else int(check_int_range("p", p, 1, task.pool_size))
    n = task.n if n is None else int(check_int_range("n", n, 1))
    if not init > 0:
        raise InputError(f"init: got {init!r}; allowed: a starting ridge > 0")

    def loss(t, args):
        return dense_risk_point(task, p, n, jnp.exp(t)).risk

    sol = optx.minimise(loss, optx.BFGS(rtol=rtol, atol=1e-12), jnp.log(jnp.asarray(init, jnp.float64)),
                        max_steps=max_steps, throw=False)
    steps = int(sol.stats["num_steps"])
    r = float(jnp.exp(sol.value))
    point = dense_risk_point(task, p, n, r)
    ok = (sol.result == optx.RESULTS.successful) and int(point.status) == Status.CONVERGED \
        and np.isfinite(r) and r > 0
    status = Status.CONVERGED if ok else Status.NOT_CONVERGED
    if throw and not ok:
        raise SolverError(f"optimal_ridge: BFGS did not converge in {steps} steps "
                          f"({sol.result}); pass throw=False to get the status")
    return OptimalRidge(ridge=r if ok else float("nan"), risk=float(point.risk) if ok else float("nan"),
                        steps=steps, status=status)
