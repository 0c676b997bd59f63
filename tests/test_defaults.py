"""The "auto" defaults: the linear ones (issue 14) and the networks' (issue 24), against peers."""

import warnings

import numpy as np
import pytest
from conftest import fit_quiet
from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier
from sk_logloss._engine.types import batch_rows


def test_auto_alpha_is_logistic_regressions_default_penalty(iris, cancer):
    """alpha="auto" with L-BFGS lands on LogisticRegression()'s coefficients (C=1)."""
    exact = {"optimizer": "lbfgs", "tol": 1e-10, "max_iter": 5000}
    X, y = cancer
    ours = LogLossClassifier(**exact).fit(X, y)
    ref = LogisticRegression(tol=1e-10, max_iter=5000).fit(X, y)
    assert ours.alpha_ == 1.0
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)

    X, y = iris
    ovr = LogLossClassifier(**exact).fit(X, y)  # the sigmoid: mean over 3 logits
    assert ovr.alpha_ == 1 / 3
    refs = OneVsRestClassifier(LogisticRegression(tol=1e-10, max_iter=5000)).fit(X, y)
    np.testing.assert_allclose(ovr.coef_, np.vstack([e.coef_ for e in refs.estimators_]),
                               atol=1e-4)
    multi = LogLossClassifier(loss="softmax", **exact).fit(X, y)
    assert multi.alpha_ == 1.0
    ref = LogisticRegression(tol=1e-10, max_iter=5000).fit(X, y)  # multinomial
    # the softmax is invariant to a shift shared by all classes; LogisticRegression's
    # penalty picks the centred one, as ours does
    np.testing.assert_allclose(multi.coef_, ref.coef_, atol=1e-4)


def test_explicit_alpha_is_used_as_given(iris):
    X, y = iris
    model = fit_quiet(LogLossClassifier(alpha=0.25, max_iter=3, random_state=0), X, y)
    assert model.alpha_ == 0.25 and model.alpha == 0.25


@pytest.mark.parametrize(("n", "rows"), [
    (1, 1), (150, 150), (200, 200),  # all rows: one exact step per epoch
    # >= 4 steps of <= 200 rows: ceil(n / 4) up to its bucket (8 per octave)
    (201, 52), (455, 120), (456, 120), (569, 144), (600, 160), (800, 200), (801, 200),
    (100_000, 200),
])
def test_auto_batch_rule(n, rows):
    assert batch_rows(None, n) == rows
    assert batch_rows(32, n) == min(32, n)


