"""Learning-rate sweep: GridSearchCV over LogLossClassifier in a Pipeline, plotted.

Runs on the breast-cancer data set that scikit-learn ships (no download),
sweeps learning rates from 0.001 to 0.1 for Adam and plain gradient descent
("sgd") with 5-fold cross-validation, prints the table of every candidate
and saves a PNG of the mean cross-validated log loss against the learning
rate (log axis; error bars: one standard deviation over the folds).

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

from sk_logloss import LogLossClassifier

matplotlib.use("Agg")  # files only: runs without a display

OPTIMIZERS = {"adam": "Adam", "sgd": "gradient descent (sgd)"}
LEARNING_RATES = np.geomspace(0.001, 0.1, 9).round(5)


def sweep():
    """The fitted GridSearchCV and its wall time."""
    X, y = load_breast_cancer(return_X_y=True)
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", LogLossClassifier(random_state=0))])
    grid = {"clf__optimizer": list(OPTIMIZERS), "clf__learning_rate": list(LEARNING_RATES)}
    search = GridSearchCV(
        pipeline, grid, scoring={"log_loss": "neg_log_loss", "accuracy": "accuracy"},
        refit="log_loss", cv=StratifiedKFold(5, shuffle=True, random_state=0),
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # small rates stop at max_iter
        search.fit(X, y)
    return search, X.shape, time.perf_counter() - start


def print_table(search, shape, elapsed):
    results = search.cv_results_
    print(f"breast cancer: {shape[0]} samples x {shape[1]} features, 5-fold CV")
    print(f"{'optimizer':>9} {'learning_rate':>13} {'log loss':>16} {'accuracy':>9} {'rank':>4}")
    for i, params in enumerate(results["params"]):
        print(
            f"{params['clf__optimizer']:>9} {params['clf__learning_rate']:>13g} "
            f"{-results['mean_test_log_loss'][i]:>8.4f} ± {results['std_test_log_loss'][i]:.4f} "
            f"{results['mean_test_accuracy'][i]:>9.3f} {results['rank_test_log_loss'][i]:>4d}"
        )
    best = search.best_params_
    print(
        f"best: optimizer={best['clf__optimizer']}, learning_rate={best['clf__learning_rate']:g} "
        f"(log loss {-search.best_score_:.4f}); {len(results['params']) * 5 + 1} fits in "
        f"{elapsed:.1f} s"
    )


def plot(search, path):
    results = search.cv_results_
    optimizers = np.array([p["clf__optimizer"] for p in results["params"]])
    rates = np.array([p["clf__learning_rate"] for p in results["params"]])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, label in OPTIMIZERS.items():
        rows = np.flatnonzero(optimizers == name)
        rows = rows[np.argsort(rates[rows])]
        ax.errorbar(rates[rows], -results["mean_test_log_loss"][rows],
                    yerr=results["std_test_log_loss"][rows], marker="o", capsize=3, label=label)
    best = search.best_index_
    ax.plot(rates[best], -results["mean_test_log_loss"][best], "k*", markersize=14,
            label=f"best: {optimizers[best]}, {rates[best]:g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("mean cross-validated log loss (5 folds)")
    ax.set_title("LogLossClassifier on breast cancer: learning-rate sweep")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="learning_rate_sweep.png", help="PNG to write")
    args = parser.parse_args()
    search, shape, elapsed = sweep()
    print_table(search, shape, elapsed)
    plot(search, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
