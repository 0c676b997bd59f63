"""LogLossClassifierCV(n_jobs=...): its tasks on joblib's process workers, a Dask cluster
and Ray give the serial search bit for bit; dask-ml's Incremental over a dask array."""

import warnings

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sk_logloss import LogLossClassifier, LogLossClassifierCV
from sk_logloss._engine.sweep_loop import TASK_CANDIDATES, split_tasks

# 7 rates x (5 folds + the refit) = 42 candidates: two tasks
SEARCHES = {
    "linear": {"learning_rates": 7, "max_iter": 40},
    # early stopping pads the validation rows too; 2 runs: the refit's batch has other steps
    "network": {"learning_rates": 7, "max_iter": 30, "hidden_layer_sizes": (8,),
                "batch_size": 100},
    "lbfgs": {"learning_rates": 2, "optimizer": "lbfgs", "max_iter": 30},
}


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=480, n_features=10, n_informative=6, random_state=0)
    return (X - X.mean(0)) / X.std(0), y


def search(X, y, name, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogLossClassifierCV(random_state=0, **SEARCHES[name], **kwargs).fit(X, y)


@pytest.fixture(scope="module")
def serial(data):
    return {name: search(*data, name) for name in SEARCHES}


def assert_bitwise_equal(ours, ref):
    for key, value in ref.cv_results_.items():
        if "time" not in key:
            np.testing.assert_array_equal(ours.cv_results_[key], value, err_msg=key)
    assert ours.best_params_ == ref.best_params_ and ours.best_score_ == ref.best_score_
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours.loss_curve_, ref.loss_curve_)


@pytest.mark.parametrize(("F", "C"), [(6, 9), (4, 9), (6, 1), (3, 2), (6, 1000), (11, 40)])
def test_split_tasks_covers_each_candidate_once_in_tasks_of_about_the_set_size(F, C):
    tasks = split_tasks(list(range(10, 10 + F)), C)
    covered = sorted((f, c) for folds, grid in tasks for f in folds for c in grid)
    assert covered == sorted((f, c) for f in range(10, 10 + F) for c in range(C))
    sizes = [len(folds) * len(grid) for folds, grid in tasks]
    assert max(sizes) <= 2 * TASK_CANDIDATES  # no task much larger than the set size ...
    assert len(tasks) == 1 or min(sizes) >= TASK_CANDIDATES / 4  # ... nor much smaller
    assert len(tasks) >= F * C / (2 * TASK_CANDIDATES)
    assert all(len(folds) == F for folds, _ in tasks) or all(
        len(grid) == 1 for _, grid in tasks)  # grid chunks of every fold, or one grid point's
    if all(len(folds) == F for folds, _ in tasks):  # ... contiguous: neighbouring rates together
        assert all(list(grid) == list(range(grid[0], grid[-1] + 1)) for _, grid in tasks)


@pytest.mark.bitwise
@pytest.mark.parametrize("name", SEARCHES)
def test_process_workers_give_the_serial_search(data, serial, name):
    assert_bitwise_equal(search(*data, name, n_jobs=2), serial[name])


def test_a_run_of_one_task_trains_in_this_process(data, monkeypatch):
    """No worker speeds up a single task: it trains here, its calls reported as serially."""
    import joblib

    small = {"learning_rates": 2, "max_iter": 20, "random_state": 0}  # 12 candidates, 1 task
    ref = LogLossClassifierCV(**small).fit(*data)

    def refuse(*args, **kwargs):
        raise AssertionError("a worker was asked to train the only task")

    monkeypatch.setattr(joblib, "Parallel", refuse)
    assert_bitwise_equal(LogLossClassifierCV(n_jobs=2, **small).fit(*data), ref)


def test_threads_give_the_serial_search(data, serial):
    with parallel_backend("threading", n_jobs=2):
        assert_bitwise_equal(search(*data, "linear"), serial["linear"])


def test_dask_cluster_gives_the_serial_search(data, serial, dask_backend):
    on_dask = {name: search(*data, name, n_jobs=-1) for name in ("linear", "network")}
    for name, result in on_dask.items():
        assert_bitwise_equal(result, serial[name])


def test_ray_gives_the_serial_search(data, serial):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    register_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with parallel_backend("ray"):
            assert_bitwise_equal(search(*data, "linear", n_jobs=2), serial["linear"])
    finally:
        ray.shutdown()