def test_auto_batch_takes_four_steps_in_few_sizes():
    """From 201 rows: ceil(n / 4) rows, at most 1/8 more, 4 steps or more; 17 sizes up to 800."""
    for n in range(201, 5000):
        rows, quarter = batch_rows(None, n), -(-n // 4)
        assert min(200, quarter) <= rows <= min(200, 1.125 * quarter)
        assert -(-n // rows) >= 4
    assert len({batch_rows(None, n) for n in range(201, 801)}) == 17


@pytest.mark.bitwise
def test_auto_batch_equals_the_explicit_size_bit_for_bit(binary):
    X, y = binary  # 600 rows: "auto" is 160 rows, four steps per epoch
    auto = fit_quiet(LogLossClassifier(max_iter=5, random_state=0), X, y)
    explicit = fit_quiet(LogLossClassifier(max_iter=5, batch_size=160, random_state=0), X, y)
    np.testing.assert_array_equal(auto.coef_, explicit.coef_)
    other = fit_quiet(LogLossClassifier(max_iter=5, batch_size=200, random_state=0), X, y)
    assert not np.array_equal(auto.coef_, other.coef_)


def mlp_stop_epoch(curve, tol, n_iter_no_change):
    """MLPClassifier's rule on a loss curve, in NumPy: the epoch (1-based) training stops at."""
    best, stalls = np.inf, 0
    for epoch, loss in enumerate(curve, 1):
        stalls = stalls + 1 if loss > best - tol else 0
        best = min(best, loss)
        if stalls > n_iter_no_change:
            return epoch
    return None


@pytest.mark.parametrize("loss", ["sigmoid", "softmax"])
def test_tol_is_taken_on_the_loss_summed_over_the_logits(iris, loss):
    """With 3 classes the sigmoid loss is a mean of 3 terms: its stall threshold is tol / 3."""
    X, y = iris
    tol = 3e-3
    model = LogLossClassifier(loss=loss, tol=tol, learning_rate_schedule="constant",
                              n_iter_no_change=5, max_iter=1000, random_state=0).fit(X, y)
    per_row = 3 if loss == "sigmoid" else 1
    assert model.n_iter_ < 1000
    assert mlp_stop_epoch(model.loss_curve_, tol / per_row, 5) == model.n_iter_
    if loss == "sigmoid":  # the unscaled threshold would have stopped earlier
        assert mlp_stop_epoch(model.loss_curve_, tol, 5) < model.n_iter_


@pytest.mark.parametrize("data", [load_breast_cancer, load_iris, load_wine])
@pytest.mark.parametrize("loss", ["sigmoid", "softmax"])
def test_defaults_reach_logistic_regressions_cv_log_loss(data, loss):
    """Issue 14's target on the shipped data sets: within 1.10x of the same model's exact fit."""
    X, y = data(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    ref = LogisticRegression() if loss == "softmax" else OneVsRestClassifier(LogisticRegression())
    ours = -cross_val_score(make_pipeline(StandardScaler(), LogLossClassifier(
        loss=loss, random_state=0)), X, y, cv=cv, scoring="neg_log_loss").mean()
    exact = -cross_val_score(make_pipeline(StandardScaler(), ref), X, y, cv=cv,
                             scoring="neg_log_loss").mean()
    assert ours <= 1.10 * exact
    # and the old defaults (MLPClassifier's alpha, a constant 0.01, 200 epochs) do not,
    # except on breast cancer, whose 455 rows got 3 steps per epoch
    n_classes = len(np.unique(y))
    per_row = n_classes if loss == "sigmoid" and n_classes > 2 else 1  # the old tol's scale
    old = LogLossClassifier(loss=loss, alpha=1e-4, learning_rate=0.01, max_iter=200,
                            learning_rate_schedule="constant", batch_size=200,
                            tol=1e-4 * per_row, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        before = -cross_val_score(make_pipeline(StandardScaler(), old), X, y, cv=cv,
                                  scoring="neg_log_loss").mean()
    if data is not load_breast_cancer:
        assert before > 1.10 * exact


def _moons():
    from sklearn.datasets import make_moons

    X, y = make_moons(600, noise=0.3, random_state=0)
    return np.hstack([X, np.random.default_rng(0).normal(size=(600, 8))]), y


@pytest.mark.parametrize("data", [load_breast_cancer, load_wine, _moons])
@pytest.mark.parametrize("loss", ["sigmoid", "softmax"])
def test_network_defaults_reach_mlp_classifiers_cv_log_loss(data, loss):
    """Issue 24 on a few sets: a network at its defaults within 1.10x of MLPClassifier's."""
    from sklearn.neural_network import MLPClassifier

    X, y = data() if data is _moons else data(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    ours = -cross_val_score(make_pipeline(StandardScaler(), LogLossClassifier(
        hidden_layer_sizes=(100,), loss=loss, random_state=0)), X, y, cv=cv,
        scoring="neg_log_loss").mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = -cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(100,), random_state=0)), X, y, cv=cv,
            scoring="neg_log_loss").mean()
    assert ours <= 1.10 * mlp


def test_network_auto_values():
    """What "auto" resolves to: the linear model's issue-14 values, a network's issue-24 ones."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    linear = fit_quiet(LogLossClassifier(max_iter=3, random_state=0), X, y)
    assert linear.alpha_ == 1 / 3 and linear.validation_scores_ is None
    assert linear.learning_rate_curve_[0] == np.float32(0.1)
    net = fit_quiet(LogLossClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0), X, y)
    assert net.alpha_ == pytest.approx(3 / (3 ** (2 / 3) * 3))  # sigmoid: 3 logits averaged
    assert len(net.validation_scores_) == 3  # early stopping
    assert net.learning_rate_curve_[0] == np.float32(0.003)
    soft = fit_quiet(LogLossClassifier(hidden_layer_sizes=(5,), loss="softmax", max_iter=3,
                                       random_state=0), X, y)
    assert soft.alpha_ == pytest.approx(3 / 3 ** (2 / 3))
    assert soft.learning_rate_curve_[0] == np.float32(0.002)  # a softmax output's rate
    binary = y < 2  # softmax on 2 classes fits the sigmoid's model, at its rate
    soft2 = fit_quiet(LogLossClassifier(hidden_layer_sizes=(5,), loss="softmax", max_iter=3,
                                        random_state=0), X[binary], y[binary])
    assert soft2.learning_rate_curve_[0] == np.float32(0.003) and soft2.alpha_ == 3.0
    explicit = fit_quiet(LogLossClassifier(hidden_layer_sizes=(5,), learning_rate=0.003,
                                           early_stopping=True, n_iter_no_change=20,
                                           alpha=net.alpha_, max_iter=3,
                                           random_state=0), X, y)
    np.testing.assert_array_equal(explicit.coefs_[0], net.coefs_[0])
    assert LogLossClassifier().get_params()["learning_rate"] == "auto"


def test_network_patience_auto_stops_as_20():
    """A network's "auto" patience is 20 epochs: a run long enough for it to stop fits
    bitwise as n_iter_no_change=20 does, and stops before max_iter (255 epochs here;
    30 epochs' patience runs 315)."""
    X, y = make_classification(300, 10, n_informative=5, flip_y=0.2, random_state=0)
    auto = fit_quiet(LogLossClassifier(hidden_layer_sizes=(5,), random_state=0), X, y)
    twenty = fit_quiet(LogLossClassifier(hidden_layer_sizes=(5,), n_iter_no_change=20,
                                         random_state=0), X, y)
    assert auto.n_iter_ < auto.max_iter and auto.n_iter_ == twenty.n_iter_
    np.testing.assert_array_equal(auto.coefs_[0], twenty.coefs_[0])
    assert LogLossClassifier(n_iter_no_change=np.inf)._patience() == np.iinfo(np.int32).max


def test_average_weights_auto_and_its_scope():
    """"auto" averages a network's early stopping, not a linear model's; without early
    stopping the setting changes no bit."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)

    def coefs(**params):
        return fit_quiet(LogLossClassifier(max_iter=20, random_state=0, **params), X, y).coefs_

    def same(a, b):
        return all(np.array_equal(u, v) for u, v in zip(a, b))

    net = {"hidden_layer_sizes": (5,)}
    assert same(coefs(**net), coefs(**net, average_weights=True))
    assert not same(coefs(**net), coefs(**net, average_weights=False))
    assert same(coefs(**net, early_stopping=False, average_weights=True),
                coefs(**net, early_stopping=False, average_weights=False))
    assert same(coefs(), coefs(average_weights=False))
    assert same(coefs(early_stopping=True), coefs(early_stopping=True, average_weights=False))
    assert not same(coefs(early_stopping=True),
                    coefs(early_stopping=True, average_weights=True))


def test_auto_early_stopping_needs_ten_held_out_rows():
    """A network stops early by default only with 10 rows or more to hold out; a search whose
    folds straddle that fits them one by one, as GridSearchCV does (equal scores)."""
    from sklearn.model_selection import GridSearchCV

    from sk_logloss import LogLossClassifierCV

    X, y = make_classification(124, 5, random_state=0)
    net = {"hidden_layer_sizes": (4,), "max_iter": 5, "random_state": 0}
    assert fit_quiet(LogLossClassifier(**net), X[:99], y[:99]).validation_scores_ is None
    assert len(fit_quiet(LogLossClassifier(**net), X[:100], y[:100]).validation_scores_) == 5
    cv = StratifiedKFold(5, shuffle=True, random_state=0)  # training folds of 99 and 100 rows
    assert {len(train) for train, _ in cv.split(X, y)} == {99, 100}
    ours = fit_quiet(LogLossClassifierCV(learning_rates=[0.01, 0.1], cv=cv, **net), X, y)
    grid = fit_quiet(GridSearchCV(LogLossClassifier(**net), {"learning_rate": [0.01, 0.1]},
                                  cv=cv, scoring="neg_log_loss"), X, y)
    for k in range(5):
        np.testing.assert_allclose(ours.cv_results_[f"split{k}_test_score"],
                                   grid.cv_results_[f"split{k}_test_score"], rtol=1e-12)
    assert len(ours.best_estimator_.validation_scores_) == 5  # the refit: 124 rows
