"""Monte Carlo simulation: sample, fit, prune, measure; vmapped and jitted.

Written independently of ``asymptotics``: nothing here calls the theory to compute a number
it reports.  Comparison helpers and the command line sit on top of both.
"""

from models import _config as _config  # float64 policy