def test_callbacks_hear_each_candidate_in_parallel(data, serial):
    """With n_jobs=2 the candidates' scores reach a ScoringMonitor as serially; the
    sweep's epochs are reported once the run ends, as many as its longest task's."""
    pytest.importorskip("sklearn.callback")
    from sklearn.callback import ScoringMonitor

    logs = {}
    for n_jobs in (1, 2):
        monitor = ScoringMonitor(scoring="neg_log_loss")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours = LogLossClassifierCV(random_state=0, n_jobs=n_jobs, **SEARCHES["linear"])
            ours.set_callbacks(monitor).fit(*data)
        assert_bitwise_equal(ours, serial["linear"])
        logs[n_jobs] = {r["task_id"]: r["neg_log_loss"] for r in monitor.get_logs().data
                        if r["task_name"] == "candidate-split-fit"}
    assert len(logs[2]) == 7 * 5 and logs[2] == logs[1]


def test_incremental_over_a_dask_array_is_partial_fit_block_by_block():
    """dask-ml's Incremental (blocks in order) calls partial_fit on each block: the same
    model as that loop by hand, and a better one than Incremental(SGDClassifier(log_loss))."""
    pytest.importorskip("dask_ml")
    import dask.array as da
    from dask_ml.wrappers import Incremental
    from sklearn.linear_model import SGDClassifier

    X, y = make_classification(n_samples=20_000, n_features=20, random_state=0)
    dX, dy = da.from_array(X, chunks=1_000), da.from_array(y, chunks=1_000)
    params = {"random_state": 0}
    ours = Incremental(LogLossClassifier(**params), scoring="accuracy", shuffle_blocks=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(dX, dy, classes=[0, 1])
        by_hand = LogLossClassifier(**params)
        for start in range(0, len(y), 1_000):
            by_hand.partial_fit(X[start:start + 1_000], y[start:start + 1_000], classes=[0, 1])
    for a, b in zip(ours.estimator_.coefs_, by_hand.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    sgd = Incremental(SGDClassifier(loss="log_loss", random_state=0), scoring="accuracy")
    sgd.fit(dX, dy, classes=[0, 1])
    assert ours.score(dX, dy) > sgd.score(dX, dy)
    assert np.array_equal(ours.predict(dX).compute(), by_hand.predict(X))


@pytest.fixture
def lanes(monkeypatch):
    """Every run counts as long enough for lanes (``lanes.LANE_WORK``), so a search's
    tasks train two at a time on threads; calling the fixture keeps that cut but trains
    the tasks one after another, as on a machine of one core."""
    from sk_logloss._engine import lanes

    monkeypatch.setattr(lanes, "LANE_WORK", 0)
    monkeypatch.setattr(lanes, "usable_threads", lambda: 2)
    return lambda: monkeypatch.setattr(lanes, "usable_threads", lambda: 1)


@pytest.mark.parametrize(("layer_sizes", "C", "expected"), [((100, 1), 9, [2, 7]),
                                                            ((100, 1), 5, [1, 4]),
                                                            ((100, 1), 3, [1, 2]),
                                                            ((100, 1), 2, [1, 1, 1, 1]),
                                                            ((64, 10), 9, [4, 5]),
                                                            ((100, 8, 1), 9, [4, 5])])
def test_a_long_binary_linear_run_is_cut_so_its_lowest_rates_train_alone(layer_sizes, C,
                                                                         expected):
    """20,000 x 100's sweep (C rates x 3 folds, long enough for lanes): a first layer of
    one unit puts the lowest quarter of the rates (at least one), which run longest, alone
    on one lane while the other trains the rest; with no more rates than lanes the folds
    are cut too (80,000 x 100's 2 rates: 2 + 1 folds each); ten logits or a hidden layer
    keep one task per lane, the smaller first."""
    from types import SimpleNamespace

    from sk_logloss._engine import lanes

    rows = 13_334 if C > 2 else 53_334  # 2 rates: 80,000 x 100's
    folds = [SimpleNamespace(train=np.arange(rows)) for _ in range(3)]
    config = SimpleNamespace(rates=np.zeros((C, 1000)), folds=folds,
                             spec=SimpleNamespace(layer_sizes=layer_sizes))
    at_least = lanes.min_tasks(config, [0, 1, 2])
    tasks = split_tasks([0, 1, 2], C, at_least, lanes.first_grid_points(config, at_least))
    assert [len(grid) for _, grid in tasks] == expected
    if C > 2:  # every fold, the grid in contiguous chunks
        assert [grid[0] for _, grid in tasks] == [0, *np.cumsum(expected)[:-1]]
        assert all(folds == (0, 1, 2) for folds, _ in tasks)
    else:  # a rate per task, its folds cut 2 + 1
        assert tasks == [((0, 1), (0,)), ((2,), (0,)), ((0, 1), (1,)), ((2,), (1,))]
    short = SimpleNamespace(rates=np.zeros((9, 1000)),
                            folds=[SimpleNamespace(train=np.arange(455))],
                            spec=SimpleNamespace(layer_sizes=(30, 1)))
    assert lanes.min_tasks(short, [0]) == 1


@pytest.mark.parametrize("name", ["linear", "network"])
def test_lanes_give_the_search_of_the_same_tasks_one_after_another(data, lanes, name):
    """A run's tasks on two threads, each with its own trainer, train to the bits they have
    one after another on one core: the 42-candidate searches (two tasks, each in its own
    shape) and a 12-candidate one (one task without lanes, cut in two with them)."""
    small = {"learning_rates": 2, "max_iter": 20, "random_state": 0}
    on_lanes = search(*data, name), LogLossClassifierCV(**small).fit(*data)
    lanes()
    assert_bitwise_equal(search(*data, name), on_lanes[0])
    assert_bitwise_equal(LogLossClassifierCV(**small).fit(*data), on_lanes[1])


def test_lanes_report_every_task_epoch_on_the_callers_thread(data, lanes, monkeypatch):
    """``on_epoch`` hears, on the fitting thread, the epochs of all tasks so far (the
    serial count), and an error it raises stops the lanes and reaches the caller."""
    import threading

    from sk_logloss import _classifier_cv
    from sk_logloss._engine import sweep_loop

    heard, trained_on, training, train_group = [], set(), [0], sweep_loop._train_group

    def spied(*args, **kwargs):
        trained_on.add(threading.current_thread())
        training[0] += 1
        try:
            return train_group(*args, **kwargs)
        finally:
            training[0] -= 1

    monkeypatch.setattr(sweep_loop, "_train_group", spied)
    monkeypatch.setattr(_classifier_cv, "_progress", lambda epochs, running: heard.append(
        (epochs, running, threading.current_thread())))
    params = {"learning_rates": 7, "max_iter": 300, "verbose": 1, "random_state": 0}
    search_quiet(LogLossClassifierCV(**params), data)
    assert {thread for *_, thread in heard} == {threading.current_thread()}
    epochs = [e for e, *_ in heard]
    assert epochs == sorted(epochs)
    assert len(trained_on) == 2 and threading.current_thread() not in trained_on
    record = _classifier_cv._progress

    def refuse(epochs, running):
        raise RuntimeError("stop here")

    monkeypatch.setattr(_classifier_cv, "_progress", refuse)
    with pytest.raises(RuntimeError, match="stop here"):
        search_quiet(LogLossClassifierCV(**params), data)
    assert training == [0]  # both lanes stopped before the error left fit
    monkeypatch.setattr(_classifier_cv, "_progress", record)
    lanes()  # the same tasks one after another: the same count
    heard.clear()
    search_quiet(LogLossClassifierCV(**params), data)
    assert [e for e, *_ in heard][-1] == epochs[-1]


def search_quiet(model, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*data)


def test_lanes_of_one_shape_share_lane_0s_program(data, monkeypatch):
    """A short run's tasks, padded to one shape (no lanes needed for its cut), still train
    two at a time: the second lane's trainer runs the program traced on lane 0's, with its
    own variables in place of those it captured, so it never traces (nor compiles) one of
    its own, and the search has the bits of one core."""
    import threading

    from sk_logloss._engine import lanes, sweep, sweep_loop

    seen, train_group = set(), sweep_loop._train_group

    def spied(config, pad, before, lane=0, shared=None):
        seen.add((threading.current_thread(), lane))
        return train_group(config, pad, before, lane, shared)

    monkeypatch.setattr(sweep_loop, "_train_group", spied)
    monkeypatch.setattr(lanes, "usable_threads", lambda: 2)
    traced = {key: t.trace_count for key, t in sweep._TRAINERS.items()}
    on_two = search(*data, "linear")
    assert {lane for _, lane in seen} == {0, 1}
    assert threading.current_thread() not in {thread for thread, _ in seen}
    borrowing = {key: t for key, t in sweep._TRAINERS.items() if key[-1]}
    assert borrowing and all(t.source is not None for t in borrowing.values())
    assert all(t.trace_count == traced.get(key, 0) for key, t in borrowing.items())
    monkeypatch.setattr(lanes, "usable_threads", lambda: 1)
    seen.clear()
    assert_bitwise_equal(search(*data, "linear"), on_two)
    assert seen == {(threading.current_thread(), 0)}


@pytest.mark.parametrize("threads", [2, 1])
def test_a_runs_tasks_draw_each_calls_orders_once(data, monkeypatch, threads):
    """The tasks of a run share their folds, and so each call's row orders: drawn once for
    all of them (host.SharedDraws), on two lanes or one after another, with the bits of
    each task drawing its own, which they do past SHARED_ORDERS_BYTES."""
    from sk_logloss._engine import lanes, sweep_loop

    drawn, orders = [], sweep_loop._orders

    def spy(config, n, done, max_iter, width):
        drawn.append((tuple(n), done, width))
        return orders(config, n, done, max_iter, width)

    monkeypatch.setattr(sweep_loop, "_orders", spy)
    monkeypatch.setattr(lanes, "usable_threads", lambda: threads)
    params = {"learning_rates": 7, "max_iter": 600, "tol": 0, "random_state": 0}
    shared = search_quiet(LogLossClassifierCV(**params), data)
    assert drawn and len(drawn) == len(set(drawn))
    once = set(drawn)
    drawn.clear()
    monkeypatch.setattr(sweep_loop, "SHARED_ORDERS_BYTES", 0)
    alone = search_quiet(LogLossClassifierCV(**params), data)
    assert set(drawn) == once and len(drawn) > len(once)  # each task drew its own
    assert_bitwise_equal(shared, alone)


def test_a_lane_maps_the_moving_average_its_source_built_earlier(data, monkeypatch):
    """Lane 0's trainer of a shape keeps the weights' moving average an earlier search
    built (``average_weights``, on one thread); a later search of that shape without it,
    on two lanes, still maps lane 1's variables onto the program's one for one."""
    from sk_logloss._engine import lanes

    params = {"learning_rates": 7, "max_iter": 20, "early_stopping": True,
              "random_state": 0}
    monkeypatch.setattr(lanes, "usable_threads", lambda: 1)
    search_quiet(LogLossClassifierCV(average_weights=True, **params), data)
    one = search_quiet(LogLossClassifierCV(**params), data)
    monkeypatch.setattr(lanes, "usable_threads", lambda: 2)
    assert_bitwise_equal(search_quiet(LogLossClassifierCV(**params), data), one)


def test_lanes_trace_their_own_programs_where_tensorflow_cannot_share_one(data, monkeypatch):
    """Where TensorFlow lacks the private call that runs a trace on other variables
    (``_backend.runs_with_captures``), each lane traces its own program: the same bits."""
    from sk_logloss._engine import lanes, sweep

    monkeypatch.setattr(lanes, "usable_threads", lambda: 2)
    params = {"learning_rates": 7, "max_iter": 20, "random_state": 0, "batch_size": 64}
    shared = search_quiet(LogLossClassifierCV(**params), data)
    monkeypatch.setattr(sweep, "runs_with_captures", lambda concrete: False)
    own = search_quiet(LogLossClassifierCV(**params), data)
    assert_bitwise_equal(own, shared)
    tracing = [t for (*_, lane), t in sweep._TRAINERS.items() if lane and t.trace_count]
    assert tracing  # lane 1 traced a program of its own


def test_a_lane_of_a_new_shape_averages_on_a_program_traced_on_an_idle_trainer(
        data, lanes, monkeypatch):
    """Lane 1's task of its own shape runs the program traced on lane 0's trainer of that
    shape, which never trained: the weights' moving average that program reads is built
    before the trace (TensorFlow cannot lift a variable made inside a loop), with the
    bits of one core."""
    from sk_logloss._engine import sweep

    monkeypatch.setattr(sweep, "_TRAINERS", {})  # no trainer of these shapes yet
    params = {"learning_rates": 7, "max_iter": 20, "early_stopping": True,
              "average_weights": True, "random_state": 0}
    on_lanes = search_quiet(LogLossClassifierCV(**params), data)
    lanes()
    assert_bitwise_equal(search_quiet(LogLossClassifierCV(**params), data), on_lanes)
