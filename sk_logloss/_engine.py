"""TensorFlow training engine: one traced training loop per model shape, reused by every fit."""

import contextlib
import functools
import itertools
import threading
from dataclasses import dataclass

import numpy as np

from ._backend import first_xla_compile, tensorflow
from ._optimizers import build_optimizer, lbfgs_options
from ._validation import mix64

tf = tensorflow()

# A training run of at least this many optimizer steps (max_iter x steps per
# epoch) is compiled with XLA: about 9 us/step instead of about 40 us/step for
# TensorFlow's graph executor on a 2-core CPU, but a first compile costs about
# 0.35 s for each new data shape. The choice depends only on the fit's settings,
# never on what ran before, so a given random_state always gives the same bits.
XLA_MIN_STEPS = 10_000
# ... and so is any run on data of at least this many bytes, whose steps cost
# enough for the compilation to pay off even in a few epochs.
XLA_MIN_BYTES = 32 * 2**20

# Epochs per call at most: the per-epoch buffers have this fixed length, so
# neither max_iter nor verbose changes a compiled shape.
EPOCHS_PER_CALL = 32

# Optimizer steps per call at most (whole epochs, at least one): training
# returns to Python this often, where a requested stop (Ctrl-C) is honoured.
STEPS_PER_CALL = 20_000

# Rows of the epochs' permutations sent with one call at most (16 MB of int32).
ORDER_ROWS_PER_CALL = 2**22

# X of at least this many bytes is streamed: the host gathers shuffled chunks of
# CHUNK_BYTES into one reused aligned buffer, so X is never copied whole.
STREAM_MIN_BYTES = 64 * 2**20
CHUNK_BYTES = 16 * 2**20

# Statuses of a training run. RUNNING at the end means max_iter was reached;
# L-BFGS tells MAX_ITER (iterations) from MAX_FUN (function evaluations).
RUNNING, CONVERGED, DIVERGED, INTERRUPTED, MAX_FUN = 0, 1, 2, 3, 4
MAX_ITER = RUNNING

_TF_ACTIVATIONS = {
    "identity": tf.identity,
    "logistic": tf.sigmoid,
    "tanh": tf.tanh,
    "relu": tf.nn.relu,
}


def epoch_orders(seed, epoch0, n_epochs, n):
    """The row permutations of epochs ``epoch0 .. epoch0 + n_epochs - 1``, an int32 array.

    Epoch ``e``'s permutation depends only on ``(seed, e)``: it sorts a
    bijective hash (SplitMix64) of the row indices keyed by both. The keys are
    distinct, so the permutation is exact integer arithmetic whatever the
    sort, the NumPy version or the machine. Drawn on the host (NumPy sorts
    200,000 keys in about 2 ms; XLA's sort on a CPU took 36 ms).
    """
    epochs = np.arange(epoch0, epoch0 + n_epochs, dtype=np.uint64)[:, None]
    keys = mix64(np.uint64(seed) + epochs * np.uint64(0x9E3779B97F4A7C15))  # arrays wrap
    h = mix64(np.arange(n, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03) + keys)
    return np.argsort(h, axis=1).astype(np.int32)


@dataclass(frozen=True)
class ModelSpec:
    """What fixes a traced graph: layer sizes, activation, optimizer and its parameters, dtype.

    ``sparse`` marks scipy.sparse input, trained through sparse-dense products.

    ``optimizer_params`` is a sorted tuple of ``(key, value)`` pairs.
    """

    layer_sizes: tuple
    activation: str
    optimizer: str
    optimizer_params: tuple
    dtype: str
    sparse: bool = False


def freeze_params(params):
    """``params`` as a hashable, sorted tuple of pairs (lists become tuples)."""

    def freeze(value):
        if isinstance(value, list | tuple):
            return tuple(freeze(v) for v in value)
        if isinstance(value, dict):
            return freeze_params(value)
        return value

    return tuple(sorted((k, freeze(v)) for k, v in params.items()))


@dataclass
class TrainResult:
    """Outcome of :func:`train` or :func:`minimize_lbfgs`, all NumPy and Python values."""

    coefs: list
    intercepts: list
    loss_curve: np.ndarray
    validation_scores: np.ndarray  # empty without a validation set
    learning_rates: np.ndarray
    loss: float | None  # the final objective, where the engine computed it (L-BFGS)
    status: int
    optimizer_state: list | None = None
    lr_scale: float = 1.0
    message: str = ""
    optimizer_epochs: int = 0  # epochs since the optimizer was created (set by the estimator)
    diverged_rate: float | None = None  # learning rate of the epoch that diverged, if one did


