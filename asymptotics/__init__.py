"""Theory: fixed points, risks, coordinate laws, thresholds and bounds (float64).

Never imports ``sims``: theory and simulation are independent evaluators of one problem.
"""

from models import _config as _config  # float64 policy

from ._coordinates import CoordinateLaw as CoordinateLaw
from ._coordinates import coordinate_law as coordinate_law
from ._dense import DensePoint as DensePoint
from ._dense import DenseRiskCurve as DenseRiskCurve
from ._dense import dense_from_atoms as dense_from_atoms
from ._dense import dense_risk as dense_risk
from ._dense import dense_risk_law as dense_risk_law
from ._dense import dense_risk_law_point as dense_risk_law_point
from ._dense import dense_risk_point as dense_risk_point
from ._fixed_point import FixedPoint as FixedPoint
from ._fixed_point import effective_regularization as effective_regularization
from ._ridge import OptimalRidge as OptimalRidge
from ._ridge import optimal_ridge as optimal_ridge
from ._status import SolverError as SolverError
from ._status import Status as Status
from ._status import status_names as status_names
from ._compressibility import gaussian_leftover_fraction as gaussian_leftover_fraction
from ._compressibility import gaussian_mce_pruned_fraction as gaussian_mce_pruned_fraction
from ._compressibility import heavy_tailed_leftover_fraction as heavy_tailed_leftover_fraction
from ._compressibility import stable_abs_cdf as stable_abs_cdf
from ._compressibility import stable_abs_quantile as stable_abs_quantile
from ._compressibility import stable_density as stable_density
from ._compressibility import stable_mce_pruned_fraction as stable_mce_pruned_fraction
from ._compressibility import stable_tail_constant as stable_tail_constant
from ._compressibility import stable_truncated_second_moment as stable_truncated_second_moment
