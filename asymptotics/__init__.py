"""Theory: fixed points, risks, coordinate laws, thresholds and bounds (float64)."""

from models import _config as _config  # float64 policy
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
