"""What a plain fit's XLA step could cost at best on this machine, part by part (issue 22).

    python benchmarks/plain_step_bounds.py    # about a minute

A default plain fit on digits runs float64 steps of a 200-row batch, 64 features and 10
logits inside an XLA while loop. Each part below runs the same way, in a loop of
compiled steps whose state carries the part's whole output (so that XLA computes all of
it), against NumPy where NumPy does the same work:

1. the forward product ``[200, 64] x [64, 10]``: Eigen (``tf.matmul``, what XLA calls at
   this shape) against one fused loop of 64 rank-one updates, which XLA vectorizes;
2. the weight gradient ``[64, 200] x [200, 10]``: Eigen, either way round, against 200
   outer products in one fused loop;
3. the loss value's ``log1p(exp(-|z|))`` over 2,000 logits in the step's own form (each
   row's mean, their weighted sum, with the gradient: the loss with ``log1p`` less the loss
   without it), and alone in one sum over every logit, a loop XLA vectorizes otherwise
   (session 33's figure, about twice the step's): XLA against NumPy;
4. the batch's row gather from 1,437 rows: XLA against NumPy's ``take``;
5. the rest of a step, each part alone: Adam's update, and one more small kernel in a loop
   body (the step has 19 more besides Adam's: counts, sums, gathers, copies);
6. whether XLA runs a loop body's independent kernels at once: process CPU time against
   wall time for six independent ``log1p`` kernels a step (a ratio near 1: one core);
7. the steps of benchmark (m)'s digits search at the defaults (9 rates x 5 folds, each fit's
   epochs x its batches); what the parts that no change may avoid (the two Eigen products,
   the loss value's ``log1p``, the gather) cost over that many steps; what every part of a
   step, each alone, costs; and benchmark (m)'s GridSearchCV over
   MLPClassifier(hidden_layer_sizes=()) in this run.

Each loop compiles as the engine compiles its own, planned for one core
(``sk_logloss._xla_cores.compiling``): unplanned, XLA splits a 2,000-element ``log1p`` over
both cores, and the hand-off costs more than the split saves.
"""

import importlib
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
bench = importlib.import_module("bench")  # first: it drops OPENBLAS_* before NumPy loads

import numpy as np
import tensorflow as tf

from sk_logloss._xla_cores import compiling

RNG = np.random.default_rng(0)
DT = tf.float64
X = tf.constant(RNG.standard_normal((200, 64)), DT)
W = tf.constant(RNG.standard_normal((64, 10)), DT)
G = tf.constant(RNG.standard_normal((200, 10)), DT)
Z = tf.constant(RNG.standard_normal((200, 10)), DT)
Y = tf.constant(RNG.random((200, 10)) < 0.1, DT)  # one-hot-like labels
ROW_W = tf.constant(RNG.random(200), DT)
SMALL = tf.constant(RNG.random(64), DT)
# a default digits step's kernels besides the two products, the loss value, the X gather, exp,
# the loss's gradient and Adam's 10 (counts, sums, gathers of labels and weights, copies; 35 in
# all in benchmarks/plain_step_profile_session34_cpu.log)
SMALL_KERNELS = 19
X_ALL = tf.constant(RNG.standard_normal((1437, 64)), DT)
ORDER = tf.constant(RNG.permutation(1437)[:200].astype(np.int32))


def loop_us(body, state, steps=8000):
    """Microseconds a step of ``state = body(state)`` takes in one compiled XLA loop."""
    def run(s):
        return tf.while_loop(lambda i, s: i < steps, lambda i, s: (i + 1, body(s)), (0, s))[1]

    f = tf.function(run, jit_compile=True, autograph=False)
    with compiling(f, (state,), True):
        tf.nest.map_structure(lambda t: t.numpy(), f(state))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        tf.nest.map_structure(lambda t: t.numpy(), f(state))
        best = min(best, time.perf_counter() - start)
    return best / steps * 1e6


def numpy_us(f, n=20000):
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def rank_one_forward(x, w):
    acc = x[:, 0:1] * w[0:1, :]
    for d in range(1, w.shape[0]):
        acc = acc + x[:, d:d + 1] * w[d:d + 1, :]
    return acc


