"""A learning-rate sweep on a Dask cluster, through joblib's Dask backend.

Starts a local ``dask.distributed`` cluster of 2 worker processes on
loopback, runs the same GridSearchCV serially and on the cluster, then the
same LogLossClassifierCV sweep (32 learning rates, its tasks spread over the
workers), and checks that each pair's ``cv_results_`` agree to the bit. To use a real cluster, replace the
LocalCluster with ``Client("tcp://scheduler-host:8786")`` (see README).

    python examples/dask_sweep.py
"""

import time
import warnings

import numpy as np
from distributed import Client, LocalCluster
from joblib import parallel_backend
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sk_logloss import LogLossClassifier, LogLossClassifierCV


def sweep(X, y, n_jobs=None):
    search = GridSearchCV(
        LogLossClassifier(max_iter=20, batch_size=32, random_state=0),
        {"learning_rate": [0.001, 0.003, 0.01, 0.03, 0.1], "optimizer": ["adam", "sgd"]},
        cv=3, scoring="neg_log_loss", n_jobs=n_jobs,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return search, time.perf_counter() - start


def cv_sweep(X, y, n_jobs=None):
    search = LogLossClassifierCV(learning_rates=32, cv=3, max_iter=20, batch_size=32,
                                 random_state=0, n_jobs=n_jobs)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return search, time.perf_counter() - start


def main():
    X, y = make_classification(n_samples=20_000, n_features=50, random_state=0)
    serial, t_serial = sweep(X, y)
    cv_serial, t_cv_serial = cv_sweep(X, y)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        print(f"cluster: {client}")
        with parallel_backend("dask"):
            on_dask, t_dask = sweep(X, y, n_jobs=-1)
            cv_dask, t_cv_dask = cv_sweep(X, y, n_jobs=-1)
    same = np.array_equal(serial.cv_results_["mean_test_score"],
                          on_dask.cv_results_["mean_test_score"])
    print(f"{'optimizer':<10}{'learning_rate':>14}{'mean CV log loss':>18}")
    res = on_dask.cv_results_
    for params, score in zip(res["params"], res["mean_test_score"]):
        print(f"{params['optimizer']:<10}{params['learning_rate']:>14g}{-score:>18.5f}")
    print(f"best: {on_dask.best_params_}")
    print(f"serial {t_serial:.1f} s, Dask (2 workers) {t_dask:.1f} s; "
          f"cv_results_ identical to the bit: {same}")
    same = all(np.array_equal(cv_serial.cv_results_[key], cv_dask.cv_results_[key])
               for key in cv_serial.cv_results_ if "time" not in key)
    print(f"LogLossClassifierCV, 32 rates x 3 folds: best {cv_dask.best_params_}; serial "
          f"{t_cv_serial:.1f} s, Dask (2 workers) {t_cv_dask:.1f} s; cv_results_ identical to "
          f"the bit: {same}")


if __name__ == "__main__":
    main()
