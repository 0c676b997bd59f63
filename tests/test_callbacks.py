"""scikit-learn's callback API (sklearn.callback, 1.9+): ScoringMonitor and ProgressBar on our estimators.

Each epoch's reported model is checked against an independent fit stopped at
that epoch, or against scikit-learn's metric on the final model; nesting is
checked in GridSearchCV and Pipeline as scikit-learn's own estimators nest.
"""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from conftest import fit_quiet
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier, LogLossClassifierCV
from sk_logloss._callbacks import AVAILABLE

needs_callbacks = pytest.mark.skipif(not AVAILABLE, reason="sklearn.callback needs 1.9+")


def monitor():
    from sklearn.callback import ScoringMonitor

    return ScoringMonitor(scoring="neg_log_loss")


def rows(log, task_name):
    return [r for r in log.data if r["task_name"] == task_name]


class Recorder:
    """A callback that records its hooks, and can raise or ask to stop at an epoch."""

    def __init__(self, raise_at=None, stop_at=None):
        self.raise_at, self.stop_at = raise_at, stop_at
        self.calls, self.epochs, self.fitted = [], 0, []

    def setup(self, estimator, context):
        self.calls.append("setup")

    def teardown(self, estimator, context):
        self.calls.append("teardown")

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch" or fitted_estimator is None:
            return False
        self.epochs += 1
        self.fitted.append(fitted_estimator)
        if self.epochs == self.raise_at:
            raise RuntimeError("callback failed")
        return self.epochs == self.stop_at


@pytest.mark.skipif(AVAILABLE, reason="scikit-learn 1.9+ has sklearn.callback")
def test_set_callbacks_names_the_version_needed():
    with pytest.raises(NotImplementedError, match=r"scikit-learn 1\.9.*" + sklearn.__version__):
        LogLossClassifier().set_callbacks(object())
    with pytest.raises(NotImplementedError, match="pip install 'scikit-learn>=1.9'"):
        LogLossClassifierCV().set_callbacks(object())


@needs_callbacks
@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_scoring_monitor_logs_each_epoch_of_the_fit(cancer, optimizer):
    X, y = cancer
    mon = monitor()
    clf = LogLossClassifier(optimizer=optimizer, random_state=0).set_callbacks(mon).fit(X, y)
    log = mon.get_logs()
    epochs = rows(log, "epoch")
    assert len(epochs) == clf.n_iter_
    assert [r["task_id"] for r in epochs] == list(range(clf.n_iter_))
    final = -log_loss(y, clf.predict_proba(X))
    np.testing.assert_allclose(epochs[-1]["neg_log_loss"], final, rtol=1e-12)
    np.testing.assert_allclose(rows(log, "fit")[0]["neg_log_loss"], final, rtol=1e-12)
    # training improves the score overall (Adam's epochs are not monotone one by one)
    assert epochs[-1]["neg_log_loss"] > epochs[0]["neg_log_loss"]


@needs_callbacks
def test_each_epochs_model_is_the_fit_stopped_there(small):
    X, y = small
    mon = monitor()
    kw = {"max_iter": 6, "learning_rate": 0.05, "random_state": 0}
    fit_quiet(LogLossClassifier(**kw).set_callbacks(mon), X, y)
    scores = [r["neg_log_loss"] for r in rows(mon.get_logs(), "epoch")]
    assert len(scores) == 6
    for k in range(1, 7):
        stopped = fit_quiet(LogLossClassifier(**{**kw, "max_iter": k}), X, y)
        np.testing.assert_allclose(scores[k - 1], -log_loss(y, stopped.predict_proba(X)),
                                   rtol=1e-10)


@needs_callbacks
@pytest.mark.bitwise
@pytest.mark.parametrize("params", [{}, {"optimizer": "lbfgs"}, {"hidden_layer_sizes": (5,)},
                                    {"early_stopping": True}])
