"""Fits whose arrays were saved before the engine became a package (tests/data/engine_reference.npz).

The file was written by the single-module engine (commit "Issue 13 groundwork");
``test_engine_reference.py`` compares today's fits with it, bit for bit.
``python tests/reference_fits.py`` would rewrite it from the code checked out.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning

from sk_logloss import LogLossClassifier

PATH = Path(__file__).parent / "data" / "engine_reference.npz"


def data(kind):
    if kind == "iris":
        X, y = load_iris(return_X_y=True)
        return (X - X.mean(0)) / X.std(0), y
    X, y = make_classification(n_samples=400, n_features=12, n_informative=6, n_classes=3,
                               random_state=0)
    if kind == "sparse":
        X[np.abs(X) < 1.0] = 0
        return sp.csr_matrix(X), y
    return (X.astype(np.float32), y) if kind == "float32" else (X, y)


# The defaults before issue 14 changed them; the saved fits used these. Every
# data set has 3 classes, and the sigmoid loss's tol now counts the sum over
# the 3 logits, so the old tol of 1e-4 on their mean is 3e-4.
OLD_DEFAULTS = {"learning_rate": 0.01, "learning_rate_schedule": "constant", "batch_size": 200,
                "tol": 3e-4, "alpha": 1e-4}

# name -> (data kind, estimator parameters, path); path "stream" forces host streaming
CONFIGS = {
    "dense": ("dense", {}, "graph"),
    "dense_xla": ("dense", {"batch_size": 2, "max_iter": 60}, "graph"),  # 12,000 steps: XLA
    "sparse": ("sparse", {"hidden_layer_sizes": (6,)}, "graph"),
    "stream": ("dense", {"batch_size": 32}, "stream"),
    "early_stopping": ("dense", {"early_stopping": True, "learning_rate": 0.05}, "graph"),
    "adaptive": ("iris", {"optimizer": "sgd", "learning_rate": 0.5, "tol": 3e-2,
                          "learning_rate_schedule": "adaptive", "n_iter_no_change": 2}, "graph"),
    "lbfgs": ("dense", {"optimizer": "lbfgs", "alpha": 0.1, "tol": 1e-4}, "graph"),
    "float32": ("float32", {"hidden_layer_sizes": (5, 4), "activation": "tanh"}, "graph"),
    "hidden": ("iris", {"hidden_layer_sizes": (8,), "activation": "logistic",
                        "optimizer": "rmsprop"}, "graph"),
}


def fit(name, force_stream):
    """Fit configuration ``name``; ``force_stream(model)`` is a context forcing streaming."""
    kind, params, path = CONFIGS[name]
    X, y = data(kind)
    params = OLD_DEFAULTS | params
    model = LogLossClassifier(random_state=0, max_iter=params.pop("max_iter", 60), **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if path == "stream":
            with force_stream(model, X):
                model.fit(X, y)
        else:
            model.fit(X, y)
    return model


def arrays(model):
    out = {f"coef{i}": c for i, c in enumerate(model.coefs_)}
    out |= {f"intercept{i}": b for i, b in enumerate(model.intercepts_)}
    out["loss_curve"] = model.loss_curve_
    if model.validation_scores_ is not None:
        out["validation_scores"] = np.asarray(model.validation_scores_)
    return out


def versions():
    import keras
    import tensorflow as tf

    return f"numpy {np.__version__}, tensorflow {tf.__version__}, keras {keras.__version__}"


def force_stream(model, X):
    """Steer the estimator's fit onto host streaming through the engine's configuration.

    (The single-module engine that wrote the saved file was steered by its
    module constants STREAM_MIN_BYTES = 0 and CHUNK_BYTES = 40 rows.)
    """
    from dataclasses import replace
    from unittest import mock

    from sk_logloss._engine import loop
    from sk_logloss._engine.types import Paths

    original = loop.train_stochastic

    def streamed(config):
        return original(replace(config, paths=Paths(stream_min_bytes=0,
                                                    chunk_bytes=40 * X.strides[0])))

    return mock.patch.object(loop, "train_stochastic", streamed)


if __name__ == "__main__":
    saved = {}
    for name in CONFIGS:
        for key, value in arrays(fit(name, force_stream)).items():
            saved[f"{name}/{key}"] = value
    saved["versions"] = np.array(versions())
    np.savez(PATH, **saved)
    print(f"wrote {len(saved)} arrays to {PATH} ({versions()})", file=sys.stderr)
