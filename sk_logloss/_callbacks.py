"""scikit-learn's callback API (``sklearn.callback``, 1.9 and later): the tasks our fits report.

A LogLossClassifier fit is one task with one sub-task per epoch (L-BFGS: per
iteration), as LogisticRegression reports its iterations: each epoch's task
begins when the previous one ends, so the task after the last epoch is closed
empty. An epoch's end hands the callbacks the training data and, built only
when a callback asks for it, ``fitted_estimator``: a copy of the estimator
that predicts with that epoch's weights. LogLossClassifierCV's tasks are
:class:`SweepTasks`'. On scikit-learn 1.6 to 1.8, which have no
``sklearn.callback``, ``set_callbacks`` raises an error naming the version
needed and fits report nothing.
"""

import sklearn

try:
    from sklearn.callback import CallbackSupportMixin as _SklearnMixin
except ImportError:  # scikit-learn < 1.9
    _SklearnMixin = None

AVAILABLE = _SklearnMixin is not None

if AVAILABLE:

    class CallbackSupportMixin(_SklearnMixin):
        """scikit-learn's ``set_callbacks`` and callback context."""

else:

    class CallbackSupportMixin:
        """``set_callbacks`` on a scikit-learn without ``sklearn.callback``: a clear error."""

        def set_callbacks(self, *callbacks):
            """Set callbacks (``sklearn.callback``); needs scikit-learn 1.9 or later.

            Parameters
            ----------
            *callbacks : callback instances
                The callbacks to set.

            Returns
            -------
            self : estimator instance
                Never: this scikit-learn has no callback API.
            """
            raise NotImplementedError(
                f"set_callbacks needs scikit-learn's callback API (sklearn.callback), "
                f"added in scikit-learn 1.9; this is scikit-learn {sklearn.__version__}. "
                f"Upgrade it: pip install 'scikit-learn>=1.9'."
            )


# what callback management sets on an estimator during fit; kept if a fit fails
MANAGEMENT_KEYS = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")


def has_callbacks(estimator):
    """Whether ``estimator``'s fit has callbacks to report to (its own or propagated)."""
    return AVAILABLE and bool(getattr(estimator, "_skl_callbacks", None))


class FitTasks:
    """The callback tasks of one fit: its root task, then one task per epoch.

    ``attributes(coefs, intercepts, losses, scores)`` gives the fitted
    attributes of the model with those weights after this fit's epochs so far
    (their losses, and validation scores with early stopping), for
    ``fitted_estimator``. :meth:`on_epoch` is the engine's epoch hook;
    :meth:`close` ends the fit once the estimator holds its fitted state.
    """

    def __init__(self, estimator, max_epochs, X, y, sample_weight, attributes):
        self.estimator = estimator
        self.X, self.y = X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.attributes = attributes
        self.losses, self.scores = [], []
        # the epoch after the last one is begun and closed empty, as LogisticRegression does
        self.root = estimator._init_callback_context(max_subtasks=max_epochs + 1)
        self.root.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=self.metadata)
        self.epoch = self._begin()

    def _begin(self):
        task = self.root.subcontext(task_name="epoch")
        task.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y,
                                    metadata=self.metadata)
        return task

    def on_epoch(self, epoch, loss, score, rate, weights):
        """End epoch ``epoch`` (counted from 1 in this fit) and begin the next; True to stop."""
        self.losses.append(loss)
        if score is not None:
            self.scores.append(score)
        n = len(self.scores)
        stop = self.epoch.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=lambda: self.attributes(*weights(), self.losses[:epoch],
                                                              self.scores[:n]),
        )
        self.epoch = self._begin()
        return stop

    def close(self):
        """End the task begun after the last epoch (empty), then the fit's root task."""
        self.epoch.call_on_fit_task_end(estimator=self.estimator)
        self.root.call_on_fit_task_end(estimator=self.estimator, X=self.X, y=self.y,
                                       metadata=self.metadata, reconstruction_attributes={})


