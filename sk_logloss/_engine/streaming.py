"""Streaming: epochs over an X too large to share, in host-shuffled chunks of one reused buffer."""

import numpy as np

from .. import _xla_cores
from . import early_stopping, rules
from .batches import Batch, all_rows_signature
from .host import aligned_empty, as_tensor, epoch_orders, weight_sum
from .model import tf
from .types import Status


def _chunk_steps(trainer, averaging, xla, X, Y, w, template, alpha, n_valid, n_rows, total_w):
    """Minibatch steps over the first ``n_valid`` rows of a chunk; returns the loss sum.

    ``n_rows`` and ``total_w`` are the whole data's row count and weight sum;
    ``averaging``: each step also updates the weights' moving average.
    """
    trainer.trace_count += 1
    B = tf.shape(template)[0]
    n_steps = (n_valid + B - 1) // B
    slots = tf.range(B)

    def step(i, acc):
        start = i * B
        valid = tf.cast(start + slots < n_valid, trainer.dtype)
        batch = Batch(tf.slice(X, [start, 0], [B, -1]), tf.slice(Y, [start, 0], [B, -1]),
                      tf.slice(w, [start], [B]) * valid, tf.reduce_sum(valid))
        loss = trainer.step(batch, alpha, n_rows, total_w, xla)
        if averaging:
            early_stopping.moving_average(trainer).update()
        return i + 1, acc + loss

    return tf.while_loop(lambda i, acc: i < n_steps, step, (0, tf.zeros([], trainer.dtype)))[1]


def _end_epoch(trainer, averaging, loss, rate, validation, epoch_rules, state):
    return rules.end_epoch(trainer, loss, rate, validation, epoch_rules, state,
                           rules.Static(early_stopping=True, adaptive=True, shuffle=True,
                                        averaging=averaging))


def _functions(trainer, xla, averaging):
    d, k, dtype = trainer.spec.layer_sizes[0], trainer.spec.layer_sizes[-1], trainer.dtype
    scalar = tf.TensorSpec([], dtype)
    labels, weights = tf.TensorSpec([None, k], tf.int8), tf.TensorSpec([None], dtype)
    rules_sig, state_sig = rules.signatures(dtype)
    chunk = trainer.traced(("chunk", xla, averaging),
                           lambda t, *args: _chunk_steps(t, averaging, xla, *args), [
        tf.TensorSpec([None, d], dtype), labels, weights, tf.TensorSpec([None], dtype), scalar,
        tf.TensorSpec([], tf.int32), scalar, scalar], xla=xla)
    begin = trainer.traced("begin_epoch", lambda t, rate: t.begin_epoch(rate),
                           [tf.TensorSpec([], tf.float32)])
    end = trainer.traced(("end_epoch", averaging),
                         lambda t, *args: _end_epoch(t, averaging, *args), [
        scalar, tf.TensorSpec([], tf.float32),
        (all_rows_signature(False, dtype, d), labels, weights), rules_sig, state_sig])
    return chunk, begin, end


def run(trainer, config, xla, template, alpha, validation, epoch_rules, state, run_log):
    """Train every epoch of ``config`` with the host streaming X; return ``(status, state)``.

    Peak memory is X plus one chunk buffer, never a copy of X. The epoch
    rules are the same traced code as the in-graph loop's. ``run_log`` (a
    ``loop.RunLog``) records each kept epoch, and the rate of a diverged one.
    """
    X, Y, w = config.data
    n, batch = X.shape[0], int(template.shape[0])
    rows = max(batch, config.paths.chunk_bytes // max(1, X.strides[0]) // batch * batch)
    rows = min(rows, -(-n // batch) * batch)
    bx, by, bw = (aligned_empty((rows, X.shape[1]), X.dtype),
                  aligned_empty((rows, Y.shape[1]), Y.dtype), aligned_empty((rows,), w.dtype))
    buffers = tuple(as_tensor(a) for a in (bx, by, bw))  # shares the buffers: refilled in place
    n_rows = tf.constant(n, trainer.dtype)
    total_w = weight_sum(w, trainer.dtype)
    chunk, begin, end = _functions(trainer, xla, early_stopping.averages(config))
    for e in range(len(config.rates)):
        if config.stop is not None and config.stop.requested:
            return Status.INTERRUPTED, state
        rate = tf.constant(np.float32(config.rates[e]) * state.lr_scale)
        begin(rate)
        order = (epoch_orders(config.seed, config.epoch0 + e, 1, n)[0] if config.shuffle
                 else np.arange(n))
        acc = 0.0
        for start in range(0, n, rows):
            idx = order[start : start + rows]
            m = len(idx)
            np.take(X, idx, axis=0, out=bx[:m])
            np.take(Y, idx, axis=0, out=by[:m])
            np.take(w, idx, out=bw[:m])
            args = (*buffers, template, alpha, tf.constant(m), n_rows, total_w)
            with _xla_cores.compiling(chunk, args, xla):
                acc += float(chunk(*args))
        loss = tf.constant(acc / n, trainer.dtype)
        score, state, status = end(loss, rate, validation, epoch_rules, state)
        status = Status(int(status))
        if status == Status.DIVERGED:  # undone, and not recorded
            run_log.diverged_rate = float(rate)
            break
        run_log.record([float(loss)], [float(score)], [float(rate)])
        if run_log.stopped and status == Status.RUNNING:
            status = Status.STOPPED
        if status != Status.RUNNING:
            break
    return status, state
