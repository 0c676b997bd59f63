"""Learning-rate sweep: LogLossClassifierCV in a Pipeline, timed against GridSearchCV, plotted.

Runs on the breast-cancer data set that scikit-learn ships (no download),
sweeps learning rates from 0.001 to 0.1 for Adam and plain gradient descent
("sgd") with 5-fold cross-validation: one LogLossClassifierCV per optimizer,
each training its 45 fold x rate candidates side by side in one TensorFlow
run. Prints the table of every candidate, the time of that sweep next to
GridSearchCV's over the same grid and folds (and how far apart their scores
are: rounding only; both clocks start once TensorFlow is loaded, which either
search would load first, and each counts its own compilations), and saves a
PNG of the mean cross-validated log loss against the learning rate (log axis;
error bars: one standard deviation over the folds).

    pip install ".[plots]"
    python examples/plot_learning_rate_sweep.py [--out learning_rate_sweep.png]
"""

import argparse
import time
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier, LogLossClassifierCV

matplotlib.use("Agg")  # files only: runs without a display

OPTIMIZERS = {"adam": "Adam", "sgd": "gradient descent (sgd)"}
LEARNING_RATES = np.geomspace(0.001, 0.1, 9).round(5)
CV = StratifiedKFold(5, shuffle=True, random_state=0)


def load_tensorflow(X, y):
    """Load TensorFlow (with a 50-row fit, as the first fit of a process loads it) before
    either search is timed, since whichever ran first would pay for it; its wall time."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        LogLossClassifier(max_iter=1).fit(X[:50], y[:50])
    return time.perf_counter() - start


def sweep(X, y):
    """One fitted LogLossClassifierCV per optimizer, each in a Pipeline; and the wall time."""
    searches = {}
    start = time.perf_counter()
    for name in OPTIMIZERS:
        pipeline = Pipeline([("scale", StandardScaler()), ("clf", LogLossClassifierCV(
            optimizer=name, learning_rates=LEARNING_RATES, cv=CV, random_state=0))])
        searches[name] = pipeline.fit(X, y)[-1]
    return searches, time.perf_counter() - start


def grid_search(X, y):
    """GridSearchCV over the same grid and folds, one fit per candidate; and its wall time.

    X is scaled once, as the Pipeline above scales it before its CV.
    """
    grid = {"optimizer": list(OPTIMIZERS), "learning_rate": list(LEARNING_RATES)}
    search = GridSearchCV(LogLossClassifier(random_state=0), grid, scoring="neg_log_loss", cv=CV)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # small sgd rates stop at max_iter
        search.fit(StandardScaler().fit_transform(X), y)
    return search, time.perf_counter() - start


def max_difference(searches, grid):
    """The largest gap between a split score of ours and GridSearchCV's."""
    gaps = []
    for i, params in enumerate(grid.cv_results_["params"]):
        ours = searches[params["optimizer"]]
        j = [float(p["learning_rate"]) for p in ours.cv_results_["params"]].index(
            float(params["learning_rate"]))
        gaps += [abs(ours.cv_results_[f"split{k}_test_score"][j]
                     - grid.cv_results_[f"split{k}_test_score"][i]) for k in range(5)]
    return max(gaps)


def table(searches):
    """Rows of (optimizer, rate, mean log loss, std), ranked over both optimizers."""
    rows = [(name, float(p["learning_rate"]), -s.cv_results_["mean_test_score"][i],
             s.cv_results_["std_test_score"][i])
            for name, s in searches.items() for i, p in enumerate(s.cv_results_["params"])]
    order = np.argsort([r[2] for r in rows], kind="stable")
    ranks = np.empty(len(rows), int)
    ranks[order] = np.arange(1, len(rows) + 1)
    return rows, ranks


def print_table(searches, shape, elapsed, grid, grid_elapsed, loading):
    rows, ranks = table(searches)
    print(f"breast cancer: {shape[0]} samples x {shape[1]} features, 5-fold CV")
    print(f"{'optimizer':>9} {'learning_rate':>13} {'log loss':>16} {'rank':>4}")
    for (name, rate, loss, std), rank in zip(rows, ranks):
        print(f"{name:>9} {rate:>13g} {loss:>8.4f} ± {std:.4f} {rank:>4d}")
    name = max(searches, key=lambda k: searches[k].best_score_)
    best = searches[name]
    print(f"best: optimizer={name}, learning_rate={best.learning_rate_:g} "
          f"(log loss {-best.best_score_:.4f})")
    print(f"LogLossClassifierCV: {len(rows) * 5} candidates and 2 refits in {elapsed:.1f} s; "
          f"GridSearchCV, the same grid and folds: {grid_elapsed:.1f} s "
          f"({grid_elapsed / elapsed:.1f}x); largest split-score difference "
          f"{max_difference(searches, grid):.1e} (TensorFlow loaded before both: {loading:.1f} s)")


def plot(searches, path):
    rows, _ = table(searches)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, label in OPTIMIZERS.items():
        mine = [r for r in rows if r[0] == name]
        ax.errorbar([r[1] for r in mine], [r[2] for r in mine], yerr=[r[3] for r in mine],
                    marker="o", capsize=3, label=label)
    best = min(rows, key=lambda r: r[2])
    ax.plot(best[1], best[2], "k*", markersize=14, label=f"best: {best[0]}, {best[1]:g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("mean cross-validated log loss (5 folds)")
    ax.set_title("LogLossClassifierCV on breast cancer: learning-rate sweep")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="learning_rate_sweep.png", help="PNG to write")
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True)
    loading = load_tensorflow(X, y)
    searches, elapsed = sweep(X, y)
    grid, grid_elapsed = grid_search(X, y)
    print_table(searches, X.shape, elapsed, grid, grid_elapsed, loading)
    plot(searches, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
