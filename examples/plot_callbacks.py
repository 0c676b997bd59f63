"""Per-epoch scores from scikit-learn's ScoringMonitor, for a few learning rates.

scikit-learn 1.9's callback API (``sklearn.callback``): a ScoringMonitor set
on LogLossClassifier scores the model at the end of every epoch on the data
it trains on (here the standardized output of the Pipeline's scaler, on the
breast-cancer data scikit-learn ships). Left: training log loss per epoch for
learning rates 0.001, 0.01 and 0.1 at a constant rate (the seed's picture of
training: the loss falls as the weights are learned, faster at a larger
rate). Right: training accuracy, logged by the same monitor. Prints each
rate's epochs and final scores; saves one PNG.

    pip install ".[plots]" "scikit-learn>=1.9"
    python examples/plot_callbacks.py [--out callbacks.png]
"""

import argparse
import warnings

import matplotlib
import matplotlib.pyplot as plt
from sklearn.callback import ScoringMonitor
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier

matplotlib.use("Agg")  # files only: runs without a display

RATES = [0.001, 0.01, 0.1]


def monitored_fits(X, y):
    """For each rate, the per-epoch rows ScoringMonitor logged while the pipeline fitted."""
    curves = {}
    for rate in RATES:
        monitor = ScoringMonitor(scoring=["neg_log_loss", "accuracy"])
        clf = LogLossClassifier(learning_rate=rate, learning_rate_schedule="constant",
                                max_iter=300, random_state=0).set_callbacks(monitor)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # small rates reach max_iter
            make_pipeline(StandardScaler(), clf).fit(X, y)
        epochs = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
        curves[rate] = epochs
        print(f"learning_rate={rate:<6} {len(epochs):4d} epochs  "
              f"log loss {-epochs[-1]['neg_log_loss']:.4f}  accuracy {epochs[-1]['accuracy']:.4f}")
    return curves


def plot(curves, path):
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for rate, rows in curves.items():
        epochs = [r["task_id"] + 1 for r in rows]
        left.plot(epochs, [-r["neg_log_loss"] for r in rows], label=f"learning_rate={rate}")
        right.plot(epochs, [r["accuracy"] for r in rows], label=f"learning_rate={rate}")
    left.set_yscale("log")
    left.set_ylabel("training log loss (ScoringMonitor)")
    right.set_ylabel("training accuracy (ScoringMonitor)")
    for ax in (left, right):
        ax.set_xlabel("epoch")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("LogLossClassifier on breast cancer: scores after every epoch, Adam, constant rate")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="callbacks.png")
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True)
    plot(monitored_fits(X, y), args.out)


if __name__ == "__main__":
    main()
