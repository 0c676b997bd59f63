"""Every bad input gets a clear scikit-learn-style error, and a failed call changes nothing.

Each case is a call on fresh data that must raise ValueError or TypeError
(InvalidParameterError and NotFittedError are ValueError subclasses) with a
message naming the problem, from scikit-learn's validation or ours, before
any TensorFlow code runs: no frame of the traceback is in TensorFlow or Keras.
The same calls made on a fitted estimator leave it exactly as it was.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from sk_logloss import LogLossClassifier
from sk_logloss._compat import InvalidParameterError

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 3))
Y = np.arange(40) % 2
W = np.ones(40)
N = len(Y)


def with_value(value, row=3, col=1, dtype=float):
    out = X.astype(dtype)
    out[row, col] = value
    return out


def fit(X=X, y=Y, sample_weight=None, **params):
    return lambda est: est.set_params(**params).fit(X, y, sample_weight=sample_weight)


def partial(X=X, y=Y, classes=(0, 1), sample_weight=None, **params):
    return lambda est: est.set_params(**params).partial_fit(
        X, y, classes=classes, sample_weight=sample_weight
    )


def predict(method, X):
    return lambda est: getattr(est, method)(X)


def strings(n=N):
    return np.array([["a", "b", "c"]] * n, dtype=object)


# name -> (call, exception type, message pattern)
FIT_CASES = {
    # X
    "X NaN": (fit(X=with_value(np.nan)), ValueError, "Input X contains NaN"),
    "X inf": (fit(X=with_value(np.inf)), ValueError, "Input X contains infinity"),
    "X -inf": (fit(X=with_value(-np.inf)), ValueError, "Input X contains infinity"),
    "X float32 inf": (fit(X=with_value(np.inf, dtype=np.float32)), ValueError, "infinity"),
    "X complex": (fit(X=X + 1j), ValueError, "[Cc]omplex data not supported"),
    "X object strings": (fit(X=strings()), ValueError, "could not convert string to float"),
    "X str dtype": (fit(X=strings().astype(str)), ValueError, "[Ss]tring|convert"),
    "X empty": (fit(X=np.empty((0, 3)), y=np.array([])), ValueError, "0 sample"),
    "X zero features": (fit(X=np.empty((N, 0))), ValueError, "0 feature"),
    "X one sample": (fit(X=X[:1], y=Y[:1]), ValueError, "at least 2 classes|1 sample"),
    "X 1-D": (fit(X=X[:, 0]), ValueError, "Expected 2D array"),
    "X 3-D": (fit(X=X.reshape(N, 3, 1)), ValueError, "dim 3|3D|2D"),
    "X scalar": (fit(X=1.0, y=1), ValueError, "Expected 2D array"),
    "X ragged": (fit(X=[[1.0, 2.0], [3.0]], y=[0, 1]), ValueError, "inhomogeneous|sequence"),
    "X None": (fit(X=None), ValueError, "[Nn]one|2D"),
    "X sparse NaN": (fit(X=sp.csr_matrix(with_value(np.nan))), ValueError, "NaN"),
    "X sparse inf": (fit(X=sp.csr_matrix(with_value(np.inf))), ValueError, "infinity"),
    "X sparse over 2**31 - 1 columns": (
        fit(X=sp.csr_matrix((np.ones(2), np.array([0, 2 ** 32 - 1], np.int64),
                             np.array([0, 1, 2], np.int64)), shape=(2, 2 ** 32)), y=[0, 1]),
        ValueError, r"at most 2147483647 \(2\*\*31 - 1\)",
    ),
    "X DataFrame with text": (
        fit(X=pd.DataFrame({"a": X[:, 0], "b": ["x"] * N})), ValueError, "could not convert",
    ),
    # y
    "y continuous": (fit(y=np.linspace(0, 1, N)), ValueError, "Unknown label type: continuous"),
    "y NaN": (fit(y=np.where(Y == 1, np.nan, 0.0)), ValueError, "NaN|Unknown label type"),
    "y one class": (fit(y=np.zeros(N)), ValueError, "at least 2 classes"),
    "y 2-D multioutput": (
        fit(y=np.c_[Y, Y * 2]), ValueError, "multiclass-multioutput",
    ),
    "y 2-D float labels": (fit(y=rng.random((N, 2))), ValueError, "Unknown label type"),
    "y 2-D of 1 and 2": (fit(y=np.c_[Y + 1, 2 - Y]), ValueError,
                         r"multilabel indicator matrix, which must hold only 0 and 1.*\[1, 2\]"),
    "y 2-D of -1 and 1": (fit(y=np.c_[2 * Y - 1, 1 - 2 * Y]), ValueError,
                          r"must hold only 0 and 1.*\[-1, 1\]"),
    "y 3-D": (fit(y=Y.reshape(N, 1, 1)), ValueError, "Unknown label type|shape|dim"),
    "y None": (fit(y=None), ValueError, "requires y to be passed"),
    "y too short": (fit(y=Y[:-1]), ValueError, "inconsistent numbers of samples"),
    "y too long": (fit(y=np.r_[Y, 0]), ValueError, "inconsistent numbers of samples"),
    "y object with None": (
        fit(y=np.array(["a", None] * (N // 2), dtype=object)), (ValueError, TypeError),
        "None|mix|label|str",
    ),
    # sample_weight
    "weight negative": (fit(sample_weight=np.r_[-1.0, W[1:]]), ValueError, "[Nn]egative"),
    "weight NaN": (fit(sample_weight=np.r_[np.nan, W[1:]]), ValueError, "NaN"),
    "weight inf": (fit(sample_weight=np.r_[np.inf, W[1:]]), ValueError, "infinity"),
    "weight all zero": (fit(sample_weight=np.zeros(N)), ValueError, "zero for every sample"),
    "weight wrong length": (fit(sample_weight=W[:-2]), ValueError, r"sample_weight.shape|\(38,\)"),
    "weight 2-D": (fit(sample_weight=np.ones((N, 2))), ValueError, "1D|1-D|shape"),
    "weight strings": (fit(sample_weight=np.array(["x"] * N)), (ValueError, TypeError),
                       "could not convert|float"),
    "weight one class only": (fit(sample_weight=(Y == 1).astype(float)), ValueError,
                              "only one class"),
    # parameters, checked when fit starts
    "learning_rate zero": (fit(learning_rate=0.0), InvalidParameterError, "'learning_rate'"),
    "learning_rate negative": (fit(learning_rate=-0.1), InvalidParameterError, "'learning_rate'"),
    "learning_rate NaN": (fit(learning_rate=np.nan), InvalidParameterError, "'learning_rate'"),
    "learning_rate inf": (fit(learning_rate=np.inf), InvalidParameterError, "'learning_rate'"),
    "learning_rate string": (fit(learning_rate="fast"), InvalidParameterError, "'learning_rate'"),
    "optimizer unknown": (fit(optimizer="adamm"), InvalidParameterError, "'optimizer'.*adam"),
    "optimizer class": (fit(optimizer=object), InvalidParameterError, "'optimizer'"),
    "batch_size zero": (fit(batch_size=0), InvalidParameterError, "'batch_size'"),
    "batch_size float": (fit(batch_size=2.5), InvalidParameterError, "'batch_size'"),
    "batch_size string": (fit(batch_size="all"), InvalidParameterError, "'batch_size'"),
    "hidden zero width": (fit(hidden_layer_sizes=(0,)), ValueError, "hidden_layer_sizes"),
    "hidden negative": (fit(hidden_layer_sizes=(4, -1)), ValueError, "hidden_layer_sizes"),
    "hidden float": (fit(hidden_layer_sizes=(2.5,)), (ValueError, TypeError),
                     "hidden_layer_sizes"),
    "hidden string": (fit(hidden_layer_sizes="10"), (ValueError, TypeError),
                      "hidden_layer_sizes"),
    "hidden nested": (fit(hidden_layer_sizes=[[3]]), (ValueError, TypeError),
                      "hidden_layer_sizes"),
    "optimizer_params unknown key": (
        fit(optimizer_params={"beta1": 0.9}), ValueError, "beta1.*adam|adam.*beta1",
    ),
    "optimizer_params learning_rate key": (
        fit(optimizer_params={"learning_rate": 0.1}), ValueError, "learning_rate",
    ),
    "optimizer_params bad value type": (
        fit(optimizer_params={"beta_1": "high"}), ValueError, "'beta_1'.*finite number",
    ),
    "optimizer_params NaN value": (
        fit(optimizer="sgd", optimizer_params={"momentum": np.nan}), ValueError, "'momentum'",
    ),
    "optimizer_params flag not bool": (
        fit(optimizer="sgd", optimizer_params={"nesterov": "yes"}), ValueError,
        "'nesterov'.*True or False",
    ),
    "optimizer_params not a dict": (fit(optimizer_params=[("beta_1", 0.9)]),
                                    InvalidParameterError, "'optimizer_params'"),
    "activation unknown": (fit(activation="gelu"), InvalidParameterError, "'activation'"),
    "schedule unknown": (fit(learning_rate_schedule="step"), InvalidParameterError,
                         "'learning_rate_schedule'"),
    "schedule_params unknown key": (
        fit(learning_rate_schedule="invscaling", schedule_params={"power": 0.5}), ValueError,
        "power",
    ),
    "max_iter zero": (fit(max_iter=0), InvalidParameterError, "'max_iter'"),
    "tol negative": (fit(tol=-1e-4), InvalidParameterError, "'tol'"),
    "tol inf": (fit(tol=np.inf), InvalidParameterError, "'tol'"),
    "n_iter_no_change zero": (fit(n_iter_no_change=0), InvalidParameterError,
                              "'n_iter_no_change'"),
    "validation_fraction one": (fit(validation_fraction=1.0, early_stopping=True),
                                InvalidParameterError, "'validation_fraction'"),
    "alpha negative": (fit(alpha=-1.0), InvalidParameterError, "'alpha'"),
    "alpha inf": (fit(alpha=np.inf), InvalidParameterError, "'alpha'"),
    "class_weight unknown string": (fit(class_weight="auto"), InvalidParameterError,
                                    "'class_weight'"),
    "class_weight unknown class": (fit(class_weight={5: 2.0}), ValueError, "5|not found|class"),
    "class_weight negative": (fit(class_weight={0: -1.0, 1: 1.0}), ValueError,
                              "[Nn]egative|class_weight"),
    "random_state string": (fit(random_state="seed"), InvalidParameterError, "'random_state'"),
    "early_stopping string": (fit(early_stopping="yes"), InvalidParameterError,
                              "'early_stopping'"),
    "verbose negative": (fit(verbose=-1), InvalidParameterError, "'verbose'"),
    # partial_fit
    "partial_fit without classes": (partial(classes=None), ValueError, "classes"),
    "partial_fit y outside classes": (partial(classes=(0, 2)), ValueError, "classes|label"),
    "partial_fit NaN X": (partial(X=with_value(np.nan)), ValueError, "NaN"),
    "partial_fit weight NaN": (partial(sample_weight=np.r_[np.nan, W[1:]]), ValueError, "NaN"),
    "partial_fit learning_rate negative": (partial(learning_rate=-1.0), InvalidParameterError,
                                           "'learning_rate'"),
}

PREDICT_CASES = {
    "predict too few features": (predict("predict", X[:, :2]), ValueError, "3 features"),
    "predict too many features": (predict("predict_proba", np.c_[X, X]), ValueError,
                                  "3 features"),
    "predict NaN": (predict("predict_proba", with_value(np.nan)), ValueError, "NaN"),
    "predict inf": (predict("decision_function", with_value(np.inf)), ValueError, "infinity"),
    "predict strings": (predict("predict", strings()), ValueError, "could not convert"),
    "predict 1-D": (predict("predict", X[0]), ValueError, "Expected 2D array"),
    "predict sparse wrong width": (predict("predict_log_proba", sp.csr_matrix(X[:, :2])),
                                   ValueError, "3 features"),
    "predict feature names": (
        predict("predict", pd.DataFrame(X, columns=["a", "b", "c"])), None, None,
    ),  # fitted without names: a warning, not an error (scikit-learn's rule); checked below
    "partial_fit new feature count": (partial(X=X[:, :2]), ValueError, "3 features"),
    "partial_fit new classes": (partial(y=np.r_[Y[:-1], 7], classes=None), ValueError,
                                "classes|label"),
}

NOT_FITTED = ["predict", "predict_proba", "predict_log_proba", "decision_function", "score",
              "to_keras"]


def assert_clear(excinfo, exc_type, pattern):
    assert isinstance(excinfo.value, exc_type)
    assert pattern is None or excinfo.match(pattern)
    frames = [str(entry.path) for entry in excinfo.traceback]
    assert not [f for f in frames if "/tensorflow/" in f or "/keras/" in f], frames


def state_of(est):
    """Each attribute's pickle (apart, so that no value's bytes depend on another's identity)."""
    return {name: pickle.dumps(value) for name, value in est.__dict__.items()}


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogLossClassifier(random_state=0, max_iter=5).fit(X, Y)


