"""Divergence: at any data scale and learning rate a fit ends finite, or says truthfully where it stopped."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold

from sk_logloss import LogLossClassifier
from sk_logloss._optimizers import KERAS_OPTIMIZERS

DIVERGED = re.compile(r"diverged at (epoch|iteration) (\d+)(?: at learning rate (\S+) )?")


@pytest.fixture(scope="module")
def centred_iris():
    X, y = load_iris(return_X_y=True)
    return X - X.mean(axis=0), y  # centred, not scaled: scales below multiply it


@pytest.fixture(scope="module")
def cancer_folds(cancer):
    """Standardized breast cancer's 380 training rows of StratifiedKFold(3)'s second split."""
    X, y = cancer
    train, _ = list(StratifiedKFold(3).split(X, y))[1]
    return X[train], y[train]


def fit_recording(model, X, y, **kwargs):
    """Fit; return the model and the epoch and learning rate a divergence warning names."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y, **kwargs)
    named = [DIVERGED.search(str(w.message)) for w in caught
             if issubclass(w.category, ConvergenceWarning)]
    named = [m for m in named if m]
    assert len(named) <= 1
    return model, (named[0] if named else None)


def assert_finite_model(model, X):
    """Everything a fitted model exposes, and the optimizer state it keeps, is finite."""
    arrays = [*model.coefs_, *model.intercepts_, model.loss_curve_]
    arrays += list(model._optimizer_state or [])
    for a in arrays:
        assert np.isfinite(np.asarray(a, dtype=np.float64)).all()
    assert np.isfinite(model.loss_)
    assert model.best_loss_ is None or np.isfinite(model.best_loss_)
    assert model.n_iter_ == len(model.loss_curve_)
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


SCALES = [1e-300, 1e-150, 1.0, 1e150, 1e300]


@pytest.mark.parametrize("optimizer", [*KERAS_OPTIMIZERS, "lbfgs"])
@pytest.mark.parametrize("scale", SCALES)
def test_every_optimizer_ends_finite_at_any_data_scale(centred_iris, optimizer, scale):
    X, y = centred_iris
    X = X * scale
    model, named = fit_recording(
        LogLossClassifier(optimizer=optimizer, max_iter=15, random_state=0), X, y
    )
    assert_finite_model(model, X)
    if named:  # the epoch it names is the first one not kept
        assert int(named[2]) == model.n_iter_ + 1


