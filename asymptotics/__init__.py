"""Theory: fixed points, risks, coordinate laws, thresholds and bounds (float64)."""

from models import _config as _config  # float64 policy
from ._compressibility import gaussian_leftover_fraction as gaussian_leftover_fraction
from ._compressibility import gaussian_mce_pruned_fraction as gaussian_mce_pruned_fraction
from ._compressibility import heavy_tailed_leftover_fraction as heavy_tailed_leftover_fraction
from ._compressibility import stable_abs_cdf as stable_abs_cdf
from ._compressibility import stable_abs_quantile as stable_abs_quantile
from ._compressibility import stable_density as stable_density
from ._compressibility import stable_mce_pruned_fraction as stable_mce_pruned_fraction
from ._compressibility import stable_tail_constant as stable_tail_constant
from ._compressibility import stable_truncated_second_moment as stable_truncated_second_moment
