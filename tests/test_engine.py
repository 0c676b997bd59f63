"""The engine's parts on their own: path choice, batch sources, epoch rules, early stopping, paths."""

import warnings
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sk_logloss._engine import batches, divergence, early_stopping, host, loop, rules, update
from sk_logloss._engine.model import first_layer, tf
from sk_logloss._engine.trainer import Trainer
from sk_logloss._engine.types import (
    Adaptive,
    EarlyStopping,
    ModelSpec,
    Paths,
    Status,
    StochasticConfig,
    padded_rows,
)
from sk_logloss._network import init_weights
from sk_logloss._optimizers import KERAS_OPTIMIZERS


def problem(n=300, d=6, classes=3, seed=0):
    X, y = make_classification(n_samples=n, n_features=d, n_informative=4, n_classes=classes,
                               random_state=seed)
    Y = (y[:, None] == np.arange(classes)).astype(np.int8)
    return X, Y


def config(X, Y, hidden=(), sparse=False, dtype="float64", **overrides):
    """A StochasticConfig as the estimator would build it (training in ``dtype``), with
    ``overrides``."""
    sizes = (X.shape[1], *hidden, Y.shape[1])
    coefs, intercepts = init_weights(sizes, "relu", np.random.default_rng(0), np.dtype(dtype))
    spec = ModelSpec(sizes, "relu", "adam", (), dtype, sparse=sparse)
    settings = {"rates": np.full(15, 0.01), "alpha": 1e-4, "batch_size": 32, "tol": 1e-4,
                "n_iter_no_change": 10, "check_convergence": True, "shuffle": True,
                "seed": 12345, **overrides}
    data = (X.astype(dtype, copy=False), Y, np.ones(X.shape[0], dtype))
    return StochasticConfig(spec, coefs, intercepts, data, **settings)


# -- path choice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, epochs, batch, paths, expected",
    [
        (300, 15, 32, Paths(), loop.Path(xla=False, stream=False)),  # 150 steps
        (300, 199, 32, Paths(), loop.Path(xla=False, stream=False)),  # 1,990 steps
        (300, 200, 32, Paths(), loop.Path(xla=True, stream=False)),  # 2,000 steps
        (455, 1000, None, Paths(), loop.Path(xla=True, stream=False)),  # 4 steps x 1000 epochs
        (200, 1000, None, Paths(), loop.Path(xla=False, stream=False)),  # 1 step x 1000 epochs
        (300, 15, 32, Paths(xla_min_steps=150), loop.Path(xla=True, stream=False)),
        (300, 15, 32, Paths(xla_min_bytes=300 * 6 * 8), loop.Path(xla=True, stream=False)),
        (300, 15, 32, Paths(stream_min_bytes=300 * 6 * 8), loop.Path(xla=False, stream=True)),
    ],
)
def test_path_is_chosen_by_steps_and_bytes(n, epochs, batch, paths, expected):
    X, Y = problem(n)
    cfg = config(X, Y, rates=np.full(epochs, 0.01), batch_size=batch, paths=paths)
    assert loop.choose_path(cfg, X) == expected


def test_sparse_x_is_never_streamed_and_counts_only_its_nonzeros():
    X, Y = problem()
    X[np.abs(X) < 1] = 0
    csr = sp.csr_matrix(X)
    cfg = config(csr, Y, sparse=True, paths=Paths(stream_min_bytes=0,
                                                   xla_min_bytes=csr.data.nbytes + csr.indices.nbytes))
    assert loop.choose_path(cfg, csr) == loop.Path(xla=True, stream=False)
    cfg = replace(cfg, paths=replace(cfg.paths, xla_min_bytes=X.nbytes))
    assert not loop.choose_path(cfg, csr).xla


@pytest.mark.parametrize(
    "overrides",
    [{}, {"early_stopping": EarlyStopping(0.2, key=7, multilabel=False)},
     {"hidden": (8,), "early_stopping": EarlyStopping(0.2, key=7, multilabel=False,
                                                      average=True)},
     {"shuffle": False, "batch_size": 64},
     {"hidden": (8,), "adaptive": Adaptive(0.2, 1e-6), "n_iter_no_change": 2}],
)
@pytest.mark.bitwise
def test_streaming_gives_the_bits_of_the_in_graph_loop(overrides):
    X, Y = problem(3000, 10)
    hidden = overrides.pop("hidden", ())
    in_graph = loop.train_stochastic(config(X, Y, hidden, **overrides))
    # every X counts as large: shuffled chunks of 20 rows come from the host
    streamed = loop.train_stochastic(config(
        X, Y, hidden, paths=Paths(stream_min_bytes=0, chunk_bytes=20 * X.strides[0]), **overrides
    ))
    assert len(streamed.loss_curve) == len(in_graph.loss_curve) > 1
    for a, b in zip(streamed.coefs + streamed.intercepts, in_graph.coefs + in_graph.intercepts):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(streamed.loss_curve, in_graph.loss_curve)
    np.testing.assert_array_equal(streamed.validation_scores, in_graph.validation_scores)