def test_callbacks_change_no_bit_of_the_fit(cancer, params):
    X, y = cancer
    plain = fit_quiet(LogLossClassifier(random_state=0, **params), X, y)
    watched = fit_quiet(LogLossClassifier(random_state=0, **params).set_callbacks(monitor()),
                        X, y)
    for a, b in zip(plain.coefs_ + plain.intercepts_, watched.coefs_ + watched.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.loss_curve_, watched.loss_curve_)


@needs_callbacks
def test_early_stopping_scores_reach_callbacks(cancer):
    X, y = cancer
    rec = Recorder()
    clf = LogLossClassifier(early_stopping=True, random_state=0).set_callbacks(rec).fit(X, y)
    assert len(rec.fitted) == clf.n_iter_
    for k, model in enumerate(rec.fitted, start=1):
        assert model.n_iter_ == k
        assert model.validation_scores_ == clf.validation_scores_[:k]
        np.testing.assert_array_equal(model.loss_curve_, clf.loss_curve_[:k])


@needs_callbacks
def test_partial_fit_reports_one_epoch_per_call(iris):
    X, y = iris
    mon = monitor()
    clf = LogLossClassifier(learning_rate=0.05, random_state=0).set_callbacks(mon)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    runs = mon.get_logs(select="all")
    assert len(runs) == 3
    assert [len(rows(run, "epoch")) for run in runs] == [1, 1, 1]
    np.testing.assert_allclose(rows(runs[-1], "epoch")[0]["neg_log_loss"],
                               -log_loss(y, clf.predict_proba(X)), rtol=1e-12)


@needs_callbacks
def test_a_callback_can_stop_training(small):
    X, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a requested stop is no failure
        clf = LogLossClassifier(random_state=0).set_callbacks(Recorder(stop_at=3)).fit(X, y)
    assert clf.n_iter_ == 3
    stopped = fit_quiet(LogLossClassifier(random_state=0, max_iter=3), X, y)
    np.testing.assert_array_equal(clf.coefs_[0], stopped.coefs_[0])


@needs_callbacks
def test_a_failing_callback_leaves_the_estimator_as_it_was(small):
    X, y = small
    rec = Recorder(raise_at=3)
    clf = LogLossClassifier(random_state=0).set_callbacks(rec)
    with pytest.raises(RuntimeError, match="callback failed"):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "n_features_in_")
    assert rec.calls == ["setup", "teardown"]
    fitted = LogLossClassifier(random_state=0).fit(X, y)
    before = {k: v for k, v in fitted.__dict__.items()}
    rec = Recorder(raise_at=2)
    with pytest.raises(RuntimeError):
        fitted.set_callbacks(rec).fit(X[:60], y[:60])
    assert fitted.n_iter_ == before["n_iter_"]
    np.testing.assert_array_equal(fitted.coefs_[0], before["coefs_"][0])
    assert rec.calls == ["setup", "teardown"]


@needs_callbacks
def test_set_callbacks_refuses_a_non_callback():
    with pytest.raises(TypeError, match="FitCallback protocol"):
        LogLossClassifier().set_callbacks("progress")
    with pytest.raises(TypeError, match="FitCallback protocol"):
        LogLossClassifierCV().set_callbacks(Recorder)  # the class, not an instance


@needs_callbacks
def test_callbacks_survive_clone_and_pickle(small):
    X, y = small
    mon = monitor()
    clf = LogLossClassifier(random_state=0).set_callbacks(mon)
    assert clone(clf)._skl_callbacks[0] is mon
    restored = pickle.loads(pickle.dumps(clf))
    copy = restored._skl_callbacks[0]
    restored.fit(X, y)
    assert len(rows(copy.get_logs(), "epoch")) == restored.n_iter_


