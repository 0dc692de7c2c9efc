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