def _objective(coefs, intercepts, activation, dtype, xb, yb, bw, alpha, count, n, total_w):
    """A batch's unbiased estimate of the weighted objective, L2 term included.

    The objective is ``(sum_i w_i l_i + 0.5 * alpha * ||W||^2) / total_w``
    over the ``n`` rows of the data, ``l_i`` the mean sigmoid cross-entropy
    of row ``i``'s logits. A batch of ``count`` rows drawn at random (the
    rows of a random permutation) estimates the data term by
    ``(n / count) * sum_batch w_i l_i``, so the expected minibatch gradient
    is the full weighted gradient at any batch size: a row's weight counts
    against the whole data's, not against its batch's. A full batch
    (``count == n``) gives the objective itself.
    """
    h = _logits(coefs, intercepts, activation, xb)
    labels = tf.cast(yb, dtype)
    xent = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=h)
    per_sample = tf.reduce_mean(xent, axis=1)
    l2 = tf.add_n([tf.reduce_sum(tf.square(W)) for W in coefs])
    data = tf.reduce_sum(bw * per_sample) * (n / count)
    return (data + 0.5 * alpha * l2) / total_w


@dataclass
class SparseRows:
    """Sparse rows as TensorFlow tensors: nonzero values and their columns, grouped in pieces.

    ``values`` and ``columns`` are ``[pieces, width]`` (a batch of CSR rows,
    each row cut into pieces of ``width`` slots) or ``[nonzeros]`` (one
    nonzero per piece); ``rows`` gives each piece's row, in range(n_rows).
    """

    values: object
    columns: object
    rows: object
    n_rows: object


def _first_layer(x, W):
    """``x @ W`` for a dense batch or a :class:`SparseRows` batch (sparse X)."""
    if isinstance(x, SparseRows):  # only the columns present are read (and get gradients)
        terms = x.values[..., None] * tf.gather(W, x.columns)
        if terms.shape.rank == 3:  # sum each piece first: the scatter below is per piece
            terms = tf.reduce_sum(terms, axis=1)
        return tf.math.unsorted_segment_sum(terms, x.rows, x.n_rows)
    return tf.matmul(x, W)


def _logits(coefs, intercepts, activation, x):
    act = _TF_ACTIVATIONS[activation]
    h = x
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        h = (_first_layer(h, W) if i == 0 else tf.matmul(h, W)) + b
        if i < len(coefs) - 1:
            h = act(h)
    return h


def csr_tensors(X, batch):
    """A CSR matrix's (indptr, indices, data) as tensors, shared without copies where possible.

    Two all-zero tensors fix a batch's layout by their lengths: the piece
    width (the mean row length: a row is cut into pieces of that many
    slots), and the pieces of the ``batch`` rows that have the most.
    """
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


def coo_tensors(X):
    """Every nonzero of a CSR matrix as ``(values, columns, rows)`` tensors."""
    rows = np.repeat(np.arange(X.shape[0], dtype=np.int32), np.diff(X.indptr))
    return (tf.constant(X.data), tf.constant(X.indices.astype(np.int32, copy=False)),
            tf.constant(rows))


