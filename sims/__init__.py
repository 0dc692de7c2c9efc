"""Monte Carlo simulation: sample, fit, prune, train, measure; vmapped and jitted.

Written independently of ``asymptotics``: nothing here imports the theory (a test checks it
in a fresh interpreter).  The comparison of the two, the command line and the output files
sit above both, in the ``overparam`` package.

Importing ``sims`` changes no JAX setting except one scheduler flag, and only on jaxlib <=
0.10 before the CPU backend starts: see ``models._config`` (batched LAPACK calls in vmapped
kernels deadlock there without it).

Names are imported on first use (``models._lazy``): ``import sims`` loads neither Optax nor
Flax until a name that needs them is used.
"""

from models._config import cpu_scheduler_workaround as _workaround

_workaround()

from models._lazy import lazy_exports as _lazy_exports

#: public name -> the module that defines it (imported on first use).
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("DenseSimulation", "dense_risk"), "._linear"),
    **dict.fromkeys(("PrunedSimulation", "pruned_risk"), "._pruning"),
    **dict.fromkeys(("TrialSummary", "summarize"), "._summary"),
    **dict.fromkeys(("TrainSmallSimulation", "train_small_risk"), "._train_small"),
    **dict.fromkeys((
        "TrainState", "Trainer", "apply_mask", "prune_updates", "train",
    ), "._training"),
    **dict.fromkeys(("stable_noise",), "._noise"),
    **dict.fromkeys(("PruningRun", "train_pruned"), ".pruning_at_init"),
    **dict.fromkeys(("iid_compressibility", "noisy_sgd", "train_noisy_sgd"), ".heavy_tailed"),
    **dict.fromkeys(("RFMoments", "rf_feature_moments"), "models._rf_moments"),
    **dict.fromkeys(("rf_dense_risk", "rf_pruned_risk", "rf_train_small_risk"), "._rf"),
    **dict.fromkeys(("WeightAveragedSimulation", "rf_dense_risk_over_weights"), "._rf_weights"),
    **dict.fromkeys(("MLPSimulation", "mlp_ensemble"), "._mlp"),
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
