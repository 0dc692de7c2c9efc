"""The handwritten digits data set that ships inside scikit-learn (classification).

1797 images of 8 x 8 pixels (64 features, intensities 0-16), 10 classes, read from the
installed package by ``sklearn.datasets.load_digits`` (a file inside scikit-learn: nothing is
downloaded).  scikit-learn is an optional extra: ``pip install "overparam[digits]"``.

Split and scaling.  A stratified train/test split fixed by a PRNG key: in every class,
the ``round(test_fraction * n_c)`` images with the smallest of one draw of uniforms
``jax.random.uniform(key, (1797,))`` go to the test set.  Features are standardized with
the *training* mean and standard deviation (a pixel constant on the training set keeps
scale 1), so nothing about the test set leaks into training.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from ._errors import InputError, as_finite_array
from ._keys import check_key

N_CLASSES = 10


class DigitsData(NamedTuple):
    """A standardized stratified split (NumPy arrays).

    ``x_train (n_train, 64)``, ``y_train (n_train,)`` int labels 0-9, ``x_test``, ``y_test``,
    ``mean`` and ``std`` (the training statistics used), ``test_fraction``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    test_fraction: float

    @property
    def n_classes(self) -> int:
        return N_CLASSES

    def describe(self) -> dict:
        return {"data": "digits", "source": "sklearn.datasets.load_digits (installed package)",
                "n_train": int(self.x_train.shape[0]), "n_test": int(self.x_test.shape[0]),
                "d": int(self.x_train.shape[1]), "classes": N_CLASSES,
                "test_fraction": self.test_fraction,
                "scaling": "standardized with training mean and std"}


def raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of scikit-learn's digits (float64 ``(1797, 64)``, int ``(1797,)``);
    ``InputError`` naming the extra when scikit-learn is not installed."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError("data: 'digits' needs scikit-learn, which is not installed; allowed: "
                         "pip install 'overparam[digits]' (or scikit-learn>=1.3), or "
                         "data 'teacher'") from None
    bunch = load_digits()
    return np.asarray(bunch.data, np.float64), np.asarray(bunch.target, np.int64)


def stratified_split(key: jax.Array, y: np.ndarray, test_fraction: float):
    """Boolean test indicator: in each class ``c``, the ``round(test_fraction n_c)`` images
    with the smallest of the uniforms ``U = jax.random.uniform(key, (n,))`` (one draw)."""
    u = np.asarray(jax.random.uniform(key, (y.shape[0],)))
    test = np.zeros(y.shape[0], bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        order = idx[np.argsort(u[idx], kind="stable")]
        test[order[:int(round(test_fraction * idx.size))]] = True
    return test


def load_digits(key: jax.Array, test_fraction: float = 0.2, dtype=np.float32) -> DigitsData:
    """The digits split of ``key``, standardized with training statistics.

    Example:
      >>> data = load_digits(jax.random.key(0))            # doctest: +SKIP
      >>> data.x_train.shape, data.x_test.shape             # doctest: +SKIP
      ((1438, 64), (359, 64))
    """
    check_key("key", key)
    tf = float(as_finite_array("test_fraction", test_fraction))
    if not 0.05 <= tf <= 0.5:
        raise InputError(f"test_fraction: got {tf!r}; allowed: 0.05 <= test_fraction <= 0.5")
    x, y = raw_digits()
    test = stratified_split(key, y, tf)
    mean = x[~test].mean(axis=0)
    std = x[~test].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    z = ((x - mean) / std).astype(dtype)
    return DigitsData(z[~test], y[~test], z[test], y[test], mean, std, tf)