# -- the single-threaded executor ---------------------------------------------------------

INLINE_CASES = [
    {},
    {"hidden_layer_sizes": (8,), "activation": "tanh", "early_stopping": True,
     "average_weights": True},
    {"hidden_layer_sizes": (5, 4), "activation": "logistic", "loss": "softmax"},
    {"optimizer": "sgd", "optimizer_params": {"momentum": 0.9, "nesterov": True},
     "learning_rate": 0.05, "learning_rate_schedule": "adaptive", "n_iter_no_change": 2},
    {"shuffle": False, "batch_size": 64, "class_weight": "balanced", "early_stopping": True},
    {"sparse": True, "hidden_layer_sizes": (6,)},
    {"stream": True, "hidden_layer_sizes": (4,)},
    {"optimizer_params": {"amsgrad": True, "beta_1": 0.8, "epsilon": 1e-6, "clipnorm": 0.1}},
    {"optimizer": "sgd", "optimizer_params": {"weight_decay": 0.01, "momentum": 0.5}},
    {"optimizer": "nadam"},
    {"optimizer": "adamax", "optimizer_params": {"weight_decay": 0.01}},
]


def fit_bits(monkeypatch, params, inline=None):
    """A plain fit's arrays; with ``inline`` (True or False), trainers built anew that run
    graph-mode steps in the single-threaded executor or not."""
    from sk_logloss import LogLossClassifier
    from sk_logloss._engine import trainer as trainer_module

    params = dict(params)
    sparse, stream = params.pop("sparse", False), params.pop("stream", False)
    X, Y = problem(300, 6)
    y = Y.argmax(1)
    if sparse:
        X[np.abs(X) < 1] = 0
        X = sp.csr_matrix(X)
    if inline is not None:
        monkeypatch.setattr(trainer_module, "_TRAINERS", {})
        monkeypatch.setattr(trainer_module, "runs_inline", lambda spec: inline)
    if stream:
        original = loop.train_stochastic
        monkeypatch.setattr(loop, "train_stochastic", lambda cfg: original(replace(
            cfg, paths=Paths(stream_min_bytes=0, chunk_bytes=40 * X.strides[0]))))
    est = LogLossClassifier(**({"max_iter": 15, "batch_size": 32, "random_state": 0} | params))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    monkeypatch.undo()
    return [*est.coefs_, *est.intercepts_, est.loss_curve_]


@pytest.mark.parametrize("params", INLINE_CASES)
@pytest.mark.bitwise
def test_the_single_threaded_executor_trains_to_the_default_executors_bits(monkeypatch, params):
    # the default executor against the engine's choice, which is the single-threaded one
    default = fit_bits(monkeypatch, params, inline=False)
    inline = fit_bits(monkeypatch, params)
    assert len(inline[-1]) == len(default[-1]) > 1
    for a, b in zip(inline, default):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("params", [{"optimizer": "rmsprop"}, {"optimizer": "adagrad"}, {
    "precision": "float32", "hidden_layer_sizes": (5, 4), "activation": "tanh"}])
@pytest.mark.bitwise
def test_what_the_single_threaded_executor_would_change_stays_on_the_default_one(monkeypatch,
                                                                                 params):
    # RMSprop's and Adagrad's updates and float32 products are rewritten by the default
    # executor's graph optimizer, which does not run in the single-threaded one's loop
    # bodies: forced to it, they train to other bits (within rounding), so the engine keeps
    # them off it
    default = fit_bits(monkeypatch, params)
    forced = fit_bits(monkeypatch, params, inline=True)
    dtype = forced[0].dtype
    assert any(not np.array_equal(a, b) for a, b in zip(forced, default))
    for a, b in zip(forced, default):
        np.testing.assert_allclose(a, b, rtol=1e-3 if dtype == np.float32 else 1e-10, atol=1e-6)


def test_xla_and_graph_executor_agree():
    X, Y = problem()
    graph = loop.train_stochastic(config(X, Y, batch_size=16, paths=Paths(xla_min_steps=10**9)))
    xla = loop.train_stochastic(config(X, Y, batch_size=16, paths=Paths(xla_min_steps=0)))
    assert len(graph.loss_curve) == len(xla.loss_curve)
    np.testing.assert_allclose(xla.loss_curve, graph.loss_curve, rtol=1e-6)
    for a, b in zip(xla.coefs, graph.coefs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)


