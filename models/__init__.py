"""Problem descriptions: tasks, estimators, networks and pruning operators.

Pure descriptions, no solving.  Importing this package changes no JAX setting; the
precision policy (theory in float64, simulations with an explicit dtype) is stated and
enforced in ``models._config``.

Names are imported on first use (``models._lazy``): ``import models`` loads neither JAX
nor Flax until a name that needs them is used.
"""

from models._lazy import lazy_exports as _lazy_exports

#: public name -> the module that defines it (imported on first use).
_EXPORTS: dict[str, str] = {
    **dict.fromkeys((
        "MATMUL_PRECISION", "PrecisionError", "cpu_scheduler_workaround", "enable_x64",
        "require_x64",
    ), "._config"),
    **dict.fromkeys(("InputError",), "._errors"),
    **dict.fromkeys((
        "ACTIVATIONS", "activation_fn", "ge_coefficients", "hermite_coefficients",
    ), "._activations"),
    **dict.fromkeys(("LinearTask", "SpectralLaw", "read_spectrum_csv"), "._linear"),
    **dict.fromkeys(("RFTask",), "._rf"),
    **dict.fromkeys(("RFMoments", "rf_feature_moments"), "._rf_moments"),
    **dict.fromkeys((
        "PatchNet", "PatchTask", "nested_masks", "patch_net", "patch_net_apply",
        "sample_patch_data",
    ), "._patch_net"),
    **dict.fromkeys(("NoisySGDTask", "OneHiddenLayerNet", "TeacherTask"), "._noisy_sgd"),
    **dict.fromkeys(("TwoLayerNet", "magnitude_mask", "small_width", "unit_mask"), "._mlp"),
    **dict.fromkeys(("DigitsData", "load_digits"), "._digits"),
    **dict.fromkeys((
        "positive_stable", "rotation_invariant_stable", "symmetric_stable",
    ), "._stable"),
    **dict.fromkeys(("ols_on_support", "ridge_dual", "ridge_primal"), "._estimators"),
    **dict.fromkeys((
        "RETRAIN", "RULES", "check_retrain", "check_rules", "keep_top", "oracle_mask",
        "train_small_support", "prune", "pruning_score",
    ), "._pruning_ops"),
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
