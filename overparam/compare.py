"""Theory next to simulation: one comparison type and one agreement rule.

The only place where the two evaluators meet.  Both sides are reduced to tidy rows (one per
grid point and method): the theory's rows carry the predicted value and a status, the
simulation's rows the summary of its trials (:class:`sims.TrialSummary`: mean, standard
error, median, finite and non-finite trial counts).  :func:`compare` joins them on the grid
axes they share (``p, n, ridge, keep, rule, retrain, ...``) and :class:`Comparison` reports,
per point,

    z = (mc_mean - theory) / mc_stderr,
    agrees  <=>  |mc_mean - theory| <= k * mc_stderr + allowance * |theory|,

the Monte Carlo error plus a stated finite-size allowance (:class:`Agreement`, one per
dtype, defined here once and used by the command line, the figures and the tests).  Points
where the theory is not a finite prediction (status ``diverged``, ``not_converged``,
``invalid``, ``no_theory``) and ridgeless points with ``|p - n| <= 1`` -- where the finite-n
risk has infinite (``p = n``) or undefined variance (``|p - n| = 1``: OLS/min-norm with one
degree of freedom to spare) so a standard error means nothing -- get no z-score.  Ridgeless
points with ``|p - n| < 0.1 n`` get a z-score but are not judged: the stated finite-size
allowance does not cover the neighbourhood of the peak, where the finite-n risk departs
from its deterministic equivalent by more than 2 % (``docs/linear.md`` section 6).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np

#: grid axes that identify a point, in the order tables print them
AXES = ("p", "n", "ridge", "keep", "rule", "retrain", "quantity", "width", "keep_fraction",
        "alpha", "sigma")


@dataclasses.dataclass(frozen=True)
class Agreement:
    """``|mean - theory| <= n_stderr * stderr + allowance * |theory|``.

    ``n_stderr = 3``: a correct theory fails a given point with probability ~0.3 % (normal
    means).  ``allowance``: the finite-size effect stated in (``docs/linear.md``
    section 6: the finite-n deterministic equivalent is accurate to about 2 % away from the
    interpolation peak)."""

    n_stderr: float = 3.0
    allowance: float = 0.02
    #: ridgeless points with ``|p - n| < peak_band * n`` are not judged
    peak_band: float = 0.1

    def bound(self, stderr, theory) -> np.ndarray:
        return self.n_stderr * np.asarray(stderr) + self.allowance * np.abs(np.asarray(theory))

    def holds(self, mean, stderr, theory) -> np.ndarray:
        mean, stderr, theory = (np.asarray(a, dtype=np.float64) for a in (mean, stderr, theory))
        with np.errstate(invalid="ignore"):
            return np.abs(mean - theory) <= self.bound(stderr, theory)


#: One rule per simulation dtype.  float32 adds 0.1 % for rounding: the Monte Carlo solves
#: Gram systems of condition number up to ~1e3 away from the peak, and float32's unit
#: roundoff 6e-8 times that condition number, summed over the ~n pivots' error growth
#: (sqrt(n) ~ 10-30), stays below 1e-3 relative.
AGREEMENT = {"float64": Agreement(3.0, 0.02), "float32": Agreement(3.0, 0.021)}
#: For exact finite-n formulas (OLS risk ``sigma_p^2 (n-1)/(n-p-1)``, fixed-support refits):
#: the Monte Carlo error alone, no finite-size allowance.
EXACT = Agreement(3.0, 0.0)


def agreement_for(dtype) -> Agreement:
    """The agreement rule of a simulation dtype (``"float64"`` or ``"float32"``)."""
    name = np.dtype(dtype).name
    if name not in AGREEMENT:
        raise ValueError(f"dtype: no agreement rule for {name}; allowed: " + ", ".join(AGREEMENT))
    return AGREEMENT[name]


def assert_agrees(theory, mean, stderr, *, agreement: Agreement = AGREEMENT["float64"],
                  what: str = "") -> None:
    """Raise ``AssertionError`` naming the points where Monte Carlo and theory disagree
    (the tests' form of :meth:`Comparison.agrees`)."""
    theory, mean, stderr = (np.asarray(a, dtype=np.float64) for a in (theory, mean, stderr))
    bad = ~agreement.holds(mean, stderr, theory)
    if bad.any():
        raise AssertionError(f"{what}: Monte Carlo disagrees with theory at {np.flatnonzero(bad)}: "
                             f"theory={theory[bad]}, mc={mean[bad]} +- {stderr[bad]} "
                             f"(rule: {agreement.n_stderr:g} s.e. + {agreement.allowance:.1%})")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Theory and Monte Carlo at the same grid points (flat arrays, one entry per point).

    ``axes`` maps each shared grid axis to its values; ``theory`` the predicted value (NaN
    where there is none) and ``status`` its status name; ``mean, stderr, median, finite,
    nonfinite`` the simulation summary; ``records`` the merged tidy rows (every theory column,
    then the simulation columns) that :meth:`rows` extends with ``z`` and ``agrees``."""

    axes: Mapping[str, np.ndarray]
    theory: np.ndarray
    status: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    median: np.ndarray
    finite: np.ndarray
    nonfinite: np.ndarray
    records: Sequence[Mapping[str, Any]]
    agreement: Agreement = AGREEMENT["float64"]
    #: standard error of a theory computed by sampling (0 for closed forms)
    theory_stderr: np.ndarray | None = None

    @property
    def total_stderr(self) -> np.ndarray:
        """``sqrt(stderr^2 + theory_stderr^2)``: the Monte Carlo error of both sides."""
        if self.theory_stderr is None:
            return self.stderr
        return np.sqrt(self.stderr**2 + np.nan_to_num(self.theory_stderr) ** 2)

    @property
    def size(self) -> int:
        return int(self.theory.size)

    def _peak_distance(self) -> np.ndarray | None:
        """``|p - n| / n`` at ridgeless points, ``inf`` elsewhere (None without those axes)."""
        if not all(k in self.axes for k in ("p", "n", "ridge")):
            return None
        p, n, r = (np.asarray(self.axes[k], np.float64) for k in ("p", "n", "ridge"))
        return np.where(r == 0, np.abs(p - n), np.inf), n

    @property
    def has_z(self) -> np.ndarray:
        """Points with a z-score: a finite converged prediction, at least two finite trials,
        a positive standard error, and not a ridgeless point with ``|p - n| <= 1``."""
        ok = (self.status == "converged") & np.isfinite(self.theory) & (self.finite >= 2)
        ok &= np.isfinite(self.total_stderr) & (self.total_stderr > 0)
        peak = self._peak_distance()
        if peak is not None:
            ok &= ~(peak[0] <= 1)
        return ok

    @property
    def judged(self) -> np.ndarray:
        """Points the agreement rule applies to: :attr:`has_z` and, for ridgeless fits, at
        least ``peak_band * n`` away from the interpolation peak."""
        ok = self.has_z
        peak = self._peak_distance()
        if peak is not None:
            ok &= ~(peak[0] < self.agreement.peak_band * peak[1])
        return ok

    @property
    def z(self) -> np.ndarray:
        """``(mean - theory) / total_stderr``; NaN where the point has no z-score."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (self.mean - self.theory) / self.total_stderr
        return np.where(self.has_z, z, np.nan)

    @property
    def rel_err(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.has_z, (self.mean - self.theory) / self.theory, np.nan)

    def agrees(self, agreement: Agreement | None = None) -> np.ndarray:
        """Per point: the agreement rule holds (True where the point is not judged)."""
        rule = self.agreement if agreement is None else agreement
        return np.where(self.judged, rule.holds(self.mean, self.total_stderr, self.theory), True)

    def all_agree(self, agreement: Agreement | None = None) -> bool:
        return bool(np.all(self.agrees(agreement)))

    def rows(self) -> list[dict]:
        """Merged tidy rows plus ``z`` (empty without a z-score) and ``agrees`` (empty where
        the point is not judged)."""
        z, ok, judged, has_z = self.z, self.agrees(), self.judged, self.has_z
        return [dict(rec, z=float(z[i]) if has_z[i] else "",
                     agrees=bool(ok[i]) if judged[i] else "")
                for i, rec in enumerate(self.records)]

    def table(self) -> str:
        """A plain-text table for terminals and logs."""
        axes = [k for k in AXES if k in self.axes]

        def cell(v) -> str:
            return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)

        width = {k: max([9, len(k)] + [len(cell(v)) for v in self.axes[k]]) for k in axes}
        head = " ".join(f"{k:>{width[k]}}" for k in axes) + (
            f" {'theory':>10} {'mc mean':>10} {'stderr':>9} {'median':>10} {'z':>7} {'status':>9}")
        lines = [head, "-" * len(head)]
        z = self.z
        for i in range(self.size):
            cells = [f"{cell(self.axes[k][i]):>{width[k]}}" for k in axes]
            th = f"{self.theory[i]:>10.4f}" if np.isfinite(self.theory[i]) else f"{'—':>10}"
            zs = f"{z[i]:>7.2f}" if np.isfinite(z[i]) else f"{'':>7}"
            lines.append(" ".join(cells) + f" {th} {self.mean[i]:>10.4f} {self.stderr[i]:>9.4f} "
                         f"{self.median[i]:>10.4f} {zs} {self.status[i]:>9}")
        return "\n".join(lines)


