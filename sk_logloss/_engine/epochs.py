"""The in-graph loop: many epochs of minibatch steps, and their epoch rules, in one TensorFlow call."""

from typing import NamedTuple

from . import early_stopping, rules
from .batches import all_rows_signature, make_source, x_signature
from .model import tf
from .types import FIT_EPOCHS_PER_CALL, Status


class Data(NamedTuple):
    """The training data of a call, and the step settings that go with it.

    Dense X may carry padding rows after the ``n`` real ones (see
    :func:`~.types.padded_rows`): no batch reads them, so a compiled program
    serves every row count of its bucket with the bits of the unpadded run.
    """

    X: object  # dense rows, or the CSR arrays of batches.x_tensors
    Y: object  # int8 0/1 labels
    w: object  # sample weights (zero on padding rows)
    template: object  # its length is the batch size
    alpha: object  # the L2 penalty
    n: object  # int32: the real rows
    total_w: object  # the real rows' weight sum, from the host (as streaming takes it)


class Validation(NamedTuple):
    """The held-out rows of early stopping (none without it)."""

    X: object
    Y: object
    w: object


class Call(NamedTuple):
    """What one call runs: each epoch's row order, how many epochs, each epoch's rate."""

    orders: object  # int32 [epochs, X's rows] (empty without shuffling)
    n_epochs: object  # int32, at most FIT_EPOCHS_PER_CALL
    rates: object  # float32 [FIT_EPOCHS_PER_CALL]


class Carry(NamedTuple):
    """The state of the epoch loop."""

    epoch: object
    state: rules.EpochState
    status: object
    losses: object  # [FIT_EPOCHS_PER_CALL] epoch losses
    scores: object  # [FIT_EPOCHS_PER_CALL] validation scores
    rates: object  # [FIT_EPOCHS_PER_CALL] learning rates used


def signature(spec, dtype):
    """The traced signature of :func:`run`: data, validation, call, rules, state."""
    d, k = spec.layer_sizes[0], spec.layer_sizes[-1]
    labels, weights = tf.TensorSpec([None, k], tf.int8), tf.TensorSpec([None], dtype)
    rules_sig, state_sig = rules.signatures(dtype)
    return [
        Data(x_signature(spec.sparse, dtype, d), labels, weights, tf.TensorSpec([None], dtype),
             tf.TensorSpec([], dtype), tf.TensorSpec([], tf.int32), tf.TensorSpec([], dtype)),
        Validation(all_rows_signature(spec.sparse, dtype, d), labels, weights),
        Call(tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([], tf.int32),
             tf.TensorSpec([FIT_EPOCHS_PER_CALL], tf.float32)),
        rules_sig,
        state_sig,
    ]


def function(trainer, static, xla):
    """The loop specialized on ``static`` (a :class:`~.rules.Static`), traced on first use."""
    return trainer.traced(("epochs", static, xla), lambda t, *args: run(t, static, xla, *args),
                          signature(trainer.spec, trainer.dtype), xla=xla)


def run(trainer, static, xla, data, validation, call, epoch_rules, state):
    """Up to ``call.n_epochs`` epochs of minibatch training, stopping at a non-RUNNING status."""
    trainer.trace_count += 1
    source = make_source(trainer.spec.sparse, data.X, data.Y, data.w, data.template, data.n)
    n_steps = (source.n + source.batch - 1) // source.batch
    tail = tf.zeros([2 * source.batch], tf.int32)  # two batches: the loop may look one ahead
    total_w, n_rows = data.total_w, tf.cast(source.n, trainer.dtype)
    zero = tf.zeros([], trainer.dtype)

    def train_on(batch):
        loss = trainer.step(batch, data.alpha, n_rows, total_w, xla)
        if static.averaging:
            early_stopping.moving_average(trainer).update()
        return loss

    def epoch(carry):
        e = carry.epoch
        rate = call.rates[e] * carry.state.lr_scale
        trainer.begin_epoch(rate)
        # padded to X's rows: entries past the real rows are masked out of batches
        order = call.orders[e] if static.shuffle else tf.range(tf.shape(data.w)[0])
        order = tf.concat([order, tail], 0)
        if source.look_ahead and xla:  # gather the next batch while this one trains
            def step(i, acc, batch):
                return i + 1, acc + train_on(source.carried(batch)), source.take(order, i + 1)

            first = (0, zero, source.take(order, 0))
            acc = tf.while_loop(lambda i, *_: i < n_steps, step, first)[1]
        else:
            def step(i, acc):
                return i + 1, acc + train_on(source.take(order, i))

            acc = tf.while_loop(lambda i, acc: i < n_steps, step, (0, zero))[1]
        # XLA turned the division by the row count, a constant of X's shape before rows
        # were padded, into a product with its reciprocal: kept, for the same bits
        loss = acc * (1 / n_rows) if xla else acc / n_rows
        score, new_state, status = rules.end_epoch(
            trainer, loss, rate, validation, epoch_rules, carry.state, static
        )
        at = [[e]]
        return (Carry(e + 1, new_state, status,
                      tf.tensor_scatter_nd_update(carry.losses, at, [loss]),
                      tf.tensor_scatter_nd_update(carry.scores, at, [score]),
                      tf.tensor_scatter_nd_update(carry.rates, at, [rate])),)

    empty = tf.zeros([FIT_EPOCHS_PER_CALL], trainer.dtype)
    start = Carry(0, state, int(Status.RUNNING), empty, empty,
                  tf.zeros([FIT_EPOCHS_PER_CALL], tf.float32))
    (end,) = tf.while_loop(
        lambda c: (c.epoch < call.n_epochs) & (c.status == int(Status.RUNNING)), epoch, (start,)
    )
    return end
