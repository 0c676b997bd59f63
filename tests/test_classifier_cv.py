"""LogLossClassifierCV against GridSearchCV(LogLossClassifier) on the same folds and grid."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier, LogLossClassifierCV

RATES = [0.003, 0.03, 0.3]
# measured: every split score within 3.1e-14 of GridSearchCV's (float64). The
# candidates run a plain fit's arithmetic in another summation order (einsum over
# the candidate axis), so the weights differ by rounding only; a looser bound
# would hide a candidate that stopped one epoch off.
TOL = 1e-10
TOL32 = 1e-6  # float32: measured 4.2e-9 (float32's epsilon is 1.2e-7)


def grid_search(X, y, params, cv=5, sample_weight=None, alphas=("auto",)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(LogLossClassifier(random_state=0, **params),
                            {"learning_rate": RATES, "alpha": list(alphas)}, cv=cv,
                            scoring="neg_log_loss").fit(X, y, sample_weight=sample_weight)


def assert_same_search(ours, ref, X):
    tol = TOL32 if X.dtype == np.float32 else TOL
    assert [dict(p) for p in ours.cv_results_["params"]] == [
        {k: (float(v) if k == "learning_rate" else v) for k, v in p.items()}
        for p in ref.cv_results_["params"]
    ]
    for k in range(ours.n_splits_):
        key = f"split{k}_test_score"
        np.testing.assert_allclose(ours.cv_results_[key], ref.cv_results_[key], rtol=0, atol=tol)
    np.testing.assert_array_equal(ours.cv_results_["rank_test_score"],
                                  ref.cv_results_["rank_test_score"])
    assert ours.best_index_ == ref.best_index_
    if ours.best_index_ == ref.best_index_:  # the refit is a plain fit: the same bits
        np.testing.assert_array_equal(ours.predict_proba(X),
                                      ref.best_estimator_.predict_proba(X))
    assert set(ref.cv_results_) <= set(ours.cv_results_) | {"param_alpha", "param_learning_rate"}


CONFIGS = {
    "binary": ("cancer", {}),
    "softmax, early stopping": ("iris", {"loss": "softmax", "early_stopping": True}),
    "hidden, balanced": ("iris", {"hidden_layer_sizes": (5,), "class_weight": "balanced"}),
    "momentum sgd, cosine": ("iris", {"optimizer": "sgd", "learning_rate_schedule": "cosine",
                                      "optimizer_params": {"momentum": 0.9}}),
    "float32, fixed batch": ("small", {"batch_size": 16, "max_iter": 50}),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_scores_equal_grid_search(name, request):
    data, params = CONFIGS[name]
    X, y = request.getfixturevalue(data)
    if name.startswith("float32"):
        X = X.astype(np.float32)
    ours = LogLossClassifierCV(learning_rates=RATES, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
    assert_same_search(ours, grid_search(X, y, params), X)


def test_sample_weight_and_two_alphas(binary):
    X, y = binary
    w = np.random.default_rng(0).integers(0, 3, len(y)).astype(float)
    ours = LogLossClassifierCV(learning_rates=RATES, alphas=[1e-3, "auto"], random_state=0)
    ours.fit(X, y, sample_weight=w)
    ref = grid_search(X, y, {}, sample_weight=w, alphas=[1e-3, "auto"])
    assert_same_search(ours, ref, X)
    assert len(ours.cv_results_["params"]) == 6


def test_multilabel_uses_kfold():
    X, Y = make_multilabel_classification(n_samples=200, n_features=8, n_classes=3,
                                          random_state=0)
    X = StandardScaler().fit_transform(X)
    ours = LogLossClassifierCV(learning_rates=RATES, cv=KFold(4), random_state=0).fit(X, Y)
    assert_same_search(ours, grid_search(X, Y, {}, cv=KFold(4)), X)


@pytest.mark.parametrize("kind", ["lbfgs", "sparse"])
def test_one_by_one_paths_equal_grid_search(small, kind):
    X, y = small
    params = {"optimizer": "lbfgs"} if kind == "lbfgs" else {"max_iter": 30}
    if kind == "sparse":
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    ours = LogLossClassifierCV(learning_rates=RATES, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
    assert_same_search(ours, grid_search(X, y, params), X)


@pytest.mark.parametrize("optimizer", ["lamb", "adafactor"])
def test_optimizers_with_whole_matrix_norms_are_refused(small, optimizer):
    X, y = small
    with pytest.raises(ValueError, match="adam, adamax"):
        LogLossClassifierCV(optimizer=optimizer, learning_rates=2).fit(X, y)


def test_in_a_pipeline_with_the_fitted_state_of_its_refit(cancer):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), LogLossClassifierCV(learning_rates=3, random_state=0))
    pipe.fit(X, y)
    search = pipe[-1]
    best = LogLossClassifier(random_state=0, learning_rate=search.learning_rate_).fit(
        StandardScaler().fit_transform(X), y)
    np.testing.assert_array_equal(search.coef_, best.coef_)
    assert search.alpha_ == best.alpha_ == 1.0
    assert search.n_iter_ == best.n_iter_ and search.classes_.tolist() == [0, 1]
