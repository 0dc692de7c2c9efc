"""Theory next to simulation: tables with z-scores, and figures.

The only place where the two evaluators meet.  ``z = (mc_mean - theory) / mc_stderr``; the
agreement criterion used by the tests and reported in tables is
``|mc_mean - theory| <= 3 stderr + rel_allowance * theory`` (a Monte Carlo error plus a stated
finite-size allowance, see the theory note ``linear.md`` section 6).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._linear import DenseSimulation


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Theory values and Monte Carlo summaries at the same grid points (flat arrays)."""

    p: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    theory: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    median: np.ndarray
    trials: np.ndarray
    status: np.ndarray

    @property
    def z(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (self.mean - self.theory) / self.stderr
        return np.where(np.isfinite(self.theory), z, np.nan)

    @property
    def rel_err(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.isfinite(self.theory), (self.mean - self.theory) / self.theory, np.nan)

    def agrees(self, n_stderr: float = 3.0, rel_allowance: float = 0.02) -> np.ndarray:
        """``|mean - theory| <= n_stderr * stderr + rel_allowance * |theory|`` per point."""
        return np.abs(self.mean - self.theory) <= n_stderr * self.stderr + rel_allowance * np.abs(self.theory)

    def table(self) -> str:
        """A plain-text table for terminals and logs."""
        head = f"{'p':>6} {'n':>5} {'ridge':>8} {'theory':>10} {'mc mean':>10} {'stderr':>9} {'median':>10} {'z':>7}"
        lines = [head, "-" * len(head)]
        for i in range(self.p.size):
            lines.append(f"{int(self.p[i]):>6} {int(self.n[i]):>5} {self.ridge[i]:>8.3g} "
                         f"{self.theory[i]:>10.4f} {self.mean[i]:>10.4f} {self.stderr[i]:>9.4f} "
                         f"{self.median[i]:>10.4f} {self.z[i]:>7.2f}")
        return "\n".join(lines)


def compare_dense(theory, mc: DenseSimulation) -> Comparison:
    """Pair a :class:`asymptotics.DenseRiskCurve` with a :class:`DenseSimulation` evaluated
    on the same grid (checked)."""
    for name in ("p", "n", "ridge"):
        a, b = np.ravel(getattr(theory, name)), np.ravel(getattr(mc, name))
        if a.shape != b.shape or not np.allclose(a, b):
            raise ValueError(f"compare: theory and simulation grids differ in {name}")
    return Comparison(p=np.ravel(mc.p), n=np.ravel(mc.n), ridge=np.ravel(mc.ridge),
                      theory=np.ravel(theory.risk), mean=np.ravel(mc.mean),
                      stderr=np.ravel(mc.stderr), median=np.ravel(mc.median),
                      trials=np.ravel(mc.trials), status=np.ravel(theory.status))
