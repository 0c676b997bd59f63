"""LogLossClassifierCV against GridSearchCV(LogLossClassifier) on the same folds and grid."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import config_context
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, log_loss
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier, LogLossClassifierCV
from sk_logloss._engine.types import SWEEP_EPOCHS_PER_CALL

RATES = [0.003, 0.03, 0.3]
# measured: every split score within 3.1e-14 of GridSearchCV's (float64). The
# candidates run a plain fit's arithmetic in another summation order (einsum over
# the candidate axis), so the weights differ by rounding only; a looser bound
# would hide a candidate that stopped one epoch off.
TOL = 1e-10
TOL32 = 1e-6  # float32: measured 4.2e-9 (float32's epsilon is 1.2e-7)


def grid_search(X, y, params, cv=5, sample_weight=None, alphas=("auto",)):
    """GridSearchCV's search; sample weights reach both fit and scorer through metadata
    routing (scikit-learn 1.9 also forwards them to the scorer unasked, 1.6 does not)."""
    estimator = LogLossClassifier(random_state=0, **params)
    scoring = "neg_log_loss"
    with warnings.catch_warnings(), config_context(enable_metadata_routing=True):
        warnings.simplefilter("ignore", ConvergenceWarning)
        if sample_weight is not None:
            estimator.set_fit_request(sample_weight=True)
            scoring = get_scorer("neg_log_loss").set_score_request(sample_weight=True)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        return GridSearchCV(estimator, {"learning_rate": RATES, "alpha": list(alphas)}, cv=cv,
                            scoring=scoring).fit(X, y, **kwargs)


def assert_same_search(ours, ref, X):
    tol = TOL32 if ours.coefs_[0].dtype == np.float32 else TOL
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
    # the refit is a plain fit, or trained in the sweep as one more fold (to rounding)
    np.testing.assert_allclose(ours.predict_proba(X), ref.best_estimator_.predict_proba(X),
                               rtol=0, atol=tol)
    assert set(ref.cv_results_) <= set(ours.cv_results_) | {"param_alpha", "param_learning_rate"}


CONFIGS = {
    "binary": ("cancer", {}),
    "softmax, early stopping": ("iris", {"loss": "softmax", "early_stopping": True}),
    "hidden, balanced": ("iris", {"hidden_layer_sizes": (5,), "class_weight": "balanced"}),
    "momentum sgd, cosine": ("iris", {"optimizer": "sgd", "learning_rate_schedule": "cosine",
                                      "optimizer_params": {"momentum": 0.9}}),
    "float32, fixed batch": ("small", {"batch_size": 16, "max_iter": 50}),
    "float32 training of float64 X": ("cancer", {"precision": "float32"}),
}


@pytest.mark.bitwise
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


REFIT_CONFIGS = {
    "adam": {},
    "momentum sgd, early stopping": {"optimizer": "sgd", "early_stopping": True,
                                     "optimizer_params": {"momentum": 0.9}},
    "hidden, balanced, adaptive decays": {"hidden_layer_sizes": (4,), "class_weight": "balanced",
                                          "n_iter_no_change": 3},
}


@pytest.mark.bitwise
@pytest.mark.parametrize("name", list(REFIT_CONFIGS))
def test_a_refit_trained_in_the_sweep_is_the_plain_fit(cancer, name, monkeypatch):
    """Breast cancer: all 569 rows take 4 steps per epoch, as the 455-row folds do, so
    every grid point's refit trains in the sweep as one more fold. The refitted model
    has a plain fit's whole state, to rounding: weights, curves, the objective, the
    adaptive decay reached, the optimizer state (partial_fit continues it alike)."""
    params = REFIT_CONFIGS[name]
    X, y = cancer
    plain_fits = []
    original = LogLossClassifier.fit
    monkeypatch.setattr(LogLossClassifier, "fit", lambda self, *a, **k: (
        plain_fits.append(1), original(self, *a, **k))[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = LogLossClassifierCV(learning_rates=RATES, random_state=0, **params).fit(X, y)
        assert not plain_fits
        plain = LogLossClassifier(random_state=0, **params, **ours.best_params_).fit(X, y)
    best = ours.best_estimator_
    for a, b in zip(best.coefs_ + best.intercepts_, plain.coefs_ + plain.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
    assert best.n_iter_ == plain.n_iter_ and best._optimizer_epochs == plain._optimizer_epochs
    for key in ("loss_curve_", "loss_", "best_loss_", "validation_scores_",
                "best_validation_score_", "alpha_", "_lr_scale"):
        a, b = getattr(best, key), getattr(plain, key)
        if b is None:
            assert a is None, key
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=TOL, err_msg=key)
    np.testing.assert_array_equal(best.learning_rate_curve_, plain.learning_rate_curve_)
    assert best._shuffle_seed == plain._shuffle_seed
    assert [np.shape(v) for v in best._optimizer_state] == [
        np.shape(v) for v in plain._optimizer_state]
    for a, b in zip(best._optimizer_state, plain._optimizer_state):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=TOL)
    assert ours.n_iter_ == plain.n_iter_
    if params.get("class_weight") != "balanced":  # which has no partial_fit
        best.partial_fit(X, y)
        plain.partial_fit(X, y)
        np.testing.assert_allclose(best.coefs_[0], plain.coefs_[0], rtol=0, atol=TOL)


@pytest.mark.bitwise
def test_the_refit_is_a_plain_fit_when_all_rows_take_other_steps(binary):
    """230 rows take 4 steps of 58 rows, the 184-row folds one full-batch step: the
    refit cannot share their run, and is a plain fit, bit for bit."""
    X, y = binary
    X, y = X[:230], y[:230]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = LogLossClassifierCV(learning_rates=RATES, random_state=0).fit(X, y)
        plain = LogLossClassifier(random_state=0, **ours.best_params_).fit(X, y)
    np.testing.assert_array_equal(ours.coef_, plain.coef_)
    np.testing.assert_array_equal(ours.loss_curve_, plain.loss_curve_)


@pytest.mark.bitwise
def test_a_candidate_that_diverges_under_early_stopping_scores_as_its_plain_fit(cancer):
    """A deep linear network at learning rate 100 overflows in epoch 16 or 17 of each fold;
    its best validation weights are kept, in the sweep as in the plain fit (a diverged
    epoch's score never becomes the best), so its split scores equal GridSearchCV's."""
    X, y = cancer
    params = {"hidden_layer_sizes": (8,), "activation": "identity", "optimizer": "sgd",
              "optimizer_params": {"momentum": 0.9}, "max_iter": 20}
    rates = [1e-3, 1e-2, 100.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = LogLossClassifierCV(learning_rates=rates, cv=3, random_state=0, **params).fit(X, y)
        ref = GridSearchCV(LogLossClassifier(random_state=0, **params), {"learning_rate": rates},
                           cv=3, scoring="neg_log_loss").fit(X, y)
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_allclose(ours.cv_results_[key], ref.cv_results_[key], rtol=0, atol=TOL)
    assert ours.cv_results_["rank_test_score"][-1] == 3 == ref.cv_results_["rank_test_score"][-1]


def test_sample_weight_and_two_alphas(binary):
    X, y = binary
    w = np.random.default_rng(0).integers(0, 3, len(y)).astype(float)
    ours = LogLossClassifierCV(learning_rates=RATES, alphas=[1e-3, "auto"], random_state=0)
    ours.fit(X, y, sample_weight=w)
    ref = grid_search(X, y, {}, sample_weight=w, alphas=[1e-3, "auto"])
    assert_same_search(ours, ref, X)
    assert len(ours.cv_results_["params"]) == 6


def test_class_weights_weight_the_scores():
    """With a class_weight, each candidate is scored on the class-weighted log loss it was
    trained on: GridSearchCV with that scorer is the reference. Unweighted scores pick
    another candidate here (0.03 against 0.003)."""
    X, y = make_classification(300, 5, weights=[0.85], flip_y=0.1, random_state=0)
    X = StandardScaler().fit_transform(X)
    cw = {0: 1.0, 1: 6.0}
    ours = LogLossClassifierCV(learning_rates=RATES, class_weight=cw, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)

    def weighted(estimator, X_test, y_test):
        w = np.where(y_test == 1, cw[1], cw[0])
        return -log_loss(y_test, estimator.predict_proba(X_test), sample_weight=w)

    for scoring, same in ((weighted, True), ("neg_log_loss", False)):
        ref = GridSearchCV(LogLossClassifier(random_state=0, class_weight=cw),
                           {"learning_rate": RATES, "alpha": ["auto"]}, scoring=scoring)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref.fit(X, y)
        if same:
            assert_same_search(ours, ref, X)
        else:
            assert ref.best_index_ != ours.best_index_


def test_multilabel_uses_kfold():
    X, Y = make_multilabel_classification(n_samples=200, n_features=8, n_classes=3,
                                          random_state=0)
    X = StandardScaler().fit_transform(X)
    ours = LogLossClassifierCV(learning_rates=RATES, cv=KFold(4), random_state=0).fit(X, Y)
    assert_same_search(ours, grid_search(X, Y, {}, cv=KFold(4)), X)


def test_groups_reach_the_splitter_as_in_grid_search(binary):
    """fit passes groups to the cv splitter, as GridSearchCV.fit does: GroupKFold's folds,
    and the scores GridSearchCV gets on them. A missing or mis-sized groups is refused."""
    X, y = binary
    groups = np.arange(len(y)) % 7
    cv = GroupKFold(3)
    ours = LogLossClassifierCV(learning_rates=RATES, cv=cv, random_state=0)
    ours.fit(X, y, groups=groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = GridSearchCV(LogLossClassifier(random_state=0),
                           {"learning_rate": RATES, "alpha": ["auto"]}, cv=cv,
                           scoring="neg_log_loss").fit(X, y, groups=groups)
    assert_same_search(ours, ref, X)
    with pytest.raises(ValueError, match="groups"):
        LogLossClassifierCV(learning_rates=RATES, cv=cv).fit(X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LogLossClassifierCV(learning_rates=RATES, cv=cv).fit(X, y, groups=groups[:-1])


def test_groups_routed_to_a_nested_search(binary):
    """With metadata routing, an outer cross_validate hands each training set's groups to
    the search's own GroupKFold once the search requests them."""
    X, y = binary
    groups = np.arange(len(y)) % 7
    seen = []

    class Spy(GroupKFold):
        def split(self, X, y=None, groups=None):
            seen.append(np.unique(groups))
            return super().split(X, y, groups)

    with config_context(enable_metadata_routing=True):
        search = LogLossClassifierCV(learning_rates=[0.1], cv=Spy(2), random_state=0)
        cross_validate(search.set_fit_request(groups=True), X, y, cv=GroupKFold(7),
                       params={"groups": groups})
    # each outer training set holds six of the seven groups, and the search split by them
    assert [len(g) for g in seen] == [6] * 7


@pytest.mark.bitwise
@pytest.mark.parametrize("kind", ["lbfgs", "sparse, one by one", "sparse, swept dense"])
def test_sparse_and_lbfgs_paths_equal_grid_search(small, kind, monkeypatch):
    """L-BFGS and a large sparse X fit candidates one by one; a small sparse X is swept
    from one dense copy (GridSearchCV's fits stay sparse: equal to rounding)."""
    import sk_logloss._classifier_cv as module

    X, y = small
    params = {"optimizer": "lbfgs"} if kind == "lbfgs" else {"max_iter": 30}
    if kind.startswith("sparse"):
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    if kind == "sparse, one by one":  # as if X's dense copy were too large
        monkeypatch.setattr(module, "SWEEP_DENSE_MAX", 0)
    swept, original = [], module.LogLossClassifierCV._fit_swept

    def fit_swept(self, *args):
        swept.append(True)
        return original(self, *args)

    monkeypatch.setattr(module.LogLossClassifierCV, "_fit_swept", fit_swept)
    ours = LogLossClassifierCV(learning_rates=RATES, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
    assert bool(swept) == (kind == "sparse, swept dense")
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
    np.testing.assert_allclose(search.coef_, best.coef_, rtol=0, atol=TOL)
    assert search.alpha_ == best.alpha_ == 1.0
    assert search.n_iter_ == best.n_iter_ and search.classes_.tolist() == [0, 1]


def test_pandas_string_labels_and_weights_routed_through_a_pipeline(cancer):
    """A DataFrame with string labels, sample_weight routed by metadata routing through a
    Pipeline: the same search as on the arrays, with feature names and string predictions."""
    import pandas as pd

    X, y = cancer
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = np.array(["benign", "malignant"])[y]
    w = np.random.default_rng(0).integers(1, 4, len(y)).astype(float)
    with config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = LogLossClassifierCV(learning_rates=RATES, random_state=0)
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False),
                             search.set_fit_request(sample_weight=True))
        pipe.fit(frame, labels, sample_weight=w)
        alone = LogLossClassifierCV(learning_rates=RATES, random_state=0).fit(
            StandardScaler().fit_transform(X), y, sample_weight=w)
    for k in range(5):  # a DataFrame's scaled copy may sum in another order
        np.testing.assert_allclose(search.cv_results_[f"split{k}_test_score"],
                                   alone.cv_results_[f"split{k}_test_score"], rtol=0, atol=TOL)
    assert search.classes_.tolist() == ["benign", "malignant"]
    np.testing.assert_array_equal(pipe.predict(frame), np.array(["benign", "malignant"])[
        alone.predict(StandardScaler().fit_transform(X))])
    assert list(pipe[0].feature_names_in_) == list(frame.columns)