def _rows_of(obj) -> list[dict]:
    if isinstance(obj, (list, tuple)):
        return [dict(r) for r in obj]
    if hasattr(obj, "rows"):
        return [dict(r) for r in obj.rows()]
    raise TypeError(f"compare: cannot read rows from {type(obj).__name__}; allowed: an object "
                    "with .rows() or a list of dicts")


def _key(row: Mapping[str, Any], keys: Sequence[str]) -> tuple:
    out = []
    for k in keys:
        v = row[k]
        out.append(round(float(v), 12) if isinstance(v, (int, float, np.integer, np.floating))
                   and not isinstance(v, bool) else str(v))
    return tuple(out)


def compare(theory, simulation, *, value: str | None = None, prefix: str = "risk",
            agreement: Agreement | None = None) -> Comparison:
    """Join theory and simulation rows on their shared grid axes.

    Args:
      theory: an ``asymptotics`` curve (``DenseRiskCurve``, ``PrunedRiskCurve``, ...) or a
        list of tidy rows with a value column and ``status``.
      simulation: a ``sims`` result (``DenseSimulation``, ``PrunedSimulation``, ...) or a
        list of rows with ``risk_mean, risk_stderr, risk_median, trials, nonfinite_trials``.
      value: the theory column compared (default ``risk`` if present, else ``dense_risk``).
        A theory computed by sampling may carry its standard error as ``theory_stderr``:
        it is added in quadrature to the simulation's.
      prefix: the simulation columns are ``<prefix>_mean, <prefix>_stderr, <prefix>_median``.
      agreement: the rule (default: the one of the simulation's dtype).

    Every simulation row must find its theory row (else ``ValueError``: the grids differ).

    Example:
      >>> import jax, models, asymptotics as asy, sims, overparam
      >>> task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
      >>> th = asy.dense_risk(task, p=[50, 200])
      >>> mc = sims.dense_risk(task, p=[50, 200], trials=200, key=jax.random.key(0))
      >>> overparam.compare(th, mc).all_agree()
      True
    """
    trows, srows = _rows_of(theory), _rows_of(simulation)
    if not srows:
        raise ValueError("compare: the simulation has no rows")
    keys = [k for k in AXES if k in srows[0] and trows and k in trows[0]]
    if not keys:
        raise ValueError("compare: theory and simulation share no grid axis")
    if value is None:
        value = "risk" if trows and "risk" in trows[0] else "dense_risk"
    index = {}
    for r in trows:
        index.setdefault(_key(r, keys), r)
    records, th, status, th_se = [], [], [], []
    for s in srows:
        t = index.get(_key(s, keys))
        if t is None:
            raise ValueError("compare: theory and simulation grids differ: no theory row for "
                             + ", ".join(f"{k}={s[k]}" for k in keys))
        v = t.get(value, "")
        th.append(float(v) if v not in ("", None) else np.nan)
        tse = t.get("theory_stderr", "")
        th_se.append(float(tse) if tse not in ("", None) else 0.0)
        status.append(str(t.get("status", "converged")))
        records.append({**t, **{k: v for k, v in s.items() if k not in keys}})
    col = lambda name, dt=np.float64: np.array([s.get(name, 0) for s in srows], dtype=dt)  # noqa: E731
    if agreement is None:
        agreement = agreement_for(getattr(simulation, "dtype", "float64"))
    return Comparison(axes={k: np.array([s[k] for s in srows]) for k in keys},
                      theory=np.array(th), status=np.array(status), mean=col(f"{prefix}_mean"),
                      stderr=col(f"{prefix}_stderr"), median=col(f"{prefix}_median"),
                      finite=col("trials", np.int64), nonfinite=col("nonfinite_trials", np.int64),
                      records=records, agreement=agreement,
                      theory_stderr=np.array(th_se) if any(th_se) else None)
