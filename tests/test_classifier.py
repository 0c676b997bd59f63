"""Behaviour of LogLossClassifier against independent references (NumPy maths, scikit-learn)."""

import pickle
import random
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier


def numpy_logits(model, X):
    """Forward pass written out independently of the package."""
    h = np.asarray(X, dtype=np.float64)
    acts = {"relu": lambda a: np.maximum(a, 0), "tanh": np.tanh}
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        h = h @ W.astype(np.float64) + b.astype(np.float64)
        if i < len(model.coefs_) - 1:
            h = acts[model.activation](h)
    return h


def numpy_objective(model, X, Y, w, alpha):
    """Weighted mean sigmoid cross-entropy plus 0.5 * alpha * ||W||^2 / sum(w)."""
    z = numpy_logits(model, X)
    xent = np.maximum(z, 0) - z * Y + np.log1p(np.exp(-np.abs(z)))
    l2 = sum(float(np.sum(W.astype(np.float64) ** 2)) for W in model.coefs_)
    return (np.sum(w * xent.mean(axis=1)) + 0.5 * alpha * l2) / np.sum(w)


@pytest.mark.parametrize("hidden", [(), (7,)])
def test_reported_loss_is_mean_sigmoid_cross_entropy(binary, hidden):
    X, y = binary
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    model = LogLossClassifier(hidden_layer_sizes=hidden, alpha=1e-2, early_stopping=False,
                              random_state=0)
    model.fit(X, y, sample_weight=w)
    expected = numpy_objective(model, X, y[:, None], w, alpha=1e-2)
    assert model.loss_ == pytest.approx(expected, rel=1e-9)
    assert np.isfinite(model.loss_curve_).all() and model.n_iter_ == len(model.loss_curve_)


def test_reported_loss_multiclass_one_vs_rest(iris):
    X, y = iris
    model = LogLossClassifier(random_state=0, max_iter=50).fit(X, y)
    Y = (y[:, None] == np.arange(3)).astype(float)
    # alpha="auto": LogisticRegression's C=1 over the mean of the 3 sigmoid logits
    assert model.alpha_ == 1 / 3
    assert model.loss_ == pytest.approx(numpy_objective(model, X, Y, np.ones(len(y)), 1 / 3))
    assert model.coef_.shape == (3, 4) and model.intercept_.shape == (3,)


def test_probabilities_agree_with_decision_function(binary, iris):
    X, y = binary
    model = LogLossClassifier(random_state=0).fit(X, y)
    z = model.decision_function(X)
    np.testing.assert_allclose(z, numpy_logits(model, X)[:, 0])
    p = model.predict_proba(X)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(p.sum(axis=1), 1)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(p))
    np.testing.assert_array_equal(model.predict(X), (z > 0).astype(int))

    X, y = iris
    model = LogLossClassifier(random_state=0, max_iter=50).fit(X, y)
    z = model.decision_function(X)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(model.predict_proba(X), s / s.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(model.predict(X), np.argmax(z, axis=1))


def test_probabilities_never_nan_for_extreme_logits(iris):
    X, y = iris
    model = LogLossClassifier(random_state=0, max_iter=20).fit(X, y)
    p = model.predict_proba(X * 1e6)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1)
    log_p = model.predict_log_proba(X * 1e6)
    assert not np.isnan(log_p).any()
    np.testing.assert_allclose(np.exp(log_p), p, atol=1e-12)