def test_sparse_x_trains_under_xla_as_in_the_graph_executor():
    # the look-ahead loop carries a CSR batch: XLA needs its row count as a constant
    X, Y = problem()
    X[np.abs(X) < 1] = 0
    csr = sp.csr_matrix(X)
    runs = [loop.train_stochastic(config(csr, Y, hidden, sparse=True, batch_size=16,
                                         paths=Paths(xla_min_steps=steps)))
            for hidden in ((), (4,)) for steps in (10**9, 0)]
    for graph, xla in (runs[:2], runs[2:]):
        np.testing.assert_allclose(xla.loss_curve, graph.loss_curve, rtol=1e-6)


@pytest.mark.parametrize("n, padded", [(7, 7), (17, 18), (455, 480), (456, 480), (569, 576),
                                       (1437, 1536), (13334, 14336)])
def test_row_buckets_add_at_most_an_eighth(n, padded):
    assert padded_rows(n) == padded and padded_rows(padded) == padded
    assert n <= padded <= n * 9 / 8


def xla_inputs(n, paths=None):
    """What an XLA run on the first ``n`` rows hands its compiled program: shapes decide a compile."""
    X, Y = problem(600)
    cfg = config(X[:n], Y[:n], batch_size=32, paths=paths or Paths(xla_min_steps=0))
    data = loop._in_graph_data(cfg, loop.choose_path(cfg, X[:n]), cfg.data,
                               tf.zeros([32], tf.float64), tf.constant(1e-4, tf.float64))
    return [tuple(t.shape) for t in data], int(data.n), float(data.total_w)


def test_folds_of_one_bucket_hand_xla_the_same_shapes():
    (shapes_455, n_455, w_455), (shapes_456, n_456, _) = xla_inputs(455), xla_inputs(456)
    assert shapes_455 == shapes_456 and shapes_455[0] == (480, 6)  # one compiled program
    assert (n_455, n_456, w_455) == (455, 456, 455.0)
    unpadded, n, _ = xla_inputs(455, Paths(xla_min_steps=0, pad_max_bytes=0))
    assert unpadded[0] == (455, 6) and n == 455


@pytest.mark.bitwise
@pytest.mark.parametrize("shuffle", [True, False])
def test_padding_rows_change_no_bit_of_an_xla_run(shuffle):
    X, Y = problem(455)
    w = np.linspace(0.3, 3.0, len(X))  # weights whose sum rounds
    runs = [loop.train_stochastic(replace(
        config(X, Y, shuffle=shuffle, paths=Paths(xla_min_steps=0, pad_max_bytes=pad)),
        data=(X, Y, w))) for pad in (0, 2**25)]
    for a, b in zip(runs[0].coefs + runs[0].intercepts, runs[1].coefs + runs[1].intercepts):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(runs[0].loss_curve, runs[1].loss_curve)


@pytest.mark.bitwise
def test_steps_per_call_cut_the_run_without_changing_it():
    X, Y = problem()
    whole = loop.train_stochastic(config(X, Y))
    cut = loop.train_stochastic(config(X, Y, paths=Paths(steps_per_call=1)))  # an epoch a call
    np.testing.assert_array_equal(whole.loss_curve, cut.loss_curve)
    np.testing.assert_array_equal(whole.coefs[0], cut.coefs[0])


