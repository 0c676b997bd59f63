"""Learning-rate sweep: GridSearchCV over LogLossClassifier in a Pipeline.

Runs on the breast-cancer data set that scikit-learn ships (no download),
sweeps learning rates from 0.001 to 0.1 for Adam and plain gradient descent,
and prints the cross-validated log loss and accuracy of every candidate.

    python examples/learning_rate_sweep.py
"""

import time
import warnings

from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sk_logloss import LogLossClassifier


def main():
    X, y = load_breast_cancer(return_X_y=True)
    pipeline = Pipeline(
        [("scale", StandardScaler()), ("clf", LogLossClassifier(random_state=0))]
    )
    grid = {
        "clf__optimizer": ["adam", "sgd"],
        "clf__learning_rate": [0.001, 0.003, 0.01, 0.03, 0.1],
    }
    search = GridSearchCV(
        pipeline,
        grid,
        scoring={"log_loss": "neg_log_loss", "accuracy": "accuracy"},
        refit="log_loss",
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # small rates stop at max_iter
        search.fit(X, y)
    elapsed = time.perf_counter() - start

    results = search.cv_results_
    print(f"breast cancer: {X.shape[0]} samples x {X.shape[1]} features, 5-fold CV")
    print(f"{'optimizer':>9} {'learning_rate':>13} {'log loss':>14} {'accuracy':>9} {'rank':>4}")
    for i, params in enumerate(results["params"]):
        print(
            f"{params['clf__optimizer']:>9} {params['clf__learning_rate']:>13g} "
            f"{-results['mean_test_log_loss'][i]:>8.4f} ± {results['std_test_log_loss'][i]:.3f} "
            f"{results['mean_test_accuracy'][i]:>9.3f} {results['rank_test_log_loss'][i]:>4d}"
        )
    best = search.best_params_
    print(
        f"best: optimizer={best['clf__optimizer']}, learning_rate={best['clf__learning_rate']} "
        f"(log loss {-search.best_score_:.4f}); {len(results['params']) * 5 + 1} fits in "
        f"{elapsed:.1f} s"
    )


if __name__ == "__main__":
    main()
