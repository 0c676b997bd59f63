"""Where a minibatch is drawn: a dense and a CSR source behind one interface, chosen in one place.

Like scikit-learn's ``make_dataset``, :func:`make_source` is the only place
that tells dense from sparse X; everything after it takes a :class:`Batch`.
The host side (:func:`x_tensors`, :func:`all_rows_tensors`) and the traced
signatures (:func:`x_signature`, :func:`all_rows_signature`) are decided here
too.
"""

from typing import NamedTuple

import numpy as np

from .host import as_tensor
from .model import SparseRows, tf


class Batch(NamedTuple):
    """One minibatch: its rows (a dense block or :class:`SparseRows`), labels, weights, size.

    ``w`` is zero on the padding slots of the last, short batch; ``count`` is
    the number of real rows.
    """

    x: object
    y: object
    w: object
    count: object


class DenseSource:
    """Minibatches of dense X: a row gather."""

    look_ahead = False  # gathering is cheap and the loop carries less without it

    def __init__(self, X, Y, w, template, n):
        self.X = X
        self._labels(n, Y, w, template)

    def _labels(self, n, Y, w, template):
        self.n, self.Y, self.w = n, Y, w
        self.batch = tf.shape(template)[0]  # a compile-time constant under XLA

    def rows(self, idx):
        return tf.gather(self.X, idx)

    def carried(self, batch):
        """``batch`` after a trip through a loop's carried state (see :class:`CsrSource`)."""
        return batch

    def take(self, order, i):
        """Batch ``i`` of the epoch whose row order is ``order`` (padded by one batch or more)."""
        B = self.batch
        start = i * B
        idx = tf.slice(order, [start], [B])
        valid = tf.cast(start + tf.range(B) < self.n, self.w.dtype)
        return Batch(self.rows(idx), tf.gather(self.Y, idx), tf.gather(self.w, idx) * valid,
                     tf.reduce_sum(valid))


class CsrSource(DenseSource):
    """Minibatches of CSR rows, cut into pieces of fixed width, in a fixed number of pieces.

    X arrives as ``(indptr, indices, values, piece_template, width_template)``:
    the templates' lengths (static under XLA) are the number of pieces of a
    batch and the piece width. A row of ``m`` nonzeros takes
    ``ceil(m / width)`` pieces; unused slots hold 0. Only the nonzeros are read.
    """

    # gather the next batch in the same iteration: XLA's CPU runtime runs it
    # beside this step's arithmetic (the random row reads wait on memory; a
    # fit is 25% faster). Under XLA only: the graph executor runs one operation
    # at a time, and the carried batch costs more than it hides (a 40-row CSR
    # fit's steps: 242 -> 194 us without it, the same bits).
    look_ahead = True

    def __init__(self, X, Y, w, template, n):
        self.indptr, self.indices, self.values, piece_template, width_template = X
        self.pieces, self.width = tf.shape(piece_template)[0], tf.shape(width_template)[0]
        self._labels(n, Y, w, template)

    def carried(self, batch):
        """The row count a loop carried is a loop variable, no longer a constant: XLA
        needs the constant batch size as the segment count of the first layer's scatter."""
        return batch._replace(x=batch.x._replace(n_rows=self.batch))

    def rows(self, idx):
        B, P, L = self.batch, self.pieces, self.width
        starts = tf.gather(self.indptr, idx)
        lens = tf.cast(tf.gather(self.indptr, idx + 1) - starts, tf.int32)
        pieces = (lens + L - 1) // L
        ends = tf.cumsum(pieces)
        # row of piece p: how many rows end at or before p
        marks = tf.tensor_scatter_nd_add(
            tf.zeros([P + 1], tf.int32), tf.minimum(ends, P)[:, None], tf.ones([B], tf.int32)
        )
        p = tf.range(P)
        row = tf.minimum(tf.cumsum(marks)[:P], B - 1)
        in_row = ((p - tf.gather(ends - pieces, row)) * L)[:, None] + tf.range(L)[None, :]
        used = (p < ends[-1])[:, None] & (in_row < tf.gather(lens, row)[:, None])
        pos = tf.gather(starts, row)[:, None] + tf.cast(in_row, tf.int64)
        pos = tf.where(used, pos, tf.zeros_like(pos))
        vals = tf.gather(self.values, pos) * tf.cast(used, self.values.dtype)
        return SparseRows(vals, tf.gather(self.indices, pos), row, B)


def make_source(sparse, X, Y, w, template, n):
    """The batch source of X's first ``n`` rows: the one place where dense and CSR part ways."""
    return (CsrSource if sparse else DenseSource)(X, Y, w, template, n)


def x_signature(sparse, dtype, n_features):
    """The traced signature of X as :func:`x_tensors` sends it."""
    if sparse:  # CSR arrays: indptr, column indices, values; piece templates
        return (tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None], dtype), tf.TensorSpec([None], tf.int8),
                tf.TensorSpec([None], tf.int8))
    return tf.TensorSpec([None, n_features], dtype)


def x_tensors(sparse, X, batch):
    """X as the tensors a source takes: shared without copies where possible.

    For CSR X two all-zero tensors fix a batch's layout by their lengths: the
    piece width (the mean row length: a row is cut into pieces of that many
    slots), and the pieces of the ``batch`` rows that have the most.
    """
    if not sparse:
        return as_tensor(X)
    indices = X.indices if X.indices.dtype == np.int32 else X.indices.astype(np.int32)
    data = X.data
    if len(data) == 0:  # unused slots read entry 0 (masked out): give them one to read
        indices, data = np.zeros(1, np.int32), np.zeros(1, data.dtype)
    lengths = np.diff(X.indptr)
    width = max(1, -(-X.indptr[-1] // max(1, len(lengths))))
    pieces = -(-lengths // width)
    top = min(batch, len(pieces))
    cap = max(1, int(np.partition(pieces, len(pieces) - top)[-top:].sum()))
    return (tf.constant(X.indptr.astype(np.int64, copy=False)), as_tensor(indices),
            as_tensor(data), tf.zeros([cap], tf.int8), tf.zeros([width], tf.int8))


def all_rows_signature(sparse, dtype, n_features):
    """The traced signature of every row at once (validation set, L-BFGS)."""
    if sparse:  # the nonzeros: values, columns, rows
        return (tf.TensorSpec([None], dtype), tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None], tf.int32))
    return tf.TensorSpec([None, n_features], dtype)


def all_rows_tensors(sparse, X):
    """Every row of X as tensors: dense X shared, CSR X as its nonzeros."""
    if not sparse:
        return as_tensor(X)
    rows = np.repeat(np.arange(X.shape[0], dtype=np.int32), np.diff(X.indptr))
    return (tf.constant(X.data), tf.constant(X.indices.astype(np.int32, copy=False)),
            tf.constant(rows))


def no_rows(sparse, dtype, n_features):
    """An empty set of rows, in the form of :func:`all_rows_tensors` (no validation set)."""
    if sparse:
        return tf.zeros([0], dtype), tf.zeros([0], tf.int32), tf.zeros([0], tf.int32)
    return tf.zeros([0, n_features], dtype)


def all_rows(x, n_rows):
    """What :func:`all_rows_tensors` sent, as the model's input (traced code)."""
    return SparseRows(*x, n_rows) if isinstance(x, tuple) else x
