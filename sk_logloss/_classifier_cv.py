"""LogLossClassifierCV: the learning-rate (and alpha) sweep, fold x grid points in batched runs."""

import time
import warnings
from dataclasses import replace
from numbers import Integral
from typing import ClassVar

import numpy as np
from scipy.sparse import issparse
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, check_cv
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from . import _callbacks, _network, _optimizers, _schedules
from ._callbacks import CallbackSupportMixin
from ._classifier import LogLossClassifier, _per_sample_terms, _quiet_finite_check
from ._compat import (
    Interval,
    _fit_context,
    check_sample_weight,
    log_loss_log,
    scorer_accepts,
    scorer_with_labels,
)
from ._engine.types import Adaptive, Fold, ModelSpec, SweepConfig, freeze_params
from ._validation import (
    as_precision,
    class_sample_weights,
    encode_targets,
    fit_weights,
    make_rng,
)

# LogLossClassifier's parameters that the sweep replaces by grids
_SWEPT = ("learning_rate", "alpha")
# ... and the ones it shares with every candidate (each candidate starts fresh: no warm_start)
_SHARED = tuple(p for p in LogLossClassifier._get_param_names()
                if p not in (*_SWEPT, "warm_start"))
# fitted attributes of the refitted model, exposed on the CV estimator
# Sparse X is swept from one dense copy of at most this many bytes (shared by every
# candidate; its scores equal the sparse fits' to rounding); a larger one, whose dense
# copy would not be small, fits its candidates one after another in sparse form.
SWEEP_DENSE_MAX = 64 * 2**20
# Multiply-adds of a sweep's products (grid points x max_iter x training rows of every
# fold x weights a row meets) from which precision="auto" trains the candidates of a
# float64 X in float32: XLA's float32 products and exponentials run about twice as fast
# (2-core Xeon, 2026-12-07, warm, with the refit in float64: digits' sweep, 4e10, 5.2-5.7
# -> 3.1-3.6 s; 20,000 x 100, 3.6e10, 2.9-3.0 -> 2.4 s), while a shorter one gains little
# (breast cancer, 6e8, 0.28 -> 0.26 s) and keeps GridSearchCV's float64 scores to 1e-14
FLOAT32_SWEEP_WORK = 1e10

_FITTED = ("classes_", "coefs_", "intercepts_", "loss_", "loss_curve_", "learning_rate_curve_",
           "best_loss_", "validation_scores_", "best_validation_score_", "n_iter_", "n_outputs_",
           "n_layers_", "out_activation_", "coef_", "intercept_")


def _delegate(name, summary, returns, meaning, shape):
    """A prediction method of LogLossClassifierCV: the refitted model's, documented."""

    def method(self, X):
        return getattr(self._best(), name)(X)

    method.__name__, method.__qualname__ = name, f"LogLossClassifierCV.{name}"
    method.__doc__ = f"""{summary}

        The best candidate, refitted on all the data, computes it; with
        ``refit=False`` there is none and this raises an AttributeError.

        Parameters
        ----------
        X : {{array-like, sparse matrix}} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        {returns}
            {meaning}

        See Also
        --------
        LogLossClassifier.{name} : The same for one fitted model.

        Examples
        --------
        >>> from sklearn.datasets import load_breast_cancer
        >>> from sk_logloss import LogLossClassifierCV
        >>> X, y = load_breast_cancer(return_X_y=True)
        >>> X = (X - X.mean(0)) / X.std(0)
        >>> search = LogLossClassifierCV(learning_rates=2, cv=3, random_state=0).fit(X, y)
        >>> search.{name}(X[:2]).shape
        {shape}
        """
    return method


