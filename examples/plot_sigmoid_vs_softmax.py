"""The two losses' probabilities on digits: a reliability diagram, and the probability of the true class.

LogLossClassifier with ``loss="sigmoid"`` (the default: one-vs-rest sigmoids,
normalized) and ``loss="softmax"`` (the multinomial model), each with its
defaults in a StandardScaler pipeline, trained on 70% of the digits data that
scikit-learn ships and judged on the other 30%. Left: a reliability diagram
(predicted probability of the predicted class against how often it is right;
the diagonal is perfect calibration). Right: the distribution of the
probability each model gives the true class. Prints the held-out log loss,
accuracy and expected calibration error. Saves one PNG.

    pip install ".[plots]"
    python examples/plot_sigmoid_vs_softmax.py [--out sigmoid_vs_softmax.png]
"""

import argparse
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier

matplotlib.use("Agg")  # files only: runs without a display

BINS = np.linspace(0, 1, 11)


def reliability(proba, y):
    """Per confidence bin: mean confidence, accuracy and count; and the expected calibration error."""
    confidence, correct = proba.max(axis=1), proba.argmax(axis=1) == y
    which = np.clip(np.digitize(confidence, BINS) - 1, 0, len(BINS) - 2)
    rows = []
    for b in range(len(BINS) - 1):
        inside = which == b
        if inside.any():
            rows.append((confidence[inside].mean(), correct[inside].mean(), inside.sum()))
    ece = sum(n * abs(acc - conf) for conf, acc, n in rows) / len(y)
    return np.array(rows), ece


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="sigmoid_vs_softmax.png", help="PNG to write")
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    print(f"{'loss':>8} {'log loss':>9} {'accuracy':>9} {'ECE':>7}")
    for loss, color in (("sigmoid", "C0"), ("softmax", "C3")):
        model = make_pipeline(StandardScaler(), LogLossClassifier(loss=loss, random_state=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        proba = model.predict_proba(X_test)
        rows, ece = reliability(proba, y_test)
        print(f"{loss:>8} {log_loss(y_test, proba):>9.4f} "
              f"{accuracy_score(y_test, proba.argmax(axis=1)):>9.4f} {ece:>7.4f}")
        left.plot(rows[:, 0], rows[:, 1], "o-", color=color, label=f'loss="{loss}" (ECE {ece:.3f})')
        right.hist(proba[np.arange(len(y_test)), y_test], bins=40, range=(0, 1), alpha=0.55,
                   color=color, label=f'loss="{loss}"')
    left.set_xlabel("predicted probability of the predicted class")
    left.set_ylabel("fraction of those predictions that are right")
    left.set_title("reliability on held-out digits")
    left.grid(True, alpha=0.3)
    left.legend()
    right.set_yscale("log")
    right.set_xlabel("predicted probability of the true class")
    right.set_ylabel("held-out samples")
    right.set_title("how sure each model is of the right answer")
    right.grid(True, alpha=0.3)
    right.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    plt.close(fig)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
