"""Monte Carlo simulation: sample, fit, prune, measure; vmapped and jitted.

Written independently of ``asymptotics``: nothing here calls the theory to compute a number
it reports.  Comparison helpers and the command line sit on top of both.
"""

from ._linear import DenseSimulation as DenseSimulation
from ._linear import dense_risk as dense_risk
from ._compare import Comparison as Comparison
from ._compare import compare_dense as compare_dense
from ._pruning import PrunedSimulation as PrunedSimulation
from ._pruning import pruned_risk as pruned_risk
