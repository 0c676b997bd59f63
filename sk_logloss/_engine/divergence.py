"""Divergence: an epoch whose loss, weights, L2 norm or optimizer state turn non-finite is undone."""

from .host import load
from .model import squared_norm, tf


class Snapshot:
    """The weights and optimizer state at an epoch's start, to restore if the epoch diverges.

    ``state`` is every variable an epoch changes: the weights and the
    optimizer's slots and step count.
    """

    def __init__(self, state):
        self.state = list(state)
        self.saved = [tf.Variable(v, trainable=False, shape=v.shape) for v in self.state]

    def save(self):
        for s, v in zip(self.saved, self.state):
            s.assign(v)

    def load(self, values):
        """Set the saved copy to ``values`` (host arrays, one per state variable)."""
        load(self.saved, values)

    def restore_unless(self, finite):
        """Put the saved values back where ``finite`` is False (traced code)."""
        for v, s in zip(self.state, self.saved):
            v.assign(tf.where(finite, v, s))


def finite(loss, state, coefs):
    """Whether the epoch loss, every floating state variable and the L2 norm are finite.

    Checked after the epoch's last step, so a step that overflows the weights
    or the optimizer's state is caught in the epoch it happens, even when the
    epoch has one batch.
    """
    checks = [tf.math.is_finite(loss), tf.math.is_finite(squared_norm(coefs))]
    by_dtype = {}  # one reduction per dtype over every variable: one kernel to compile, not one each
    for v in state:
        if tf.as_dtype(v.dtype).is_floating:
            by_dtype.setdefault(tf.as_dtype(v.dtype), []).append(tf.reshape(v, [-1]))
    checks += [tf.reduce_all(tf.math.is_finite(tf.concat(values, 0)))
               for values in by_dtype.values()]
    return tf.reduce_all(tf.stack(checks))