def test_a_scorer_without_sample_weight_still_scores(binary):
    """Weights reach the scorer only when its metric takes them, as in GridSearchCV."""
    X, y = binary
    w = np.random.default_rng(0).integers(1, 3, len(y)).astype(float)

    def accuracy(estimator, X, y):
        return float(np.mean(estimator.predict(X) == y))

    ours = LogLossClassifierCV(learning_rates=RATES, scoring=accuracy, random_state=0)
    ours.fit(X, y, sample_weight=w)
    ref = LogLossClassifierCV(learning_rates=RATES, scoring="accuracy", random_state=0)
    ref.fit(X, y, sample_weight=np.ones(len(y)) * 2)  # the metric, weights of one value
    assert 0.8 < ours.best_score_ <= 1.0
    assert ref.best_score_ > 0.8


def test_pickle_loads_and_predicts_without_tensorflow(tmp_path, cancer):
    import pickle
    import subprocess
    import sys

    X, y = cancer
    model = LogLossClassifierCV(learning_rates=2, cv=3, random_state=0).fit(X, y)
    path = tmp_path / "cv.pkl"
    path.write_bytes(pickle.dumps(model))
    np.save(tmp_path / "X.npy", X[:5])
    code = (f"import pickle, sys, numpy as np; m = pickle.load(open({str(path)!r}, 'rb')); "
            f"p = m.predict_proba(np.load({str(tmp_path / 'X.npy')!r})); "
            "print(p.shape, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "(5, 2) False"
    np.testing.assert_array_equal(pickle.loads(path.read_bytes()).predict_proba(X[:5]),
                                  model.predict_proba(X[:5]))


def test_verbose_reports_the_sweep(small, capsys):
    X, y = small
    LogLossClassifierCV(learning_rates=2, cv=3, verbose=1, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("sweep:")]
    # it ends when no candidate is training, or at max_iter
    assert lines and (lines[-1].endswith(" 0 candidates still training")
                      or lines[-1].startswith("sweep: 1000 epochs,"))
    # one line per call of SWEEP_EPOCHS_PER_CALL epochs
    assert len(lines) == -(-int(lines[-1].split()[1]) // SWEEP_EPOCHS_PER_CALL)


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_default_score_is_the_neg_log_loss_scorers_to_the_bit(classes, weighted):
    """The sweep scores its candidates without the scorer's checks: the same bits as
    scikit-learn's neg_log_loss scorer, string labels, a confident model (clipping)."""
    from sk_logloss._classifier_cv import _neg_log_loss

    X, y = make_classification(300, 6, n_informative=4, n_classes=classes, random_state=0)
    labels = np.array(["ant", "bee", "cat"])[y]
    model = LogLossClassifier(random_state=0).fit(X, labels)
    X = X * np.where(np.arange(300) % 2, 1.0, 100.0)[:, None]  # large logits: some clip
    assert np.min(model.predict_proba(X)) < np.finfo(float).eps
    w = np.random.default_rng(0).random(300) if weighted else None
    scorer = get_scorer("neg_log_loss")
    ref = scorer(model, X, labels, **({} if w is None else {"sample_weight": w}))
    assert _neg_log_loss(model, X, labels, w) == ref
    assert _neg_log_loss(model, X, labels[:, None], w) == ref  # y as a column


def test_float32_sweep_refuses_weights_beyond_its_range(cancer):
    """The sweep's weights train in its precision, as a plain fit's: a weight that float32
    cannot hold is refused, not trained on as infinity."""
    X, y = cancer
    w = np.ones(len(y))
    w[0] = 1e39
    with pytest.raises(ValueError, match="sample_weight has values beyond float32's range"):
        LogLossClassifierCV(learning_rates=2, cv=3, precision="float32").fit(X, y,
                                                                            sample_weight=w)


def test_a_long_sweep_of_float64_x_trains_its_candidates_in_float32_and_refits_in_float64(
        cancer, monkeypatch):
    """precision="auto": a sweep long enough (FLOAT32_SWEEP_WORK, lowered here) trains a
    float64 X's candidates as precision="float32" does, so its scores are GridSearchCV's
    over LogLossClassifier(precision="float32"); the refit is LogLossClassifier()'s own
    float64 fit of the best grid point, bit for bit. A short sweep keeps float64."""
    from sk_logloss import _classifier_cv

    X, y = cancer
    short = LogLossClassifierCV(learning_rates=RATES, random_state=0).fit(X, y)
    assert_same_search(short, grid_search(X, y, {}), X)
    monkeypatch.setattr(_classifier_cv, "FLOAT32_SWEEP_WORK", 0)
    auto = LogLossClassifierCV(learning_rates=RATES, random_state=0).fit(X, y)
    ref32 = grid_search(X, y, {"precision": "float32"})
    for k in range(auto.n_splits_):
        key = f"split{k}_test_score"
        np.testing.assert_allclose(auto.cv_results_[key], ref32.cv_results_[key], rtol=0,
                                   atol=TOL32)
        assert np.abs(auto.cv_results_[key] - short.cv_results_[key]).max() > 1e-9  # not float64's
    assert auto.best_index_ == ref32.best_index_
    assert auto.coefs_[0].dtype == np.float64
    plain = LogLossClassifier(random_state=0, **auto.best_params_).fit(X, y)
    for ours, theirs in zip(auto.coefs_ + auto.intercepts_, plain.coefs_ + plain.intercepts_):
        np.testing.assert_array_equal(ours, theirs)


def test_a_long_sweep_beyond_float32s_range_keeps_float64_under_auto(cancer, monkeypatch):
    """precision="auto" trains a long sweep in float32 only where X and the weights fit:
    a weight beyond float32's range keeps float64 (no error, unlike precision="float32")."""
    from sk_logloss import _classifier_cv

    X, y = cancer
    w = np.ones(len(y))
    w[0] = 1e39
    monkeypatch.setattr(_classifier_cv, "FLOAT32_SWEEP_WORK", 0)
    search = {"learning_rates": 2, "cv": 3, "max_iter": 20, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        auto = LogLossClassifierCV(**search).fit(X, y, sample_weight=w)
        ref = LogLossClassifierCV(precision="float64", **search).fit(X, y, sample_weight=w)
    for k in range(3):
        np.testing.assert_array_equal(auto.cv_results_[f"split{k}_test_score"],
                                      ref.cv_results_[f"split{k}_test_score"])