@needs_callbacks
def test_monitor_on_an_estimator_inside_grid_search_logs_every_fit(small):
    X, y = small
    mon = monitor()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(LogLossClassifier(random_state=0).set_callbacks(mon),
                          {"learning_rate": [0.03, 0.1]}, cv=cv).fit(X, y)
    log = mon.get_logs()  # one run: the search's, which every fit joined
    assert log.estimator_name == "GridSearchCV"
    fits = {}
    for r in rows(log, "epoch"):
        fits.setdefault(r["parent_task_id_path"], []).append(r)
    assert len(fits) == 2 * 3 + 1  # every candidate x fold, and the refit
    refit = fits[(0, 1)]  # the search's second task
    best = search.best_estimator_
    assert len(refit) == best.n_iter_
    np.testing.assert_allclose(refit[-1]["neg_log_loss"], -log_loss(y, best.predict_proba(X)),
                               rtol=1e-12)


@needs_callbacks
def test_monitor_inside_a_pipeline_scores_the_transformed_data(cancer):
    X, y = cancer
    X = X * 10 + 3  # not standardized: the pipeline's scaler matters
    mon = monitor()
    pipe = make_pipeline(StandardScaler(), LogLossClassifier(random_state=0).set_callbacks(mon))
    pipe.fit(X, y)
    epochs = rows(mon.get_logs(), "epoch")
    assert len(epochs) == pipe[-1].n_iter_
    np.testing.assert_allclose(epochs[-1]["neg_log_loss"], -log_loss(y, pipe.predict_proba(X)),
                               rtol=1e-12)


@needs_callbacks
def test_progress_bar_on_grid_search_reaches_our_epochs(small, capsys):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = small
    search = GridSearchCV(LogLossClassifier(random_state=0, max_iter=30),
                          {"learning_rate": [0.03, 0.1]}, cv=2)
    fit_quiet(search.set_callbacks(ProgressBar()), X, y)
    out = capsys.readouterr().out
    assert "candidate-split-evaluation | LogLossClassifier - fit" in out
    assert "refit-with-best-params | LogLossClassifier - fit" in out
    assert "100%" in out
    assert not any(f"{p}%" in out for p in range(10, 100))  # every bar completes


class Tasks:
    """A callback that records each task end: (its parent's name, its name, a model given)."""

    def setup(self, estimator, context):
        self.ends = []

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        parent = context.parent.task_name if context.parent is not None else None
        self.ends.append((parent, context.task_name, fitted_estimator is not None))


class PropagatedTasks(Tasks):
    """Tasks, propagated into the fits of a meta-estimator (as ProgressBar is)."""

    max_propagation_depth = None


@needs_callbacks
@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_cv_reports_its_sweep_candidates_and_refit(iris, optimizer):
    X, y = iris
    mon, tasks = monitor(), PropagatedTasks()
    kw = {"learning_rates": [0.03, 0.1], "cv": 3, "max_iter": 40, "optimizer": optimizer,
          "random_state": 0}
    plain = fit_quiet(LogLossClassifierCV(**kw), X, y)
    search = fit_quiet(LogLossClassifierCV(**kw).set_callbacks(mon, tasks), X, y)
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(plain.cv_results_[key], search.cv_results_[key])
    np.testing.assert_array_equal(plain.coefs_[0], search.coefs_[0])
    log = mon.get_logs()
    splits = list(StratifiedKFold(3).split(X, y))
    scorer = get_scorer("neg_log_loss")
    candidates = rows(log, "candidate-split-fit")
    assert sorted(r["task_id"] for r in candidates) == list(range(6))  # GridSearchCV's ids
    epochs = []  # each candidate's epochs, as its plain fit runs them
    for r in candidates:  # each scored on its training fold, as a plain fit there scores
        c, f = divmod(r["task_id"], 3)
        train = splits[f][0]
        model = fit_quiet(search._base(**search.cv_results_["params"][c]), X[train], y[train])
        np.testing.assert_allclose(r["neg_log_loss"], scorer(model, X[train], y[train]),
                                   rtol=1e-9)
        epochs.append(model.n_iter_)
    for name in ("refit-with-best-params", "fit"):  # the refit, and the fitted search
        np.testing.assert_allclose(rows(log, name)[0]["neg_log_loss"],
                                   -log_loss(y, search.predict_proba(X)), rtol=1e-12)
    sweep_epochs = [e for e in tasks.ends if e[0] == "sweep"]
    if optimizer == "adam":  # the batched run's epochs, until its last candidate stops
        for params in search.cv_results_["params"]:  # the refits train in the run too
            epochs.append(fit_quiet(search._base(**params), X, y).n_iter_)
        assert len(sweep_epochs) == max(epochs) + 1  # and the one begun after the last
        assert not any(model for _, _, model in sweep_epochs)
    else:  # plain fits one after another: each fit's iterations (and one begun after)
        assert not sweep_epochs
        fit_epochs = [e for e in tasks.ends if e[1] == "epoch"]
        assert len(fit_epochs) == sum(epochs) + 6 + search.n_iter_ + 1
        assert sum(model for _, _, model in fit_epochs) == sum(epochs) + search.n_iter_


