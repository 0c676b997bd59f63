"""Optimizers, schedules, early stopping, weights, warm starts, partial_fit, interrupts.

Each control is checked against an independent reference: a Keras optimizer
driven by hand, NumPy gradient descent, LogisticRegression, or a full fit.
"""

import contextlib
import os
import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from conftest import fit_quiet
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier
from sk_logloss._optimizers import KERAS_OPTIMIZERS


def numpy_gradient(W, b, X, y, w, alpha):
    """Gradient of sum(w * sigmoid_xent)/sum(w) + 0.5 * alpha * ||W||^2 / sum(w)."""
    p = expit(X @ W + b)[:, 0]
    r = w * (p - y) / w.sum()
    return X.T @ r[:, None] + alpha * W / w.sum(), np.array([r.sum()])


# -- optimizers ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KERAS_OPTIMIZERS))
def test_each_keras_optimizer_matches_the_same_optimizer_driven_by_hand(small, name):
    import keras
    import tensorflow as tf

    X, y = small
    params = {"sgd": {"momentum": 0.9, "nesterov": True}, "adam": {"beta_1": 0.8}}.get(name, {})
    model = fit_quiet(
        LogLossClassifier(
            optimizer=name, optimizer_params=params, learning_rate=0.05, batch_size=len(y),
            shuffle=False, max_iter=6, tol=0.0, alpha=0.0,
        ),
        X, y,
    )
    # reference: a fresh Keras optimizer stepping tf.Variables eagerly, from zeros
    W = tf.Variable(tf.zeros((X.shape[1], 1), tf.float64))
    b = tf.Variable(tf.zeros((1,), tf.float64))
    opt = getattr(keras.optimizers, KERAS_OPTIMIZERS[name])(learning_rate=0.05, **params)
    labels = tf.constant(y[:, None], tf.float64)
    for _ in range(6):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=X @ W + b)
            )
        opt.apply(tape.gradient(loss, [W, b]), [W, b])
    np.testing.assert_allclose(model.coefs_[0], W.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.intercepts_[0], b.numpy(), rtol=1e-9, atol=1e-12)


def test_unknown_optimizer_params_key_names_optimizer_and_valid_keys(small):
    X, y = small
    with pytest.raises(ValueError, match=r"'momentum' is not a parameter of optimizer='adam'.*beta_1"):
        LogLossClassifier(optimizer_params={"momentum": 0.9}).fit(X, y)
    with pytest.raises(ValueError, match="set learning_rate instead"):
        LogLossClassifier(optimizer="sgd", optimizer_params={"learning_rate": 1}).fit(X, y)
    with pytest.raises(ValueError, match=r"optimizer='lbfgs'.*maxcor"):
        LogLossClassifier(optimizer="lbfgs", optimizer_params={"beta_1": 0.9}).fit(X, y)


def test_grid_search_over_optimizer_learning_rate_and_params_in_pipeline(small):
    X, y = small
    pipe = make_pipeline(StandardScaler(), LogLossClassifier(max_iter=30, random_state=0))
    grid = [
        {"logloss" + "classifier__optimizer": ["sgd"],
         "logloss" + "classifier__optimizer_params": [None, {"momentum": 0.9, "nesterov": True}],
         "logloss" + "classifier__learning_rate": [0.01, 0.1]},
        {"logloss" + "classifier__optimizer": ["adam", "rmsprop"],
         "logloss" + "classifier__optimizer_params": [None, {"weight_decay": 1e-4}],
         "logloss" + "classifier__learning_rate": [0.01, 0.1]},
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=3, scoring="neg_log_loss").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 12 and np.isfinite(scores).all()
    # parameters were never changed by fit: the best candidate clones to the same params
    best = search.best_estimator_[-1]
    assert clone(best).get_params() == best.get_params()
    assert np.isfinite(search.predict_proba(X)).all()


# -- L-BFGS against LogisticRegression ----------------------------------------------


def test_lbfgs_reaches_logistic_regression_binary(cancer):
    X, y = cancer
    C = 0.5
    ours = LogLossClassifier(optimizer="lbfgs", alpha=1 / C, tol=1e-10, max_iter=2000).fit(X, y)
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=2000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)
    assert abs(log_loss(y, ours.predict_proba(X)) - log_loss(y, ref.predict_proba(X))) < 1e-6
    assert ours.coefs_[0].dtype == np.float64 and ours.learning_rate_curve_ is None


