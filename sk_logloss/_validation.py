"""Validation helpers for targets, sample weights and random seeds."""

import numbers

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight


def encode_targets(y):
    """Return ``(classes, Y, multilabel)`` for a classification target.

    ``Y`` is an int8 matrix of 0/1 labels, one column per logit: one column for
    binary targets (1 for ``classes[1]``), one-hot columns for multiclass
    targets, the indicator columns themselves for multilabel targets.
    """
    if getattr(y, "ndim", 1) == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    target_type = type_of_target(y, input_name="y")
    if target_type not in ("binary", "multiclass", "multilabel-indicator"):
        raise ValueError(
            f"LogLossClassifier supports binary, multiclass and multilabel-indicator "
            f"targets; got a {target_type!r} target. Pass a 1-D array of class labels "
            f"or a 2-D 0/1 indicator matrix."
        )
    binarizer = LabelBinarizer().fit(y)
    classes = binarizer.classes_
    multilabel = target_type == "multilabel-indicator"
    if not multilabel and len(classes) < 2:
        raise ValueError(
            f"LogLossClassifier needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {classes[0]!r}."
        )
    Y = binarizer.transform(y).astype(np.int8)
    return classes, Y, multilabel


def check_weights(sample_weight, X, Y, multilabel):
    """Validate ``sample_weight`` as non-negative finite weights in ``X``'s dtype.

    Raises a ValueError when the weights are all zero or, for a single-label
    target, leave positive weight on fewer than two classes.
    """
    weights = _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True
    )
    positive = weights > 0
    if not positive.any():
        raise ValueError(
            "sample_weight is zero for every sample; give at least one sample a "
            "positive weight."
        )
    if not multilabel:
        classes_weighted = (
            np.unique(Y[positive, 0]) if Y.shape[1] == 1 else np.flatnonzero(Y[positive].any(axis=0))
        )
        if len(classes_weighted) < 2:
            raise ValueError(
                "sample_weight leaves positive weight on only one class; "
                "LogLossClassifier needs samples of at least 2 classes with "
                "positive weight."
            )
    return weights


def make_rng(random_state):
    """A ``numpy.random.Generator`` for ``random_state``, without global state.

    An int seeds it; a ``RandomState`` or ``Generator`` instance is drawn from
    (advancing it, as scikit-learn does); ``None`` takes fresh OS entropy, never
    NumPy's global random state.
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, numbers.Integral):
        return np.random.default_rng(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state.integers(np.iinfo(np.int64).max))
    raise ValueError(
        f"random_state must be None, an int, a numpy RandomState or Generator; "
        f"got {random_state!r}."
    )
