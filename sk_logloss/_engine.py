"""TensorFlow training engine: one traced training loop per model shape, reused by every fit."""

import functools
import itertools
import os
import threading
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads; a user's value wins

import numpy as np
import tensorflow as tf

from ._optimizers import build_optimizer

# A training run of at least this many optimizer steps (max_iter x steps per
# epoch) is compiled with XLA: about 9 us/step instead of about 40 us/step for
# TensorFlow's graph executor on a 2-core CPU, but a first compile costs about
# 0.35 s for each new data shape. The choice depends only on the fit's settings,
# never on what ran before, so a given random_state always gives the same bits.
XLA_MIN_STEPS = 10_000

# Epochs per call at most: the per-epoch loss buffer has this fixed length, so
# neither max_iter nor verbose changes a compiled shape.
EPOCHS_PER_CALL = 32

# Running statuses reported by a training segment.
RUNNING, CONVERGED, DIVERGED = 0, 1, 2

_TF_ACTIVATIONS = {
    "identity": tf.identity,
    "logistic": tf.sigmoid,
    "tanh": tf.tanh,
    "relu": tf.nn.relu,
}


_U64 = tf.uint64


def _mix64(x):
    """SplitMix64 finalizer on uint64 tensors: a bijective integer hash."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(30, _U64)))
    x = x * tf.constant(0xBF58476D1CE4E5B9, _U64)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(27, _U64)))
    x = x * tf.constant(0x94D049BB133111EB, _U64)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(31, _U64)))


def shuffled_order(seed, epoch, n):
    """A permutation of ``range(n)`` drawn from ``(seed, epoch)``.

    Built from exact integer arithmetic, so the XLA and graph executors (and
    any device) give the same permutation; TensorFlow's stateless random ops
    do not promise that across compilers.
    """
    key = _mix64(seed + tf.cast(epoch, _U64) * tf.constant(0x9E3779B97F4A7C15, _U64))
    h = _mix64(tf.cast(tf.range(n), _U64) * tf.constant(0xD1B54A32D192ED03, _U64) + key)
    return tf.argsort(tf.cast(tf.bitwise.right_shift(h, tf.constant(11, _U64)), tf.float64))


@dataclass(frozen=True)
class ModelSpec:
    """What fixes a traced graph: layer sizes, activation, optimizer and float dtype."""

    layer_sizes: tuple
    activation: str
    optimizer: str
    dtype: str


@dataclass
class TrainResult:
    """Outcome of :func:`train`, all NumPy."""

    coefs: list
    intercepts: list
    loss_curve: np.ndarray
    loss: float
    status: int


class _Trainer:
    """Variables, optimizer and traced functions of one :class:`ModelSpec`.

    Traced once per process. Every fit assigns fresh initial weights, resets
    the optimizer to its just-built state and sets the learning rate, so a fit
    sees exactly what a newly built model and optimizer would give. A lock
    serializes fits of the same spec across threads.
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
        self.optimizer = build_optimizer(spec.optimizer, learning_rate=1e-3)
        self.optimizer.build(self.variables)
        self._optimizer_init = [v.numpy() for v in self.optimizer.variables]

        k = sizes[-1]
        fit_sig = [
            tf.TensorSpec([None, sizes[0]], self.dtype),  # X
            tf.TensorSpec([None, k], tf.int8),  # Y, 0/1 labels
            tf.TensorSpec([None], self.dtype),  # sample weights
            tf.TensorSpec([None], self.dtype),  # batch template: its length is the batch size
            tf.TensorSpec([], self.dtype),  # alpha
            tf.TensorSpec([], _U64),  # shuffle seed
            tf.TensorSpec([], tf.bool),  # shuffle
            tf.TensorSpec([], tf.int32),  # first epoch of this segment
            tf.TensorSpec([], tf.int32),  # epochs to run in this call, <= EPOCHS_PER_CALL
            tf.TensorSpec([], self.dtype),  # tol
            tf.TensorSpec([], tf.int32),  # n_iter_no_change
            tf.TensorSpec([], self.dtype),  # best loss so far
            tf.TensorSpec([], tf.int32),  # epochs without improvement so far
        ]
        # functools.partial gives each trainer its own key in TensorFlow's
        # retracing detector (it keys methods by code object), so tracing a
        # new spec is not reported as a retrace of an old one.
        self._segment_fns = {
            xla: tf.function(
                functools.partial(_Trainer._segment, self), input_signature=fit_sig, jit_compile=xla
            )
            for xla in (False, True)
        }
        self._loss_fns = {
            xla: tf.function(
                functools.partial(_Trainer._full_loss, self), input_signature=fit_sig[:5],
                jit_compile=xla,
            )
            for xla in (False, True)
        }

    # -- graph code -------------------------------------------------------
    def _batch_objective(self, xb, yb, bw, alpha):
        """Weighted mean sigmoid cross-entropy of a batch plus the L2 term.

        Returns ``(loss, weight_sum)``; a batch whose weights sum to zero has
        loss 0 (and so zero gradients).
        """
        h = xb
        act = _TF_ACTIVATIONS[self.spec.activation]
        for i, (W, b) in enumerate(zip(self.coefs, self.intercepts)):
            h = tf.matmul(h, W) + b
            if i < len(self.coefs) - 1:
                h = act(h)
        labels = tf.cast(yb, self.dtype)
        xent = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=h)
        per_sample = tf.reduce_mean(xent, axis=1)
        wsum = tf.reduce_sum(bw)
        l2 = tf.add_n([tf.reduce_sum(tf.square(W)) for W in self.coefs])
        safe = tf.where(wsum > 0, wsum, tf.ones_like(wsum))
        loss = (tf.reduce_sum(bw * per_sample) + 0.5 * alpha * l2) / safe
        return tf.where(wsum > 0, loss, tf.zeros_like(loss)), wsum

    def _batches(self, n, template):
        """Static batch size, number of steps, padded index tail and slot range."""
        B = tf.shape(template)[0]  # a compile-time constant under XLA
        n_steps = (n + B - 1) // B
        return B, n_steps, tf.zeros([B], tf.int32), tf.range(B)

    def _take(self, order, i, B, slots, n, X, Y, w):
        start = i * B
        idx = tf.slice(order, [start], [B])
        valid = tf.cast(start + slots < n, self.dtype)
        return tf.gather(X, idx), tf.gather(Y, idx), tf.gather(w, idx) * valid

    def _segment(
        self, X, Y, w, template, alpha, seed, shuffle, epoch0, n_epochs, tol,
        n_iter_no_change, best_loss, no_improve,
    ):
        """Run up to ``n_epochs`` epochs of minibatch training, stopping early.

        Stops on convergence (MLPClassifier's rule: the epoch loss failed to
        improve on the best by ``tol`` for more than ``n_iter_no_change``
        epochs) or on a non-finite epoch loss, in which case the weights of
        the epoch's start are restored.
        """
        self.trace_count += 1
        n = tf.shape(X)[0]
        B, n_steps, tail, slots = self._batches(n, template)
        total_w = tf.reduce_sum(w)
        zero = tf.zeros([], self.dtype)

        def epoch(e, best, count, status, losses):
            snapshot = [tf.identity(v) for v in self.variables]
            order = tf.cond(
                shuffle, lambda: shuffled_order(seed, epoch0 + e, n), lambda: tf.range(n)
            )
            order = tf.concat([order, tail], 0)

            def step(i, acc):
                xb, yb, bw = self._take(order, i, B, slots, n, X, Y, w)
                with tf.GradientTape() as tape:
                    loss, wsum = self._batch_objective(xb, yb, bw, alpha)
                grads = tape.gradient(loss, self.variables)
                self.optimizer.apply(grads, self.variables)
                return i + 1, acc + loss * wsum

            _, acc = tf.while_loop(lambda i, acc: i < n_steps, step, (0, zero))
            loss = acc / total_w
            finite = tf.math.is_finite(loss)
            for v, s in zip(self.variables, snapshot):
                v.assign(tf.where(finite, v, s))
            count = tf.where(loss > best - tol, count + 1, 0)
            best = tf.minimum(best, loss)
            status = tf.where(
                finite, tf.where(count > n_iter_no_change, CONVERGED, RUNNING), DIVERGED
            )
            losses = tf.tensor_scatter_nd_update(losses, [[e]], [loss])
            return e + 1, best, count, status, losses

        e, best, count, status, losses = tf.while_loop(
            lambda e, best, count, status, losses: (e < n_epochs) & (status == RUNNING),
            epoch,
            (0, best_loss, no_improve, RUNNING, tf.zeros([EPOCHS_PER_CALL], self.dtype)),
        )
        return losses, e, best, count, status

    def _full_loss(self, X, Y, w, template, alpha):
        """Training objective on the whole data at the current weights."""
        self.trace_count += 1
        n = tf.shape(X)[0]
        B, n_steps, tail, slots = self._batches(n, template)
        order = tf.concat([tf.range(n), tail], 0)

        def step(i, acc):
            xb, yb, bw = self._take(order, i, B, slots, n, X, Y, w)
            loss, wsum = self._batch_objective(xb, yb, bw, tf.zeros_like(alpha))
            return i + 1, acc + loss * wsum

        _, acc = tf.while_loop(lambda i, acc: i < n_steps, step, (0, tf.zeros([], self.dtype)))
        l2 = tf.add_n([tf.reduce_sum(tf.square(W)) for W in self.coefs])
        total_w = tf.reduce_sum(w)
        return (acc + 0.5 * alpha * l2) / total_w

    # -- host code --------------------------------------------------------
    def reset(self, coefs, intercepts, learning_rate):
        for var, value in zip(self.variables, list(coefs) + list(intercepts)):
            var.assign(value)
        for var, value in zip(self.optimizer.variables, self._optimizer_init):
            var.assign(value)
        self.optimizer.learning_rate.assign(learning_rate)

    def weights(self):
        n = len(self.coefs)
        values = [v.numpy() for v in self.variables]
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
        raw = np.empty(array.nbytes + 64, np.uint8)
        offset = -raw.ctypes.data % 64
        aligned = raw[offset : offset + array.nbytes].view(array.dtype).reshape(array.shape)
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
    spec, coefs, intercepts, X, Y, sample_weight, *, learning_rate, alpha, batch_size,
    max_iter, tol, n_iter_no_change, shuffle, seed, on_epoch=None,
):
    """Train the model of ``spec`` from the given initial weights.

    ``X`` is a float array in ``spec.dtype``, ``Y`` an int8 0/1 label matrix,
    ``sample_weight`` float weights. ``seed`` (an int below 2**64) drives the shuffling.
    With ``on_epoch`` (called as ``on_epoch(epoch, loss)``) the loop returns
    to Python after every epoch; otherwise the whole run is one call.
    """
    trainer = get_trainer(spec)
    n = X.shape[0]
    batch = min(batch_size, n)
    xla = max_iter * -(-n // batch) >= XLA_MIN_STEPS
    dtype = spec.dtype
    args = (
        as_tensor(X),
        as_tensor(Y),
        as_tensor(sample_weight),
        tf.zeros([batch], dtype),
        tf.constant(alpha, dtype),
    )
    seed = tf.constant(seed, _U64)
    per_call = 1 if on_epoch is not None else EPOCHS_PER_CALL
    with trainer.lock:
        trainer.reset(coefs, intercepts, learning_rate)
        segment = trainer._segment_fns[xla]
        curve = []
        best, count, status = tf.constant(np.inf, dtype), tf.constant(0), RUNNING
        while status == RUNNING and len(curve) < max_iter:
            losses, ran, best, count, status = segment(
                *args, seed, tf.constant(bool(shuffle)), tf.constant(len(curve)),
                tf.constant(min(per_call, max_iter - len(curve))),
                tf.constant(tol, dtype), tf.constant(n_iter_no_change), best, count,
            )
            status = int(status)
            for value in losses.numpy()[: int(ran)]:
                curve.append(float(value))
                if on_epoch is not None:
                    on_epoch(len(curve), curve[-1])
        loss = float(trainer._loss_fns[xla](*args))
        coefs, intercepts = trainer.weights()
    return TrainResult(coefs, intercepts, np.asarray(curve), loss, status)
