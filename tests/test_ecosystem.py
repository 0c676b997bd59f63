"""What LogLossClassifier plugs into: pandas, metadata routing, persistence, Keras export, quiet logs."""

import io
import os
import pickle
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from conftest import fit_quiet
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import sk_logloss
from sk_logloss import InconsistentVersionWarning, LogLossClassifier

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def frame():
    """A DataFrame with numeric and categorical columns, and its labels."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    X = X.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    X["size"] = pd.Categorical(np.where(X["petal_length"] > 4, "large", "small"))
    return X, y


# -- pandas --------------------------------------------------------------
@pytest.mark.bitwise
def test_dataframe_through_column_transformer_matches_numpy(frame):
    X, y = frame
    numeric = [c for c in X.columns if c != "size"]
    columns = ColumnTransformer(
        [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(), ["size"])]
    )
    pipe = make_pipeline(columns, LogLossClassifier(random_state=0, max_iter=50))
    fit_quiet(pipe, X, y)
    Z = columns.fit_transform(X)  # the same matrix, as NumPy
    direct = fit_quiet(LogLossClassifier(random_state=0, max_iter=50), Z, y)
    np.testing.assert_array_equal(pipe.predict_proba(X), direct.predict_proba(Z))
    assert not hasattr(pipe[-1], "feature_names_in_")  # ColumnTransformer gave it an array


def test_feature_names_in_and_set_output_pandas(frame):
    X, y = frame
    numeric = [c for c in X.columns if c != "size"]
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=20), X[numeric], y)
    np.testing.assert_array_equal(model.feature_names_in_, numeric)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[numeric[::-1]])  # same columns, other order

    columns = ColumnTransformer(
        [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(sparse_output=False), ["size"])]
    )
    pipe = make_pipeline(columns, LogLossClassifier(random_state=0, max_iter=20))
    pipe.set_output(transform="pandas")
    fit_quiet(pipe, X, y)
    np.testing.assert_array_equal(pipe[-1].feature_names_in_, columns.get_feature_names_out())
    assert pipe[-1].n_features_in_ == len(numeric) + 2
    assert np.allclose(pipe.predict_proba(X).sum(axis=1), 1.0)


# -- metadata routing ----------------------------------------------------
@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def weights_for(y, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 3.0, len(y))


@pytest.mark.bitwise
def test_sample_weight_routed_through_pipeline(iris, routing):
    X, y = iris
    w = weights_for(y)
    clf = LogLossClassifier(random_state=0, max_iter=30).set_fit_request(sample_weight=True)
    pipe = Pipeline([("scale", StandardScaler().set_fit_request(sample_weight=False)),
                     ("clf", clf)])
    fit_quiet(pipe, X, y, sample_weight=w)
    scaled = StandardScaler().fit_transform(X)
    direct = fit_quiet(LogLossClassifier(random_state=0, max_iter=30), scaled, y,
                       sample_weight=w)
    unweighted = fit_quiet(LogLossClassifier(random_state=0, max_iter=30), scaled, y)
    np.testing.assert_array_equal(pipe[-1].coef_, direct.coef_)
    assert not np.array_equal(pipe[-1].coef_, unweighted.coef_)


def test_unrequested_sample_weight_is_refused(iris, routing):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), LogLossClassifier(max_iter=5))
    with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
        pipe.fit(X, y, sample_weight=weights_for(y))


@pytest.mark.bitwise
def test_sample_weight_routed_through_grid_search_to_fit_and_score(iris, routing):
    X, y = iris
    w = weights_for(y, seed=1)
    clf = (LogLossClassifier(random_state=0, max_iter=30)
           .set_fit_request(sample_weight=True).set_score_request(sample_weight=True))
    cv = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(clf, {"learning_rate": [0.01, 0.1]}, cv=cv)
    fit_quiet(search, X, y, sample_weight=w)
    # each candidate's first split, refitted by hand with the routed weights
    train, test = next(cv.split(X, y))
    for i, rate in enumerate([0.01, 0.1]):
        model = fit_quiet(LogLossClassifier(random_state=0, max_iter=30, learning_rate=rate),
                          X[train], y[train], sample_weight=w[train])
        expected = model.score(X[test], y[test], sample_weight=w[test])
        assert search.cv_results_["split0_test_score"][i] == pytest.approx(expected, abs=1e-12)
    best = fit_quiet(LogLossClassifier(random_state=0, max_iter=30, **search.best_params_),
                     X, y, sample_weight=w)
    np.testing.assert_array_equal(search.best_estimator_.coef_, best.coef_)


# -- persistence ---------------------------------------------------------
def test_joblib_round_trip(iris, tmp_path):
    X, y = iris
    model = fit_quiet(LogLossClassifier(hidden_layer_sizes=(3,), random_state=1, max_iter=10),
                      X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("case", ["linear", "hidden-strings", "multilabel", "early-lbfgs"])
def test_skops_round_trip_has_only_the_estimator_type_to_trust(iris, case):
    import skops.io as sio  # the test extra installs it: a broken install fails
    X, y = iris
    params, target = {"max_iter": 10, "random_state": 0}, y
    if case == "hidden-strings":
        params["hidden_layer_sizes"], target = (4,), np.array(["setosa", "versicolor", "virginica"])[y]
    elif case == "multilabel":
        target = np.c_[y == 0, y == 2].astype(int)
    elif case == "early-lbfgs":
        params.update(optimizer="lbfgs", class_weight={0: 2.0})
    model = fit_quiet(LogLossClassifier(**params), X, target)
    data = sio.dumps(model)
    assert sio.get_untrusted_types(data=data) == ["sk_logloss._classifier.LogLossClassifier"]
    restored = sio.loads(data, trusted=[LogLossClassifier])
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert restored.get_params() == model.get_params()


SKOPS_NO_TENSORFLOW = textwrap.dedent(
    """
    import sys
    import numpy as np
    import skops.io as sio
    from sk_logloss import LogLossClassifier
    model = sio.loads(sys.stdin.buffer.read(), trusted=[LogLossClassifier])
    X = np.linspace(-1, 1, 8).reshape(2, 4)
    model.predict(X), model.predict_proba(X)
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules
    print("ok")
    """
)


def test_skops_load_and_predict_never_import_tensorflow(iris):
    import skops.io as sio  # the test extra installs it: a broken install fails
    X, y = iris
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=5), X, y)
    out = subprocess.run([sys.executable, "-c", SKOPS_NO_TENSORFLOW], input=sio.dumps(model),
                         capture_output=True, check=True)
    assert out.stdout.strip() == b"ok"


def test_pickle_records_version_and_other_versions_warn(iris):
    X, y = iris
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=5), X, y)
    data = pickle.dumps(model)
    assert sk_logloss.__version__.encode() in data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same version: no warning
        same = pickle.loads(data)
    assert "_sk_logloss_version" not in vars(same)

    class OldPickler(pickle.Pickler):  # what version 0.0.1 would have written (no precision)
        def reducer_override(self, obj):
            if obj is model:
                state = dict(model.__getstate__(), _sk_logloss_version="0.0.1")
                del state["precision"]
                return (LogLossClassifier.__new__, (LogLossClassifier,), state)
            return NotImplemented

    buffer = io.BytesIO()
    OldPickler(buffer).dump(model)
    with pytest.warns(InconsistentVersionWarning, match=r"sk_logloss 0\.0\.1") as caught:
        old = pickle.loads(buffer.getvalue())
    assert caught[0].message.original_version == "0.0.1"
    np.testing.assert_array_equal(old.predict_proba(X), model.predict_proba(X))
    assert old.get_params() == model.get_params()  # a parameter added since: its default


# -- export to Keras -----------------------------------------------------
EXPORT_CASES = {
    "binary": ({}, "binary"),
    "multiclass-hidden-tanh": ({"hidden_layer_sizes": (6, 3), "activation": "tanh"}, "multi"),
    "multilabel-logistic": ({"hidden_layer_sizes": (5,), "activation": "logistic"}, "labels"),
    "float32-relu": ({"hidden_layer_sizes": (4,)}, "float32"),
}


def export_data(kind):
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if kind == "multi":
        y = np.digitize(X[:, 0], [-0.5, 0.5])
    elif kind == "labels":
        y = np.c_[y, X[:, 1] > 0, X[:, 2] > 0.5].astype(int)
    elif kind == "float32":
        X = X.astype(np.float32)
    return X, y


@pytest.mark.parametrize("case", list(EXPORT_CASES))
def test_to_keras_matches_predict_proba(case):
    params, kind = EXPORT_CASES[case]
    X, y = export_data(kind)
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=20, **params), X, y)
    keras_model = model.to_keras()
    proba = np.asarray(keras_model.predict(X, verbose=0))
    assert proba.shape == model.predict_proba(X).shape
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)


def test_to_keras_saved_model_and_keras_file_round_trips(tmp_path):
    import keras
    import tensorflow as tf

    X, y = export_data("multi")
    model = fit_quiet(LogLossClassifier(hidden_layer_sizes=(5,), random_state=0, max_iter=20),
                      X, y)
    exported = model.to_keras()
    exported.export(str(tmp_path / "saved_model"), verbose=False)  # for TF Serving
    served = tf.saved_model.load(str(tmp_path / "saved_model"))
    proba = served.serve(tf.constant(X)).numpy()
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)

    exported.save(tmp_path / "model.keras")  # standard layers: loads in safe mode
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(np.asarray(reloaded.predict(X, verbose=0)),
                               model.predict_proba(X), rtol=0, atol=1e-6)


def test_to_keras_needs_a_fitted_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LogLossClassifier().to_keras()


# -- quiet by default ----------------------------------------------------
DEFAULT_FIT = textwrap.dedent(
    """
    import os, sys, warnings
    os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
    warnings.simplefilter("error")  # and no Python warning either
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler
    from sk_logloss import LogLossClassifier
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    LogLossClassifier(random_state=0).fit(X, y)
    LogLossClassifier(optimizer="lbfgs").fit(X, y)
    LogLossClassifier(max_iter=60, batch_size=2, learning_rate=0.01,  # XLA
                      learning_rate_schedule="constant", random_state=0).fit(X, y)
    print("fitted")
    """
)


def test_default_fit_prints_nothing():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run([sys.executable, "-c", DEFAULT_FIT], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout == "fitted\n"
    assert out.stderr == ""


def test_tensorflow_loads_with_stderr_closed():
    """A daemon without fd 2: nothing to capture, and loading must not fail."""
    code = ("import os; os.close(2); from sklearn.datasets import load_iris; "
            "from sk_logloss import LogLossClassifier; X, y = load_iris(return_X_y=True); "
            "print(LogLossClassifier(max_iter=300, random_state=0).fit(X, y).score(X, y) > 0.9)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "True\n"


def test_native_log_filter_follows_tf_cpp_min_log_level():
    from sk_logloss._backend import _kept

    lines = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        "I0000 00:00:1795563720.362335   13343 port.cc:153] oneDNN custom operations are on.\n",
        "I0000 00:00:1795563720.362335   13343 cpu_feature_guard.cc:227] This TensorFlow binary\n",
        "To enable the following instructions: AVX2 FMA, rebuild TensorFlow.\n",
        "W0000 00:00:1795563781.509826   13916 util.cc:163] Not handling type DT_DOUBLE\n",
        "E0000 00:00:1795563723.069263   13343 cuda_platform.cc:52] failed call to cuInit: 303\n",
        "E0000 00:00:1795563723.069263   13343 other.cc:1] something real broke\n",
        "a line of the user's own\n",
    ]
    assert _kept(lines, 2) == lines[6:]
    assert _kept(lines, 1) == lines[4:5] + lines[6:]
    assert _kept(lines, 3) == lines[7:]


@pytest.mark.parametrize("enabled", [True, False])
def test_fits_leave_the_garbage_collector_as_they_found_it(enabled):
    """Loading TensorFlow and tracing pause the collector (_backend.gc_paused), then give it
    back as it was: running, or disabled by the user (who keeps it so, even meanwhile)."""
    code = textwrap.dedent(f"""
        import gc
        from sklearn.datasets import load_iris
        from sk_logloss import LogLossClassifier
        from sk_logloss._backend import gc_paused
        from sk_logloss._engine import trainer
        seen = []
        def tracing(*args, _real=trainer.objective, **kwargs):
            seen.append(gc.isenabled())
            return _real(*args, **kwargs)
        trainer.objective = tracing
        {'gc.enable()' if enabled else 'gc.disable()'}
        X, y = load_iris(return_X_y=True)
        LogLossClassifier(max_iter=20, random_state=0).fit(X, y)  # loads, traces
        LogLossClassifier(hidden_layer_sizes=(3,), max_iter=20, random_state=0).fit(X, y)  # another
        with gc_paused():
            with gc_paused():
                inner = gc.isenabled()
            after_inner = gc.isenabled()
        print(seen, inner, after_inner, gc.isenabled())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == f"[False, False] False False {enabled}\n"


