"""Early stopping: the validation split, the validation score, the weights' moving average, and keeping the best weights."""

import threading

from .._validation import split_groups, validation_split
from .host import load, read
from .model import objective, tf


def split(data, config):
    """``(training, validation)`` parts of ``data`` = ``(X, Y, w)``, per ``config``.

    Stratified and weight-consistent (see ``_validation.validation_split``):
    copies of a row always land on the same side.
    """
    X, Y, w = data
    val = validation_mask(data, config)
    train = ~val
    return (X[train], Y[train], w[train]), (X[val], Y[val], w[val])


def averages(config):
    """Whether a :class:`~.types.StochasticConfig`'s early stopping scores the weights'
    moving average (``EarlyStopping.average``)."""
    return config.early_stopping is not None and config.early_stopping.average


def validation_mask(data, config):
    """The boolean mask of the rows :func:`split` holds out."""
    X, Y, w = data
    val = validation_split(X, split_groups(Y, config.multilabel), w, config.fraction, config.key)
    if not val.any():
        raise ValueError(
            "early_stopping needs a class with at least two distinct samples of "
            "positive weight to hold out a validation set; give more samples or set "
            "early_stopping=False."
        )
    return val


def score(spec, coefs, intercepts, x, Y, w):
    """Minus the weighted mean loss of the validation rows (no L2 term)."""
    n = tf.cast(tf.shape(Y)[0], spec.dtype)
    return -objective(spec, coefs, intercepts, x, Y, w, tf.zeros([], spec.dtype), n, n,
                      tf.reduce_sum(w))


def stalled(score_now, best_score, tol):
    """The rule: the score failed to beat the best by ``tol``."""
    return score_now < best_score + tol


# The moving average's momentum at step t (counted from 1): min(AVERAGE_MOMENTUM,
# (1 + t) / (AVERAGE_WARMUP + t)), the schedule of TensorFlow's ExponentialMovingAverage
# with num_updates, whose 10 is 3 here: up to about step 1,000 the average spans the last
# half of the steps, then the last 500 or so (README, "Networks (issue 24)")
AVERAGE_MOMENTUM = 0.998
AVERAGE_WARMUP = 3.0


class MovingAverage:
    """An exponential moving average of ``variables`` over a run's optimizer steps.

    With ``average_weights``, early stopping scores the average and keeps its
    best: Adam's last steps jitter the weights, and a validation score picked
    at the top of that jitter overstates the model it keeps. Shapes are the
    variables' own, so the candidate axis of a sweep averages each candidate
    alone (a stopped candidate's average is never read again).
    """

    def __init__(self, variables):
        self.variables = list(variables)
        self.values = [tf.Variable(v, trainable=False, shape=v.shape) for v in self.variables]
        self.steps = tf.Variable(tf.zeros([], self.variables[0].dtype), trainable=False)

    def reset(self):
        """Start a run: the average is the current weights, no step taken (host code)."""
        for a, v in zip(self.values, self.variables):
            a.assign(v)
        self.steps.assign(tf.zeros([], self.steps.dtype))

    def update(self):
        """Fold the weights after a step into the average (traced code)."""
        t = self.steps.assign_add(tf.ones([], self.steps.dtype))
        cap = tf.constant(AVERAGE_MOMENTUM, t.dtype)
        momentum = tf.minimum(cap, (1 + t) / (AVERAGE_WARMUP + t))
        for a, v in zip(self.values, self.variables):
            a.assign(momentum * a + (1 - momentum) * v)


def moving_average(trainer):
    """``trainer``'s :class:`MovingAverage` of its variables, built on first use and
    kept on it (a linear sweep never pays for a copy of its ``[F, C, ...]`` weights);
    once, even where two threads ask at once (a sweep's lanes share a trainer's trace)."""
    if trainer.average is None:
        with _AVERAGE_LOCK:
            if trainer.average is None:
                trainer.average = MovingAverage(trainer.variables)
    return trainer.average


_AVERAGE_LOCK = threading.Lock()


class BestWeights:
    """The weights of the best validation score so far; restored when training ends."""

    def __init__(self, variables):
        self.variables = list(variables)
        self.best = [tf.Variable(v, trainable=False, shape=v.shape) for v in self.variables]

    def keep_if(self, better, source=None):
        """Copy the current weights (or ``source``, their moving average) where ``better``
        (traced code)."""
        for b, v in zip(self.best, source or self.variables):
            b.assign(tf.where(better, v, b))

    def load(self, values):
        """Set the best weights to ``values`` (host arrays, one per weight variable)."""
        load(self.best, values)

    def values(self):
        return read(self.best)
