"""Text classification: TfidfVectorizer -> LogLossClassifier, with a learning-rate sweep.

The documents are docstrings shipped with installed packages (NumPy, SciPy's
statistics module, Python's standard library), so nothing is downloaded: the
task is to tell which library wrote a docstring. TF-IDF gives a sparse CSR
matrix that the classifier trains on without densifying it.

    python examples/text_pipeline.py
"""

import inspect
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sk_logloss import LogLossClassifier


def docstrings():
    """(text, library) pairs from the public callables of a few installed modules."""
    import collections
    import email.message
    import functools
    import itertools
    import json
    import os
    import pathlib
    import re
    import string
    import textwrap

    import scipy.stats

    sources = {
        "numpy": [np, np.linalg, np.fft, np.random],
        "scipy.stats": [scipy.stats],
        "python stdlib": [collections, email.message, functools, itertools, json, os, pathlib,
                          re, string, textwrap],
    }
    seen, texts, labels = set(), [], []
    for label, modules in sources.items():
        for module in modules:
            for name in sorted(dir(module)):
                obj = getattr(module, name, None)
                doc = inspect.getdoc(obj) if callable(obj) and not name.startswith("_") else None
                if doc and len(doc) >= 80 and doc not in seen:
                    seen.add(doc)
                    texts.append(doc[:1500])
                    labels.append(label)
    return texts, np.array(labels)


def main():
    texts, y = docstrings()
    X_train, X_test, y_train, y_test = train_test_split(
        texts, y, test_size=0.25, stratify=y, random_state=0
    )
    print(f"{len(texts)} docstrings: " + ", ".join(
        f"{label} {np.sum(y == label)}" for label in np.unique(y)))
    pipe = make_pipeline(
        TfidfVectorizer(sublinear_tf=True, min_df=2),
        LogLossClassifier(max_iter=100, random_state=0),
    )
    grid = {"loglossclassifier__learning_rate": [0.003, 0.01, 0.03, 0.1]}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=3, scoring="neg_log_loss").fit(X_train, y_train)
    seconds = time.perf_counter() - start
    tfidf = search.best_estimator_[0]
    n_features = len(tfidf.vocabulary_)
    print(f"TF-IDF: {n_features} features, sparse CSR input; sweep took {seconds:.1f} s")
    print(f"{'learning_rate':>14}{'CV log loss':>13}")
    for lr, score in zip(grid["loglossclassifier__learning_rate"],
                         search.cv_results_["mean_test_score"]):
        print(f"{lr:>14g}{-score:>13.4f}")
    model = search.best_estimator_
    print(f"best: {search.best_params_}; held-out accuracy {model.score(X_test, y_test):.3f}")
    words = np.array(tfidf.get_feature_names_out())
    clf = model[-1]
    for k, label in enumerate(clf.classes_):
        top = words[np.argsort(clf.coef_[k])[-8:][::-1]]
        print(f"  words that say {str(label)!r}: {', '.join(top)}")


if __name__ == "__main__":
    main()