def test_a_plain_fits_calls_get_their_epochs_permutations_drawn_during_the_call_before(
        monkeypatch):
    X, Y = problem()  # 300 rows: 4 epochs' permutations a call, 10 calls of 4 epochs
    monkeypatch.setattr(loop, "FIT_FIRST_CALL_ROWS", 1200)  # drawn ahead from 1,200 rows a call
    settings = {"rates": np.full(40, 0.01), "tol": 0, "paths": Paths(order_rows_per_call=1200)}
    drawn, real = [], loop.prefetched

    def spy(make, items):
        items = list(items)
        for item, orders in zip(items, real(make, items)):
            drawn.append((item, orders))
            yield orders

    monkeypatch.setattr(loop, "prefetched", spy)
    ahead = loop.train_stochastic(config(X, Y, **settings))
    assert [item for item, _ in drawn] == [(e, 4) for e in range(0, 40, 4)]
    for (start, k), orders in drawn:  # epoch e's permutation, whichever call draws it
        expected = [host.epoch_orders(12345, e, 1, 300)[0] for e in range(start, start + k)]
        np.testing.assert_array_equal(orders, expected)
    monkeypatch.setattr(loop, "prefetched", lambda make, items: (make(i) for i in items))
    in_turn = loop.train_stochastic(config(X, Y, **settings))
    np.testing.assert_array_equal(ahead.loss_curve, in_turn.loss_curve)
    np.testing.assert_array_equal(ahead.coefs[0], in_turn.coefs[0])
    # a run that converges stops drawing: at most the call after its last is drawn
    drawn.clear()
    monkeypatch.setattr(loop, "prefetched", spy)
    short = loop.train_stochastic(config(X, Y, **{**settings, "tol": 1.0, "n_iter_no_change": 1}))
    assert len(short.loss_curve) < 40
    assert len(drawn) <= -(-len(short.loss_curve) // 4) + 1


def test_shared_draws_make_each_key_once_within_their_budget():
    import threading

    made = []

    def make(key, size=10):
        def draw():
            made.append(key)
            if key == "bad":
                raise MemoryError("no room")
            return np.full(size, len(made), np.int32)
        return draw

    shared = host.SharedDraws(budget=100)
    first = shared.get("a", make("a"))
    assert shared.get("a", make("a")) is first and made == ["a"]  # kept: 40 bytes
    assert shared.get("b", make("b", 100)) is not shared.get("b", make("b", 100))  # 400: not
    assert made == ["a", "b", "b"] and shared.kept == 40
    for _ in range(2):  # an error reaches its asker and is not kept
        with pytest.raises(MemoryError, match="no room"):
            shared.get("bad", make("bad"))
    assert made.count("bad") == 2
    # threads asking at once for a key being made wait for it rather than make it again
    go, results = threading.Event(), []

    def slow():
        go.wait()
        made.append("c")
        return np.zeros(1)

    askers = [threading.Thread(target=lambda: results.append(shared.get("c", slow)))
              for _ in range(4)]
    for t in askers:
        t.start()
    go.set()
    for t in askers:
        t.join()
    assert made.count("c") == 1 and all(r is results[0] for r in results)


@pytest.mark.bitwise
@pytest.mark.parametrize("name", sorted(KERAS_OPTIMIZERS))
def test_the_direct_update_gives_the_bits_of_keras_apply(name, monkeypatch):
    """update.apply calls each variable's update rule itself; optimizer.apply must agree."""
    X, Y = problem(60)
    base = config(X, Y, hidden=(4,), rates=np.full(3, 0.01))
    base = replace(base, spec=replace(base.spec, optimizer=name))
    monkeypatch.setattr(loop, "get_trainer", Trainer)  # a new trace for each run
    direct = loop.train_stochastic(base)
    monkeypatch.setattr(update, "_wrapped", lambda optimizer: True)
    keras_apply = loop.train_stochastic(base)
    for a, b in zip(direct.coefs + direct.intercepts + direct.optimizer_state,
                    keras_apply.coefs + keras_apply.intercepts + keras_apply.optimizer_state):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(direct.coefs[0], base.coefs[0])  # it trained


def test_apply_keeps_what_keras_adds_around_the_update_rule():
    keras = pytest.importorskip("keras")
    assert not update._wrapped(keras.optimizers.Adam())
    assert update._wrapped(keras.optimizers.AdamW())  # weight decay
    assert update._wrapped(keras.optimizers.SGD(clipnorm=1.0))
    assert update._wrapped(keras.optimizers.Nadam())  # its own step before the update rules


# -- batch sources -----------------------------------------------------------------------


@pytest.mark.bitwise
@pytest.mark.parametrize("batch", [1, 7, 32])
def test_dense_and_csr_sources_draw_the_same_batches(batch):
    X, Y = problem(50)
    X[np.abs(X) < 0.8] = 0
    X[3] = 0  # a row with no nonzero
    w = np.linspace(0.5, 2.0, len(X))
    order = np.r_[np.random.default_rng(0).permutation(len(X)), np.zeros(2 * batch, int)]
    template = tf.zeros([batch], tf.float64)
    n = tf.constant(len(X))
    dense = batches.make_source(False, tf.constant(X), tf.constant(Y), tf.constant(w), template, n)
    csr = batches.make_source(True, batches.x_tensors(True, sp.csr_matrix(X), batch),
                              tf.constant(Y), tf.constant(w), template, n)
    assert not dense.look_ahead and csr.look_ahead
    W = tf.constant(np.random.default_rng(1).standard_normal((X.shape[1], 2)))
    for i in range(-(-len(X) // batch)):
        a, b = dense.take(order, i), csr.take(order, i)
        rows = order[i * batch : (i + 1) * batch]
        real = min(batch, len(X) - i * batch)
        assert float(a.count) == float(b.count) == real
        np.testing.assert_array_equal(a.w.numpy(), np.r_[w[rows[:real]], np.zeros(batch - real)])
        np.testing.assert_array_equal(a.y.numpy(), Y[rows])
        np.testing.assert_array_equal(b.y.numpy(), a.y.numpy())
        # the CSR batch multiplies like the dense rows it stands for
        np.testing.assert_allclose(first_layer(b.x, W).numpy(), X[rows] @ W.numpy(), atol=1e-12)


# -- epoch rules -------------------------------------------------------------------------


@pytest.fixture
def trainer():
    return Trainer(ModelSpec((3, 2), "relu", "adam", (), "float64"))


def run_rules(trainer, losses, early=False, adaptive=False, n_iter_no_change=2, scores=None):
    """Apply the end-of-epoch rules to a sequence of epoch losses; the statuses and states."""
    cfg = StochasticConfig(
        trainer.spec, [], [], None, np.zeros(0), 0.0, 1, 0.1, n_iter_no_change, True, True, 0,
        adaptive=Adaptive(0.5, 0.01) if adaptive else None,
        early_stopping=EarlyStopping(0.1, 0, False) if early else None,
    )
    epoch_rules, state = rules.host_rules(cfg, tf.float64), rules.first_state(1.0, tf.float64)
    static = rules.Static(early_stopping=early, adaptive=adaptive, shuffle=True)
    no_rows = (batches.no_rows(False, tf.float64, 3), tf.zeros([0, 2], tf.int8),
               tf.zeros([0], tf.float64))
    out = []
    for loss in losses:
        rate = tf.constant(0.1, tf.float32) * state.lr_scale
        trainer.begin_epoch(rate)
        _, state, status = rules.end_epoch(trainer, tf.constant(loss, tf.float64), rate,
                                           no_rows, epoch_rules, state, static)
        out.append((Status(int(status)), state))
    return out


def test_convergence_after_more_than_n_iter_no_change_stalls(trainer):
    out = run_rules(trainer, [1.0, 0.5, 0.45, 0.44, 0.43])  # tol 0.1: stalls from the third
    assert [s for s, _ in out] == [Status.RUNNING] * 4 + [Status.CONVERGED]
    assert [int(st.no_improve) for _, st in out] == [0, 0, 1, 2, 3]
    assert float(out[-1][1].best_loss) == 0.43


def test_adaptive_decay_replaces_the_stop_until_the_rate_floor(trainer):
    # rate 0.1, factor 0.5, floor 0.01: every third epoch stalls more than twice
    out = run_rules(trainer, [1.0] + [0.99] * 15, adaptive=True)
    scales = [float(st.lr_scale) for _, st in out]
    assert scales == [1.0] * 3 + [0.5] * 3 + [0.25] * 3 + [0.125] * 3 + [0.0625] * 4
    # the last stall finds the rate (0.00625) below the floor: it stops instead
    assert [s for s, _ in out] == [Status.RUNNING] * 15 + [Status.CONVERGED]


def test_a_non_finite_epoch_restores_the_weights_and_optimizer_state(trainer):
    trainer.reset([np.ones((3, 2))], [np.zeros(2)])
    trainer.begin_epoch(tf.constant(0.1, tf.float32))
    trainer.coefs[0].assign(np.full((3, 2), np.inf))
    slot = next(v for v in trainer.optimizer.variables if tuple(v.shape) == (3, 2))
    slot.assign(np.full((3, 2), np.nan))
    assert not bool(divergence.finite(tf.constant(0.5, tf.float64), trainer.state, trainer.coefs))
    trainer.snapshot.restore_unless(tf.constant(False))
    np.testing.assert_array_equal(trainer.coefs[0].numpy(), 1.0)
    np.testing.assert_array_equal(np.asarray(slot.numpy()), 0.0)


def test_divergence_status_from_a_non_finite_loss(trainer):
    out = run_rules(trainer, [1.0, np.nan])
    assert [s for s, _ in out] == [Status.RUNNING, Status.DIVERGED]


# -- early stopping ----------------------------------------------------------------------


def test_split_keeps_copies_of_a_row_together():
    X, Y = problem(200)
    X[100:120], Y[100:120] = X[0], Y[0]  # twenty more copies of row 0, label included
    (Xt, _, _), (Xv, _, _) = early_stopping.split((X, Y, np.ones(len(X))),
                                                  EarlyStopping(0.2, 3, False))
    assert len(Xt) + len(Xv) == len(X)
    copies = [int((part == X[0]).all(axis=1).sum()) for part in (Xt, Xv)]
    assert sorted(copies) == [0, 21]


def test_split_is_stratified():
    X, Y = problem(600)
    _, (_, Yv, _) = early_stopping.split((X, Y, np.ones(len(X))), EarlyStopping(0.2, 3, False))
    for k in range(Y.shape[1]):  # each class gives a fifth of its rows
        assert Yv[:, k].sum() / Y[:, k].sum() == pytest.approx(0.2, abs=0.02)


def test_best_weights_follow_the_best_score(trainer):
    trainer.reset([np.ones((3, 2))], [np.zeros(2)])
    trainer.best.keep_if(tf.constant(True))
    trainer.coefs[0].assign(np.full((3, 2), 5.0))
    trainer.best.keep_if(tf.constant(False))  # a worse epoch: the best stays
    trainer.restore_best()
    np.testing.assert_array_equal(trainer.coefs[0].numpy(), 1.0)


def _losses_and_gradients(fns, h, upstream, *args):
    """Each ``fn(labels, h, *args)``'s value and the gradient of ``sum(upstream * value)``
    with respect to ``h``, as NumPy arrays (labels are ``args[0]``)."""
    results = []
    for fn in fns:
        with tf.GradientTape() as tape:
            tape.watch(h)
            loss = fn(args[0], h, *args[1:])
            total = tf.reduce_sum(upstream * loss)
        results.append((loss.numpy(), tape.gradient(total, h).numpy()))
    return results


@pytest.mark.parametrize("C, width", [(1, 1), (3, 1), (7, 1), (8, 1), (3, 4)])
def test_sweep_first_layer_and_its_gradient_equal_numpys_products(C, width):
    """The sweep's first layer with its intercepts, rows last (a matrix-vector product
    per grid point up to GEMV_MAX_GRID grid points of one unit, else one batched
    product whose gradient takes the intercepts' as a product too), and its gradients
    for the weights and intercepts, against NumPy's products and sums over every
    candidate's rows."""
    from sk_logloss._engine.sweep_model import GEMV_MAX_GRID, logits

    assert GEMV_MAX_GRID == 7  # the cases above cross it
    rng = np.random.default_rng(C + width)
    x = rng.standard_normal((3, 50, 20))
    W = rng.standard_normal((3, C, 20, width))
    b = rng.standard_normal((3, C, 1, width))
    upstream = rng.standard_normal((3, C, width, 50))
    Wt, bt = tf.Variable(W), tf.Variable(b)
    with tf.GradientTape() as tape:
        h = logits([Wt], [bt], "identity", tf.constant(x))
        total = tf.reduce_sum(h * upstream)
    expected = np.einsum("fbd,fcdh->fchb", x, W) + np.swapaxes(b, 2, 3)
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12, atol=1e-13)
    dW, db = tape.gradient(total, [Wt, bt])
    np.testing.assert_allclose(dW.numpy(), np.einsum("fbd,fchb->fcdh", x, upstream),
                               rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(db.numpy(), upstream.sum(-1)[:, :, None, :], rtol=1e-12,
                               atol=1e-13)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_sweep_row_losses_equal_tensorflow_sigmoid_cross_entropy(k, dtype, rtol):
    """The sweep's one-log-per-row loss and its gradient, on logits ``[F, C, k, B]``
    (rows last), against TensorFlow's own ``sigmoid_cross_entropy_with_logits`` (mean
    over the row's k logits) and its autodiff gradient, on logits from -40 to 40 (where
    ``exp(-|h|)`` is far below the rounding of 1)."""
    from sk_logloss._engine.sweep_model import sigmoid_row_losses

    rng = np.random.default_rng(k)
    h = tf.constant((rng.standard_normal((2, 3, k, 50)) * 10).clip(-40, 40).astype(dtype))
    labels = tf.constant((rng.random((2, 3, k, 50)) < 0.5).astype(dtype))
    upstream = tf.constant(rng.random((2, 3, 50)).astype(dtype))
    (ours, our_grad), (ref, ref_grad) = _losses_and_gradients(
        (sigmoid_row_losses, lambda y, z: tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z), 2)), h, upstream, labels)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=4 * k * eps)
    np.testing.assert_allclose(our_grad, ref_grad, rtol=rtol, atol=4 * eps)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-4)])
