"""Validation helpers for targets, sample weights and random seeds."""

import numbers

import numpy as np
from scipy.sparse import issparse
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._compat import check_sample_weight

# Sparse X is trained with int32 column indices (TensorFlow gathers them).
MAX_SPARSE_COLUMNS = np.iinfo(np.int32).max


def encode_targets(y, classes=None):
    """Return ``(classes, Y, multilabel)`` for a classification target.

    ``Y`` is an int8 matrix of 0/1 labels, one column per logit: one column for
    binary targets (1 for ``classes[1]``), one-hot columns for multiclass
    targets, the indicator columns themselves for multilabel targets. With
    ``classes`` (every label of a stream, for ``partial_fit`` and warm starts)
    the columns follow them and a label of ``y`` outside them is an error.
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
    multilabel = target_type == "multilabel-indicator"
    if multilabel:
        _check_indicator(y)
        binarizer = LabelBinarizer().fit(y)
        return binarizer.classes_, binarizer.transform(y).astype(np.int8), multilabel
    # LabelBinarizer's columns (1 for classes[1] if two classes, else one-hot over the
    # sorted classes), without its own checks of the target, made above
    present, index = np.unique(np.asarray(y), return_inverse=True)
    if classes is None:  # as unique_labels gives them: sorted, in y's dtype
        classes = np.asarray(sorted(set(present)))
    else:
        classes = np.unique(np.asarray(classes))
        unknown = np.setdiff1d(present, classes)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()!r} that are not in classes="
                f"{classes.tolist()!r}; pass every label of the stream as classes on "
                f"the first partial_fit call, or refit."
            )
    if len(classes) < 2:
        raise ValueError(
            f"LogLossClassifier needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {classes[0]!r}."
        )
    column = {label: i for i, label in enumerate(classes.tolist())}
    index = np.asarray([column[label] for label in present.tolist()], np.intp)[index.ravel()]
    if len(classes) == 2:
        return classes, (index == 1).astype(np.int8)[:, None], multilabel
    Y = np.zeros((len(index), len(classes)), np.int8)
    Y[np.arange(len(index)), index] = 1
    return classes, Y, multilabel


def _check_indicator(y):
    """A multilabel indicator matrix must hold only 0 and 1 (or False and True)."""
    values = np.unique(y.data if issparse(y) else np.asarray(y))
    if not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"A 2-D y is taken as a multilabel indicator matrix, which must hold only 0 "
            f"and 1 (one column per label, 1 where the label applies); got values "
            f"{values.tolist()!r}. Map them to 0/1 (e.g. y == positive_value), or pass a "
            f"1-D y of class labels."
        )


def check_sparse_columns(X):
    """Refuse sparse X whose column indices cannot be int32; return X unchanged.

    scipy gives int64 indices to large or stacked matrices (DictVectorizer,
    FeatureHasher, ``csr_array`` built from int64 arrays). They are accepted:
    the engine takes the column indices as int32 (TensorFlow gathers with
    them), which holds every index when there are at most 2**31 - 1 columns.
    """
    if issparse(X) and X.shape[1] > MAX_SPARSE_COLUMNS:
        raise ValueError(
            f"Sparse X has {X.shape[1]} columns; LogLossClassifier supports at most "
            f"{MAX_SPARSE_COLUMNS} (2**31 - 1). Reduce the feature space, e.g. "
            f"FeatureHasher(n_features=2**20)."
        )
    return X


def fit_weights(sample_weight, class_weight, X, y, targets, require_two=True):
    """The per-row weights a fit trains with: ``sample_weight`` checked, times the
    class weights of ``class_weight`` (if any) on these rows, checked again.

    ``targets`` is :func:`encode_targets`' ``(classes, Y, multilabel)`` of ``y``.
    """
    classes, Y, multilabel = targets
    weights = check_weights(sample_weight, X, Y, multilabel, require_two=require_two)
    if class_weight is None:
        return weights
    per_class = class_sample_weights(class_weight, classes, y, Y, multilabel, weights)
    return check_weights(weights * per_class, X, Y, multilabel, require_two=require_two)


def as_precision(a, dtype, name="X"):
    """``a`` (X, dense or CSR, or the weights; validated finite) in the training ``dtype``;
    a ValueError where the cast overflows (values beyond float32's range become infinite)."""
    if a.dtype == dtype:
        return a
    with np.errstate(over="ignore"):
        out = a.astype(dtype)
    if not np.isfinite(out.data if issparse(out) else out).all():
        raise ValueError(
            f"{name} has values beyond {np.dtype(dtype).name}'s range (largest "
            f"{np.finfo(dtype).max:.3g}); train with precision='float64', or scale {name} "
            "first."
        )
    return out


def check_weights(sample_weight, X, Y, multilabel, require_two=True):
    """Validate ``sample_weight`` as non-negative finite weights in ``X``'s dtype.

    Raises a ValueError when the weights are all zero or, for a single-label
    target and ``require_two``, leave positive weight on fewer than two classes.
    """
    weights = check_sample_weight(sample_weight, X, dtype=X.dtype)
    positive = weights > 0
    if not positive.any():
        raise ValueError(
            "sample_weight is zero for every sample; give at least one sample a "
            "positive weight."
        )
    if require_two and not multilabel:
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


def class_sample_weights(class_weight, classes, y, Y, multilabel, sample_weight):
    """Per-sample weights from ``class_weight`` (dict or "balanced"), as LogisticRegression.

    "balanced" is ``n_samples / (n_classes * count)`` with counts weighted by
    ``sample_weight``; a dict maps class labels to weights (absent ones get 1).
    For a multilabel indicator ``Y`` only "balanced" is defined, by
    ``compute_sample_weight`` for multi-output targets.
    """
    if multilabel:
        if isinstance(class_weight, dict):
            raise ValueError(
                "class_weight must be 'balanced' or None for multilabel targets, not a "
                "dict; pass sample_weight for other weightings."
            )
        return compute_sample_weight("balanced", Y)
    labels = np.ravel(y)
    if isinstance(class_weight, dict):
        known = set(classes.tolist())
        unknown = [k for k in class_weight if k not in known]
        if unknown:
            raise ValueError(
                f"class_weight has keys {unknown!r} that are not classes of y "
                f"{classes.tolist()!r}; its keys must be class labels."
            )
        lookup = {c: class_weight.get(c, 1.0) for c in classes.tolist()}
        bad = {c: v for c, v in lookup.items() if not (np.isreal(v) and np.isfinite(v) and v >= 0)}
        if bad:
            raise ValueError(
                f"class_weight values must be finite non-negative numbers; got {bad!r}."
            )
    else:  # "balanced", the same on every scikit-learn version
        present, index = np.unique(labels, return_inverse=True)
        counts = np.bincount(index, weights=np.asarray(sample_weight, dtype=np.float64))
        balanced = counts.sum() / (len(present) * counts)
        lookup = dict(zip(present.tolist(), balanced.tolist()))
    return np.array([float(lookup[v]) for v in labels.tolist()])


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


_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(
    0x9E3779B97F4A7C15
)


def mix64(x):
    """SplitMix64 finalizer on a uint64 array (wrapping arithmetic, no overflow warnings)."""
    x = np.array(x, dtype=np.uint64, ndmin=1)  # arrays wrap silently; NumPy scalars warn
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _pair_hashes(values, columns, key):
    """Keyed hashes of (column, value) pairs; values compared as float64 bits."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    return mix64(mix64(bits + np.uint64(key)) ^ (columns.astype(np.uint64) * _GOLD))


def row_hashes(X, groups, key):
    """A keyed 64-bit hash of each row's nonzero (column, value) pairs and its group.

    Equal rows hash equal, and a row hashes the same dense or sparse (explicit
    zeros are ignored): the hash is a wrapping sum over the row's nonzeros.
    """
    n = X.shape[0]
    sums = np.zeros(n, dtype=np.uint64)
    if issparse(X):
        csr = X.tocsr()
        pair = _pair_hashes(csr.data, csr.indices, key)
        pair[csr.data == 0] = 0
        lengths = np.diff(csr.indptr)
        if pair.size:
            starts = csr.indptr[:-1][lengths > 0]
            sums[lengths > 0] = np.add.reduceat(pair, starts)
    else:
        X = np.asarray(X)
        columns = np.arange(X.shape[1])
        for start in range(0, n, 8192):  # blocks bound the temporaries
            block = X[start : start + 8192]
            pair = _pair_hashes(block, columns[None, :], key)
            pair[block == 0] = 0
            sums[start : start + 8192] = pair.sum(axis=1, dtype=np.uint64)
    return mix64((sums ^ groups.astype(np.uint64)) + _GOLD + np.uint64(key))  # array + scalars


def split_groups(Y, multilabel):
    """The groups :func:`validation_split` stratifies by: each row's class index in the 0/1
    label matrix ``Y`` (one column: binary), all zeros for multilabel targets."""
    if multilabel:
        return np.zeros(Y.shape[0], np.int64)
    return Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else Y.argmax(axis=1)


def can_hold_out(X, Y, weights, multilabel, fraction):
    """Whether :func:`validation_split` holds out any row of this data: some class has two
    distinct rows of positive weight (which does not depend on the key)."""
    return bool(validation_split(X, split_groups(Y, multilabel), weights, fraction, 0).any())


def validation_split(X, groups, weights, fraction, key):
    """Boolean mask of the validation rows for early stopping.

    Stratified by ``groups`` (class indices; all zeros for multilabel
    targets): in each group, distinct rows are taken in a keyed-hash order
    until ``fraction`` of the group's sample weight is held out, keeping at
    least one distinct row on each side. Copies of a row always land on the
    same side, so an integer sample weight is exactly equivalent to repeating
    the row (and a zero weight to removing it), and duplicated rows never leak
    between training and validation.
    """
    h = row_hashes(X, groups, key)
    val = np.zeros(X.shape[0], dtype=bool)
    for g in np.unique(groups):
        rows = np.flatnonzero((groups == g) & (weights > 0))
        distinct, inverse = np.unique(h[rows], return_inverse=True)
        if distinct.size < 2:
            continue
        wsum = np.bincount(inverse, weights=weights[rows].astype(np.float64))
        before = np.cumsum(wsum) - wsum
        chosen = before < fraction * wsum.sum()
        chosen[-1] = False
        val[rows] = chosen[inverse]
    return val
