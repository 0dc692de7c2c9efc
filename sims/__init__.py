"""Monte Carlo simulation: sample, fit, prune, train, measure; vmapped and jitted.

Written independently of ``asymptotics``: nothing here imports the theory (a test checks it
in a fresh interpreter).  The comparison of the two, the command line and the output files
sit above both, in the ``overparam`` package.

Importing ``sims`` changes no JAX setting except one scheduler flag, and only on jaxlib <=
0.10 before the CPU backend starts: see ``models._config`` (batched LAPACK calls in vmapped
kernels deadlock there without it).
"""

from models._config import cpu_scheduler_workaround as _workaround

_workaround()

from ._linear import DenseSimulation as DenseSimulation
from ._linear import dense_risk as dense_risk
from ._pruning import PrunedSimulation as PrunedSimulation
from ._pruning import pruned_risk as pruned_risk
from ._summary import TrialSummary as TrialSummary
from ._summary import summarize as summarize
from ._train_small import TrainSmallSimulation as TrainSmallSimulation
from ._train_small import train_small_risk as train_small_risk
from ._training import TrainState as TrainState
from ._training import Trainer as Trainer
from ._training import apply_mask as apply_mask
from ._training import prune_updates as prune_updates
from ._training import train as train
from ._noise import stable_noise as stable_noise
from .pruning_at_init import PruningRun as PruningRun
from .pruning_at_init import train_pruned as train_pruned
from .heavy_tailed import iid_compressibility as iid_compressibility
from .heavy_tailed import noisy_sgd as noisy_sgd
from .heavy_tailed import train_noisy_sgd as train_noisy_sgd
from models._rf_moments import RFMoments as RFMoments
from ._rf import rf_dense_risk as rf_dense_risk
from models._rf_moments import rf_feature_moments as rf_feature_moments
from ._rf import rf_pruned_risk as rf_pruned_risk
from ._rf import rf_train_small_risk as rf_train_small_risk