@pytest.mark.parametrize("k, rows", [(1, 152), (1, 1500), (10, 180), (40, 7)])
def test_sweep_batch_losses_equal_weighted_sums_of_tensorflows(k, rows, dtype, rtol):
    """The sweep's one-log-per-chunk batch loss (rows of weight 0 or 1, chunks of at most
    MAX_FACTORS factors, more than one chunk for 1500 rows and for 180 x 10 logits) and
    its gradient, against the 0/1-weighted sum of TensorFlow's row losses and autodiff."""
    from sk_logloss._engine.sweep_model import sigmoid_batch_losses

    rng = np.random.default_rng(rows + k)
    h = tf.constant((rng.standard_normal((2, 3, k, rows)) * 10).clip(-40, 40).astype(dtype))
    labels = tf.constant((rng.random((2, 3, k, rows)) < 0.5).astype(dtype))
    unit = tf.constant((rng.random((2, rows)) < 0.8).astype(dtype))  # some padding rows
    upstream = tf.constant(rng.random((2, 3)).astype(dtype))

    def reference(y, z, u):
        per_row = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z), 2)
        return tf.reduce_sum(u[:, None, :] * per_row, -1)

    (ours, our_grad), (ref, ref_grad) = _losses_and_gradients(
        (sigmoid_batch_losses, reference), h, upstream, labels, unit)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=4 * rows * eps)
    np.testing.assert_allclose(our_grad, ref_grad, rtol=rtol, atol=4 * eps)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("k", [2, 3, 10])
