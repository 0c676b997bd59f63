"""Early stopping: the validation split, the validation score, and keeping the best weights."""


from .._validation import split_groups, validation_split
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


class BestWeights:
    """The weights of the best validation score so far; restored when training ends."""

    def __init__(self, variables):
        self.variables = list(variables)
        self.best = [tf.Variable(v, trainable=False) for v in self.variables]

    def keep_if(self, better):
        """Copy the current weights where ``better`` (traced code)."""
        for b, v in zip(self.best, self.variables):
            b.assign(tf.where(better, v, b))

    def values(self):
        return [v.numpy() for v in self.best]
