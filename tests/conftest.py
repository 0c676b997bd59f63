"""Shared test fixtures (data sets) and helpers; lets scikit-learn's array-API check run."""

import os
import warnings

import pytest
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

# Read by SciPy when it is first imported; scikit-learn's check_array_api_input
# (NumPy namespace only) skips without it.
os.environ.setdefault("SCIPY_ARRAY_API", "1")


def fit_quiet(model, *args, **kwargs):
    """``model.fit(*args, **kwargs)`` with ConvergenceWarning silenced (max_iter reached on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def _standardized(X, y):
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def iris():
    """Iris, standardized: 150 x 4, 3 classes."""
    return _standardized(*load_iris(return_X_y=True))


@pytest.fixture(scope="session")
def cancer():
    """Breast cancer, standardized: 569 x 30, 2 classes."""
    return _standardized(*load_breast_cancer(return_X_y=True))


@pytest.fixture(scope="session")
def small():
    """A small binary problem, standardized: 120 x 6."""
    return _standardized(*make_classification(n_samples=120, n_features=6, random_state=1))


@pytest.fixture(scope="session")
def binary():
    """A medium binary problem, standardized: 600 x 8."""
    return _standardized(*make_classification(
        n_samples=600, n_features=8, n_informative=5, class_sep=1.0, random_state=0
    ))