def test_sweep_softmax_row_losses_equal_tensorflows_on_rows_last_logits(k, dtype, rtol):
    """The sweep's softmax loss on logits ``[F, C, k, B]`` and its gradient, against
    TensorFlow's ``softmax_cross_entropy_with_logits`` over the same axis and its
    autodiff gradient, one-hot labels, on logits up to 40 apart."""
    from sk_logloss._engine.sweep_model import softmax_row_losses

    rng = np.random.default_rng(k)
    h = tf.constant((rng.standard_normal((2, 3, k, 50)) * 10).clip(-20, 20).astype(dtype))
    labels = tf.constant(np.moveaxis(np.eye(k, dtype=dtype)[rng.integers(0, k, (2, 3, 50))],
                                     -1, 2))
    upstream = tf.constant(rng.random((2, 3, 50)).astype(dtype))
    (ours, our_grad), (ref, ref_grad) = _losses_and_gradients(
        (softmax_row_losses, lambda y, z: tf.nn.softmax_cross_entropy_with_logits(
            labels=y, logits=z, axis=2)), h, upstream, labels)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=4 * k * eps)
    np.testing.assert_allclose(our_grad, ref_grad, rtol=rtol, atol=4 * eps)


# -- the weights' moving average (early stopping's average_weights) ---------------------------


