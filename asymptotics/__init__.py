"""Theory: fixed points, risks, coordinate laws, thresholds and bounds (float64).

Every public function needs JAX's 64-bit mode (``models.require_x64``) and reports a
:class:`Status` per point (a curve's ``status``, :class:`Estimate`, :class:`Threshold`, ...);
with ``throw=True`` (the default) it raises :class:`SolverError` when a point failed.

Never imports ``sims``: theory and simulation are independent evaluators of one problem.
"""

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
from ._status import Estimate as Estimate
from ._status import SolverError as SolverError
from ._status import Status as Status
from ._status import status_names as status_names
from ._pruning import PrunedRiskCurve as PrunedRiskCurve
from ._pruning import TrainSmallRisk as TrainSmallRisk
from ._threshold import Threshold as Threshold
from ._threshold import magnitude_threshold as magnitude_threshold
from ._pruning import pruned_point as pruned_point
from ._pruning import pruned_risk as pruned_risk
from ._pruning import train_small_risk as train_small_risk
from ._pruning_at_init import benign_margin as benign_margin
from ._pruning_at_init import effective_snr as effective_snr
from ._pruning_at_init import error_floor as error_floor
from ._pruning_at_init import over_pruning_onset as over_pruning_onset
from ._pruning_at_init import p_min as p_min
from ._pruning_at_init import prob_no_signal_neuron as prob_no_signal_neuron
from ._pruning_at_init import pruning_theory as pruning_theory
from ._pruning_at_init import signal_connected_pmf as signal_connected_pmf
from ._pruning_at_init import theorem_a_bound as theorem_a_bound
from ._pruning_at_init import validity_flags as validity_flags
from ._compressibility import gaussian_leftover_fraction as gaussian_leftover_fraction
from ._compressibility import gaussian_mce_pruned_fraction as gaussian_mce_pruned_fraction
from ._compressibility import heavy_tailed_leftover_fraction as heavy_tailed_leftover_fraction
from ._compressibility import stable_abs_cdf as stable_abs_cdf
from ._compressibility import stable_abs_quantile as stable_abs_quantile
from ._compressibility import stable_density as stable_density
from ._compressibility import stable_mce_pruned_fraction as stable_mce_pruned_fraction
from ._compressibility import stable_tail_constant as stable_tail_constant
from ._compressibility import stable_truncated_second_moment as stable_truncated_second_moment
from ._general import general_dense_risk as general_dense_risk
from ._general import spectral_dense_point as spectral_dense_point
from ._rf_law import RFCoordinateLaw as RFCoordinateLaw
from ._rf import RFSpectrum as RFSpectrum
from ._rf_law import rf_coordinate_law as rf_coordinate_law
from ._rf import rf_dense_risk as rf_dense_risk
from ._rf import rf_spectrum as rf_spectrum
from ._rf_pruning import RFPrunedRiskCurve as RFPrunedRiskCurve
from ._rf_pruning import rf_pruned_risk as rf_pruned_risk
from ._rf_pruning import rf_train_small as rf_train_small
from ._rf_limit import RFLimitCurve as RFLimitCurve
from ._rf_limit import marchenko_pastur_quadrature as marchenko_pastur_quadrature
from ._rf_limit import rf_limit_dense_risk as rf_limit_dense_risk
from ._rf_limit import rf_limit_law as rf_limit_law
