"""The softmax loss: the multinomial model, against LogisticRegression and NumPy maths."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import fit_quiet
from scipy.special import log_softmax, softmax
from sklearn.datasets import load_digits, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier
from sk_logloss._optimizers import KERAS_OPTIMIZERS


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def numpy_softmax_objective(model, X, y, w, alpha):
    """sum_i w_i (-log softmax(z_i)[y_i]) + 0.5 alpha ||W||^2, over sum_i w_i (written out)."""
    h = X
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        h = h @ W + b
        if i < len(model.coefs_) - 1:
            h = np.maximum(h, 0)
    nll = -log_softmax(h, axis=1)[np.arange(len(y)), y]
    l2 = sum(float((W ** 2).sum()) for W in model.coefs_)
    return (w @ nll + 0.5 * alpha * l2) / w.sum()


@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_lbfgs_softmax_reaches_multinomial_logistic_regression(wine, C):
    X, y = wine
    ours = LogLossClassifier(loss="softmax", optimizer="lbfgs", alpha=1 / C, tol=1e-10,
                             max_iter=5000).fit(X, y)
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=5000).fit(X, y)  # multinomial
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_ - ours.intercept_.mean(),
                               ref.intercept_ - ref.intercept_.mean(), atol=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    assert ours.out_activation_ == "softmax"


def test_probabilities_are_the_softmax_of_the_logits(wine):
    X, y = wine
    model = fit_quiet(LogLossClassifier(loss="softmax", max_iter=30, random_state=0), X, y)
    z = model.decision_function(X)
    assert z.shape == (len(X), 3)
    np.testing.assert_allclose(model.predict_proba(X), softmax(z, axis=1), rtol=1e-12)
    np.testing.assert_allclose(model.predict_log_proba(X), log_softmax(z, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[z.argmax(axis=1)])
    assert np.isfinite(model.predict_log_proba(X * 1e6)).all()


@pytest.mark.parametrize("hidden", [(), (6,)])
def test_reported_loss_is_the_weighted_softmax_cross_entropy(wine, hidden):
    X, y = wine
    w = np.random.default_rng(0).uniform(0.5, 2, len(y))
    model = fit_quiet(LogLossClassifier(loss="softmax", hidden_layer_sizes=hidden, alpha=0.01,
                                        max_iter=40, early_stopping=False, random_state=0),
                      X, y, sample_weight=w)
    assert model.loss_ == pytest.approx(numpy_softmax_objective(model, X, y, w, 0.01), rel=1e-9)


@pytest.mark.bitwise
def test_binary_and_multilabel_targets_keep_the_sigmoid(wine):
    X, y = wine
    yb = (y == 0).astype(int)
    for target in (yb, np.c_[yb, y == 1]):
        a = fit_quiet(LogLossClassifier(loss="softmax", max_iter=20, random_state=0), X, target)
        b = fit_quiet(LogLossClassifier(max_iter=20, random_state=0), X, target)
        np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
        assert a.out_activation_ == "logistic"


@pytest.mark.parametrize("optimizer", KERAS_OPTIMIZERS)
def test_every_optimizer_trains_the_softmax(wine, optimizer):
    X, y = wine
    model = fit_quiet(LogLossClassifier(loss="softmax", optimizer=optimizer, learning_rate=0.05,
                                        max_iter=60, random_state=0), X, y)
    first = -log_softmax(np.zeros(3))[0]  # log 3: the loss at the zero start
    assert np.isfinite(model.loss_curve_).all() and model.loss_ < first
    assert model.score(X, y) > 0.85


def test_softmax_learns_what_the_one_vs_rest_sigmoid_cannot(wine):
    # the multinomial optimum has a lower softmax log loss than the normalized
    # one-vs-rest sigmoids, as MLPClassifier and LogisticRegression show
    from sklearn.metrics import log_loss

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    soft = LogLossClassifier(loss="softmax", optimizer="lbfgs", alpha=1.0).fit(X, y)
    ovr = LogLossClassifier(optimizer="lbfgs", alpha=0.1).fit(X, y)
    assert log_loss(y, soft.predict_proba(X)) < log_loss(y, ovr.predict_proba(X))


@pytest.mark.bitwise
def test_sparse_weights_early_stopping_warm_start_and_partial_fit(wine):
    X, y = wine
    settings = {"loss": "softmax", "random_state": 0, "max_iter": 30}
    dense = fit_quiet(LogLossClassifier(**settings), X, y)
    sparse = fit_quiet(LogLossClassifier(**settings), sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    early = fit_quiet(LogLossClassifier(**settings, early_stopping=True, validation_fraction=0.2),
                      X, y)
    assert early.best_validation_score_ == max(early.validation_scores_) > -np.log(3)
    balanced = fit_quiet(LogLossClassifier(**settings, class_weight="balanced"), X, y)
    assert balanced.score(X, y) > 0.9
    warm = LogLossClassifier(**settings, warm_start=True)
    fit_quiet(warm, X, y)
    fit_quiet(warm, X, y)
    assert warm.n_iter_ == 60 and warm.loss_ < dense.loss_
    stream = LogLossClassifier(loss="softmax", random_state=0)
    for _ in range(5):
        stream.partial_fit(X, y, classes=[0, 1, 2])
    steps = LogLossClassifier(loss="softmax", random_state=0, max_iter=5, tol=0.0,
                              n_iter_no_change=np.inf)
    fit_quiet(steps, X, y)
    np.testing.assert_array_equal(stream.coef_, steps.coef_)


def test_to_keras_pickle_and_skops(wine):
    X, y = wine
    model = fit_quiet(LogLossClassifier(loss="softmax", hidden_layer_sizes=(5,), max_iter=30,
                                        random_state=0), X, y)
    keras_proba = np.asarray(model.to_keras()(X))
    np.testing.assert_allclose(keras_proba, model.predict_proba(X), atol=1e-6)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    import skops.io as sio  # the test extra installs it: a broken install fails
    loaded = sio.loads(sio.dumps(model), trusted=[LogLossClassifier])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_model_pickled_before_the_loss_parameter_loads_as_sigmoid(wine):
    X, y = wine
    model = fit_quiet(LogLossClassifier(max_iter=5, random_state=0), X, y)
    state = model.__getstate__()
    del state["loss"]
    old = LogLossClassifier.__new__(LogLossClassifier)
    old.__setstate__(state)
    assert old.loss == "sigmoid"
    np.testing.assert_array_equal(old.predict_proba(X), model.predict_proba(X))
