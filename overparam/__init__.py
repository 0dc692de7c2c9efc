"""overparam: theory and simulation of overparameterized and pruned models, side by side.

The top layer of the engine.  It imports both independent evaluators -- ``asymptotics``
(theory) and ``sims`` (Monte Carlo), which never import each other -- and holds what joins
them: the comparison (:func:`compare`, :class:`Comparison`, one agreement rule per dtype in
:data:`AGREEMENT`), the tidy CSV + JSON sidecar writer (``overparam._io``), the plotting
helpers (``overparam._plots``), the registry of settings (:mod:`overparam.registry`) and the
command line (:mod:`overparam.cli`; ``python -m overparam`` works too).  The figure scripts
of ``figures/`` (installed as ``overparam_figures``) import this package.
"""

from .compare import AGREEMENT as AGREEMENT
from .compare import EXACT as EXACT
from .compare import Agreement as Agreement
from .compare import Comparison as Comparison
from .compare import agreement_for as agreement_for
from .compare import assert_agrees as assert_agrees
from .compare import compare as compare
