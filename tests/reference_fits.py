"""The engine's refactoring guard: nine fits saved with their inputs and the platform that made them.

``tests/data/engine_reference.npz`` holds, for each configuration of
``CONFIGS``, the fitted arrays that the single-module engine (commit "Issue 13
groundwork", 7a4773b) trained; the inputs it trained on (``input/...``: the
generated data are saved, since ``make_classification`` itself goes through
the BLAS kernel); and ``platform``, what else decides the bits (:func:`platform`).
``test_engine_reference.py`` holds today's engine to those arrays bit for bit
where the platform is the same, and within a tolerance elsewhere.

The arrays were first saved on another machine without a platform record; the
ones saved now are 7a4773b's fits of these inputs on the platform recorded, where
today's engine trains to the same bits. ``python tests/reference_fits.py``
rewrites the arrays and the platform from the code checked out, on the saved inputs.
"""

import json
import os
import platform as host
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning

from sk_logloss import LogLossClassifier

PATH = Path(__file__).parent / "data" / "engine_reference.npz"


def generate_inputs():
    """The two data sets the fits start from, as scikit-learn makes them here."""
    X, y = load_iris(return_X_y=True)
    dense_X, dense_y = make_classification(n_samples=400, n_features=12, n_informative=6,
                                           n_classes=3, random_state=0)
    return {"input/iris_X": (X - X.mean(0)) / X.std(0), "input/iris_y": y,
            "input/dense_X": dense_X, "input/dense_y": dense_y}


def data(kind, inputs):
    """``(X, y)`` of ``kind`` from the saved ``inputs`` (exact transformations only)."""
    if kind == "iris":
        return inputs["input/iris_X"], inputs["input/iris_y"]
    X, y = np.array(inputs["input/dense_X"]), inputs["input/dense_y"]
    if kind == "sparse":
        X[np.abs(X) < 1.0] = 0
        return sp.csr_matrix(X), y
    return (X.astype(np.float32), y) if kind == "float32" else (X, y)


# The defaults before issue 14 changed them; the saved fits used these. Every
# data set has 3 classes, and the sigmoid loss's tol now counts the sum over
# the 3 logits, so the old tol of 1e-4 on their mean is 3e-4. Networks keep the
# early stopping and patience they had before issue 24 gave them their own.
OLD_DEFAULTS = {"learning_rate": 0.01, "learning_rate_schedule": "constant", "batch_size": 200,
                "tol": 3e-4, "alpha": 1e-4, "early_stopping": False, "n_iter_no_change": 10}

# name -> (data kind, estimator parameters, path); path "stream" forces host streaming
CONFIGS = {
    "dense": ("dense", {}, "graph"),
    "dense_xla": ("dense", {"batch_size": 2, "max_iter": 60}, "graph"),  # 12,000 steps: XLA
    "sparse": ("sparse", {"hidden_layer_sizes": (6,)}, "graph"),
    "stream": ("dense", {"batch_size": 32}, "stream"),
    "early_stopping": ("dense", {"early_stopping": True, "learning_rate": 0.05}, "graph"),
    "adaptive": ("iris", {"optimizer": "sgd", "learning_rate": 0.5, "tol": 3e-2,
                          "learning_rate_schedule": "adaptive", "n_iter_no_change": 2,
                          # the default before issue 22 raised it to 1e-4
                          "schedule_params": {"min_learning_rate": 1e-6}}, "graph"),
    "lbfgs": ("dense", {"optimizer": "lbfgs", "alpha": 0.1, "tol": 1e-4}, "graph"),
    "float32": ("float32", {"hidden_layer_sizes": (5, 4), "activation": "tanh"}, "graph"),
    "hidden": ("iris", {"hidden_layer_sizes": (8,), "activation": "logistic",
                        "optimizer": "rmsprop"}, "graph"),
}


def estimator(name, **changes):
    """The unfitted estimator of configuration ``name``, with ``changes`` to its parameters."""
    params = OLD_DEFAULTS | CONFIGS[name][1]
    params = {"random_state": 0, "max_iter": 60} | params | changes
    return LogLossClassifier(**params)


def fit(name, force_stream, inputs, **changes):
    """Fit configuration ``name`` on the saved ``inputs``; ``force_stream(model, X)`` forces streaming."""
    kind, _, path = CONFIGS[name]
    X, y = data(kind, inputs)
    model = estimator(name, **changes)
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


# CPU flags that select code paths: OpenBLAS' and oneDNN's kernels, Eigen's and
# XLA's vector code (XLA compiles for the host's instruction set).
_VECTOR_FLAGS = ("sse", "ssse3", "avx", "fma", "f16c", "amx", "asimd", "sve", "neon")


def _vector_flags():
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return host.processor()
    for line in text.splitlines():
        if line.split(":")[0].strip() in ("flags", "Features"):
            flags = line.split(":", 1)[1].split()
            return " ".join(sorted(f for f in flags if f.startswith(_VECTOR_FLAGS)))
    return host.processor()


def platform():
    """What decides a fit's bits besides our code, as strings.

    The libraries' versions; the BLAS kernels NumPy and SciPy run (OpenBLAS
    picks one by CPU, or by ``OPENBLAS_CORETYPE``); the CPU's vector
    instructions, which choose oneDNN's and Eigen's kernels and XLA's generated
    code; the environment that caps or disables oneDNN's instruction set; and
    the number of cores TensorFlow's thread pools are sized from.
    """
    import keras
    import scipy
    import sklearn
    import tensorflow as tf
    from threadpoolctl import threadpool_info

    blas = sorted({f"{lib['internal_api']} {lib['version']} {lib.get('architecture')}"
                   for lib in threadpool_info() if lib["user_api"] == "blas"})
    env = ("ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS", "OMP_NUM_THREADS",
           "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    return {
        "versions": f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn "
                    f"{sklearn.__version__}, tensorflow {tf.__version__}, keras {keras.__version__}",
        "blas": "; ".join(blas),
        "machine": host.machine(),
        "cpu": _vector_flags(),
        "cores": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else os.cpu_count()),
        "env": ", ".join(f"{name}={os.environ.get(name, '')}" for name in env),
    }


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
    if PATH.exists():
        with np.load(PATH) as old:
            inputs = {key: old[key] for key in old.files if key.startswith("input/")}
    else:
        inputs = generate_inputs()
    saved = dict(inputs)
    for name in CONFIGS:
        for key, value in arrays(fit(name, force_stream, inputs)).items():
            saved[f"{name}/{key}"] = value
    saved["platform"] = np.array(json.dumps(platform()))
    np.savez(PATH, **saved)
    print(f"wrote {len(saved)} arrays to {PATH} ({platform()})", file=sys.stderr)
