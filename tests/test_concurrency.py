"""Results hold under concurrency, and faults lose nothing.

Fits in 4 threads at once (joblib's threading backend) give the same bits as
sequential fits; prediction is thread-safe; a process killed mid-fit leaves
no temporary file and no state that changes a later fit. (Process workers:
tests/test_parallel.py. Ctrl-C and aborted fits: tests/test_training_controls.py.)
"""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import Parallel, delayed, parallel_backend
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from sk_logloss import LogLossClassifier

X, Y = make_classification(n_samples=400, n_features=6, n_informative=4, n_classes=3,
                           random_state=0)

CONFIGS = [
    {"random_state": 1},
    {"random_state": 2},  # the same model shape as the first: its trainer is shared
    {"optimizer": "sgd", "learning_rate": 0.1, "random_state": 3},
    {"hidden_layer_sizes": (5,), "random_state": 4},
    {"optimizer": "lbfgs"},
    {"early_stopping": True, "random_state": 5},
    {"batch_size": 16, "learning_rate_schedule": "adaptive", "random_state": 6},
    {"sparse": True, "random_state": 7},
]


def fit_digest(config):
    params = dict(config)
    data = sp.csr_matrix(X) if params.pop("sparse", False) else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogLossClassifier(max_iter=30, **params).fit(data, Y)
    arrays = model.coefs_ + model.intercepts_ + [np.asarray(model.loss_curve_)]
    return hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()


@pytest.fixture(scope="module")
def sequential():
    return [fit_digest(c) for c in CONFIGS]


def test_fits_in_four_threads_equal_sequential_fits(sequential):
    with parallel_backend("threading", n_jobs=4):
        threaded = Parallel()(delayed(fit_digest)(c) for c in CONFIGS * 2)
    assert threaded == sequential * 2


@pytest.mark.bitwise
def test_grid_search_in_four_threads_equals_serial():
    grid = {"learning_rate": [0.003, 0.03, 0.3], "optimizer": ["adam", "sgd"]}

    def search(n_jobs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with parallel_backend("threading", n_jobs=n_jobs):
                return GridSearchCV(LogLossClassifier(max_iter=20, random_state=0), grid,
                                    cv=3, scoring="neg_log_loss").fit(X, Y).cv_results_

    serial, threaded = search(1), search(4)
    np.testing.assert_array_equal(serial["mean_test_score"], threaded["mean_test_score"])
    np.testing.assert_array_equal(serial["split2_test_score"], threaded["split2_test_score"])


def test_prediction_is_thread_safe():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogLossClassifier(hidden_layer_sizes=(7,), max_iter=20, random_state=0).fit(X, Y)
    rows = np.random.default_rng(0).standard_normal((5000, X.shape[1]))
    expected = model.predict_proba(rows)

    def predict(i):
        return model.predict_proba(rows[i % 7 :]), model.predict(rows)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(predict, range(40)))
    for i, (proba, labels) in enumerate(results):
        np.testing.assert_array_equal(proba, expected[i % 7 :])
        np.testing.assert_array_equal(labels, model.classes_[expected.argmax(axis=1)])


LONG_FIT = textwrap.dedent(
    """
    import numpy as np
    from sk_logloss import LogLossClassifier
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 20))
    y = (X[:, 0] > 0).astype(int)
    # verbose: one line per epoch, so the parent knows training has started
    LogLossClassifier(max_iter=100000, n_iter_no_change=10**9, verbose=1).fit(X, y)
    """
)

FRESH_FIT = textwrap.dedent(
    """
    import hashlib, warnings
    import numpy as np
    from sk_logloss import LogLossClassifier
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5))
    y = (X[:, 0] > 0).astype(int)
    warnings.simplefilter("ignore")
    m = LogLossClassifier(hidden_layer_sizes=(3,), max_iter=20, random_state=0).fit(X, y)
    print(hashlib.sha256(b"".join(a.tobytes() for a in m.coefs_)).hexdigest())
    """
)


def files_under(path):
    return sorted(os.path.relpath(os.path.join(d, f), path)
                  for d, _, names in os.walk(path) for f in names)


def environment(home, tmp):
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def test_a_process_killed_mid_fit_leaves_nothing_behind(tmp_path):
    killed_home, clean_home, tmp = (tmp_path / name for name in ("killed", "clean", "tmp"))
    for path in (killed_home, clean_home, tmp):
        path.mkdir()
    child = subprocess.Popen([sys.executable, "-c", LONG_FIT], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True,
                             env=environment(killed_home, tmp))
    try:
        deadline = time.monotonic() + 120
        for line in child.stdout:  # wait until it is well into training
            if line.startswith("Epoch 20/") or time.monotonic() > deadline:
                break
        assert line.startswith("Epoch 20/"), line
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    assert files_under(tmp) == []  # no temporary file of ours or TensorFlow's
    digest_after_kill = subprocess.run(
        [sys.executable, "-c", FRESH_FIT], capture_output=True, text=True, check=True,
        env=environment(killed_home, tmp),
    ).stdout
    digest_clean = subprocess.run(
        [sys.executable, "-c", FRESH_FIT], capture_output=True, text=True, check=True,
        env=environment(clean_home, tmp),
    ).stdout
    assert digest_after_kill == digest_clean  # no state carried into later processes
    # the killed fit left no file that a normal run does not also leave (the
    # libraries' own config, such as ~/.keras/keras.json)
    assert files_under(killed_home) == files_under(clean_home)
    assert files_under(tmp) == []
