"""Problem descriptions: tasks, estimators, networks and pruning operators.

Pure descriptions, no solving.  Importing this package changes no JAX setting; the
precision policy (theory in float64, simulations with an explicit dtype) is stated and
enforced in ``models._config``.
"""

from ._config import MATMUL_PRECISION as MATMUL_PRECISION
from ._config import PrecisionError as PrecisionError
from ._config import cpu_scheduler_workaround as cpu_scheduler_workaround
from ._config import enable_x64 as enable_x64
from ._config import require_x64 as require_x64
from ._errors import InputError as InputError
from ._activations import ACTIVATIONS as ACTIVATIONS
from ._activations import activation_fn as activation_fn
from ._activations import ge_coefficients as ge_coefficients
from ._activations import hermite_coefficients as hermite_coefficients
from ._linear import LinearTask as LinearTask
from ._rf import RFTask as RFTask
from ._rf_moments import RFMoments as RFMoments
from ._rf_moments import rf_feature_moments as rf_feature_moments
from ._linear import SpectralLaw as SpectralLaw
from ._linear import read_spectrum_csv as read_spectrum_csv
from ._patch_net import PatchNet as PatchNet
from ._patch_net import PatchTask as PatchTask
from ._patch_net import nested_masks as nested_masks
from ._patch_net import patch_net as patch_net
from ._patch_net import patch_net_apply as patch_net_apply
from ._patch_net import sample_patch_data as sample_patch_data
from ._noisy_sgd import NoisySGDTask as NoisySGDTask
from ._noisy_sgd import OneHiddenLayerNet as OneHiddenLayerNet
from ._noisy_sgd import TeacherTask as TeacherTask
from ._stable import positive_stable as positive_stable
from ._stable import rotation_invariant_stable as rotation_invariant_stable
from ._stable import symmetric_stable as symmetric_stable
from ._estimators import ols_on_support as ols_on_support
from ._estimators import ridge_dual as ridge_dual
from ._estimators import ridge_primal as ridge_primal
from ._pruning_ops import RETRAIN as RETRAIN
from ._pruning_ops import RULES as RULES
from ._pruning_ops import check_retrain as check_retrain
from ._pruning_ops import check_rules as check_rules
from ._pruning_ops import keep_top as keep_top
from ._pruning_ops import oracle_mask as oracle_mask
from ._pruning_ops import train_small_support as train_small_support
from ._pruning_ops import prune as prune
from ._pruning_ops import pruning_score as pruning_score
