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


def sample_losses(loss, labels, h, inline=False):
    """Each row's loss: the mean sigmoid cross-entropy of its logits, or their softmax one.

    ``inline``: the step runs in a loop body in the single-threaded executor,
    whose bodies TensorFlow's graph optimizer does not rewrite; the sigmoid
    loss then sums its gradient as the optimizer would (:func:`sigmoid_cross_entropy`).
    """
    if loss == "softmax":
        return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=h)
    losses = (sigmoid_cross_entropy(labels, h) if inline
              else tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=h))
    if h.shape[1] == 1:  # the mean of one logit is itself, to the bit (x / 1), as is its gradient
        return tf.reshape(losses, [-1])
    return tf.reduce_mean(losses, axis=1)


@tf.custom_gradient
def sigmoid_cross_entropy(labels, logits):
    """``tf.nn.sigmoid_cross_entropy_with_logits``, its value and gradient to the bit, with the
    gradient's four terms summed in the order of TensorFlow's graph optimizer.

    The value is TensorFlow's formula, op for op. Its gradient with respect to
    the logits has four terms, one per path through the formula; the tape sums
    them in the order it meets them, and the graph optimizer (arithmetic
    optimization, in the default executor) re-sorts such a sum by the terms'
    names. The engine's references were trained with the optimizer's order;
    here each term is TensorFlow's own gradient arithmetic and the sum comes
    in that order, so a loop body that the optimizer does not rewrite trains
    to the same bits.
    """
    zeros = tf.zeros_like(logits)
    cond = logits >= zeros
    relu_logits = tf.where(cond, logits, zeros)
    e = tf.exp(tf.where(cond, -logits, logits))
    value = tf.add(relu_logits - logits * labels, tf.math.log1p(e))

    def gradient(g):
        g_e = g * tf.math.reciprocal(1 + e) * e  # through log1p, then exp
        return None, tf.add_n([
            -tf.where(cond, g_e, zeros),  # exp's argument -logits, where logits >= 0
            tf.where(cond, g, zeros),  # relu_logits
            tf.where(cond, zeros, g_e),  # exp's argument logits, where logits < 0
            -g * labels,  # logits * labels
        ])

    return value, gradient


def objective(spec, coefs, intercepts, xb, yb, bw, alpha, count, n, total_w, inline=False):
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
    per_sample = sample_losses(spec.loss, tf.cast(yb, spec.dtype), h, inline)
    data = tf.reduce_sum(bw * per_sample) * (n / count)
    return (data + 0.5 * alpha * squared_norm(coefs)) / total_w


def squared_norm(coefs):
    """``||W||^2`` over every weight matrix (the intercepts are not penalized)."""
    return tf.add_n([tf.reduce_sum(tf.square(W)) for W in coefs])