@pytest.mark.parametrize(
    "params, sparse",
    [({"hidden_layer_sizes": (6,)}, False), ({"hidden_layer_sizes": (5, 4), "activation": "tanh"},
                                              False),
     ({}, True), ({"hidden_layer_sizes": (6,)}, True), ({"early_stopping": True}, False)],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("scale", [1e-300, 1e30, 1e300])
def test_hidden_layers_sparse_and_float32_end_finite(centred_iris, params, sparse, dtype, optimizer, scale):
    X, y = centred_iris
    with np.errstate(over="ignore", under="ignore"):
        X = (X * scale).astype(dtype)  # float32 saturates to inf at 1e300: refused below
    if sparse:
        X = sp.csr_matrix(X)
    model = LogLossClassifier(optimizer=optimizer, max_iter=10, random_state=0, **params)
    values = X.data if sparse else X
    if not np.isfinite(values).all():
        with pytest.raises(ValueError, match="infinity"):
            model.fit(X, y)
        return
    if params.get("early_stopping") and not values.any():  # float32 underflow: all rows equal
        with pytest.raises(ValueError, match="two distinct samples"):
            model.fit(X, y)
        return
    model, named = fit_recording(model, X, y)
    assert_finite_model(model, X)
    assert named is None or int(named[2]) == model.n_iter_ + 1


@pytest.mark.parametrize("learning_rate", [1e3, 1e10, 1e30])
@pytest.mark.parametrize("optimizer", KERAS_OPTIMIZERS)
def test_any_learning_rate_ends_finite(centred_iris, optimizer, learning_rate):
    X, y = centred_iris
    model, _ = fit_recording(
        LogLossClassifier(optimizer=optimizer, learning_rate=learning_rate,
                          hidden_layer_sizes=(4,), max_iter=15, random_state=0), X, y,
    )
    assert_finite_model(model, X)


def test_one_batch_per_epoch_divergence_is_caught_in_its_own_epoch(centred_iris):
    # 150 rows, batch_size="auto" takes them all: each epoch is one step. Adam's second moment
    # overflows in the first step at this scale; the old check read only the
    # loss taken before the step, and kept NaN weights.
    X, y = centred_iris
    X = X * 1e200
    model, named = fit_recording(LogLossClassifier(random_state=0), X, y)
    assert named and named[1] == "epoch" and int(named[2]) == 1
    assert float(named[3]) == 0.1
    assert model.n_iter_ == 0 and model.loss_curve_.size == 0
    np.testing.assert_array_equal(model.coef_, 0.0)  # the initial weights: nothing was kept
    np.testing.assert_allclose(model.predict_proba(X), 1 / 3)
    assert model.loss_ == pytest.approx(np.log(2))
    assert_finite_model(model, X)


@pytest.mark.parametrize(
    "schedule, params, rate_of_epoch",
    [("constant", None, lambda lr, k: lr),
     ("invscaling", {"power_t": 0.5}, lambda lr, k: lr / k ** 0.5)],
)
def test_the_warning_names_the_epoch_and_rate_that_diverged(centred_iris, schedule, params, rate_of_epoch):
    X, y = centred_iris
    settings = {"optimizer": "sgd", "learning_rate": 1e30, "learning_rate_schedule": schedule,
                "schedule_params": params, "random_state": 0}
    model, named = fit_recording(LogLossClassifier(**settings), X, y)
    k = int(named[2])
    assert k > 1 and model.n_iter_ == k - 1 == len(model.loss_curve_)
    assert float(named[3]) == pytest.approx(rate_of_epoch(1e30, k), rel=1e-5)  # printed to 6 digits
    # truthful: k - 1 epochs run without divergence and give the same weights ...
    before, clean = fit_recording(LogLossClassifier(**settings, max_iter=k - 1), X, y)
    assert clean is None
    for a, b in zip(before.coefs_ + before.intercepts_, model.coefs_ + model.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(before.loss_curve_, model.loss_curve_)
    # ... and epoch k diverges again, from the same state
    _, named_again = fit_recording(LogLossClassifier(**settings, max_iter=k), X, y)
    assert int(named_again[2]) == k
    assert_finite_model(model, X)


def test_with_early_stopping_a_diverged_epoch_never_becomes_the_best(cancer_folds):
    # a deep linear network under momentum SGD at learning rate 100 grows without bound; its
    # 17th epoch overflows. Its validation score (not finite) once replaced the best score, so the
    # best validation weights were not restored and the fit kept epoch 16's (about 1e151)
    X, y = cancer_folds
    settings = {"hidden_layer_sizes": (8,), "activation": "identity", "optimizer": "sgd",
                "optimizer_params": {"momentum": 0.9}, "learning_rate": 100.0,
                "random_state": 0}
    model, named = fit_recording(LogLossClassifier(**settings, max_iter=20), X, y)
    assert named and int(named[2]) == 17 and model.early_stopping == "auto"
    # the reference: the same fit stopped before the divergence keeps its best weights
    clean, none = fit_recording(LogLossClassifier(**settings, max_iter=16), X, y)
    assert none is None
    for a, b in zip(clean.coefs_ + clean.intercepts_, model.coefs_ + model.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert model.best_validation_score_ == clean.best_validation_score_ == max(
        clean.validation_scores_)
    best = int(np.argmax(clean.validation_scores_)) + 1
    assert f"the weights kept are the best validation weights, of epoch {best}." in named.string
    assert np.abs(model.coefs_[0]).max() < 1e9
    assert_finite_model(model, X)


def test_plain_sgd_at_a_huge_rate_reports_a_finite_loss_without_overflow_warnings(centred_iris):
    # the suite turns RuntimeWarning (NumPy overflow) into an error
    X, y = centred_iris
    model, named = fit_recording(
        LogLossClassifier(optimizer="sgd", learning_rate=1e30, random_state=0), X, y
    )
    assert named is not None
    assert np.isfinite(model.loss_) and model.loss_ > 1e100  # honestly huge, not inf
    assert_finite_model(model, X)


def test_lbfgs_at_huge_scale_keeps_its_best_finite_point(centred_iris):
    X, y = centred_iris
    X = X * 1e300
    model, named = fit_recording(
        LogLossClassifier(optimizer="lbfgs", hidden_layer_sizes=(5,), random_state=0), X, y
    )
    assert named is None or named[1] == "iteration"
    assert_finite_model(model, X)