@needs_callbacks
def test_progress_bar_shows_the_sweep(iris, capsys):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = iris
    fit_quiet(LogLossClassifierCV(learning_rates=[0.03, 0.1], cv=2, max_iter=30,
                                  random_state=0).set_callbacks(ProgressBar()), X, y)
    out = capsys.readouterr().out
    assert "LogLossClassifierCV - sweep" in out and "LogLossClassifierCV - candidates" in out
    assert "100%" in out and not any(f"{p}%" in out for p in range(10, 100))


@needs_callbacks
def test_cv_nested_in_a_pipeline_and_a_search(iris, capsys):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar

    X, y = iris
    X = X * 5 + 2
    mon = monitor()
    cv = LogLossClassifierCV(learning_rates=[0.03, 0.1], cv=2, max_iter=30, random_state=0)
    pipe = fit_quiet(make_pipeline(StandardScaler(), clone(cv).set_callbacks(mon)), X, y)
    log = mon.get_logs()
    assert len(rows(log, "candidate-split-fit")) == 4
    np.testing.assert_allclose(rows(log, "fit")[0]["neg_log_loss"],
                               -log_loss(y, pipe.predict_proba(X)), rtol=1e-12)
    search = GridSearchCV(make_pipeline(StandardScaler(), cv),
                          {"loglossclassifiercv__loss": ["sigmoid", "softmax"]}, cv=2)
    fit_quiet(search.set_callbacks(ProgressBar(max_propagation_depth=None)), X, y)
    out = capsys.readouterr().out
    assert "Pipeline - fit" in out and "LogLossClassifierCV - sweep" in out
    assert "100%" in out and not any(f"{p}%" in out for p in range(10, 100))


@needs_callbacks
def test_cv_sweep_in_two_runs_reports_every_epoch(binary):
    """Folds with different steps per epoch train in separate runs; the sweep's epoch tasks
    count the epochs of both (each run as long as its slowest candidate's plain fit)."""
    X, y = binary
    X, y = X[:215], y[:215]
    splits = [(np.arange(205), np.arange(205, 215)), (np.arange(190), np.arange(190, 215))]
    tasks = Tasks()
    # runs shorter than one call's 32 epochs: the second run's first call ends past the first's
    kw = {"max_iter": 60, "tol": 1e-2, "n_iter_no_change": 1, "random_state": 0}
    fit_quiet(LogLossClassifierCV(learning_rates=[0.03, 0.1], cv=splits, refit=False, **kw)
              .set_callbacks(tasks), X, y)
    runs = [max(fit_quiet(LogLossClassifier(learning_rate=r, **kw), X[train], y[train]).n_iter_
                for r in (0.03, 0.1)) for train, _ in splits]  # 4 and 1 steps per epoch
    assert runs[0] < runs[1] < 32
    sweep_epochs = [e for e in tasks.ends if e[0] == "sweep"]
    assert len(sweep_epochs) == sum(runs) + 1  # and the one begun after the last