class LogLossClassifierCV(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """LogLossClassifier with its learning rate and alpha chosen by cross-validation.

    Fold x grid points train side by side in batched TensorFlow loops of about
    32 candidates (``n_jobs`` runs them on joblib's workers): the candidates share
    the data and each fold's minibatches, and each has its own learning rate, L2
    penalty, shuffle (a plain fit's), convergence stop, divergence handling and
    early stopping. A candidate's CV score equals that
    of ``GridSearchCV(LogLossClassifier(...))`` on the same folds with the same
    ``random_state`` (to rounding). Sparse X is swept from one dense copy up
    to 64 MB (8 million float64 values); a larger one, and
    ``optimizer="lbfgs"``, fit their candidates one after another. The best
    candidate is refitted on all the data (sparse X as it is).

    Parameters
    ----------
    learning_rates : int or array-like of float, default=9
        The learning rates to try; an int ``n`` is ``n`` rates log-spaced over
        1e-3..1e-1 (the seed lesson's range).
    alphas : array-like of float or "auto", default=("auto",)
        The L2 penalties to try (``"auto"``: LogLossClassifier's default).
    cv : int, cross-validation generator or iterable, default=5
        As in GridSearchCV: an int gives StratifiedKFold (KFold for multilabel
        targets) without shuffling.
    scoring : str or callable, default="neg_log_loss"
        A scikit-learn scorer; higher is better. The scorer gets
        ``sample_weight`` for the test rows when its metric takes it (as in
        GridSearchCV with routed weights); with a ``class_weight``, those
        weights include the class weights (computed on the whole ``y``), so
        candidates are scored on the objective they were trained on.
    refit : bool, default=True
        Refit the best candidate on all the data.
    n_jobs : int, default=None
        Candidates trained at once, joblib's convention (None: 1 unless in a
        ``joblib.parallel_backend`` context; -1: all workers). The sweep is cut
        into tasks of about 32 candidates (fold x grid point), whole folds
        first; each task is a batched run of its own, run by joblib's active
        backend (its process workers, a Dask or Ray cluster). The cut never
        depends on ``n_jobs``, so every result is bitwise the same for any
        ``n_jobs`` and backend. With None or 1, the tasks train two at a time
        on threads of this process where it may use two (scikit-learn's count:
        its CPUs and ``OMP_NUM_THREADS``, which joblib's workers set to their
        share), each as it trains alone; a long sweep (about 1e10 multiply-adds
        by ``max_iter``: digits' 45 candidates, not breast cancer's) is cut
        into at least two. Fits one by one (L-BFGS, large sparse X) are
        joblib tasks too. With ``n_jobs`` other than 1, callbacks hear of each
        run of the sweep once it ends, and fits one by one run serially when
        callbacks are set.
    hidden_layer_sizes, activation, loss, optimizer, optimizer_params, \
learning_rate_schedule, schedule_params, batch_size, max_iter, tol, \
n_iter_no_change, early_stopping, validation_fraction, average_weights, class_weight, \
shuffle : see LogLossClassifier
        As in LogLossClassifier, for every candidate. ``warm_start`` is not
        swept: each candidate starts fresh.
    precision : {"auto", "float32", "float64"}, default="auto"
        The float type the candidates train in, as LogLossClassifier's
        ``precision``. ``"auto"``: X's own, except that a long sweep of
        float64 X (its products at least 1e10 multiply-adds by ``max_iter``:
        digits' 45 candidates, not breast cancer's) trains its candidates on
        a float32 copy, about twice as fast, where X and the weights fit
        float32's range. Its scores then equal those of GridSearchCV over
        ``LogLossClassifier(precision="float32")`` to float32's rounding; from
        the float64 ones they differ by about 1e-7, more where a candidate
        stops at another epoch (digits: one split of 45 by 8e-4). The refit
        trains in X's own dtype, as ``LogLossClassifier()`` would.
    random_state, verbose : see LogLossClassifier
        As in LogLossClassifier, for every candidate.

    Attributes
    ----------
    learning_rate_ : float
        The best candidate's learning rate.
    alpha_ : float
        The L2 penalty of the refitted model (``"auto"`` resolved).
    best_params_ : dict
        ``{"alpha": ..., "learning_rate": ...}`` of the best candidate.
    best_score_ : float
        Its mean CV score.
    best_index_ : int
        Its index in ``cv_results_``.
    cv_results_ : dict of ndarray
        GridSearchCV's keys: ``params``, ``param_alpha``,
        ``param_learning_rate``, ``split{k}_test_score``, ``mean_test_score``,
        ``std_test_score``, ``rank_test_score``, ``mean_fit_time``,
        ``std_fit_time``, ``mean_score_time``, ``std_score_time``. The fit
        time of a candidate is its share of the sweep's wall time.
    best_estimator_ : LogLossClassifier
        The refitted model (with ``refit=True``); its fitted attributes
        (``coefs_``, ``classes_``, ``loss_curve_``, ...) are also this
        estimator's.
    n_splits_ : int
        Number of folds.

    See Also
    --------
    LogLossClassifier : One fit at one learning rate.
    sklearn.linear_model.LogisticRegressionCV : Cross-validated exact solver.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sk_logloss import LogLossClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = make_pipeline(StandardScaler(),
    ...                       LogLossClassifierCV(learning_rates=3, random_state=0)).fit(X, y)
    >>> search = model[-1]
    >>> len(search.cv_results_["params"]), search.best_score_ > -0.1
    (3, True)
    """

    _parameter_constraints: ClassVar[dict] = {
        **{k: v for k, v in LogLossClassifier._parameter_constraints.items() if k in _SHARED},
        "learning_rates": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "alphas": ["array-like"],
        "cv": ["cv_object"],
        "scoring": [str, callable],
        "refit": ["boolean"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        learning_rates=9,
        alphas=("auto",),
        cv=5,
        scoring="neg_log_loss",
        refit=True,
        n_jobs=None,
        hidden_layer_sizes=(),
        activation="relu",
        loss="sigmoid",
        optimizer="adam",
        optimizer_params=None,
        learning_rate_schedule="adaptive",
        schedule_params=None,
        batch_size="auto",
        max_iter=1000,
        tol=1e-5,
        n_iter_no_change="auto",
        early_stopping="auto",
        validation_fraction=0.1,
        average_weights="auto",
        class_weight=None,
        shuffle=True,
        precision="auto",
        random_state=None,
        verbose=0,
    ):
        self.learning_rates = learning_rates
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.optimizer_params = optimizer_params
        self.learning_rate_schedule = learning_rate_schedule
        self.schedule_params = schedule_params
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.average_weights = average_weights
        self.class_weight = class_weight
        self.shuffle = shuffle
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags

    # -- the grid ---------------------------------------------------------------
    def _grid(self):
        rates = self.learning_rates
        if isinstance(rates, Integral):
            rates = np.logspace(-3, -1, int(rates))
        rates = [float(r) for r in np.atleast_1d(np.asarray(rates, dtype=float))]
        alphas = list(np.atleast_1d(np.asarray(self.alphas, dtype=object)))
        if not rates or not all(np.isfinite(r) and r > 0 for r in rates):
            raise ValueError(f"learning_rates must be positive and finite, got {rates!r}.")
        for a in alphas:
            if not (a == "auto" or (isinstance(a, int | float | np.number) and a >= 0)):
                raise ValueError(
                    f"alphas must hold non-negative numbers or 'auto', got {self.alphas!r}."
                )
        alphas = [a if a == "auto" else float(a) for a in alphas]
        return list(ParameterGrid({"alpha": alphas, "learning_rate": rates}))

    def _base(self, **params):
        shared = {k: getattr(self, k) for k in _SHARED}
        return LogLossClassifier(**shared, **params)

    # -- fit ----------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Cross-validate every grid point, then refit the best on all of (X, y).

        Fold x grid points train in batched TensorFlow runs (sparse X and
        L-BFGS: one fit after another); each is scored on its test fold with
        ``scoring``, and the best mean score is refitted as a plain
        LogLossClassifier (with ``refit=True``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples: in every fold's fit, its score (as
            GridSearchCV passes them to a scorer that takes them) and the refit.
        groups : array-like of shape (n_samples,), default=None
            Group labels of the samples, for a ``cv`` splitter that keeps groups
            apart (``GroupKFold`` and the like), as ``GridSearchCV.fit`` passes
            them; other splitters ignore them. The fits never see them.

        Returns
        -------
        LogLossClassifierCV
            The fitted estimator (``self``).

        See Also
        --------
        sklearn.model_selection.GridSearchCV : The same search, one fit at a time.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from sk_logloss import LogLossClassifierCV
        >>> X, y = load_iris(return_X_y=True)
        >>> X = (X - X.mean(0)) / X.std(0)
        >>> search = LogLossClassifierCV(learning_rates=[0.01, 0.1], loss="softmax",
        ...                              random_state=0).fit(X, y)
        >>> sorted(search.best_params_), search.best_score_ > -0.3
        (['alpha', 'learning_rate'], True)
        """
        with _quiet_finite_check():
            X, y = validate_data(self, X, y, multi_output=True, accept_sparse="csr",
                                 dtype=(np.float64, np.float32), y_numeric=False)
        grid = self._grid()
        targets = encode_targets(y)  # classes, the 0/1 label matrix, multilabel
        multilabel = targets[2]
        cv = check_cv(self.cv, y, classifier=not multilabel)
        if groups is not None:  # as GridSearchCV: one label per sample, else a ValueError
            check_consistent_length(X, groups)
        splits = list(cv.split(X, y, groups))
        self.n_splits_ = len(splits)
        scorer = check_scoring(self._base(), scoring=self.scoring)
        # checked here: with the refit in the sweep, no plain fit sees all the weights
        sw = None if sample_weight is None else check_sample_weight(sample_weight, X, np.float64)
        if not targets[2]:  # a test fold may lack a class: name them all
            scorer = scorer_with_labels(scorer, targets[0])
        score_sw = (self._score_weights(y, targets, sw) if scorer_accepts(scorer, "sample_weight")
                    else None)
        tasks = None
        if _callbacks.has_callbacks(self):
            tasks = _callbacks.SweepTasks(self, X, y, sw, len(grid), len(splits), self.refit)
        start = time.perf_counter()
        too_large = issparse(X) and X.shape[0] * X.shape[1] * X.dtype.itemsize > SWEEP_DENSE_MAX
        # one early-stopping setting per sweep: "auto" may differ between folds of ~100 rows
        early = {self._fold_stops_early(X, y, sw, train) for train, _ in splits}
        refit = None
        if self.optimizer == "lbfgs" or too_large or len(early) > 1:
            models = self._fit_one_by_one(X, y, sw, splits, grid, tasks)
        else:
            dense = X.toarray() if issparse(X) else X
            models, refit = self._fit_swept(dense, y, targets, sw, splits, grid, early.pop(),
                                            tasks)
        fit_time = (time.perf_counter() - start) / (len(grid) * len(splits))
        scores, score_times = self._test_scores(models, (len(grid), len(splits)), splits, X, y,
                                                scorer, score_sw, targets)
        self.cv_results_ = _results(grid, scores, fit_time, score_times)
        self.best_index_ = int(np.argmin(self.cv_results_["rank_test_score"]))
        self.best_params_ = dict(grid[self.best_index_])
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.learning_rate_ = self.best_params_["learning_rate"]
        if self.refit:
            best = self._refit(X, y, sample_weight, refit, tasks)
            self.best_estimator_ = best
            self.alpha_ = best.alpha_
            for name in _FITTED:
                if hasattr(best, name):
                    setattr(self, name, getattr(best, name))
        else:
            self.alpha_ = self.best_params_["alpha"]
        if tasks is not None:
            tasks.close(bool(self.refit))
        return self

    def _refit(self, X, y, sample_weight, refit, tasks):
        """The best grid point on all the rows: trained in the sweep (``refit``) or fitted
        now; reported to the callbacks' ``tasks`` if any."""
        if refit is not None:  # trained in the sweep, on all the rows
            best = refit(self.best_index_)
            if tasks is not None:
                tasks.refit(best)
            return best
        best = self._base(**self.best_params_)

        def fit():
            best.fit(X, y, sample_weight=sample_weight)

        if tasks is None:
            fit()
        else:
            tasks.refit(best, fit)
        return best

    def _score_weights(self, y, targets, sw):
        """The test rows' weights for the scorer: ``sample_weight`` times, with a
        ``class_weight``, the class weights of the whole ``y`` (None if neither)."""
        if self.class_weight is None:
            return sw
        classes, Y, multilabel = targets
        ones = np.ones(len(Y)) if sw is None else sw
        return ones * class_sample_weights(self.class_weight, classes, y, Y, multilabel, ones)

    def _fit_one_by_one(self, X, y, sw, splits, grid, tasks):
        """Every fold x grid point as a plain fit; joblib tasks unless callbacks are set."""
        if tasks is None:
            from joblib import Parallel, delayed

            jobs = [delayed(_fit_candidate)(self._base(**params), X, y, sw, train)
                    for train, _ in splits for params in grid]
            fitted = Parallel(n_jobs=self.n_jobs)(jobs)
            keys = [(f, c) for f in range(len(splits)) for c in range(len(grid))]
            return dict(zip(keys, fitted, strict=True))
        models = {}
        tasks.begin_candidates()
        for f, (train, _) in enumerate(splits):
            for c, params in enumerate(grid):
                model = self._base(**params)
                task = tasks.begin_candidate(f, c, train)  # a leaf the fit merges with
                with task.propagate_callback_context(model):
                    _fit_candidate(model, X, y, sw, train)
                tasks.end_candidate(f, c, model)
                models[f, c] = model
        tasks.end_candidates()
        return models

    def _fit_swept(self, X, y, targets, sw, splits, grid, early, tasks):
        """Every fold x grid point in one sweep; ``(shells to score, refit)``.

        When all the rows, as one more fold, take as many steps per epoch as the
        CV folds, the refit of every grid point trains in the same run and
        ``refit(c)`` returns grid point ``c``'s as a fitted LogLossClassifier
        (a plain fit's state, to rounding); otherwise ``refit`` is None. ``early``:
        whether every fold's plain fit stops early.
        """
        from ._engine.sweep_loop import candidate_result, epoch_budget, train_sweep

        config, fold_classes, seed = self._sweep_config(X, y, targets, sw, splits, grid,
                                                        early, tasks)
        if tasks is not None:
            tasks.begin_sweep(epoch_budget(config, self.n_jobs))
        result = train_sweep(config, self.n_jobs)
        if tasks is not None:
            tasks.end_sweep()
            tasks.begin_candidates()
        models = {}
        for f in range(len(splits)):
            for c, params in enumerate(grid):
                shell = self._base(**params)
                self._set_weights(shell, fold_classes[f], result, f, c, config.spec.loss,
                                  targets[2])
                shell.n_iter_ = int(result.n_iter[f, c])
                models[f, c] = shell
                if tasks is not None:
                    tasks.begin_candidate(f, c, splits[f][0])
                    tasks.end_candidate(f, c, shell)
        if tasks is not None:
            tasks.end_candidates()
        if len(config.folds) == len(splits):
            return models, None

        def refit(c):
            fold = config.folds[-1]
            rows = (config.X[fold.train], config.Y[fold.train], fold.w_train)
            trained = candidate_result(config, result, len(splits), c, rows)
            best = self._base(**grid[c])
            self._copy_features(best)
            best._set_fitted(trained, targets[0], targets[2], False, seed, False,
                             config.spec.loss, config.early_stopping)
            best.alpha_ = float(config.alphas[c])
            best._optimizer_epochs = len(trained.loss_curve)
            best._warn(trained, False, False)
            return best

        return models, refit

    def _set_weights(self, model, classes, result, f, c, loss, multilabel):
        """Give ``model`` candidate ``(f, c)``'s weights and what prediction reads."""
        model.classes_ = classes
        model.coefs_ = [W[f, c] for W in result.coefs]
        model.intercepts_ = [b[f, c] for b in result.intercepts]
        model.out_activation_ = "softmax" if loss == "softmax" else "logistic"
        model._multilabel = multilabel
        self._copy_features(model)

    def _copy_features(self, model):
        """What ``validate_data`` set on this estimator, for ``model``'s predictions."""
        model.n_features_in_ = self.n_features_in_
        if hasattr(self, "feature_names_in_"):
            model.feature_names_in_ = self.feature_names_in_

    def _check_sweepable(self):
        """The optimizer parameters, or a ValueError for what the candidate axis would mix."""
        from ._engine.sweep import NORM_PARAMS, SWEEP_OPTIMIZERS

        if self.optimizer not in SWEEP_OPTIMIZERS:
            raise ValueError(
                f"optimizer={self.optimizer!r} takes norms over a whole weight matrix, which "
                f"the candidate axis of LogLossClassifierCV would mix; use one of "
                f"{', '.join(SWEEP_OPTIMIZERS)} or 'lbfgs', or GridSearchCV."
            )
        opt_params = _optimizers.check_params(self.optimizer, self.optimizer_params)
        bad = [k for k in NORM_PARAMS if opt_params.get(k)]
        if bad:
            raise ValueError(
                f"optimizer_params {bad} take norms over whole weight matrices; "
                f"LogLossClassifierCV cannot sweep them: use GridSearchCV."
            )
        return opt_params

    def _test_scores(self, models, shape, splits, X, y, scorer, score_sw, targets):
        """``(scores, seconds)``, each ``[grid point, split]``: every candidate's ``scorer`` on
        its test fold (with ``score_sw`` where the scorer takes weights)."""
        scores = np.empty(shape)
        score_times = np.empty_like(scores)
        # the default scorer, computed as scikit-learn does without its per-call checks
        fast = self.scoring == "neg_log_loss" and not targets[2]
        for (f, c), model in models.items():
            t = time.perf_counter()
            test = splits[f][1]
            weights = None if score_sw is None else score_sw[test]
            if fast and np.array_equal(model.classes_, targets[0]):
                scores[c, f] = _neg_log_loss(model, X[test], y[test], weights)
            else:
                kwargs = {} if weights is None else {"sample_weight": weights}
                scores[c, f] = _score(scorer, model, X[test], y[test], kwargs)
            score_times[c, f] = time.perf_counter() - t
        return scores, score_times

    def _fold_stops_early(self, X, y, sw, rows):
        """Whether a plain fit on ``rows`` stops early (``early_stopping="auto"`` depends on
        them)."""

        def data():
            targets = encode_targets(y[rows])
            weights = self._train_weights(X, y, sw, rows, targets)
            return X[rows], targets[1], weights, targets[2]

        return self._base()._early_stopping(len(rows), data)

    def _train_weights(self, X, y, sw, rows, targets):
        """The weights a plain fit on ``rows`` (whose encoded targets are ``targets``)
        trains with."""
        return fit_weights(None if sw is None else sw[rows], self.class_weight, X[rows],
                           y[rows], targets)

    def _sweep_config(self, X, y, targets, sw, splits, grid, early, tasks=None):
        """The sweep's config (the CV folds, then all rows if the refit joins the run),
        each fold's classes and the shuffle seed; ``early``: whether the folds stop early."""
        opt_params = self._check_sweepable()
        schedule_params = _schedules.check_params(self.learning_rate_schedule,
                                                  self.schedule_params)
        classes, Y, multilabel = targets
        folds, fold_classes = self._training_folds(X, y, sw, splits, len(classes))
        base = self._base()
        layer_sizes = (X.shape[1], *base._hidden_sizes(), Y.shape[1])
        loss = base._training_loss(Y, multilabel)
        dtype = self._sweep_dtype(base, X, folds, layer_sizes, len(grid))
        spec = ModelSpec(layer_sizes, self.activation, self.optimizer,
                         freeze_params(opt_params), dtype.name, sparse=False, loss=loss)
        rng = make_rng(self.random_state)
        coefs, intercepts = _network.init_weights(layer_sizes, self.activation, rng, dtype)
        seed = int(rng.integers(0, 2**64, dtype=np.uint64))
        split = self._validation_split(X, Y, multilabel, rng, early)
        sweep_folds = [split(train, w) for train, w in folds]
        batch = None if self.batch_size == "auto" else self.batch_size
        if dtype == base._training_dtype(X):  # the refit trains in X's dtype
            sweep_folds += self._joining_refit(X, y, sw, targets, split, sweep_folds, early,
                                               batch)
        # the weights train in the training dtype, as a plain fit's: refused where they overflow it
        sweep_folds = [replace(f, w_train=as_precision(f.w_train, dtype, "sample_weight"),
                               w_val=as_precision(f.w_val, dtype, "sample_weight"))
                       for f in sweep_folds]
        per_row = _per_sample_terms(spec)
        epochs = np.arange(self.max_iter)
        rates = np.stack([_schedules.rates(self.learning_rate_schedule, schedule_params,
                                           p["learning_rate"], epochs, self.max_iter)
                          for p in grid])
        alphas = np.array([base.set_params(alpha=p["alpha"])._alpha(spec) for p in grid])
        adaptive = None
        if self.learning_rate_schedule == "adaptive":
            adaptive = Adaptive(schedule_params["factor"], schedule_params["min_learning_rate"])
        # weights, folds and scores come from X as given; training sees it in its dtype
        config = SweepConfig(
            spec, as_precision(X, dtype), Y, sweep_folds, coefs, intercepts, rates, alphas,
            batch_size=batch,
            tol=self.tol / per_row,
            n_iter_no_change=base._patience(),
            shuffle=self.shuffle, seed=seed, adaptive=adaptive,
            early_stopping=early, average_weights=bool(base._setting("average_weights")),
            on_epoch=_callbacks.chain(_progress if self.verbose else None,
                                      tasks and tasks.on_sweep_call),
        )
        return config, fold_classes, seed

    def _training_folds(self, X, y, sw, splits, n_classes):
        """Each split's training rows with their weights, and its classes; a ValueError where
        a training fold lacks one of y's ``n_classes`` classes."""
        folds, fold_classes = [], []
        for train, _ in splits:
            fold_targets = encode_targets(y[train])
            if len(fold_targets[0]) != n_classes:
                raise ValueError(
                    "a training fold lacks a class of y; use fewer folds (cv) so that "
                    "every class appears in every training fold."
                )
            fold_classes.append(fold_targets[0])
            folds.append((train, self._train_weights(X, y, sw, train, fold_targets)))
        return folds, fold_classes

    def _joining_refit(self, X, y, sw, targets, split, folds, early, batch):
        """``[the refit as one more fold]`` where it can join the run at no extra step (its
        optimizer state per candidate, its steps per epoch at ``batch`` and early stopping
        those of a fold of ``folds``), else ``[]``."""
        from ._engine.sweep import PER_CANDIDATE_STATE
        from ._engine.types import steps_per_epoch

        if not self.refit or self.optimizer not in PER_CANDIDATE_STATE:
            return []
        everything = np.arange(X.shape[0])
        whole = split(everything, self._train_weights(X, y, sw, everything, targets))
        steps = {steps_per_epoch(batch, len(f.train)) for f in folds}
        if (steps_per_epoch(batch, len(whole.train)) in steps
                and self._fold_stops_early(X, y, sw, everything) == early):
            return [whole]
        return []

    def _sweep_dtype(self, base, X, folds, layer_sizes, n_grid):
        """The dtype the candidates train in: ``precision``, "auto" being X's own as for a
        plain fit, except for a long sweep of float64 X (:data:`FLOAT32_SWEEP_WORK`), which
        trains on a float32 copy where X and the folds' weights fit float32's range (the
        refit still trains in X's dtype)."""
        from ._engine.lanes import products

        dtype = base._training_dtype(X)
        if self.precision != "auto" or dtype != np.float64:
            return dtype
        rows = sum(len(train) for train, _ in folds)
        if products(n_grid, self.max_iter, rows, layer_sizes) < FLOAT32_SWEEP_WORK:
            return dtype
        largest = max(X.max(initial=0), -X.min(initial=0), *(w.max(initial=0) for _, w in folds))
        if largest > np.finfo(np.float32).max:  # beyond float32's range: X's own, silently
            return dtype
        return np.dtype(np.float32)

    def _validation_split(self, X, Y, multilabel, rng, early):
        """``split(rows, w)``: a :class:`Fold` of training (and, with early stopping,
        validation) rows, split as a plain fit on those rows splits them."""
        if not early:
            return lambda rows, w: Fold(rows.astype(np.int32), w, np.zeros(0, np.int32),
                                        np.zeros(0, w.dtype))
        from ._engine.early_stopping import validation_mask
        from ._engine.types import EarlyStopping

        key = int(rng.integers(0, 2**64, dtype=np.uint64))
        config = EarlyStopping(self.validation_fraction, key, multilabel)

        def split(rows, w):
            val = validation_mask((X[rows], Y[rows], w), config)
            return Fold(rows[~val].astype(np.int32), w[~val], rows[val].astype(np.int32),
                        w[val])

        return split

    # -- prediction: the refitted model's -------------------------------------------
    def _best(self):
        check_is_fitted(self)
        if not hasattr(self, "best_estimator_"):
            raise AttributeError("refit=False: there is no refitted model to predict with.")
        return self.best_estimator_

    decision_function = _delegate(
        "decision_function", "The refitted model's logits.",
        "ndarray of shape (n_samples,) or (n_samples, n_outputs)",
        "The logits (one column for a binary target).", "(2,)")
    predict_proba = _delegate(
        "predict_proba", "The refitted model's class probabilities.",
        "ndarray of shape (n_samples, n_classes)", "The probability of each class.", "(2, 2)")
    predict_log_proba = _delegate(
        "predict_log_proba", "The refitted model's log-probabilities.",
        "ndarray of shape (n_samples, n_classes)", "The log of each class's probability.",
        "(2, 2)")
    predict = _delegate(
        "predict", "The refitted model's labels.",
        "ndarray of shape (n_samples,) or (n_samples, n_labels)", "The predicted labels.",
        "(2,)")


def _fit_candidate(model, X, y, sw, rows):
    """``model`` fitted on ``rows`` (a joblib task), without its ConvergenceWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X[rows], y[rows], None if sw is None else sw[rows])


def _progress(epochs, running):
    print(f"sweep: {epochs} epochs, {running} candidates still training", flush=True)


def _score(scorer, model, X, y, kwargs):
    return float(scorer(model, X, y, **kwargs))


def _neg_log_loss(model, X, y, weights):
    """The ``neg_log_loss`` scorer's value, as its ``log_loss`` computes it (each row's
    true-class probability, ``1 - p`` for a binary negative, clipped to ``[eps, 1 - eps]``,
    ``-log`` by the installed scikit-learn's logarithm, ``np.average`` with the weights):
    its label checks cost more than the sweep's fast candidates (breast cancer, 45 scores:
    0.15 s)."""
    proba, y = model.predict_proba(X), np.ravel(y)  # a column y is one label per row
    eps = np.finfo(proba.dtype).eps
    if proba.shape[1] == 2:  # the scorer keeps the positive column, log_loss takes 1 - it
        positive = proba[:, 1]
        true = np.where(y == model.classes_[1], positive, 1 - positive)
    else:
        true = proba[np.arange(len(y)), np.searchsorted(model.classes_, y)]
    loss = -log_loss_log(np.clip(true, eps, 1 - eps))
    return -float(np.average(loss, weights=weights))


def _results(grid, scores, fit_time, score_times):
    """GridSearchCV's ``cv_results_`` keys from a ``[candidates, folds]`` score table."""
    n = len(grid)
    mean, std = scores.mean(axis=1), scores.std(axis=1)
    rank = rankdata(-mean, method="min").astype(np.int32)  # GridSearchCV's ranking
    results = {
        "mean_fit_time": np.full(n, fit_time), "std_fit_time": np.zeros(n),
        "mean_score_time": score_times.mean(axis=1), "std_score_time": score_times.std(axis=1),
        "params": grid,
    }
    for key in ("alpha", "learning_rate"):
        results[f"param_{key}"] = np.ma.MaskedArray([p[key] for p in grid], mask=False,
                                                    dtype=object)
    for k in range(scores.shape[1]):
        results[f"split{k}_test_score"] = scores[:, k]
    results.update(mean_test_score=mean, std_test_score=std, rank_test_score=rank)
    return results