class _Trainer:
    """Variables, Keras optimizer and traced functions of one :class:`ModelSpec`.

    Traced once per process. Every fit assigns its initial weights and either
    resets the optimizer to its just-built state (exactly what a newly built
    optimizer would hold) or restores the state a previous ``partial_fit``
    left. A lock serializes fits of the same spec across threads.
    """

    def __init__(self, spec):
        self.spec = spec
        self.dtype = tf.as_dtype(spec.dtype)
        self.lock = threading.Lock()
        self.trace_count = 0
        sizes = spec.layer_sizes
        self.coefs = [
            tf.Variable(tf.zeros((a, b), self.dtype), name=f"coef_{i}")
            for i, (a, b) in enumerate(itertools.pairwise(sizes))
        ]
        self.intercepts = [
            tf.Variable(tf.zeros((b,), self.dtype), name=f"intercept_{i}")
            for i, b in enumerate(sizes[1:])
        ]
        self.variables = self.coefs + self.intercepts
        self.best = [tf.Variable(v, trainable=False) for v in self.variables]
        self.optimizer = build_optimizer(
            spec.optimizer, dict(spec.optimizer_params), learning_rate=1e-3
        )
        self.optimizer.build(self.variables)
        self._optimizer_init = [v.numpy() for v in self.optimizer.variables]
        # what an epoch changes: the weights and the optimizer's state (its
        # slots and step count); restored together when an epoch diverges
        self.state = self.variables + list(self.optimizer.variables)
        self.snapshot = [tf.Variable(v, trainable=False) for v in self.state]

        d, k = sizes[0], sizes[-1]
        x_sig = tf.TensorSpec([None, d], self.dtype)
        if spec.sparse:  # CSR arrays: indptr, column indices, values; piece templates
            x_sig = (tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.int32),
                     tf.TensorSpec([None], self.dtype), tf.TensorSpec([None], tf.int8),
                     tf.TensorSpec([None], tf.int8))
        data_sig = [
            x_sig,  # X
            tf.TensorSpec([None, k], tf.int8),  # Y, 0/1 labels
            tf.TensorSpec([None], self.dtype),  # sample weights
            tf.TensorSpec([None], self.dtype),  # batch template: its length is the batch size
            tf.TensorSpec([], self.dtype),  # alpha
        ]
        val_x = tf.TensorSpec([None, d], self.dtype)
        if spec.sparse:  # the validation rows' nonzeros: values, columns, rows
            val_x = (tf.TensorSpec([None], self.dtype), tf.TensorSpec([None], tf.int32),
                     tf.TensorSpec([None], tf.int32))
        val_sig = [
            val_x,  # validation X (no rows: none)
            tf.TensorSpec([None, k], tf.int8),  # validation Y
            tf.TensorSpec([None], self.dtype),  # validation sample weights
        ]
        rule_sig = [
            tf.TensorSpec([], tf.bool),  # check convergence (False in partial_fit)
            tf.TensorSpec([], tf.bool),  # early stopping on the validation score
            tf.TensorSpec([], tf.bool),  # adaptive learning rate
            tf.TensorSpec([], tf.float32),  # adaptive factor
            tf.TensorSpec([], tf.float32),  # adaptive minimum learning rate
            tf.TensorSpec([], self.dtype),  # tol
            tf.TensorSpec([], tf.int32),  # n_iter_no_change
        ]
        state_sig = [
            tf.TensorSpec([], tf.float32),  # adaptive scale of the learning rate so far
            tf.TensorSpec([], self.dtype),  # best loss so far
            tf.TensorSpec([], self.dtype),  # best validation score so far
            tf.TensorSpec([], tf.int32),  # epochs without improvement so far
        ]
        fit_sig = [
            *data_sig, *val_sig,
            tf.TensorSpec([None, None], tf.int32),  # row order of each epoch (if shuffling)
            tf.TensorSpec([], tf.int32),  # epochs to run in this call, <= EPOCHS_PER_CALL
            tf.TensorSpec([EPOCHS_PER_CALL], tf.float32),  # scheduled learning rate per epoch
            *rule_sig, *state_sig,
        ]
        # functools.partial gives each trainer its own key in TensorFlow's
        # retracing detector (it keys methods by code object), so tracing a
        # new spec is not reported as a retrace of an old one.
        #
        # Streaming (X too large to share with TensorFlow without a copy): the
        # host shuffles X chunk by chunk; these run the same epoch rules.
        self._chunk_fns = {
            xla: tf.function(
                functools.partial(_Trainer._chunk, self), jit_compile=xla, autograph=False,
                input_signature=[*data_sig, tf.TensorSpec([], tf.int32),
                                 tf.TensorSpec([], self.dtype), tf.TensorSpec([], self.dtype)],
            )
            for xla in (False, True)
        }
        self._begin_fn = tf.function(
            functools.partial(_Trainer._begin_epoch, self), autograph=False,
            input_signature=[tf.TensorSpec([], tf.float32)],
        )
        self._end_fn = tf.function(
            functools.partial(_Trainer._end_epoch, self), autograph=False,
            input_signature=[tf.TensorSpec([], self.dtype), tf.TensorSpec([], tf.float32),
                             *val_sig, *rule_sig, *state_sig],
        )
        self._fit_sig = fit_sig
        self._segment_fns = {}

    def segment_fn(self, xla, early, adaptive, shuffle):
        """The in-graph training loop, specialized on what the fit uses (traced on first use).

        Early stopping, the adaptive schedule and shuffling are fixed at trace
        time, so a plain fit runs none of their operations in its epochs.
        """
        key = (xla, early, adaptive, shuffle)
        fn = self._segment_fns.get(key)
        if fn is None:
            fn = self._segment_fns[key] = tf.function(
                functools.partial(_Trainer._segment, self, key[1:]),
                input_signature=self._fit_sig, jit_compile=xla, autograph=False,
            )
        return fn

    # -- graph code -------------------------------------------------------
    def _batches(self, n, template):
        """Static batch size, number of steps, padded index tail and slot range.

        The tail is two batches long: the loop gathers one batch ahead.
        """
        B = tf.shape(template)[0]  # a compile-time constant under XLA
        n_steps = (n + B - 1) // B
        return B, n_steps, tf.zeros([2 * B], tf.int32), tf.range(B)

    def _take(self, order, i, B, slots, n, X, Y, w):
        start = i * B
        idx = tf.slice(order, [start], [B])
        valid = tf.cast(start + slots < n, self.dtype)
        if isinstance(X, tuple):  # sparse CSR
            xb = self._sparse_rows(X, idx, B)
        else:
            xb = tf.gather(X, idx)
        xb = (xb.values, xb.columns, xb.rows) if isinstance(xb, SparseRows) else (xb,)
        return (*xb, tf.gather(Y, idx), tf.gather(w, idx) * valid, tf.reduce_sum(valid))

    def _train_on(self, batch, B, alpha, n, total_w):
        """One step on a batch from :meth:`_take` (a flat tuple of tensors)."""
        *xb, yb, bw, count = batch
        xb = SparseRows(*xb, B) if self.spec.sparse else xb[0]
        return self._step(xb, yb, bw, count, alpha, n, total_w)

    def _rows(self, X):
        """Number of rows of X (dense, or the CSR tuple)."""
        if not self.spec.sparse:
            return tf.shape(X)[0], X
        return tf.shape(X[0])[0] - 1, X

    def _sparse_rows(self, X, idx, B):
        """CSR rows ``idx`` cut into pieces of fixed width, in a fixed number of pieces.

        Both counts are the templates' lengths (static under XLA). A row of
        ``m`` nonzeros takes ``ceil(m / width)`` pieces; unused slots hold 0.
        """
        indptr, indices, values, piece_template, width_template = X
        P, L = tf.shape(piece_template)[0], tf.shape(width_template)[0]
        starts = tf.gather(indptr, idx)
        lens = tf.cast(tf.gather(indptr, idx + 1) - starts, tf.int32)
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
        vals = tf.gather(values, pos) * tf.cast(used, self.dtype)
        return SparseRows(vals, tf.gather(indices, pos), row, B)

    def _objective(self, xb, yb, bw, alpha, count, n, total_w):
        return _objective(
            self.coefs, self.intercepts, self.spec.activation, self.dtype, xb, yb, bw, alpha,
            count, n, total_w,
        )

    def _validation_score(self, Xv, Yv, wv):
        """Minus the weighted mean sigmoid cross-entropy of the validation set (no L2 term)."""
        if isinstance(Xv, tuple):
            Xv = SparseRows(*Xv, tf.shape(Yv)[0])
        nv = tf.cast(tf.shape(Yv)[0], self.dtype)
        return -self._objective(Xv, Yv, wv, tf.zeros([], self.dtype), nv, nv, tf.reduce_sum(wv))

    def _step(self, xb, yb, bw, count, alpha, n, total_w):
        """One optimizer step on a batch of ``count`` rows; returns its loss times ``count``."""
        with tf.GradientTape() as tape:
            loss = self._objective(xb, yb, bw, alpha, count, n, total_w)
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply(grads, self.variables)
        return loss * count

    def _begin_epoch(self, rate):
        """Remember the weights and optimizer state of the epoch's start; set its learning rate."""
        for s, v in zip(self.snapshot, self.state):
            s.assign(v)
        self.optimizer.learning_rate.assign(rate)

    def _diverged(self, loss):
        """Whether the epoch loss, a weight, the L2 norm or an optimizer slot is non-finite.

        Checked after the epoch's last step, so a step that overflows the
        weights or the optimizer's state is caught in the epoch it happens,
        even when the epoch has one batch.
        """
        checks = [tf.math.is_finite(loss)]
        checks += [tf.reduce_all(tf.math.is_finite(v)) for v in self.state
                   if tf.as_dtype(v.dtype).is_floating]
        checks.append(tf.math.is_finite(tf.add_n([tf.reduce_sum(tf.square(W)) for W in self.coefs])))
        return ~tf.reduce_all(tf.stack(checks))

    def _end_epoch(
        self, loss, rate, Xv, Yv, wv, check, early, adaptive, factor, min_rate, tol,
        n_iter_no_change, scale, best, score_best, count, static=(True, True),
    ):
        """The end-of-epoch rules; returns ``(score, best, score_best, count, scale, status)``.

        Without early stopping, training converges by MLPClassifier's rule:
        the epoch loss failed to improve on the best by ``tol`` for more than
        ``n_iter_no_change`` epochs. With it, the validation score (minus the
        validation loss) failed to beat the best by ``tol``; the weights of the
        best score are kept in ``self.best``. With the adaptive schedule a
        stall divides the rate instead, until it would fall below
        ``min_rate``. A diverged epoch (see :meth:`_diverged`) restores the
        weights and optimizer state of the epoch's start and stops; it is
        not recorded.
        """
        static_early, static_adaptive = static  # False: known off at trace time
        finite = ~self._diverged(loss)
        for v, s in zip(self.state, self.snapshot):
            v.assign(tf.where(finite, v, s))
        if static_early:
            score = self._validation_score(Xv, Yv, wv)
            better = finite & early & (score > score_best)
            for b, v in zip(self.best, self.variables):
                b.assign(tf.where(better, v, b))
            stalled = tf.where(early, score < score_best + tol, loss > best - tol)
            score_best = tf.where(early, tf.maximum(score_best, score), score_best)
        else:
            score, stalled = tf.zeros([], self.dtype), loss > best - tol
        count = tf.where(stalled, count + 1, 0)
        best = tf.minimum(best, loss)
        stuck = check & (count > n_iter_no_change)
        if static_adaptive:
            decay = stuck & adaptive & (rate > min_rate)
            scale = tf.where(decay, scale * factor, scale)
            count = tf.where(decay, 0, count)
        else:
            decay = tf.zeros([], tf.bool)
        status = tf.where(finite, tf.where(stuck & ~decay, CONVERGED, RUNNING), DIVERGED)
        return score, best, score_best, count, scale, status

    def _segment(
        self, static, X, Y, w, template, alpha, Xv, Yv, wv, orders, n_epochs,
        rates, check, early, adaptive, factor, min_rate, tol, n_iter_no_change, lr_scale,
        best_loss, best_score, no_improve,
    ):
        """Run up to ``n_epochs`` epochs of minibatch training in-graph, stopping early."""
        self.trace_count += 1
        n, X = self._rows(X)
        B, n_steps, tail, slots = self._batches(n, template)
        total_w, n_rows = tf.reduce_sum(w), tf.cast(n, self.dtype)
        zero = tf.zeros([], self.dtype)
        empty = tf.zeros([EPOCHS_PER_CALL], self.dtype)
        rules = (check, early, adaptive, factor, min_rate, tol, n_iter_no_change)

        def epoch(e, best, score_best, count, scale, status, losses, scores, lrs):
            rate = rates[e] * scale
            self._begin_epoch(rate)
            order = orders[e] if static[2] else tf.range(n)
            order = tf.concat([order, tail], 0)

            def step(i, acc):
                batch = self._take(order, i, B, slots, n, X, Y, w)
                return i + 1, acc + self._train_on(batch, B, alpha, n_rows, total_w)

            def step_ahead(i, acc, batch):
                # sparse X: gather the next batch in the same iteration, and
                # XLA's CPU runtime runs it beside this step's arithmetic (the
                # random row reads wait on memory; a fit is 25% faster). Dense
                # batches are cheap to gather and slower to carry.
                ahead = self._take(order, i + 1, B, slots, n, X, Y, w)
                return i + 1, acc + self._train_on(batch, B, alpha, n_rows, total_w), ahead

            if self.spec.sparse:
                first = self._take(order, 0, B, slots, n, X, Y, w)
                acc = tf.while_loop(lambda i, *_: i < n_steps, step_ahead, (0, zero, first))[1]
            else:
                acc = tf.while_loop(lambda i, acc: i < n_steps, step, (0, zero))[1]
            loss = acc / n_rows
            score, best, score_best, count, scale, status = self._end_epoch(
                loss, rate, Xv, Yv, wv, *rules, scale, best, score_best, count,
                static=static[:2],
            )
            losses = tf.tensor_scatter_nd_update(losses, [[e]], [loss])
            scores = tf.tensor_scatter_nd_update(scores, [[e]], [score])
            lrs = tf.tensor_scatter_nd_update(lrs, [[e]], [rate])
            return e + 1, best, score_best, count, scale, status, losses, scores, lrs

        return tf.while_loop(
            lambda e, *rest: (e < n_epochs) & (rest[4] == RUNNING),
            epoch,
            (0, best_loss, best_score, no_improve, lr_scale, RUNNING, empty, empty,
             tf.zeros([EPOCHS_PER_CALL], tf.float32)),
        )

    def _chunk(self, Xc, Yc, wc, template, alpha, n_valid, n_rows, total_w):
        """Minibatch steps over the first ``n_valid`` rows of a host-shuffled chunk.

        ``n_rows`` and ``total_w`` are the whole data's row count and weight sum.
        """
        self.trace_count += 1
        B = tf.shape(template)[0]
        n_steps = (n_valid + B - 1) // B
        slots = tf.range(B)

        def step(i, acc):
            start = i * B
            valid = tf.cast(start + slots < n_valid, self.dtype)
            xb = tf.slice(Xc, [start, 0], [B, -1])
            yb = tf.slice(Yc, [start, 0], [B, -1])
            bw = tf.slice(wc, [start], [B]) * valid
            count = tf.reduce_sum(valid)
            return i + 1, acc + self._step(xb, yb, bw, count, alpha, n_rows, total_w)

        _, acc = tf.while_loop(lambda i, acc: i < n_steps, step, (0, tf.zeros([], self.dtype)))
        return acc

    # -- host code --------------------------------------------------------
    def reset(self, coefs, intercepts, optimizer_state=None):
        """Load weights, and the optimizer state of a previous run or a fresh one."""
        for var, value in zip(self.variables, list(coefs) + list(intercepts)):
            var.assign(value)
        state = self._optimizer_init if optimizer_state is None else optimizer_state
        for var, value in zip(self.optimizer.variables, state):
            var.assign(value)

    def optimizer_state(self):
        return [v.numpy() for v in self.optimizer.variables]

    def weights(self, best=False):
        n = len(self.coefs)
        values = [v.numpy() for v in (self.best if best else self.variables)]
        return values[:n], values[n:]


