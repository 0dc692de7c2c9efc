"""Theory: fixed points, risks, coordinate laws, thresholds and bounds (float64)."""

from models import _config as _config  # float64 policy