def test_lbfgs_reaches_one_vs_rest_logistic_regression_multiclass(iris):
    X, y = iris
    C, K = 2.0, 3
    ours = LogLossClassifier(optimizer="lbfgs", alpha=1 / (K * C), tol=1e-10, max_iter=5000)
    ours.fit(X.astype(np.float32), y)  # float32 input: L-BFGS still runs in float64
    ref = OneVsRestClassifier(LogisticRegression(C=C, tol=1e-10, max_iter=5000)).fit(X, y)
    ref_coef = np.vstack([e.coef_ for e in ref.estimators_])
    ref_intercept = np.hstack([e.intercept_ for e in ref.estimators_])
    np.testing.assert_allclose(ours.coef_, ref_coef, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref_intercept, atol=1e-4)
    assert abs(log_loss(y, ours.predict_proba(X)) - log_loss(y, ref.predict_proba(X))) < 1e-6


@pytest.mark.parametrize("class_weight", [{0: 3.0, 1: 0.5}, "balanced"])
def test_class_weight_and_sample_weight_match_logistic_regression(cancer, class_weight):
    X, y = cancer
    w = np.random.default_rng(0).uniform(0.2, 2.0, len(y))
    ours = LogLossClassifier(optimizer="lbfgs", alpha=1.0, tol=1e-10, max_iter=2000,
                             class_weight=class_weight).fit(X, y, sample_weight=w)
    if class_weight == "balanced":  # weighted class counts, as scikit-learn >= 1.7 weighs them
        counts = np.bincount(y, weights=w)  # (1.6 counted rows whatever their sample weights)
        class_weight = dict(enumerate(counts.sum() / (2 * counts)))
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=2000,
                             class_weight=class_weight).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)


