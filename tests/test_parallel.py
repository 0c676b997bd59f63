"""Parallel sweeps: joblib process workers and a Dask cluster give the serial results."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sk_logloss import LogLossClassifier

GRID = {"learning_rate": [0.003, 0.03, 0.3], "optimizer": ["adam", "sgd"]}


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=600, n_features=12, random_state=0)


def sweep(X, y, n_jobs=None):
    search = GridSearchCV(LogLossClassifier(max_iter=30, random_state=0), GRID, cv=3,
                          scoring="neg_log_loss", n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X, y)


@pytest.fixture(scope="module")
def serial(data):
    return sweep(*data)


@pytest.mark.bitwise
def test_process_workers_give_identical_cv_results(data, serial):
    parallel = sweep(*data, n_jobs=2)
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(parallel.cv_results_[key], serial.cv_results_[key])


def test_dask_cluster_gives_identical_cv_results(data, serial, dask_backend):
    on_dask = sweep(*data, n_jobs=-1)
    for key in ("mean_test_score", "split1_test_score"):
        np.testing.assert_array_equal(on_dask.cv_results_[key], serial.cv_results_[key])


def test_pickles_small_with_no_tensorflow_state(data):
    X, y = data
    unfitted = LogLossClassifier()
    fitted = sweep(X, y).best_estimator_
    for model in (unfitted, fitted):
        blob = pickle.dumps(model)
        assert b"tensorflow" not in blob and b"keras" not in blob
    weights = sum(a.nbytes for a in fitted.coefs_ + fitted.intercepts_)
    assert len(pickle.dumps(fitted)) < 4 * weights + 8000


def test_workers_size_tensorflow_threads_from_omp_num_threads():
    code = textwrap.dedent("""
        import os
        os.environ["OMP_NUM_THREADS"] = "1"
        import numpy as np
        from sk_logloss import LogLossClassifier
        X = np.random.default_rng(0).standard_normal((40, 3))
        LogLossClassifier(max_iter=2).fit(X, X[:, 0] > 0)
        import tensorflow as tf
        print(tf.config.threading.get_intra_op_parallelism_threads(),
              tf.config.threading.get_inter_op_parallelism_threads())
    """)
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["1", "1"]
