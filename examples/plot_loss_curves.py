"""Training-loss curves per optimizer, and the log loss of one sample against its probability.

Left: ``loss_curve_`` (the training objective after every epoch) of
LogLossClassifier with several Keras optimizers, all at learning rate 0.01,
on the breast-cancer data set that scikit-learn ships (standardized), and
L-BFGS per iteration. Right: the log loss of a sample whose label is 1,
``-log(p)``, against the predicted probability ``p``, with the per-sample
losses of the fitted Adam model on its training data lying on the curve
(``-log(1 - p)`` for label 0 is the mirror image). Saves one PNG.

    pip install ".[plots]"
    python examples/plot_loss_curves.py [--out loss_curves.png]
"""

import argparse
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier

matplotlib.use("Agg")  # files only: runs without a display

OPTIMIZERS = ["adam", "sgd", "rmsprop", "adagrad", "nadam", "lbfgs"]
EPOCHS = 100


def fit_all(X, y):
    """One fitted model per optimizer: same data, learning rate and epochs."""
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is reached on purpose
        for name in OPTIMIZERS:
            models[name] = LogLossClassifier(
                optimizer=name, learning_rate=0.01, max_iter=EPOCHS, tol=0.0, random_state=0
            ).fit(X, y)
    return models


def plot(models, X, y, path):
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, model in models.items():
        epochs = np.arange(1, len(model.loss_curve_) + 1)
        style = "k--" if name == "lbfgs" else "-"
        label = "L-BFGS (per iteration)" if name == "lbfgs" else name
        left.plot(epochs, model.loss_curve_, style, label=label)
    left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss (mean log loss + L2)")
    left.set_title("loss_curve_ per optimizer, learning rate 0.01")
    left.grid(True, which="both", alpha=0.3)
    left.legend()

    p = np.linspace(0.004, 0.996, 400)
    right.plot(p, -np.log(p), label="label 1: -log(p)")
    right.plot(p, -np.log1p(-p), ":", color="gray", label="label 0: -log(1 - p)")
    proba = models["adam"].predict_proba(X)[:, 1]
    ones = y == 1
    right.scatter(proba[ones], -np.log(proba[ones]), s=10, color="C3", zorder=3,
                  label="Adam model, training samples with label 1")
    right.set_ylim(0, 5.5)
    right.set_xlabel("predicted probability of class 1, p")
    right.set_ylabel("log loss of the sample")
    right.set_title("log loss is small when p is near the label")
    right.grid(True, alpha=0.3)
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="loss_curves.png", help="PNG to write")
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    models = fit_all(X, y)
    print(f"{'optimizer':>9} {'epochs':>6} {'first loss':>10} {'last loss':>10}")
    for name, model in models.items():
        curve = model.loss_curve_
        print(f"{name:>9} {len(curve):>6} {curve[0]:>10.4f} {curve[-1]:>10.4f}")
    plot(models, X, y, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
