"""The sweep's model: every candidate's logits for its fold's rows, rows last, and the losses with their gradients.

The counterpart of :mod:`.model` on ``[F, C, ...]`` variables. Logits are
``[F, C, k, B]``: the rows (B) come last, so the products run as ``[k, d] x
[d, B]`` per candidate and a row's sums over its k logits run along rows in
memory. The losses equal TensorFlow's to rounding.
"""

from .model import activation, tf

# Grid points per fold up to which a first layer of one unit takes one matrix-vector
# product per grid point (XLA emits those itself) rather than one batched product (which
# XLA hands to Eigen, slow at a few columns). Both products forward and backward, per
# step, 2-core Xeon, 2026-12-06 (folds x rows x features): 6 x 144 x 30 at 3, 5, 7, 8
# grid points 34 -> 17, 39 -> 28, 50 -> 39, 43 -> 46 us; 3 x 200 x 100 at 4, 7, 8, 9
# 65 -> 31, 94 -> 54, 83 -> 64, 99 -> 95 us
GEMV_MAX_GRID = 7


def first_layer(x, W, b):
    """``[F, C, h, B]``: the rows ``x`` (``[F, B, d]``) times each candidate's first
    weights ``W`` (``[F, C, d, h]``) plus its intercepts ``b``, rows last
    (:func:`logits`): a matrix-vector product per grid point where the layer has one
    unit and the grid points are few (:data:`GEMV_MAX_GRID`), else one batched
    product (:func:`batched_affine`)."""
    C, width = W.shape[1], W.shape[-1]
    if width == 1 and C <= GEMV_MAX_GRID:  # unstacked, not sliced: fewer kernels to compile
        return (tf.stack([rows_last(tf.matmul(x, w)) for w in tf.unstack(W, axis=1)], axis=1)
                + rows_last(b))
    return batched_affine(x, tf.convert_to_tensor(W), tf.convert_to_tensor(b))


@tf.custom_gradient
def batched_affine(x, W, b):
    """``x`` times ``W`` plus ``b`` as one batched product, rows last, whose gradient gives
    the weights' and the intercepts' from one tensor: both as products (the intercepts'
    with a column of ones), so XLA computes the logits' gradient once, not once for
    the weights' product and again for a sum over the rows."""
    F, C, d, k = W.shape

    def grad(g):
        g = tf.reshape(g, [F, C * k, -1])
        dW = tf.transpose(tf.reshape(tf.matmul(g, x), [F, C, k, d]), [0, 1, 3, 2])
        db = tf.reshape(tf.matmul(g, tf.ones_like(x[:, :, :1])), [F, C, 1, k])
        return None, dW, db

    return tf.einsum("fcdh,fbd->fchb", W, x) + rows_last(b), grad


def rows_last(t):
    """``t`` with its last two axes swapped: ``[..., B, k]`` rows to ``[..., k, B]``."""
    return tf.linalg.matrix_transpose(t)


def logits(coefs, intercepts, activation_name, x):
    """``[F, C, k, B]`` outputs of every candidate for its fold's rows ``x`` (``[F, B, d]``).

    The rows come last: the products then run as ``[k, d] x [d, B]`` per candidate,
    and the loss's sums over a row's k logits run along rows in memory (a probe of
    digits' step, 10 logits, 25 candidates: 998 -> 645 us against ``[F, C, B, k]``,
    2-core Xeon).
    """
    act = activation(activation_name)
    h = first_layer(x, coefs[0], intercepts[0])
    for W, b in zip(coefs[1:], intercepts[1:]):
        h = tf.einsum("fcio,fcib->fcob", W, act(h)) + rows_last(b)
    return h


def sample_losses(loss, labels, h):
    """``[F, C, B]``: each row's loss (as :func:`.model.sample_losses`, over the logits
    axis of ``[F, C, k, B]``)."""
    labels = tf.broadcast_to(labels, tf.shape(h))
    if loss == "softmax":
        return softmax_row_losses(labels, h)
    if h.shape[2] > MAX_PRODUCT_TERMS:
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=h),
                              2)
    return sigmoid_row_losses(labels, h)


