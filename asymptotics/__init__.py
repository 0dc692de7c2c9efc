"""Theory: fixed points, risks, coordinate laws, thresholds and bounds (float64).

Every public function needs JAX's 64-bit mode (``models.require_x64``) and reports a
:class:`Status` per point (a curve's ``status``, :class:`Estimate`, :class:`Threshold`, ...);
with ``throw=True`` (the default) it raises :class:`SolverError` when a point failed.

Never imports ``sims``: theory and simulation are independent evaluators of one problem.

Names are imported on first use (``models._lazy``): ``import asymptotics`` loads neither
SciPy's heavy modules nor optimistix until a function that needs them is called.
"""

from models._lazy import lazy_exports as _lazy_exports

#: public name -> the module that defines it (imported on first use).
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("CoordinateLaw", "coordinate_law"), "._coordinates"),
    **dict.fromkeys((
        "DensePoint", "DenseRiskCurve", "dense_from_atoms", "dense_risk", "dense_risk_law",
        "dense_risk_law_point", "dense_risk_point",
    ), "._dense"),
    **dict.fromkeys(("FixedPoint", "effective_regularization"), "._fixed_point"),
    **dict.fromkeys(("OptimalRidge", "optimal_ridge"), "._ridge"),
    **dict.fromkeys(("Estimate", "SolverError", "Status", "status_names"), "._status"),
    **dict.fromkeys((
        "PrunedRiskCurve", "TrainSmallRisk", "pruned_point", "pruned_risk", "train_small_risk",
    ), "._pruning"),
    **dict.fromkeys(("SameDataRiskCurve", "same_data_point", "same_data_risk"), "._same_data"),
    **dict.fromkeys(("Threshold", "magnitude_threshold"), "._threshold"),
    **dict.fromkeys((
        "benign_margin", "effective_snr", "error_floor", "over_pruning_onset", "p_min",
        "prob_no_signal_neuron", "pruning_theory", "signal_connected_pmf", "theorem_a_bound",
        "validity_flags",
    ), "._pruning_at_init"),
    **dict.fromkeys((
        "gaussian_leftover_fraction", "gaussian_mce_pruned_fraction",
        "heavy_tailed_leftover_fraction", "stable_abs_cdf", "stable_abs_quantile",
        "stable_density", "stable_mce_pruned_fraction", "stable_tail_constant",
        "stable_truncated_second_moment",
    ), "._compressibility"),
    **dict.fromkeys(("general_dense_risk", "spectral_dense_point"), "._general"),
    **dict.fromkeys(("RFCoordinateLaw", "rf_coordinate_law"), "._rf_law"),
    **dict.fromkeys(("RFSpectrum", "rf_dense_risk", "rf_spectrum", "exact_spectrum"), "._rf"),
    **dict.fromkeys(("RFPrunedRiskCurve", "rf_pruned_risk", "rf_train_small"), "._rf_pruning"),
    **dict.fromkeys((
        "RFLimitCurve", "marchenko_pastur_quadrature", "rf_limit_dense_risk", "rf_limit_law",
    ), "._rf_limit"),
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
