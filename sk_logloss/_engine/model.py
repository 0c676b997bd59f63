"""The model in TensorFlow: activations, logits, and the loss every training path minimizes."""

from typing import NamedTuple

from .._backend import keras, tensorflow
from .._network import KERAS_ACTIVATIONS

tf = tensorflow()


def activation(name):
    """The hidden-layer activation ``name``: Keras' own, as the exported model uses."""
    return keras().activations.get(KERAS_ACTIVATIONS[name])


class SparseRows(NamedTuple):
    """Sparse rows as tensors: nonzero values and their columns, grouped in pieces.

    ``values`` and ``columns`` are ``[pieces, width]`` (a batch of CSR rows,
    each row cut into pieces of ``width`` slots) or ``[nonzeros]`` (one
    nonzero per piece); ``rows`` gives each piece's row, in range(n_rows).
    """

    values: object
    columns: object
    rows: object
    n_rows: object


def first_layer(x, W):
    """``x @ W`` for a dense batch or a :class:`SparseRows` batch (sparse X)."""
    if isinstance(x, SparseRows):  # only the columns present are read (and get gradients)
        terms = x.values[..., None] * tf.gather(W, x.columns)
        if terms.shape.rank == 3:  # sum each piece first: the scatter below is per piece
            terms = tf.reduce_sum(terms, axis=1)
        return tf.math.unsorted_segment_sum(terms, x.rows, x.n_rows)
    return tf.matmul(x, W)


def logits(coefs, intercepts, activation_name, x):
    """The network's output for rows ``x``: affine layers, the activation between them."""
    act = activation(activation_name)
    h = x
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        h = (first_layer(h, W) if i == 0 else tf.matmul(h, W)) + b
        if i < len(coefs) - 1:
            h = act(h)
    return h


def sample_losses(loss, labels, h):
    """Each row's loss: the mean sigmoid cross-entropy of its logits, or their softmax one."""
    if loss == "softmax":
        return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=h)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=h), axis=1)


def objective(spec, coefs, intercepts, xb, yb, bw, alpha, count, n, total_w):
    """A batch's unbiased estimate of the weighted objective, L2 term included.

    The objective is ``(sum_i w_i l_i + 0.5 * alpha * ||W||^2) / total_w``
    over the ``n`` rows of the data, ``l_i`` row ``i``'s loss
    (:func:`sample_losses` of ``spec.loss``). A batch of ``count`` rows drawn at random (the
    rows of a random permutation) estimates the data term by
    ``(n / count) * sum_batch w_i l_i``, so the expected minibatch gradient
    is the full weighted gradient at any batch size: a row's weight counts
    against the whole data's, not against its batch's. A full batch
    (``count == n``) gives the objective itself.
    """
    h = logits(coefs, intercepts, spec.activation, xb)
    per_sample = sample_losses(spec.loss, tf.cast(yb, spec.dtype), h)
    data = tf.reduce_sum(bw * per_sample) * (n / count)
    return (data + 0.5 * alpha * squared_norm(coefs)) / total_w


def squared_norm(coefs):
    """``||W||^2`` over every weight matrix (the intercepts are not penalized)."""
    return tf.add_n([tf.reduce_sum(tf.square(W)) for W in coefs])