def test_case_count():
    assert len(FIT_CASES) + len(PREDICT_CASES) + len(NOT_FITTED) + 1 >= 40


@pytest.mark.parametrize("name", list(FIT_CASES))
def test_bad_fit_input_gets_a_clear_error(name):
    call, exc_type, pattern = FIT_CASES[name]
    with pytest.raises((ValueError, TypeError)) as excinfo:
        call(LogLossClassifier(max_iter=2))
    assert_clear(excinfo, exc_type, pattern)


FIRST_CALL_ONLY = {"partial_fit without classes"}  # later calls may omit classes


@pytest.mark.parametrize("name", [n for n in FIT_CASES if n not in FIRST_CALL_ONLY])
def test_failed_fit_leaves_a_fitted_model_exactly_as_it_was(name, fitted):
    call, _, _ = FIT_CASES[name]
    est = pickle.loads(pickle.dumps(fitted))
    before, proba = state_of(est), est.predict_proba(X)
    with pytest.raises((ValueError, TypeError)):
        call(est)
    # set_params in the call changed a parameter; put it back, then compare everything
    est.set_params(**fitted.get_params())
    assert state_of(est) == before
    np.testing.assert_array_equal(est.predict_proba(X), proba)


@pytest.mark.parametrize("name", [n for n, c in PREDICT_CASES.items() if c[1] is not None])
def test_bad_predict_input_gets_a_clear_error(name, fitted):
    call, exc_type, pattern = PREDICT_CASES[name]
    est = pickle.loads(pickle.dumps(fitted))
    before = state_of(est)
    with pytest.raises((ValueError, TypeError)) as excinfo:
        call(est)
    assert_clear(excinfo, exc_type, pattern)
    assert state_of(est) == before