def outer_gradient(x, g):
    acc = tf.transpose(x[0:1, :]) * g[0:1, :]
    for b in range(1, x.shape[0]):
        acc = acc + tf.transpose(x[b:b + 1, :]) * g[b:b + 1, :]
    return acc


def forward(product):
    def body(s):  # the next weights read the product: no step is hoisted out of the loop
        w, z = s
        z = product(X, w)
        return w * 0.999 + 1e-12 * z[:64], z
    return body


def gradient(product):
    def body(s):
        g, dw = s
        dw = product(X, g)
        return g * 0.999 + 1e-12 * tf.reduce_sum(dw), dw
    return body


def products():
    npX, npW, npG = X.numpy(), W.numpy(), G.numpy()
    rows = [
        ("forward, Eigen (tf.matmul)", loop_us(forward(tf.matmul), (W, Z))),
        ("forward, 64 rank-one updates fused", loop_us(forward(rank_one_forward), (W, Z))),
        ("forward, NumPy (OpenBLAS)", numpy_us(lambda: npX @ npW)),
        ("gradient X^T G, Eigen", loop_us(gradient(
            lambda x, g: tf.matmul(x, g, transpose_a=True)), (G, tf.zeros([64, 10], DT)))),
        ("gradient G^T X, Eigen", loop_us(gradient(
            lambda x, g: tf.matmul(g, x, transpose_a=True)), (G, tf.zeros([10, 64], DT)))),
        ("gradient, 200 outer products fused", loop_us(
            gradient(outer_gradient), (G, tf.zeros([64, 10], DT)), steps=2000)),
        ("gradient, NumPy (OpenBLAS)", numpy_us(lambda: npX.T @ npG)),
    ]
    return rows


def engine_loss(z, log1p):
    """The loss value as a step computes it: TensorFlow's sigmoid cross-entropy (``log1p`` in
    place of its ``tf.math.log1p``), each row's mean over its 10 logits, their weighted sum."""
    relu, e = tf.nn.relu(z), tf.exp(-tf.abs(z))
    return tf.reduce_sum(ROW_W * tf.reduce_mean(relu - z * Y + log1p(e), axis=1))


def loss_and_gather():
    def step_loss(log1p):
        def body(s):  # with its gradient, as a step has it: exp(-|z|) is a kernel of its own
            z, acc = s
            with tf.GradientTape() as tape:
                tape.watch(z)
                value = engine_loss(z, log1p)
            return z - 1e-12 * tape.gradient(value, z), acc + value
        return body

    loss, without_log1p = step_loss(tf.math.log1p), step_loss(tf.identity)

    def log1p_alone(s):  # as session 33 timed it: one sum over every logit
        z, acc = s
        return z * (1 + 1e-12), acc + tf.reduce_sum(tf.math.log1p(tf.exp(-tf.abs(z))))

    def gather(s):
        i, _ = s
        return i + 1, tf.gather(X_ALL, tf.roll(ORDER, i, 0))

    npZ, npX, order = Z.numpy(), X_ALL.numpy(), ORDER.numpy()
    zero = tf.zeros([], DT)
    return [
        ("loss value and gradient, XLA", loop_us(loss, (Z, zero))),
        ("  the same without log1p", loop_us(without_log1p, (Z, zero))),
        ("  log1p(exp(-|z|)) alone, summed", loop_us(log1p_alone, (Z, zero))),
        ("loss value, NumPy", numpy_us(lambda: np.log1p(np.exp(-np.abs(npZ))).sum())),
        ("row gather, XLA", loop_us(gather, (0, X))),
        ("row gather, NumPy take", numpy_us(lambda: npX.take(order, axis=0))),
    ]