def test_lbfgs_max_iter_warns_and_has_no_partial_fit(cancer):
    X, y = cancer
    model = LogLossClassifier(optimizer="lbfgs", max_iter=3)
    with pytest.warns(ConvergenceWarning, match="L-BFGS stopped after max_iter=3"):
        model.fit(X, y)
    assert model.n_iter_ == 3 == len(model.loss_curve_)
    assert not hasattr(model, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit") as excinfo:
        model.partial_fit(X, y)
    assert "stochastic optimizers" in str(excinfo.value.__cause__)


def test_lbfgs_stopped_by_maxfun_says_so(cancer):
    X, y = cancer
    model = LogLossClassifier(optimizer="lbfgs", optimizer_params={"maxfun": 5}, max_iter=100)
    with pytest.warns(ConvergenceWarning, match=r"maxfun=5 loss evaluations") as caught:
        model.fit(X, y)
    assert not any("max_iter=100 iterations" in str(w.message) for w in caught)
    assert model.n_iter_ < 100


@pytest.mark.bitwise
def test_integer_momentum_is_accepted_as_the_float(small):
    X, y = small
    settings = {"optimizer": "sgd", "max_iter": 5, "random_state": 0}
    as_int = fit_quiet(LogLossClassifier(**settings, optimizer_params={"momentum": 0}), X, y)
    as_float = fit_quiet(LogLossClassifier(**settings, optimizer_params={"momentum": 0.0}), X, y)
    np.testing.assert_array_equal(as_int.coef_, as_float.coef_)
    assert as_int.optimizer_params == {"momentum": 0}  # the parameter itself is untouched


def test_n_iter_no_change_inf_never_stops_on_stalls_as_in_mlp(small):
    from sklearn.neural_network import MLPClassifier

    X, y = small
    fit_quiet(MLPClassifier(n_iter_no_change=np.inf, max_iter=3), X, y)  # MLP accepts it
    with pytest.warns(ConvergenceWarning, match="max_iter=60"):
        model = LogLossClassifier(n_iter_no_change=np.inf, tol=1.0, max_iter=60,
                                  learning_rate_schedule="constant").fit(X, y)
    assert model.n_iter_ == 60  # tol=1.0 would stall from epoch 1 with any finite count
    stalls = LogLossClassifier(n_iter_no_change=10, tol=1.0, max_iter=60,
                               learning_rate_schedule="constant").fit(X, y)
    assert stalls.n_iter_ == 12  # epoch 1 improves on inf; 2 to 12 are 11 stalls > 10


# -- sample weights ------------------------------------------------------------------


def test_zero_sample_weight_equals_an_absent_row(small):
    X, y = small
    w = np.ones(len(y))
    w[::4] = 0
    params = {"batch_size": 1000, "shuffle": False, "max_iter": 40, "random_state": 0}
    weighted = fit_quiet(LogLossClassifier(**params), X, y, sample_weight=w)
    absent = fit_quiet(LogLossClassifier(**params), X[w > 0], y[w > 0])
    np.testing.assert_allclose(weighted.coefs_[0], absent.coefs_[0], rtol=1e-10, atol=1e-13)
    assert weighted.loss_ == pytest.approx(absent.loss_, rel=1e-12)


# -- schedules -------------------------------------------------------------------------


def test_invscaling_sgd_matches_numpy_gradient_descent(small):
    X, y = small
    lr, alpha, epochs = 0.5, 1e-2, 25
    model = fit_quiet(
        LogLossClassifier(
            optimizer="sgd", learning_rate=lr, learning_rate_schedule="invscaling",
            schedule_params={"power_t": 0.4}, batch_size=len(y), shuffle=False,
            max_iter=epochs, tol=0.0, alpha=alpha,
        ),
        X, y,
    )
    W, b, w = np.zeros((X.shape[1], 1)), np.zeros(1), np.ones(len(y))
    rates = lr / (np.arange(epochs) + 1.0) ** 0.4
    for rate in rates:
        gW, gb = numpy_gradient(W, b, X, y, w, alpha)
        W, b = W - np.float32(rate) * gW, b - np.float32(rate) * gb
    np.testing.assert_allclose(model.learning_rate_curve_, rates, rtol=1e-6)
    np.testing.assert_allclose(model.coefs_[0], W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.intercepts_[0], b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "name, params, formula",
    [
        ("exponential", {"decay_steps": 4, "decay_rate": 0.7}, lambda t: 0.7 ** (t / 4)),
        ("exponential", {"decay_steps": 4, "decay_rate": 0.7, "staircase": True},
         lambda t: 0.7 ** np.floor(t / 4)),
        ("cosine", {"alpha": 0.1},
         lambda t: 0.9 * 0.5 * (1 + np.cos(np.pi * np.minimum(t, 12) / 12)) + 0.1),
    ],
)
def test_keras_schedules_give_each_epoch_its_rate(small, name, params, formula):
    X, y = small
    model = fit_quiet(
        LogLossClassifier(learning_rate=0.02, learning_rate_schedule=name,
                          schedule_params=params, max_iter=12, tol=0.0, random_state=0),
        X, y,
    )
    np.testing.assert_allclose(model.learning_rate_curve_, 0.02 * formula(np.arange(12)),
                               rtol=1e-5)


def test_adaptive_schedule_follows_mlp_rule(small):
    X, y = small
    # a huge tol makes every epoch a stall, so the rule alone drives the rates
    model = fit_quiet(
        LogLossClassifier(learning_rate=0.1, learning_rate_schedule="adaptive",
                          schedule_params={"factor": 0.5, "min_learning_rate": 0.01},
                          tol=1e9, n_iter_no_change=2, max_iter=100, random_state=0),
        X, y,
    )
    expected, rate, count = [], 0.1, 0
    while True:  # MLPClassifier's no-improvement count and trigger_stopping, written out
        expected.append(rate)
        count += len(expected) > 1  # the first epoch improves on best_loss_ = inf
        if count > 2:
            if rate <= 0.01:
                break
            rate, count = rate * 0.5, 0
    np.testing.assert_allclose(model.learning_rate_curve_, expected, rtol=1e-6)
    assert model.n_iter_ == len(expected) < 100


def test_schedule_params_unknown_key_is_refused(small):
    X, y = small
    with pytest.raises(ValueError, match=r"'gamma' is not a parameter of.*'exponential'.*decay_rate"):
        LogLossClassifier(learning_rate_schedule="exponential",
                          schedule_params={"gamma": 2}).fit(X, y)


# -- early stopping ---------------------------------------------------------------------


@pytest.fixture
def split_masks(monkeypatch):
    """The validation masks that early stopping draws, recorded as fits run."""
    masks = []
    from sk_logloss._engine import early_stopping

    real_split = early_stopping.validation_split

    def spy(*args):
        masks.append(real_split(*args))
        return masks[-1]

    monkeypatch.setattr(early_stopping, "validation_split", spy)
    return masks


def test_early_stopping_restores_the_best_validation_weights(cancer, split_masks):
    X, y = cancer
    model = LogLossClassifier(early_stopping=True, validation_fraction=0.2, learning_rate=0.05,
                              n_iter_no_change=5, max_iter=500, random_state=0).fit(X, y)
    val = split_masks[0]
    # stratified: each class holds out about validation_fraction of its rows
    for c in (0, 1):
        assert abs(val[y == c].mean() - 0.2) < 0.02
    assert model.n_iter_ < 500 and len(model.validation_scores_) == model.n_iter_
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None
    # the kept weights are those of the best score: recompute it with NumPy
    p = model.predict_proba(X[val])[:, 1]
    yv = y[val]
    neg_xent = np.mean(yv * np.log(p) + (1 - yv) * np.log1p(-p))
    assert neg_xent == pytest.approx(model.best_validation_score_, rel=1e-9)
    best_epoch = int(np.argmax(model.validation_scores_))
    assert best_epoch < model.n_iter_ - 1


def test_early_stopping_keeps_duplicate_rows_on_one_side(cancer, split_masks):
    X, y = cancer
    Xd, yd = np.vstack([X, X[:100]]), np.hstack([y, y[:100]])
    LogLossClassifier(early_stopping=True, random_state=0).fit(Xd, yd)
    np.testing.assert_array_equal(split_masks[0][:100], split_masks[0][-100:])


# -- warm start and partial_fit ----------------------------------------------------------


@pytest.mark.bitwise
def test_warm_start_continues_from_the_previous_weights(small):
    X, y = small
    params = {"optimizer": "sgd", "learning_rate": 0.3, "batch_size": 1000, "shuffle": False,
              "tol": 0.0, "random_state": 0}
    warm = LogLossClassifier(warm_start=True, max_iter=7, **params)
    fit_quiet(warm, X, y)
    fit_quiet(warm, X, y)
    once = fit_quiet(LogLossClassifier(max_iter=14, **params), X, y)
    assert warm.n_iter_ == 14 and len(warm.loss_curve_) == 14
    np.testing.assert_allclose(warm.coefs_[0], once.coefs_[0], rtol=1e-12)
    np.testing.assert_allclose(warm.loss_curve_, once.loss_curve_, rtol=1e-12)


def test_warm_start_with_early_stopping_keeps_each_fits_best(cancer, split_masks):
    """The second fit keeps its own best epoch, and says which score that was."""
    X, y = cancer
    model = LogLossClassifier(early_stopping=True, warm_start=True, learning_rate=0.05,
                              learning_rate_schedule="constant", alpha=1e-4,
                              n_iter_no_change=5, random_state=0)
    model.fit(X, y)
    first = len(model.validation_scores_)
    model.set_params(learning_rate=5.0).fit(X, y)  # a rate that makes the second fit worse
    assert max(model.validation_scores_[first:]) < max(model.validation_scores_[:first])
    assert len(model.validation_scores_) == model.n_iter_ > first
    assert model.best_validation_score_ == max(model.validation_scores_[first:])
    val = split_masks[-1]
    z = model.decision_function(X[val])  # the log loss from logits, without overflow
    neg_xent = -np.mean(np.logaddexp(0, z) - y[val] * z)
    assert neg_xent == pytest.approx(model.best_validation_score_, rel=1e-9)


def test_learning_rate_curve_lines_up_after_a_warm_start_from_lbfgs(small):
    X, y = small
    model = fit_quiet(LogLossClassifier(optimizer="lbfgs", warm_start=True, max_iter=5), X, y)
    assert model.learning_rate_curve_ is None
    fit_quiet(model.set_params(optimizer="adam", max_iter=4, tol=0.0), X, y)
    assert len(model.learning_rate_curve_) == len(model.loss_curve_) == model.n_iter_
    assert np.isnan(model.learning_rate_curve_[:-4]).all()
    np.testing.assert_array_equal(model.learning_rate_curve_[-4:], np.float32(0.1))


@pytest.mark.bitwise
def test_partial_fit_continues_adam_exactly_as_fit(small):
    X, y = small
    params = {"batch_size": 16, "random_state": 3, "learning_rate": 0.02}
    full = fit_quiet(LogLossClassifier(max_iter=6, tol=0.0, n_iter_no_change=100, **params), X, y)
    stream = LogLossClassifier(**params)
    for _ in range(3):
        stream.partial_fit(X, y, classes=[0, 1])
    stream = pickle.loads(pickle.dumps(stream))  # out-of-core: the state travels as arrays
    for _ in range(3):
        stream.partial_fit(X, y)
    assert stream.n_iter_ == 6
    np.testing.assert_array_equal(stream.coefs_[0], full.coefs_[0])
    np.testing.assert_array_equal(stream.loss_curve_, full.loss_curve_)


def test_partial_fit_on_chunks_reaches_the_full_fit_loss(iris):
    X, y = iris
    order = np.random.default_rng(0).permutation(len(y))
    # the L2 term counts against each call's rows, so three chunks would triple
    # alpha="auto"'s penalty: a small alpha isolates the streaming itself
    stream = LogLossClassifier(learning_rate=0.05, alpha=1e-4, random_state=0)
    for _ in range(150):
        for chunk in np.array_split(order, 3):  # each chunk lacks nothing, but is a third
            stream.partial_fit(X[chunk], y[chunk], classes=np.unique(y))
    full = fit_quiet(LogLossClassifier(learning_rate=0.05, max_iter=450, tol=0.0, alpha=1e-4,
                                       learning_rate_schedule="constant", random_state=0), X, y)
    Y = np.eye(3)[y]
    ours = log_loss(Y.ravel(), expit(stream.decision_function(X)).ravel())
    ref = log_loss(Y.ravel(), expit(full.decision_function(X)).ravel())
    assert abs(ours - ref) < 0.01


def test_partial_fit_errors(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        LogLossClassifier().partial_fit(X, y)
    model = LogLossClassifier().partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels \[2\] that are not in classes"):
        model.partial_fit(X, y)
    with pytest.raises(ValueError, match="differs from the classes of the first"):
        model.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(AttributeError, match="partial_fit") as excinfo:
        LogLossClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    assert "class_weight='balanced'" in str(excinfo.value.__cause__)


# -- divergence, interrupts ------------------------------------------------------------


def test_sweep_with_a_far_too_large_learning_rate_completes_and_ranks_it_last(cancer):
    X, y = cancer
    # a deep linear network: plain SGD at learning_rate=100 grows the loss without bound
    model = LogLossClassifier(hidden_layer_sizes=(8,), activation="identity", optimizer="sgd",
                              max_iter=20, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = GridSearchCV(model, {"learning_rate": [1e-3, 1e-2, 100.0]}, cv=3,
                              scoring="neg_log_loss").fit(X, y)
    ranks = dict(zip(search.cv_results_["param_learning_rate"], search.cv_results_["rank_test_score"]))
    assert ranks[100.0] == 3
    assert any("learning_rate=100.0" in str(w.message) for w in caught)
    for lr in (1e-3, 1e-2, 100.0):
        fitted = fit_quiet(clone(model).set_params(learning_rate=lr), X, y)
        assert not np.isnan(fitted.predict_proba(X)).any()
        assert all(np.isfinite(W).all() for W in fitted.coefs_)


def _send_sigint_after(seconds):
    """A started thread that sends this process SIGINT after ``seconds``; its ``sent_at``
    then holds the time it did (``time.perf_counter``)."""
    def fire():
        time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGINT)
        thread.sent_at.append(time.perf_counter())

    thread = threading.Thread(target=fire, daemon=True)
    thread.sent_at = []
    thread.start()
    return thread


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_ctrl_c_stops_training_and_keeps_a_usable_model():
    X, y = make_classification(n_samples=20_000, n_features=20, random_state=0)
    model = LogLossClassifier(batch_size=32, max_iter=100_000, n_iter_no_change=10**9,
                              random_state=0)
    fit_quiet(clone(model).set_params(max_iter=1), X[:50], y[:50])  # TensorFlow loads first
    with _sigint_handler(signal.default_int_handler):  # as an interactive session has it
        start = time.perf_counter()
        _send_sigint_after(1.5)
        with pytest.warns(ConvergenceWarning, match="interrupted"):
            model.fit(X, y)
        assert time.perf_counter() - start < 30
        assert 0 < model.n_iter_ < 100_000 == model.max_iter
        assert np.isfinite(model.predict_proba(X)).all() and model.score(X, y) > 0.8
        # the previous handler is back (a later SIGINT is an ordinary KeyboardInterrupt)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_first_sigint_sets_the_stop_flag_and_a_second_one_raises():
    from sk_logloss._interrupt import graceful_interrupt

    with _sigint_handler(signal.default_int_handler):
        with graceful_interrupt() as stop:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):  # give the handler bytecode to run on
                time.sleep(0.001)
            assert stop.requested
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(100):
                    time.sleep(0.001)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_a_process_that_ignores_sigint_keeps_ignoring_it_during_fit():
    from sk_logloss._interrupt import graceful_interrupt

    X, y = make_classification(n_samples=20_000, n_features=20, random_state=0)
    model = LogLossClassifier(batch_size=32, max_iter=200, n_iter_no_change=10**9,
                              random_state=0)  # 125,000 steps: about 0.5 s once compiled
    with _sigint_handler(signal.SIG_IGN):
        with graceful_interrupt() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):
                time.sleep(0.001)
            assert not stop.requested
        # a SIGINT during a fit: no "interrupted" warning, every epoch, the bits of a fit
        # without it
        reference = fit_quiet(clone(model), X, y)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            thread = _send_sigint_after(0.1)
            model.fit(X, y)
            end = time.perf_counter()
        thread.join()
        assert thread.sent_at[0] < end, "the signal came after the fit: make the fit longer"
        assert not [w for w in caught if "interrupted" in str(w.message)]
        assert model.n_iter_ == reference.n_iter_ == 200
        np.testing.assert_array_equal(model.coefs_[0], reference.coefs_[0])
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


