"""Figure scripts: one per figure, each runnable alone (``python figures/NAME.py``) and by
``overparam figure NAME``.  Each module defines ``main(argv=None) -> int``.  Installed as the
``overparam_figures`` package."""
