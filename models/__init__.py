"""Problem descriptions: tasks, estimators, networks and pruning operators.

Pure descriptions, no solving.  Importing this package turns JAX's float64 mode on (see
``models._config``).
"""

from . import _config as _config
from ._config import MATMUL_PRECISION as MATMUL_PRECISION
from ._errors import InputError as InputError
from ._linear import LinearTask as LinearTask
from ._linear import SpectralLaw as SpectralLaw
from ._linear import read_spectrum_csv as read_spectrum_csv