@contextlib.contextmanager
def _sigint_handler(handler):
    """SIGINT handled by ``handler`` within, whatever the process started with (a
    shell's background job starts with SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_aborted_fit_leaves_the_previous_model_untouched(small, monkeypatch):
    from sk_logloss._engine import loop

    X, y = small
    model = fit_quiet(LogLossClassifier(max_iter=5, random_state=0), X, y)
    before = {k: v for k, v in vars(model).items()}
    proba = model.predict_proba(X)

    def abort(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "train_stochastic", abort)
    with pytest.raises(KeyboardInterrupt):
        model.set_params(max_iter=50).fit(X[::-1], y[::-1])
    assert vars(model).keys() == before.keys()
    np.testing.assert_array_equal(model.predict_proba(X), proba)


def test_verbose_draws_a_progress_bar_on_a_terminal(iris, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    X, y = iris
    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    model = fit_quiet(LogLossClassifier(max_iter=4, verbose=1, early_stopping=True,
                                        random_state=0), X, y)
    out = screen.getvalue()
    assert "\r" in out and "4/4" in out and "epoch" in out
    last = out.rsplit("\r", 1)[-1]
    assert f"loss: {model.loss_curve_[-1]:.4f}" in last
    assert f"validation score: {model.validation_scores_[-1]:.4f}" in last
    assert "learning rate: 0.1000" in last


def test_a_failed_fit_leaves_a_fitted_model_exactly_as_it_was(small, iris):
    X, y = small
    model = fit_quiet(LogLossClassifier(max_iter=5, random_state=0), X, y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items()}
    proba = model.predict_proba(X)
    Xi, _ = iris  # a different feature count, and a target with one class only
    with pytest.raises(ValueError, match="only one class"):
        model.fit(Xi, np.zeros(len(Xi)))
    with pytest.raises(ValueError, match="(?i)sample.weight"):
        model.fit(Xi, np.arange(len(Xi)) % 2, sample_weight=np.zeros(len(Xi)))
    assert vars(model).keys() == before.keys() and model.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(model.predict_proba(X), proba)