def test_defaults_match_logistic_regression_log_loss():
    X, y = make_classification(
        n_samples=2000, n_features=10, n_informative=6, n_redundant=0, class_sep=0.8,
        random_state=3,
    )
    X = StandardScaler().fit_transform(X)
    reference = log_loss(y, LogisticRegression(C=1e6).fit(X, y).predict_proba(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the defaults must converge
        model = LogLossClassifier(random_state=0).fit(X, y)
    ours = log_loss(y, model.predict_proba(X))
    assert ours <= 1.05 * reference, (ours, reference)


def test_grid_search_learning_rate_sweep_in_pipeline(binary):
    X, y = binary
    rates = [0.001, 0.003, 0.01, 0.03, 0.1]
    search = GridSearchCV(
        Pipeline([("scale", StandardScaler()), ("clf", LogLossClassifier(random_state=0))]),
        {"clf__learning_rate": rates},
        scoring="neg_log_loss",
        cv=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_params_["clf__learning_rate"] in rates
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and len(scores) == len(rates)
    assert search.best_score_ == scores.max()
    refit = search.best_estimator_[-1]
    assert refit.learning_rate == search.best_params_["clf__learning_rate"]
    assert search.score(X, y) == pytest.approx(-log_loss(y, search.predict_proba(X)))


def test_clone_and_pickle_round_trips(iris):
    X, y = iris
    model = LogLossClassifier(hidden_layer_sizes=(5,), random_state=4, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        refit = clone(model).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(refit.predict_proba(X), model.predict_proba(X))


@pytest.mark.bitwise
def test_same_random_state_is_bitwise_identical_and_leaves_global_state(binary):
    X, y = binary
    np_state, py_state = np.random.get_state(), random.getstate()
    a = LogLossClassifier(hidden_layer_sizes=(4,), random_state=7).fit(X, y)
    b = LogLossClassifier(hidden_layer_sizes=(4,), random_state=7).fit(X, y)
    c = LogLossClassifier(hidden_layer_sizes=(4,), random_state=8).fit(X, y)
    for wa, wb, wc in zip(a.coefs_, b.coefs_, c.coefs_):
        assert wa.tobytes() == wb.tobytes()
        assert wa.tobytes() != wc.tobytes()
    np.testing.assert_array_equal(np.random.get_state()[1], np_state[1])
    assert random.getstate() == py_state
    from tensorflow.python.framework import random_seed

    assert random_seed.get_seed(None) == (None, None)  # TensorFlow's global seed never set


FRESH_FIT = textwrap.dedent(
    """
    import hashlib, sys
    from sklearn.datasets import make_classification
    from sk_logloss import LogLossClassifier
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    m = LogLossClassifier(hidden_layer_sizes=(4,), random_state=11, max_iter=40).fit(X, y)
    h = hashlib.sha256(b"".join(a.tobytes() for a in m.coefs_ + m.intercepts_))
    print(h.hexdigest())
    """
)


@pytest.mark.bitwise
def test_bitwise_identical_across_processes():
    digests = {
        subprocess.run(
            [sys.executable, "-W", "ignore", "-c", FRESH_FIT],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(digests) == 1


NO_TENSORFLOW = textwrap.dedent(
    """
    import pickle, sys
    import numpy as np
    import sk_logloss
    assert "tensorflow" not in sys.modules, "import sk_logloss loaded TensorFlow"
    model = pickle.loads(sys.stdin.buffer.read())
    X = np.linspace(-1, 1, 8).reshape(2, 4)
    model.predict(X), model.predict_proba(X), model.decision_function(X), model.score(X, [0, 1])
    assert "tensorflow" not in sys.modules, "unpickling or prediction loaded TensorFlow"
    assert "keras" not in sys.modules
    print("ok")
    """
)


def test_import_unpickle_and_predict_never_import_tensorflow(iris):
    X, y = iris
    model = LogLossClassifier(random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    out = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW], input=pickle.dumps(model),
        capture_output=True, check=True,
    )
    assert out.stdout.strip() == b"ok"


def test_second_fit_of_same_shape_does_not_retrace(binary):
    from sk_logloss._engine import trainer

    X, y = binary
    LogLossClassifier(random_state=0, max_iter=3).fit(X, y)
    traces = {spec: t.trace_count for spec, t in trainer._TRAINERS.items()}
    rng = np.random.default_rng(0)
    X2 = rng.standard_normal((250, X.shape[1]))
    y2 = rng.integers(0, 2, 250)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LogLossClassifier(random_state=5, learning_rate=0.1, max_iter=3).fit(X2, y2)
    # same model shape: no new trainer, and no trainer traced again
    assert {spec: t.trace_count for spec, t in trainer._TRAINERS.items()} == traces


@pytest.mark.bitwise
def test_verbose_prints_each_epoch_with_identical_result(binary, capsys):
    X, y = binary
    quiet = LogLossClassifier(random_state=0, max_iter=5)
    loud = clone(quiet).set_params(verbose=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        quiet.fit(X, y)
        capsys.readouterr()
        loud.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"Epoch {i}/5" for i in range(1, 6)]
    for line, loss in zip(lines, loud.loss_curve_):
        assert f"loss {loss:.8f}" in line and "learning rate 0.1," in line and line.endswith(" s")
    for a, b in zip(quiet.coefs_, loud.coefs_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "labels", [np.array(["cat", "dog", "emu"]), np.array([False, True]), np.array([-3, 10])]
)
def test_string_bool_and_int_labels(labels):
    X, y = make_classification(
        n_samples=400, n_features=6, n_informative=4, n_classes=len(labels), random_state=0
    )
    X = StandardScaler().fit_transform(X)
    target = labels[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogLossClassifier(random_state=0).fit(X, target)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    assert model.predict(X).dtype == target.dtype
    reference = OneVsRestClassifier(LogisticRegression(C=1e4)).fit(X, target)
    assert np.mean(model.predict(X) == reference.predict(X)) > 0.95
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=0.1)


@pytest.mark.parametrize("y", [
    np.array([0, 1, 1, 0, 1]), np.array([4, 0, 2, 2, 9], np.int32), np.array([2, 7, 7], np.uint8),
    np.array(["b", "a", "c", "a"], object), np.array(["x", "y", "y"]), [3, 1, 3],
    np.array([True, False, True]), np.array([1.0, 2.0, 1.0, 3.0]),
])
def test_targets_are_encoded_as_label_binarizer_encodes_them(y):
    # encode_targets builds LabelBinarizer's classes_ (values and dtype) and columns itself
    from sklearn.preprocessing import LabelBinarizer

    from sk_logloss._validation import encode_targets

    classes, Y, multilabel = encode_targets(y)
    binarizer = LabelBinarizer().fit(y)
    assert classes.dtype == binarizer.classes_.dtype and not multilabel
    np.testing.assert_array_equal(classes, binarizer.classes_)
    assert Y.dtype == np.int8
    np.testing.assert_array_equal(Y, binarizer.transform(y))
    # with every label of a stream given (partial_fit), columns follow them
    stream = np.concatenate([binarizer.classes_, binarizer.classes_[:1]])
    classes, Y, _ = encode_targets(np.asarray(y)[:2], classes=stream)
    np.testing.assert_array_equal(Y, LabelBinarizer().fit(stream).transform(np.asarray(y)[:2]))


def test_multilabel_targets():
    X, Y = make_multilabel_classification(n_samples=300, n_features=10, n_classes=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogLossClassifier(random_state=0).fit(X, Y)
    assert model.predict(X).shape == Y.shape and model.predict_proba(X).shape == Y.shape
    z = model.decision_function(X)
    np.testing.assert_allclose(model.predict_proba(X), 1 / (1 + np.exp(-z)))
    # each label is an independent logistic regression: compare with one per label
    for k in range(Y.shape[1]):
        reference = LogisticRegression().fit(X, Y[:, k]).predict(X)
        assert np.mean(model.predict(X)[:, k] == reference) > 0.9
    assert model.alpha_ == 1 / 4
    assert model.loss_ == pytest.approx(numpy_objective(model, X, Y, np.ones(len(X)), 1 / 4))


def test_training_runs_in_input_float_dtype(binary):
    X, y = binary
    m32 = LogLossClassifier(random_state=0, max_iter=5)
    m64 = clone(m32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m32.fit(X.astype(np.float32), y)
        m64.fit(X, y)
    assert m32.coefs_[0].dtype == np.float32 and m64.coefs_[0].dtype == np.float64
    np.testing.assert_allclose(m32.coefs_[0], m64.coefs_[0], rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("precision, source, trained", [
    ("float32", np.float64, np.float32), ("float64", np.float32, np.float64)])
def test_precision_trains_on_a_copy_of_x_in_that_dtype(binary, precision, source, trained):
    """``precision`` casts X for training: the fit equals, to the bit, a fit on X cast by
    NumPy; prediction of X as given is the NumPy model's in the wider dtype."""
    X, y = binary
    X = X.astype(source)
    params = {"random_state": 0, "max_iter": 20}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = LogLossClassifier(precision=precision, **params).fit(X, y)
        reference = LogLossClassifier(**params).fit(X.astype(trained), y)
    assert ours.coefs_[0].dtype == trained
    for a, b in zip(ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_,
                    strict=True):
        np.testing.assert_array_equal(a, b)
    z = X.astype(np.float64) @ ours.coefs_[0].astype(np.float64) + ours.intercepts_[0]
    np.testing.assert_allclose(ours.decision_function(X), z.ravel(), rtol=1e-6, atol=1e-6)


def test_lbfgs_trains_in_float64_whatever_the_precision(binary):
    X, y = binary
    model = LogLossClassifier(optimizer="lbfgs", precision="float32").fit(X, y)
    reference = LogLossClassifier(optimizer="lbfgs").fit(X, y)
    assert model.coefs_[0].dtype == np.float64
    np.testing.assert_array_equal(model.coefs_[0], reference.coefs_[0])


@pytest.mark.parametrize("sparse", [False, True])
def test_float32_precision_refuses_x_beyond_its_range(binary, sparse):
    """float32's largest value is about 3.4e38: a larger X would train on infinities."""
    X, y = binary
    large = X.copy()
    large[3, 1] = 1e39
    with pytest.raises(ValueError, match="X has values beyond float32's range.*'float64'"):
        LogLossClassifier(precision="float32").fit(csr_matrix(large) if sparse else large, y)
    w = np.ones(len(y))
    w[0] = 1e39
    with pytest.raises(ValueError, match="sample_weight has values beyond float32's range"):
        LogLossClassifier(precision="float32").fit(csr_matrix(X) if sparse else X, y,
                                                   sample_weight=w)


def test_integer_sample_weights_equal_repeated_rows(binary):
    X, y = binary
    X, y = X[:150], y[:150]
    w = np.random.default_rng(0).integers(0, 4, len(y))
    params = {"random_state": 0, "batch_size": 1000, "max_iter": 30, "shuffle": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = LogLossClassifier(**params).fit(X, y, sample_weight=w)
        repeated = LogLossClassifier(**params).fit(np.repeat(X, w, 0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.decision_function(X), repeated.decision_function(X), rtol=1e-8)


def test_max_iter_reached_warns_convergence(binary):
    X, y = binary
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        LogLossClassifier(max_iter=2, random_state=0).fit(X, y)


def test_divergence_keeps_finite_weights_and_warns(binary):
    X, y = binary
    X = X * 1e30
    with pytest.warns(ConvergenceWarning, match="learning_rate=1e\\+30"):
        model = LogLossClassifier(optimizer="sgd", learning_rate=1e30, random_state=0).fit(X, y)
    assert all(np.isfinite(W).all() for W in model.coefs_)
    assert not np.isnan(model.predict_proba(X / 1e30)).any()


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(10), "at least 2 classes"),
        (np.linspace(0, 1, 10), "Unknown label type"),
        (np.arange(20).reshape(10, 2), "multiclass-multioutput"),
    ],
)
def test_bad_targets_get_clear_errors(y, match):
    with pytest.raises(ValueError, match=match):
        LogLossClassifier().fit(np.ones((10, 3)), y)


def test_sample_weight_on_one_class_only_is_refused(binary):
    X, y = binary
    with pytest.raises(ValueError, match="only one class"):
        LogLossClassifier().fit(X, y, sample_weight=(y == 1).astype(float))