class SweepTasks:
    """The callback tasks of LogLossClassifierCV's fit.

    The root task has up to three tasks, in order. ``"sweep"``: the batched
    run that trains every candidate at once, one sub-task per epoch of that
    run, reported as its calls return (up to 32 epochs each, so the sweep's
    speed does not change); these epochs have no single model, so they carry
    no ``fitted_estimator``. ``"candidates"``: one task per grid point and
    fold (``"candidate-split-fit"``, ``task_id = grid point * n_splits +
    fold``, GridSearchCV's order), ended with the fold's training data and a
    ``fitted_estimator`` predicting with the candidate's trained weights; when
    the candidates are plain fits one after another (L-BFGS, sparse X too
    large to sweep) each task is a leaf that the fit's own task merges with,
    as in GridSearchCV. ``"refit-with-best-params"``: the refit, merged with
    its plain fit, or reporting the model the sweep trained on all the rows.
    A ``fitted_estimator`` is a copy of the LogLossClassifierCV whose
    ``best_estimator_`` is the model.
    """

    def __init__(self, estimator, X, y, sample_weight, n_candidates, n_splits, refit):
        self.estimator, self.X, self.y = estimator, X, y
        self.sample_weight = sample_weight
        self.n_candidates, self.n_splits = n_candidates, n_splits
        self.root = estimator._init_callback_context(max_subtasks=3 if refit else 2)
        self.root.call_on_fit_task_begin(estimator=estimator, **self._data(None))
        self.sweep = self.epoch = self.candidates = None
        self.tasks = {}
        self.done = 0  # epochs of the sweep's runs reported

    def _metadata(self, rows):
        if self.sample_weight is None:
            return None
        return {"sample_weight": self.sample_weight if rows is None else self.sample_weight[rows]}

    def _data(self, rows):
        if rows is None:
            return {"X": self.X, "y": self.y, "metadata": self._metadata(None)}
        return {"X": self.X[rows], "y": self.y[rows], "metadata": self._metadata(rows)}

    # -- the batched run's epochs ------------------------------------------------
    def begin_sweep(self, max_epochs):
        """Begin the sweep: at most ``max_epochs`` epochs over its runs."""
        self.sweep = self.root.subcontext(task_name="sweep", max_subtasks=max_epochs + 1)
        self.sweep.call_on_fit_task_begin(estimator=self.estimator)
        self.epoch = self._begin_epoch()

    def _begin_epoch(self):
        task = self.sweep.subcontext(task_name="epoch")
        task.call_on_fit_task_begin(estimator=self.estimator)
        return task

    def on_sweep_call(self, done, running):
        """The sweep engine's hook after each call: ``done`` epochs of its runs so far."""
        new, self.done = done - self.done, done
        for _ in range(new):
            self.epoch.call_on_fit_task_end(estimator=self.estimator)
            self.epoch = self._begin_epoch()

    def end_sweep(self):
        self.epoch.call_on_fit_task_end(estimator=self.estimator)  # begun, never run
        self.sweep.call_on_fit_task_end(estimator=self.estimator)

    # -- the candidates --------------------------------------------------------------
    def begin_candidates(self):
        self.candidates = self.root.subcontext(
            task_name="candidates", max_subtasks=self.n_candidates * self.n_splits,
            sequential_subtasks=False)
        self.candidates.call_on_fit_task_begin(estimator=self.estimator)

    def begin_candidate(self, fold, c, rows):
        """Begin grid point ``c`` on ``fold``, trained on ``rows``; its task."""
        task = self.candidates.subcontext(task_name="candidate-split-fit",
                                          task_id=c * self.n_splits + fold)
        self.tasks[fold, c] = task, rows
        task.call_on_fit_task_begin(estimator=self.estimator, **self._data(rows))
        return task

    def end_candidate(self, fold, c, model):
        """End candidate ``(fold, c)``, trained into ``model``."""
        task, rows = self.tasks.pop((fold, c))
        task.call_on_fit_task_end(estimator=self.estimator, **self._data(rows),
                                  reconstruction_attributes=_predicting_with(model))

    def end_candidates(self):
        self.candidates.call_on_fit_task_end(estimator=self.estimator)

    # -- the refit and the end -----------------------------------------------------
    def refit(self, best, fit=None):
        """The refit task of ``best``: ``fit()`` runs its plain fit (merged with the task);
        None reports one trained in the sweep."""
        task = self.root.subcontext(task_name="refit-with-best-params")
        if fit is None:
            task.call_on_fit_task_begin(estimator=self.estimator, **self._data(None))
        else:
            with task.propagate_callback_context(best):
                task.call_on_fit_task_begin(estimator=self.estimator, **self._data(None))
                fit()
        task.call_on_fit_task_end(estimator=self.estimator, **self._data(None),
                                  reconstruction_attributes=_predicting_with(best))

    def close(self, fitted):
        """End the root task; ``fitted``: whether the estimator predicts (it refitted)."""
        self.root.call_on_fit_task_end(estimator=self.estimator, **self._data(None),
                                       reconstruction_attributes={} if fitted else None)


def _predicting_with(model):
    """What makes a copy of a LogLossClassifierCV predict with ``model``."""
    return {"best_estimator_": model, "classes_": model.classes_}


def chain(*hooks):
    """One epoch hook calling each of ``hooks`` (None skipped); true if any asks to stop."""
    hooks = [h for h in hooks if h is not None]
    if not hooks:
        return None
    if len(hooks) == 1:
        return hooks[0]

    def hook(*args):
        stop = False
        for h in hooks:
            stop |= bool(h(*args))
        return stop

    return hook
