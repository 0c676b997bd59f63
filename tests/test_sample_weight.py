"""Sample and class weights count against the whole data at every batch size, as in L-BFGS."""


import numpy as np
import pytest
from conftest import fit_quiet
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier
from sk_logloss._network import objective

ALPHA = 0.05  # strongly convex enough for a few hundred epochs to reach the optimum

# Adam with learning_rate / sqrt(epoch + 1): the minibatch noise shrinks with the
# rate, so the iterate ends near the optimum; the full batch (120 rows) is plain
# deterministic descent and gets more epochs. Each fit takes under a second.
BATCHES = [(1, 300), (7, 1000), ("auto", 10000)]

# Measured on this data: the weighted fits end 0.016 (batch 1), 0.021 (batch 7)
# and 3e-8 (full batch) from the L-BFGS coefficients, with objective gaps of
# 5e-5, 4e-5 and 0; with class_weight, 0.010-0.023 from LogisticRegression's.
# The unweighted optimum lies 1.1 away and 0.099 above in objective. COEF_TOL
# allows 2x the worst measured minibatch noise and stays 20x below what
# ignoring the weights costs; GAP_TOL likewise (10x the noise, 200x below).
COEF_TOL, GAP_TOL = 0.05, 5e-4


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0,
                               random_state=0)
    X = StandardScaler().fit_transform(X)
    w = np.random.default_rng(0).uniform(0.1, 3, len(y)) * np.where(y == 1, 3.0, 1.0)
    return X, y, w


def stochastic(batch_size, max_iter, **params):
    return LogLossClassifier(
        learning_rate=0.05, learning_rate_schedule="invscaling", batch_size=batch_size,
        alpha=ALPHA, max_iter=max_iter, n_iter_no_change=np.inf, random_state=0, **params,
    )


def distance(a, b):
    return max(np.abs(a.coef_ - b.coef_).max(), np.abs(a.intercept_ - b.intercept_).max())


@pytest.mark.parametrize("batch_size, max_iter", BATCHES)
def test_weighted_fit_reaches_the_weighted_lbfgs_solution(data, batch_size, max_iter):
    X, y, w = data
    exact = LogLossClassifier(optimizer="lbfgs", alpha=ALPHA, tol=1e-10).fit(X, y, sample_weight=w)
    unweighted = LogLossClassifier(optimizer="lbfgs", alpha=ALPHA, tol=1e-10).fit(X, y)
    model = fit_quiet(stochastic(batch_size, max_iter), X, y, sample_weight=w)

    def gap(m):
        return objective(X, y[:, None], w, m.coefs_, m.intercepts_, "relu", ALPHA) - exact.loss_

    assert distance(unweighted, exact) > 20 * COEF_TOL and gap(unweighted) > 100 * GAP_TOL
    assert distance(model, exact) < COEF_TOL
    # L-BFGS stops within its tol of the minimum, so a fit as good as it may land a few
    # ulps of the objective below it (seen at the floors on an AVX-512 Xeon: -5.6e-17)
    assert -8 * np.finfo(float).eps * exact.loss_ <= gap(model) < GAP_TOL


@pytest.mark.parametrize("batch_size, max_iter", BATCHES)
def test_class_weight_moves_the_boundary_as_logistic_regression(data, batch_size, max_iter):
    X, y, _ = data
    settings = {"none": None, "ten": {1: 10}}
    reference = {k: LogisticRegression(C=1 / ALPHA, class_weight=cw, tol=1e-10).fit(X, y)
                 for k, cw in settings.items()}
    fitted = {k: fit_quiet(stochastic(batch_size, max_iter, class_weight=cw), X, y)
              for k, cw in settings.items()}
    shift = reference["ten"].intercept_ - reference["none"].intercept_
    assert shift[0] > 1.0  # class 1 weighs ten times more: its region grows
    for k in settings:
        assert distance(fitted[k], reference[k]) < COEF_TOL
    np.testing.assert_allclose(
        fitted["ten"].intercept_ - fitted["none"].intercept_, shift, atol=2 * COEF_TOL
    )
    assert (fitted["ten"].predict(X) == 1).sum() > (fitted["none"].predict(X) == 1).sum()


def test_a_tiny_weight_does_not_inflate_the_l2_step(data):
    X, y, _ = data
    w = np.ones(len(y))
    w[0] = 1e-7
    settings = {"optimizer": "sgd", "batch_size": 1, "max_iter": 20, "random_state": 0}
    weighted = fit_quiet(LogLossClassifier(**settings), X, y, sample_weight=w)
    plain = fit_quiet(LogLossClassifier(**settings), X, y)
    # one row of 120 nearly removed: the model barely moves (it was 4.8e10 against 1.7)
    assert np.abs(weighted.coef_).max() < 2 * np.abs(plain.coef_).max()
    assert distance(weighted, plain) < 0.5


@pytest.mark.bitwise
def test_scaling_every_weight_is_equivalent_to_scaling_alpha(data):
    # the objective is (sum w l + 0.5 alpha |W|^2) / sum w, as LogisticRegression
    # with C = 1 / alpha: weights times c equal alpha divided by c
    X, y, w = data
    a = fit_quiet(stochastic(7, 50), X, y, sample_weight=3 * w)
    b = fit_quiet(stochastic(7, 50).set_params(alpha=ALPHA / 3), X, y, sample_weight=w)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12)