def test_feature_names_at_predict_follow_scikit_learn(fitted):
    """Names at predict but none at fit: scikit-learn's warning; other names: an error."""
    call = PREDICT_CASES["predict feature names"][0]
    with pytest.warns(UserWarning, match="fitted without feature names"):
        call(fitted)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    named = LogLossClassifier(max_iter=2).fit(frame, Y)
    with pytest.raises(ValueError, match="feature names should match") as excinfo:
        named.predict(frame.rename(columns={"c": "d"}))
    assert_clear(excinfo, ValueError, "Feature names unseen at fit time")


@pytest.mark.parametrize("method", NOT_FITTED)
def test_unfitted_model_raises_not_fitted(method):
    with pytest.raises(NotFittedError, match="not fitted yet") as excinfo:
        if method == "score":
            LogLossClassifier().score(X, Y)
        else:
            getattr(LogLossClassifier(), method)(*([] if method == "to_keras" else [X]))
    assert_clear(excinfo, NotFittedError, "LogLossClassifier")


def test_set_params_unknown_name_is_refused_at_once():
    est = LogLossClassifier()
    with pytest.raises(ValueError, match="Invalid parameter 'learning_rte'") as excinfo:
        est.set_params(learning_rte=0.1)
    assert_clear(excinfo, ValueError, "learning_rate")  # the message lists the valid names
    assert est.get_params() == LogLossClassifier().get_params()


def test_partial_fit_unavailable_with_lbfgs_explains_why():
    """scikit-learn's available_if: an AttributeError, caused by ours that says why."""
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as excinfo:
        LogLossClassifier(optimizer="lbfgs").partial_fit(X, Y, classes=[0, 1])
    assert "only available for stochastic optimizers" in str(excinfo.value.__cause__)