def test_import_loads_neither_scikit_learn_nor_tensorflow():
    code = ("import sys, sk_logloss; print(sk_logloss.__version__, 'sklearn' in sys.modules, "
            "'tensorflow' in sys.modules, sk_logloss.LogLossClassifier.__name__, "
            "'sklearn' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [sk_logloss.__version__, "False", "False", "LogLossClassifier", "True",
                   "False"]


# -- the plotting examples -----------------------------------------------
@pytest.mark.parametrize("script", ["plot_learning_rate_sweep.py", "plot_loss_curves.py",
                                    "plot_sigmoid_vs_softmax.py", "plot_callbacks.py"])
def test_plot_examples_write_their_png(script, tmp_path):
    from matplotlib import image

    from sk_logloss._callbacks import AVAILABLE
    if script == "plot_callbacks.py" and not AVAILABLE:
        pytest.skip("sklearn.callback needs scikit-learn 1.9+")
    path = tmp_path / "plot.png"
    out = subprocess.run([sys.executable, str(EXAMPLES / script), "--out", str(path)],
                         capture_output=True, text=True, check=True)
    assert f"saved {path}" in out.stdout
    pixels = image.imread(path)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert pixels[..., :3].std() > 0.05  # not blank
    if script == "plot_learning_rate_sweep.py":  # the printed table: 2 optimizers x 9 rates
        rows = re.findall(r"^\s+(adam|sgd)\s+(\S+)\s+(\S+) ± ", out.stdout, re.MULTILINE)
        assert len(rows) == 18
        assert {float(r[1]) for r in rows} == set(np.geomspace(0.001, 0.1, 9).round(5))
    if script == "plot_callbacks.py":  # per rate: epochs, final training log loss, accuracy
        rows = re.findall(r"^learning_rate=(\S+)\s+(\d+) epochs\s+log loss (\S+)\s+accuracy (\S+)$",
                          out.stdout, re.MULTILINE)
        assert [float(r[0]) for r in rows] == [0.001, 0.01, 0.1]
        losses = [float(r[2]) for r in rows]
        assert losses[0] > losses[1] > 0 and all(float(r[3]) > 0.95 for r in rows)
    if script == "plot_sigmoid_vs_softmax.py":  # held-out log loss, accuracy, ECE per loss
        rows = {r[0]: [float(v) for v in r[1:]] for r in re.findall(
            r"^\s+(sigmoid|softmax)\s+(\S+)\s+(\S+)\s+(\S+)$", out.stdout, re.MULTILINE)}
        assert rows.keys() == {"sigmoid", "softmax"}
        assert all(0 < v[0] < 1 and 0.9 < v[1] <= 1 and 0 <= v[2] < 0.2 for v in rows.values())