def rest_of_step():
    """The rest of a step, each part alone in a compiled loop: Adam's update of the ``[64, 10]``
    weights and ``[10]`` intercepts (Keras' formula), and one more small kernel in a loop body
    (a chain of 40 small reductions against none, per reduction)."""
    def adam(s):
        t, *pairs = s
        t = t + 1.0
        rate = 1e-3 * tf.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        out = [t]
        for v, m, u in zip(*[iter(pairs)] * 3):
            g = v * 1e-3  # a gradient that depends on the weights
            m = m + (g - m) * 0.1
            u = u + (g * g - u) * 0.001
            out += [v - m * rate / (tf.sqrt(u) + 1e-7), m, u]
        return tuple(out)

    def chain(k):
        def body(r):
            for _ in range(k):
                r = SMALL * (1 + 1e-9 * tf.reduce_sum(r))
            return r * (1 - 1e-12)
        return body

    b = tf.constant(RNG.standard_normal(10), DT)
    state = (tf.zeros([], DT), W, W * 0, W * 0, b, b * 0, b * 0)
    kernels = (loop_us(chain(40), SMALL, steps=20000) - loop_us(chain(0), SMALL, steps=20000)) / 40
    return [("Adam's update, alone", loop_us(adam, state)),
            ("one more small kernel in a loop body", kernels)]


def concurrency():
    """CPU seconds over wall seconds while a loop runs six independent kernels a step."""
    a = tf.constant(RNG.random(20000), DT)

    def body(s):
        return tuple(1e-9 * tf.reduce_sum(tf.math.log1p(a * (1.0 + v * 1e-9))) for v in s)

    state = tuple(tf.zeros([], DT) for _ in range(6))
    f = tf.function(lambda s: tf.while_loop(lambda i, s: i < 300, lambda i, s: (i + 1, body(s)),
                                            (0, s))[1], jit_compile=True, autograph=False)
    with compiling(f, (state,), True):
        f(state)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    [v.numpy() for v in f(state)]
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / wall


def search_steps():
    """Epochs per rate and the steps of digits' default search, as benchmark (m) folds it."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    from sk_logloss import LogLossClassifier

    X, y = load_digits(return_X_y=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)
    train_sets = [train for train, _ in folds]
    steps, epochs = 0, {}
    for rate in np.logspace(-3, -1, 9):
        for train in train_sets:
            Xt = StandardScaler().fit_transform(X[train])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fit = LogLossClassifier(learning_rate=rate, random_state=0).fit(Xt, y[train])
            epochs.setdefault(rate, []).append(fit.n_iter_)
            steps += fit.n_iter_ * -(-len(train) // 200)
    return steps, epochs


def mlp_search():
    """Seconds of benchmark (m)'s MLPClassifier search on digits, timed as (m) times it."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    mlp = MLPClassifier(hidden_layer_sizes=(), random_state=0)
    rates = list(np.logspace(-3, -1, 9))
    return bench._search_time(mlp, "learning_rate_init", rates, cv, X, y)[0]


def main():
    bench.blas_report()
    print(f"TensorFlow {tf.__version__}; per step, float64, best of 3")
    parts = products() + loss_and_gather() + rest_of_step()
    for name, us in parts:
        print(f"  {name:<40}{us:8.2f} us")
    print(f"  {'loop body kernels: CPU / wall time':<40}{concurrency():8.2f}")
    steps, epochs = search_steps()
    for rate, counts in epochs.items():
        print(f"  digits search, rate {rate:.4f}: epochs {counts}")
    us = dict(parts)
    floor = (us["forward, Eigen (tf.matmul)"] + us["gradient G^T X, Eigen"]
             + us["loss value and gradient, XLA"] - us["  the same without log1p"]
             + us["row gather, XLA"])
    print(f"  {steps} steps (refit not counted) x {floor:.1f} us (both products, log1p, gather) "
          f"= {steps * floor / 1e6:.1f} s before any other part of a step")
    # each part of a step alone: the four above, exp with the loss's gradient (the loss loop
    # without log1p), Adam, and the step's other small kernels
    every = (floor + us["  the same without log1p"] + us["Adam's update, alone"]
             + SMALL_KERNELS * us["one more small kernel in a loop body"])
    print(f"  every part of a step alone: {every:.1f} us (the four above, exp and the loss's "
          f"gradient, Adam, {SMALL_KERNELS} small kernels): {steps * every / 1e6:.1f} s")
    mlp = mlp_search()
    print(f"  GridSearchCV(MLPClassifier(hidden_layer_sizes=())), the same search: {mlp:.2f} s: "
          f"{mlp / steps * 1e6:.1f} us a step, {mlp / steps * 1e6 - floor:.1f} us beside the four "
          f"parts for everything else a step does (benchmarks/plain_step_profile.py)")


if __name__ == "__main__":
    main()