@tf.custom_gradient
def softmax_row_losses(labels, h):
    """Each row's softmax cross-entropy over the logits axis of ``[F, C, k, B]``:
    TensorFlow's ``softmax_cross_entropy_with_logits`` and its gradient (the row's
    probabilities minus its labels), to rounding, computed where the rows lie; that
    op, given ``axis=2``, would move the logits last and back (digits' warm sweep
    7.0 -> 8.0 s)."""
    shifted = h - tf.reduce_max(h, 2, keepdims=True)
    e = tf.exp(shifted)
    total = tf.reduce_sum(e, 2, keepdims=True)
    loss = tf.reduce_sum(labels * (tf.math.log(total) - shifted), 2)

    def grad(upstream):
        return None, upstream[:, :, None, :] * (e / total - labels)

    return loss, grad


# A product of this many factors in (1, 2] stays below float32's largest value.
MAX_PRODUCT_TERMS = 120


@tf.custom_gradient
def sigmoid_row_losses(labels, h):
    """Each row's mean sigmoid cross-entropy over its k logits, with one logarithm per row.

    ``softplus(h) - h y`` summed over the row, its ``log1p(exp(-|h|))`` terms
    taken as the log of their product: XLA's CPU code spends most of a step in
    logarithms of exponentials (about 10 ns each in float64), so k logits cost
    one instead of k. The gradient ``sigmoid(h) - y`` reuses ``exp(-|h|)``.
    Both equal TensorFlow's ``sigmoid_cross_entropy_with_logits`` to rounding.
    """
    k = tf.cast(tf.shape(h)[2], h.dtype)
    e = tf.exp(-tf.abs(h))
    linear = tf.reduce_sum(tf.nn.relu(h) - h * labels, 2)
    loss = (linear + tf.math.log(tf.reduce_prod(1 + e, 2))) / k

    def grad(upstream):
        return None, upstream[:, :, None, :] * (sigmoid(h, e) - labels) / k

    return loss, grad


def sigmoid(h, e):
    """``sigmoid(h)`` from ``e = exp(-|h|)``, already taken for the loss."""
    r = 1 / (1 + e)
    return tf.where(h >= 0, r, e * r)


# Factors in (1, 2] whose product stays below each precision's largest value.
MAX_FACTORS = {tf.float64: 1000, tf.float32: 120}
# Logits per row up to which sigmoid_batch_losses beats sigmoid_row_losses under XLA
# (float64, forward and gradient, 25 candidates, 2-core Xeon, 2026-12-05): 1 logit x 120
# rows 9 vs 18 us, 2000 rows 128 vs 220; 5 x 200 76 vs 99; 7 x 200 128 vs 82; 10 x 200
# 164 vs 106 (digits' sweep step 1342 -> 1190 us with row losses)
BATCH_LOSS_MAX_LOGITS = 5


@tf.custom_gradient
def sigmoid_batch_losses(labels, h, unit):
    """``[F, C]``: each candidate's sum over the batch rows that ``unit`` (``[F, B]``, 0 or
    1) keeps of their mean sigmoid cross-entropy, with one logarithm per chunk of rows.

    :func:`sigmoid_row_losses` with the rows' ``log1p(exp(-|h|))`` terms also taken as
    the log of their product, in chunks of at most MAX_FACTORS factors: a batch of
    152 rows and one logit costs one logarithm instead of 152 (XLA's float64
    logarithm here: about 4 ns). A row of weight 0 contributes factors of 1. Equal
    to the sum of TensorFlow's ``sigmoid_cross_entropy_with_logits`` to rounding.
    """
    k = tf.cast(tf.shape(h)[2], h.dtype)
    e = tf.exp(-tf.abs(h))
    u = unit[:, None, None, :]
    linear = tf.reduce_sum(u * (tf.nn.relu(h) - h * labels), [-2, -1])
    rows = tf.reduce_prod(1 + u * e, 2)  # [F, C, B]
    chunk = max(1, MAX_FACTORS[h.dtype] // h.shape[2])
    rows = tf.pad(rows, [[0, 0], [0, 0], [0, -tf.shape(rows)[-1] % chunk]], constant_values=1)
    products = tf.reshape(rows, [tf.shape(rows)[0], tf.shape(rows)[1], -1, chunk])
    loss = (linear + tf.reduce_sum(tf.math.log(tf.reduce_prod(products, -1)), -1)) / k

    def grad(upstream):
        return None, upstream[:, :, None, None] * u * (sigmoid(h, e) - labels) / k, None

    return loss, grad


def squared_norms(coefs):
    """``[F, C]``: each candidate's ``||W||^2``."""
    return tf.add_n([tf.reduce_sum(tf.square(W), axis=[2, 3]) for W in coefs])
