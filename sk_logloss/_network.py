"""NumPy side of the logits model: weight initialization, forward pass, probabilities."""

from itertools import pairwise

import numpy as np
from scipy.sparse import diags, issparse
from scipy.special import expit, log_expit, log_softmax, softmax

# The hidden-layer activations. NumPy's definitions are here; TensorFlow's (the
# engine's training) and Keras' (the exported model) are Keras' own, by the name
# KERAS_ACTIVATIONS gives, so each activation is written once per language.
ACTIVATIONS = {
    "identity": lambda z: z,
    "logistic": expit,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
}
KERAS_ACTIVATIONS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def init_weights(layer_sizes, activation, rng, dtype):
    """Initial weights and intercepts: zeros for a linear model, else Glorot-uniform.

    A linear model starts at zero, as LogisticRegression and SGDClassifier
    do: its loss is convex, so there is no symmetry to break, and every
    sample starts at probability 1/2 whatever the scale of X. A network
    gets MLPClassifier's Glorot-uniform draws from ``rng`` (a
    ``numpy.random.Generator``). Returns two lists of arrays (one per layer)
    in ``dtype``.
    """
    coefs, intercepts = [], []
    if len(layer_sizes) == 2:
        fan_in, fan_out = layer_sizes
        return [np.zeros((fan_in, fan_out), dtype)], [np.zeros(fan_out, dtype)]
    factor = 2.0 if activation == "logistic" else 6.0
    for fan_in, fan_out in pairwise(layer_sizes):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


def _affine(h, W, b):
    """``h @ W + b``, whose rows stay finite however large the finite input.

    A row whose product overflows is recomputed scaled by its largest entry,
    ``s * ((h / s) @ W)``, and saturates at the largest float of its sign
    instead of becoming inf (or NaN, from inf - inf); no overflow warning
    escapes.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.asarray(h @ W + b)
    bad = ~np.isfinite(z).all(axis=1)
    if bad.any():
        rows = h[bad]
        scale = np.asarray(abs(rows).max(axis=1).todense() if issparse(rows)
                           else np.abs(rows).max(axis=1), dtype=z.dtype).ravel()
        scale[scale == 0] = 1
        unit = (diags(1 / scale) @ rows) if issparse(rows) else rows / scale[:, None]
        big = np.finfo(z.dtype).max
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = np.clip(scale[:, None] * np.asarray(unit @ W), -big, big)
            z[bad] = np.clip(scaled + b, -big, big)
    return z


def forward(X, coefs, intercepts, activation):
    """Logits of the network for rows ``X``, computed in ``X``'s float dtype."""
    act = ACTIVATIONS[activation]
    h = X
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        h = _affine(h, W.astype(X.dtype, copy=False), b.astype(X.dtype, copy=False))
        if i < last:
            h = act(h)
    return h


def log_proba(logits, multilabel, loss="sigmoid"):
    """Log-probabilities from logits.

    A single logit gives two columns (negative, positive class). Several
    logits give, with the softmax loss, their log-softmax; with the sigmoid
    loss, their one-vs-rest sigmoids normalized to sum to 1 per row, computed
    in log space so that no row underflows to 0/0. Multilabel logits give one
    independent log-sigmoid per label.
    """
    z = np.asarray(logits, dtype=np.float64)
    if multilabel:
        return log_expit(z)
    if z.shape[1] == 1:
        return np.hstack([log_expit(-z), log_expit(z)])
    return log_softmax(z if loss == "softmax" else log_expit(z), axis=1)


def proba(logits, multilabel, loss="sigmoid"):
    """Probabilities from logits (see :func:`log_proba`); rows sum to 1 except multilabel."""
    z = np.asarray(logits, dtype=np.float64)
    if multilabel:
        return expit(z)
    if z.shape[1] == 1:
        return np.hstack([expit(-z), expit(z)])
    return softmax(z if loss == "softmax" else log_expit(z), axis=1)


def sample_losses(z, Y, loss):
    """Each row's loss, float64: its mean sigmoid cross-entropy, or its softmax one.

    Written in the stable forms ``log(1 + e^z) - y z`` and
    ``logsumexp(z) - sum(y z)``, whose terms never overflow.
    """
    if loss == "softmax":  # -log p of the true class (-inf where a gap overflows: kept out)
        return -np.where(Y > 0, log_softmax(z, axis=1), 0.0).sum(axis=1)
    xent = np.logaddexp(0.0, z) - z * Y
    return (xent / xent.shape[1]).sum(axis=1)


def objective(X, Y, sample_weight, coefs, intercepts, activation, alpha, loss="sigmoid"):
    """Training objective at the given weights, in float64.

    Weighted mean over samples of each row's loss (:func:`sample_losses`),
    plus ``0.5 * alpha * ||W||^2 / sum(sample_weight)``. Each mean is taken
    over normalized terms, so no sum overflows; a value beyond the largest
    float saturates there instead of becoming inf.
    """
    z = np.asarray(forward(X, coefs, intercepts, activation), dtype=np.float64)
    big = np.finfo(np.float64).max
    with np.errstate(over="ignore"):
        per_sample = sample_losses(z, Y, loss)
        w = np.asarray(sample_weight, dtype=np.float64)
        total = w.sum()
        data = float(np.minimum((w / total) @ np.minimum(per_sample, big), big))
        l2 = sum(float(np.dot(W.ravel().astype(np.float64), W.ravel().astype(np.float64)))
                 for W in coefs)
        penalty = float(np.minimum(0.5 * alpha * np.minimum(l2, big) / total, big))
    return min(data + penalty, big)
