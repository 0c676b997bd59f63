"""Property-based tests (hypothesis): whatever the data, a fit succeeds with sane output or fails clearly.

Random shapes, X dtypes, feature scales up to 1e6, label types, sample
weights and training settings. Every fit either succeeds, with finite
probabilities that sum to 1 and a finite loss, or raises ValueError / TypeError
naming the problem. No RuntimeWarning (overflow, divide by zero, invalid
value) may escape from NumPy or TensorFlow: they are errors here.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sk_logloss import LogLossClassifier

SETTINGS = settings(
    max_examples=120, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

LABELS = {
    "int": lambda k: np.array([3, -1, 7])[:k],
    "str": lambda k: np.array(["spam", "eggs", "ham"])[:k],
    "bool": lambda k: np.array([False, True])[: min(k, 2)],
    "float": lambda k: np.array([0.0, 1.0, 2.0])[:k],
}


@st.composite
def problems(draw):
    """(X, y, sample_weight, params) of a small random problem."""
    n = draw(st.integers(2, 40))
    d = draw(st.sampled_from([1, 3]))
    scale = draw(st.sampled_from([1e-6, 1e-2, 1.0, 1e3, 1e6]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * scale
    kind = draw(st.sampled_from(["float64", "float32", "int", "bool", "sparse"]))
    if kind == "float32":
        X = X.astype(np.float32)
    elif kind == "int":
        X = np.round(X).astype(np.int64)
    elif kind == "bool":
        X = X > 0
    elif kind == "sparse":
        X = sp.csr_matrix(np.where(rng.random((n, d)) < 0.5, X, 0.0))
    label_kind = draw(st.sampled_from([*LABELS, "multilabel"]))
    if label_kind == "multilabel":
        y = (rng.random((n, 2)) < 0.5).astype(int)
    else:
        k = draw(st.sampled_from([1, 2, 2, 3, 3]))  # one class: refused, now and then
        labels = LABELS[label_kind](k)
        y = labels[rng.integers(0, len(labels), n)]
    weights = draw(st.sampled_from(["none", "uniform", "some zero", "wide"]))
    w = {"none": None, "uniform": rng.uniform(0.5, 2, n),
         "some zero": np.where(rng.random(n) < 0.3, 0.0, 1.0),
         "wide": 10.0 ** rng.uniform(-6, 6, n)}[weights]
    params = {
        "optimizer": draw(st.sampled_from(["adam", "sgd", "lbfgs"])),
        "hidden_layer_sizes": draw(st.sampled_from([(), (3,)])),
        "learning_rate": draw(st.sampled_from([1e-3, 0.1, 1.0])),
        "batch_size": draw(st.sampled_from(["auto", 1, 7])),
        "max_iter": draw(st.sampled_from([3, 15])),
        "early_stopping": draw(st.booleans()),
        "class_weight": draw(st.sampled_from([None, "balanced"])),
        "random_state": 0,
    }
    return X, y, w, params


def fit_or_clear_error(X, y, w, params):
    """Fit; return the model, or None after a clear ValueError/TypeError."""
    model = LogLossClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)  # 3 epochs rarely converge
        try:
            model.fit(X, y, sample_weight=w)
        except (ValueError, TypeError) as exc:
            event(f"refused: {type(exc).__name__}: {str(exc)[:40]}")
            message = str(exc)
            assert len(message) > 20, message  # says what is wrong
            assert "tensorflow" not in message.lower() or "TensorFlow" in message
            return None
    event("fitted")
    return model


@SETTINGS
@given(problems())
def test_fit_succeeds_with_sane_output_or_fails_clearly(problem):
    X, y, w, params = problem
    model = fit_or_clear_error(X, y, w, params)
    if model is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        proba = model.predict_proba(X)
        log_proba = model.predict_log_proba(X)
        predicted = model.predict(X)
    assert np.isfinite(model.loss_)
    assert np.isfinite(proba).all() and ((proba >= 0) & (proba <= 1)).all()
    assert not np.isnan(log_proba).any() and (log_proba <= 0).all()
    if y.ndim == 1:
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert set(np.unique(predicted)) <= set(model.classes_)
        assert proba.shape == (X.shape[0], len(model.classes_))
    else:
        assert predicted.shape == y.shape
    assert all(np.isfinite(W).all() for W in model.coefs_ + model.intercepts_)


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 3))
    y = np.arange(60) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {
            "linear": LogLossClassifier(random_state=0, max_iter=30).fit(X, y),
            "network": LogLossClassifier(hidden_layer_sizes=(4,), activation="tanh",
                                         random_state=0, max_iter=30).fit(X, y > 0),
        }


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    which=st.sampled_from(["linear", "network"]),
    exponent=st.floats(-300, 300),
    rows=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float64, np.float32]),
)
def test_prediction_at_any_scale_is_finite_and_silent(trained, which, exponent, rows, seed,
                                                      dtype):
    model = trained[which]
    X = np.random.default_rng(seed).standard_normal((rows, 3)) * 10.0**exponent
    if dtype is np.float32 and np.abs(X).max() >= np.finfo(np.float32).max:
        X = np.clip(X, -3e38, 3e38)
    X = X.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        proba = model.predict_proba(X)
        log_proba = model.predict_log_proba(X)
        model.predict(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert not np.isnan(log_proba).any()
    # float32 input, even where its products overflow float32, agrees with float64
    np.testing.assert_allclose(proba, model.predict_proba(X.astype(np.float64)), atol=1e-5)


def test_overflowing_rows_saturate_with_the_right_sign(trained):
    """A float32 row whose logits overflow gets the probabilities of the exact logits."""
    from scipy.special import expit

    model = trained["linear"]
    big = np.float32(3e38)
    X = np.array([[big, big, big], [-big, -big, -big], [big, -big, 0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        proba = model.predict_proba(X)
    exact = X.astype(np.float64) @ model.coef_.T.astype(np.float64) + model.intercept_
    sig = expit(exact)  # one-vs-rest sigmoids, normalized; no overflow in float64
    np.testing.assert_allclose(proba, sig / sig.sum(axis=1, keepdims=True), atol=1e-6)