def test_moving_average_follows_tensorflows_schedule_with_its_warmup():
    """Against NumPy: a = m a + (1 - m) v after each step t, m = min(0.998, (1 + t) / (3 + t)),
    starting from the weights at reset."""
    rng = np.random.default_rng(0)
    w = tf.Variable(rng.normal(size=(3, 2)))
    avg = early_stopping.MovingAverage([w])
    avg.reset()
    expected = w.numpy().copy()
    update = tf.function(avg.update)
    for t in range(1, 1500):
        w.assign(rng.normal(size=(3, 2)) + t / 100)
        update()
        m = min(0.998, (1 + t) / (3 + t))
        expected = m * expected + (1 - m) * w.numpy()
    np.testing.assert_allclose(avg.values[0].numpy(), expected, rtol=1e-12)
    avg.reset()  # a new run: the current weights, step count 0
    np.testing.assert_array_equal(avg.values[0].numpy(), w.numpy())
    assert float(avg.steps.numpy()) == 0


def test_early_stopping_on_the_average_keeps_the_best_average():
    """With average=True the validation score is the averaged weights' loss, and the weights
    kept are the average of the best score: its validation loss, recomputed in NumPy."""
    from sk_logloss._network import objective as numpy_objective

    X, Y = problem(400, 6)
    stopping = EarlyStopping(0.2, key=7, multilabel=False, average=True)
    cfg = config(X, Y, (8,), rates=np.full(40, 0.01), early_stopping=stopping)
    result = loop.train_stochastic(cfg)
    plain = loop.train_stochastic(replace(cfg, early_stopping=replace(stopping, average=False)))
    assert not np.array_equal(result.validation_scores, plain.validation_scores)
    _, (Xv, Yv, wv) = early_stopping.split(cfg.data, stopping)
    kept = -numpy_objective(Xv, Yv, wv, result.coefs, result.intercepts, "relu", 0.0, "sigmoid")
    np.testing.assert_allclose(kept, np.max(result.validation_scores), rtol=1e-10)


# -- calls of a trace ----------------------------------------------------------------------


