"""Shared test fixtures (data sets, a Dask cluster backend) and helpers; lets scikit-learn's array-API check run."""

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


@pytest.fixture
def dask_backend(monkeypatch):
    """joblib's Dask backend on a LocalCluster of 2 one-thread worker processes."""
    import distributed  # noqa: F401 (the test extra installs it)

    # a LocalCluster sets OMP_NUM_THREADS=1 in this process; monkeypatch restores it after
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", ""))
    if not os.environ["OMP_NUM_THREADS"]:
        monkeypatch.delenv("OMP_NUM_THREADS")
    from distributed import Client, LocalCluster
    from joblib import parallel_backend

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster), parallel_backend("dask"):
        yield