def as_tensor(array):
    """A TensorFlow tensor sharing ``array``'s memory where possible.

    TensorFlow needs 64-byte-aligned buffers; NumPy usually places large arrays
    16 bytes off. An aligned, writeable array is shared through DLPack without
    a copy; any other (DLPack cannot export read-only arrays) is copied once
    into an aligned buffer. (``tf.convert_to_tensor`` makes two copies of a
    large unaligned array.)
    """
    array = np.ascontiguousarray(array)
    if array.ctypes.data % 64 or not array.flags.writeable:
        aligned = _aligned_empty(array.shape, array.dtype)
        aligned[...] = array
        array = aligned
    return tf.experimental.dlpack.from_dlpack(array.__dlpack__())


_TRAINERS = {}
_TRAINERS_LOCK = threading.Lock()


def get_trainer(spec):
    """The process-wide :class:`_Trainer` of ``spec``, traced on first use."""
    with _TRAINERS_LOCK:
        trainer = _TRAINERS.get(spec)
        if trainer is None:
            trainer = _TRAINERS[spec] = _Trainer(spec)
        return trainer


def train(
    spec, coefs, intercepts, data, validation, *, rates, alpha, batch_size, tol,
    n_iter_no_change, check_convergence, adaptive, shuffle, seed, epoch0=0,
    optimizer_state=None, lr_scale=1.0, on_epoch=None, stop=None,
):
    """Train the model of ``spec`` with its Keras optimizer from the given weights.

    ``data`` is ``(X, Y, sample_weight)``: a float array in ``spec.dtype``, an
    int8 0/1 label matrix and float weights. ``validation`` is ``None`` or
    ``(X, Y, sample_weight)`` held out for early stopping.
    ``rates`` holds the scheduled learning rate of each epoch to run (its
    length is the number of epochs); ``adaptive`` is ``None`` or a
    ``(factor, min_rate)`` pair. ``seed`` (an int below 2**64) and the global
    epoch index (from ``epoch0``) drive the shuffling. ``on_epoch(epoch,
    loss, score, rate)`` is called after every epoch; ``stop`` (an object with
    a ``requested`` attribute) is polled between calls.
    """
    trainer = get_trainer(spec)
    X, Y, w = data
    n = X.shape[0]
    batch = min(batch_size, n)
    steps = -(-n // batch)
    n_epochs = len(rates)
    data_bytes = X.data.nbytes + X.indices.nbytes if spec.sparse else X.nbytes
    xla = n_epochs * steps >= XLA_MIN_STEPS or data_bytes >= XLA_MIN_BYTES
    dtype = spec.dtype
    alpha_t, template = tf.constant(alpha, dtype), tf.zeros([batch], dtype)
    early = validation is not None
    d, k = spec.layer_sizes[0], spec.layer_sizes[-1]
    if early:
        Xv = coo_tensors(validation[0]) if spec.sparse else as_tensor(validation[0])
        val_args = (Xv, *(as_tensor(a) for a in validation[1:]))
    elif spec.sparse:
        val_args = ((tf.zeros([0], dtype), tf.zeros([0], tf.int32), tf.zeros([0], tf.int32)),
                    tf.zeros([0, k], tf.int8), tf.zeros([0], dtype))
    else:
        val_args = (tf.zeros([0, d], dtype), tf.zeros([0, k], tf.int8), tf.zeros([0], dtype))
    factor, min_rate = adaptive or (1.0, 0.0)
    rules = (
        tf.constant(bool(check_convergence)), tf.constant(early), tf.constant(adaptive is not None),
        tf.constant(factor, tf.float32), tf.constant(min_rate, tf.float32),
        tf.constant(tol, dtype), tf.constant(n_iter_no_change),
    )
    run = _Run(curve=[], scores=[], lrs=[], early=early, on_epoch=on_epoch)
    with first_xla_compile() if xla else contextlib.nullcontext(), trainer.lock:
        trainer.reset(coefs, intercepts, optimizer_state)
        state = (tf.constant(lr_scale, tf.float32), tf.constant(np.inf, dtype),
                 tf.constant(-np.inf, dtype), tf.constant(0))
        if not spec.sparse and X.nbytes >= STREAM_MIN_BYTES:
            status, state = _train_streaming(
                trainer, xla, data, template, alpha_t, val_args, rules, state, rates, seed,
                shuffle, epoch0, run, stop,
            )
        else:
            data_args = (csr_tensors(X, batch) if spec.sparse else as_tensor(X), as_tensor(Y),
                         as_tensor(w), template, alpha_t)
            per_call = 1 if on_epoch else max(
                1, min(EPOCHS_PER_CALL, STEPS_PER_CALL // steps, ORDER_ROWS_PER_CALL // n)
            )
            no_orders = np.zeros((0, 0), np.int32)
            status = RUNNING
            while status == RUNNING and len(run.curve) < n_epochs:
                if stop is not None and stop.requested:
                    status = INTERRUPTED
                    break
                done = len(run.curve)
                k = min(per_call, n_epochs - done)
                rate_vec = np.zeros(EPOCHS_PER_CALL, np.float32)
                rate_vec[:k] = rates[done : done + k]
                segment = trainer.segment_fn(xla, early, adaptive is not None, bool(shuffle))
                orders = no_orders
                if shuffle:  # always per_call rows: a new shape would recompile under XLA
                    orders = np.zeros((per_call, n), np.int32)
                    orders[:k] = epoch_orders(seed, epoch0 + done, k, n)
                ran, best, best_score, count, scale, status, losses, vals, used = segment(
                    *data_args, *val_args, tf.constant(orders), tf.constant(k),
                    tf.constant(rate_vec), *rules, *state,
                )
                state, status, ran = (scale, best, best_score, count), int(status), int(ran)
                if status == DIVERGED:  # its last epoch: undone, and not recorded
                    ran -= 1
                    run.diverged_rate = float(used.numpy()[ran])
                run.record(losses.numpy()[:ran], vals.numpy()[:ran], used.numpy()[:ran])
        if early and np.isfinite(float(state[2])):
            trainer.reset(*trainer.weights(best=True), trainer.optimizer_state())
        coefs, intercepts = trainer.weights()
        opt_state = trainer.optimizer_state()
    return TrainResult(
        coefs, intercepts, np.asarray(run.curve), np.asarray(run.scores), np.asarray(run.lrs),
        None, status, opt_state, float(state[0]), diverged_rate=run.diverged_rate,
    )


@dataclass
class _Run:
    """Per-epoch records of a training run, and the callback that reports them."""

    curve: list
    scores: list
    lrs: list
    early: bool
    on_epoch: object
    diverged_rate: float | None = None  # the learning rate of a diverged epoch

    def record(self, losses, scores, lrs):
        self.curve.extend(np.asarray(losses).tolist())
        self.lrs.extend(np.asarray(lrs).tolist())
        if self.early:
            self.scores.extend(np.asarray(scores).tolist())
        if self.on_epoch is not None and len(losses):
            score = self.scores[-1] if self.early else None
            self.on_epoch(len(self.curve), self.curve[-1], score, self.lrs[-1])


def _aligned_empty(shape, dtype):
    """An uninitialized, writeable, 64-byte-aligned array (shareable through DLPack)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(nbytes + 64, np.uint8)
    offset = -raw.ctypes.data % 64
    return raw[offset : offset + nbytes].view(dtype).reshape(shape)


def _train_streaming(
    trainer, xla, data, template, alpha, val_args, rules, state, rates, seed, shuffle, epoch0,
    run, stop,
):
    """Epochs over an X too large to share: the host gathers shuffled chunks, TensorFlow steps.

    Peak memory is X plus one chunk buffer, never a copy of X. The epoch
    rules are the same graph code as the in-graph loop's.
    """
    X, Y, w = data
    n, batch = X.shape[0], int(template.shape[0])
    rows = max(batch, CHUNK_BYTES // max(1, X.strides[0]) // batch * batch)
    rows = min(rows, -(-n // batch) * batch)
    bx, by, bw = (_aligned_empty((rows, X.shape[1]), X.dtype),
                  _aligned_empty((rows, Y.shape[1]), Y.dtype), _aligned_empty((rows,), w.dtype))
    args = tuple(as_tensor(a) for a in (bx, by, bw))  # shares the buffers: refilled in place
    n_rows = tf.constant(n, trainer.dtype)
    total_w = tf.constant(np.sum(w, dtype=np.float64), trainer.dtype)
    chunk_fn = trainer._chunk_fns[xla]
    status = RUNNING
    for e in range(len(rates)):
        if stop is not None and stop.requested:
            return INTERRUPTED, state
        scale, best, best_score, count = state
        rate = tf.constant(np.float32(rates[e]) * scale)
        trainer._begin_fn(rate)
        order = epoch_orders(seed, epoch0 + e, 1, n)[0] if shuffle else np.arange(n)
        acc = 0.0
        for start in range(0, n, rows):
            idx = order[start : start + rows]
            m = len(idx)
            np.take(X, idx, axis=0, out=bx[:m])
            np.take(Y, idx, axis=0, out=by[:m])
            np.take(w, idx, out=bw[:m])
            acc += float(chunk_fn(*args, template, alpha, tf.constant(m), n_rows, total_w))
        loss = tf.constant(acc / n, trainer.dtype)
        score, best, best_score, count, scale, status = trainer._end_fn(
            loss, rate, *val_args, *rules, scale, best, best_score, count
        )
        state, status = (scale, best, best_score, count), int(status)
        if status == DIVERGED:  # undone, and not recorded
            run.diverged_rate = float(rate)
            break
        run.record([float(loss)], [float(score)], [float(rate)])
        if status != RUNNING:
            break
    return status, state


class _FullBatch:
    """Loss and gradient of the whole training set, for L-BFGS, traced once per spec.

    The weights travel as one flat float64 vector, the layout scipy needs.
    """

    def __init__(self, spec):
        self.spec = spec
        self.lock = threading.Lock()
        self.trace_count = 0
        sizes = spec.layer_sizes
        self.shapes = [(a, b) for a, b in itertools.pairwise(sizes)] + [(b,) for b in sizes[1:]]
        d, k = sizes[0], sizes[-1]
        # the concrete function skips tf.function's per-call dispatch (about 150 us),
        # which L-BFGS pays once per loss evaluation
        self.fn = tf.function(
            functools.partial(_FullBatch._value_and_grad, self), autograph=False,
            input_signature=[
                (tf.TensorSpec([None], tf.float64), tf.TensorSpec([None], tf.int32),
                 tf.TensorSpec([None], tf.int32)) if spec.sparse
                else tf.TensorSpec([None, d], tf.float64),
                tf.TensorSpec([None, k], tf.int8),
                tf.TensorSpec([None], tf.float64), tf.TensorSpec([], tf.float64),
                tf.TensorSpec([None], tf.float64),
            ],
        ).get_concrete_function()

    def _value_and_grad(self, X, Y, w, alpha, theta):
        self.trace_count += 1
        if isinstance(X, tuple):  # sparse: every nonzero
            X = SparseRows(*X, tf.shape(Y)[0])
        with tf.GradientTape() as tape:
            tape.watch(theta)
            parts, offset = [], 0
            for shape in self.shapes:
                size = int(np.prod(shape))
                parts.append(tf.reshape(theta[offset : offset + size], shape))
                offset += size
            n_layers = len(self.shapes) // 2
            n = tf.cast(tf.shape(Y)[0], tf.float64)
            loss = _objective(
                parts[:n_layers], parts[n_layers:], self.spec.activation, tf.float64, X, Y, w,
                alpha, n, n, tf.reduce_sum(w),
            )
        return loss, tape.gradient(loss, theta)

    def unflatten(self, theta):
        parts, offset = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            parts.append(theta[offset : offset + size].reshape(shape).copy())
            offset += size
        n_layers = len(self.shapes) // 2
        return parts[:n_layers], parts[n_layers:]


_FULL_BATCH = {}


def minimize_lbfgs(
    spec, coefs, intercepts, data, *, alpha, max_iter, tol, options, on_epoch=None, stop=None,
):
    """Minimize the whole-data objective with scipy's L-BFGS-B, in float64.

    TensorFlow computes the loss and its gradient; ``options`` are L-BFGS-B
    options (``maxcor``, ``maxls``, ``ftol``, ``maxfun``); ``max_iter`` and
    ``tol`` become ``maxiter`` and ``gtol``.
    """
    from scipy.optimize import minimize

    with _TRAINERS_LOCK:
        fb = _FULL_BATCH.get(spec)
        if fb is None:
            fb = _FULL_BATCH[spec] = _FullBatch(spec)
    X, Y, w = data
    Xt = coo_tensors(X) if spec.sparse else as_tensor(X)
    tensors = (Xt, as_tensor(Y), as_tensor(w), tf.constant(alpha, tf.float64))

    best = {"loss": np.inf, "theta": None}  # the best point with a finite loss and gradient

    def fun(theta):
        loss, grad = fb.fn(*tensors, tf.constant(theta))
        loss, grad = float(loss), grad.numpy()
        if loss < best["loss"] and np.isfinite(grad).all() and np.isfinite(theta).all():
            best.update(loss=loss, theta=theta.copy())
        return loss, grad

    curve = []

    def callback(intermediate_result):
        curve.append(float(intermediate_result.fun))
        if on_epoch is not None:
            on_epoch(len(curve), curve[-1], None, float("nan"))
        if stop is not None and stop.requested:
            raise StopIteration

    theta0 = np.concatenate([np.ravel(a) for a in (*coefs, *intercepts)]).astype(np.float64)
    opts = lbfgs_options(options)
    with fb.lock:
        res = minimize(
            fun, theta0, jac=True, method="L-BFGS-B", callback=callback,
            options={**opts, "maxiter": max_iter, "gtol": tol},
        )
    finite = np.isfinite(res.fun) and np.isfinite(res.x).all()
    if not finite:  # an overflow: keep the best finite point the search evaluated
        status = DIVERGED
        theta, loss = (theta0, np.nan) if best["theta"] is None else (best["theta"], best["loss"])
        curve = [c for c in curve if np.isfinite(c)]
    else:
        theta, loss = res.x, float(res.fun)
        if res.status == 0:
            status = CONVERGED
        elif stop is not None and stop.requested:
            status = INTERRUPTED
        elif res.status == 1:
            status = MAX_ITER if res.nit >= max_iter else MAX_FUN
        else:  # an abnormal line-search end at a finite point: as far as L-BFGS gets
            status = CONVERGED
    coefs, intercepts = fb.unflatten(theta)
    return TrainResult(
        coefs, intercepts, np.asarray(curve), np.empty(0), np.empty(0), loss, status,
        message=str(res.message),
    )