def test_a_traced_function_is_called_through_its_one_trace_when_given_tensors():
    """Tensors go straight to the trace, past tf.function's argument binding; anything else
    (a Python number here) goes through the tf.function, which converts it. Same results."""
    from unittest import mock

    from sk_logloss._backend import Traced, trace

    function = tf.function(lambda x, n: x * tf.cast(n, x.dtype), autograph=False,
                           input_signature=[tf.TensorSpec([None], tf.float64),
                                            tf.TensorSpec([], tf.int32)])
    traced = Traced(function, trace(function))
    traced.function = spy = mock.Mock(wraps=function)
    x = tf.constant([1.5, -2.0, 4.0], tf.float64)
    np.testing.assert_array_equal(traced(x, tf.constant(3)), [4.5, -6.0, 12.0])
    np.testing.assert_array_equal(traced(x[:2], tf.constant(2)), [3.0, -4.0])  # any length
    assert spy.call_count == 0
    np.testing.assert_array_equal(traced(x, 3), [4.5, -6.0, 12.0])
    assert spy.call_count == 1


def test_a_fit_loads_its_weights_and_optimizer_state_into_the_trainer_and_its_copies():
    """reset writes every variable (and the divergence snapshot and best weights, which take
    the same values); weights() and optimizer_state() read them back unchanged."""
    X, Y = problem(50, 6)
    cfg = config(X, Y, hidden=(3,))
    trainer = Trainer(cfg.spec)
    state = [np.full(v.shape, i + 0.25, v.dtype.as_numpy_dtype)
             for i, v in enumerate(trainer.slots)]
    trainer.reset(cfg.coefs, cfg.intercepts, state)
    coefs, intercepts = trainer.weights()
    for a, b in zip(coefs + intercepts, cfg.coefs + cfg.intercepts, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(trainer.optimizer_state(), state, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    for copy, value in zip(trainer.snapshot.saved, cfg.coefs + cfg.intercepts + state, strict=True):
        np.testing.assert_array_equal(copy.numpy(), value)
    for a, b in zip(trainer.best.values(), cfg.coefs + cfg.intercepts, strict=True):
        np.testing.assert_array_equal(a, b)


# -- one trace for every width ------------------------------------------------------------


@pytest.mark.parametrize("xla, case", [
    (False, {}), (False, {"hidden": (5,)}), (False, {"classes": 2}), (True, {}),
    (True, {"early_stopping": EarlyStopping(0.2, 7, multilabel=False, average=True)}),
    # float32 runs in the default executor, whose graph optimizer rewrites the loop
    (False, {"dtype": "float32"}), (False, {"dtype": "float32", "hidden": (5,)}),
    (False, {"dtype": "float32", "classes": 2}), (True, {"dtype": "float32"}),
])
def test_one_trace_serves_every_width_with_the_bits_of_a_trace_per_width(monkeypatch, xla, case):
    """The shared trainer (open widths) trains each width as a trainer of that width alone."""
    from sk_logloss._engine import trainer as trainer_module

    case = dict(case)
    classes, hidden = case.pop("classes", 3), case.pop("hidden", ())
    monkeypatch.setattr(trainer_module, "_TRAINERS", {})
    paths = Paths(xla_min_steps=1 if xla else 10**9)
    runs = []
    for width in (7, 11, 7):
        X, Y = problem(120, width, classes=classes, seed=width)
        if classes == 2:
            Y = Y[:, 1:]
        cfg = config(X, Y, hidden=hidden, paths=paths, **case)
        runs.append((cfg, loop.train_stochastic(cfg)))
        # and from where it ended, as partial_fit continues (its optimizer state)
        more = replace(cfg, coefs=runs[-1][1].coefs, intercepts=runs[-1][1].intercepts,
                       optimizer_state=runs[-1][1].optimizer_state, epoch0=15)
        runs.append((more, loop.train_stochastic(more)))
    (shared,) = trainer_module._TRAINERS.values()
    assert None in shared.spec.layer_sizes
    assert shared.trace_count == 1
    monkeypatch.setattr(loop, "get_trainer", Trainer)  # a trainer of each run's own widths
    for cfg, result in runs:
        alone = loop.train_stochastic(cfg)
        assert result.coefs[0].shape == (cfg.spec.layer_sizes[0], (hidden or Y.shape[1:])[0])
        for a, b in zip(result.coefs + result.intercepts + result.optimizer_state,
                        alone.coefs + alone.intercepts + alone.optimizer_state):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(result.loss_curve, alone.loss_curve)
        np.testing.assert_array_equal(result.validation_scores, alone.validation_scores)
        assert result.loss_curve[-1] < result.loss_curve[0]  # it trained
