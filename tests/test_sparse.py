"""scipy.sparse input: trained and predicted without densifying, equal to the dense results."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import fit_quiet
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sk_logloss import LogLossClassifier

FORMATS = [sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.csc_array, sp.coo_array]


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=500, n_features=40, n_informative=8, n_classes=3,
                               random_state=0)
    X[np.abs(X) < 1.2] = 0  # about 77% zeros
    return X, y


@pytest.fixture
def no_densify(monkeypatch):
    """Make densifying any scipy.sparse container wider than 3 columns (an X, not labels) fail.

    (LabelBinarizer densifies its own sparse label matrix of n_classes columns.)
    """
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.csc_array,
                sp.coo_array):
        for name in ("toarray", "todense"):
            original = getattr(cls, name)

            def guarded(self, *args, _original=original, **kwargs):
                if self.shape[1] > 3:
                    raise AssertionError("a sparse X was densified")
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(cls, name, guarded)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "params",
    [{}, {"early_stopping": True}, {"hidden_layer_sizes": (8,)}, {"optimizer": "lbfgs"}],
    ids=["adam", "early-stopping", "hidden", "lbfgs"],
)
@pytest.mark.bitwise
def test_sparse_fit_matches_dense_fit_without_densifying(data, fmt, params, no_densify):
    X, y = data
    settings = {"random_state": 0, "max_iter": 15, **params}
    dense = fit_quiet(LogLossClassifier(**settings), X, y)
    Xs = fmt(X)
    sparse = fit_quiet(LogLossClassifier(**settings), Xs, y)
    assert sparse.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(sparse.coefs_[0], dense.coefs_[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X), atol=1e-12)
    assert sparse.loss_ == pytest.approx(dense.loss_, rel=1e-10)
    np.testing.assert_array_equal(sparse.predict(Xs), dense.predict(X))


def test_sparse_partial_fit_and_float32(data, no_densify):
    X, y = data
    Xs = sp.csr_matrix(X.astype(np.float32))
    model = LogLossClassifier(random_state=0)
    for chunk in np.array_split(np.arange(len(y)), 4):
        model.partial_fit(Xs[chunk], y[chunk], classes=[0, 1, 2])
    assert model.coefs_[0].dtype == np.float32 and model.n_iter_ == 4
    assert np.isfinite(model.predict_proba(Xs)).all()


def test_lbfgs_on_sparse_tfidf_matches_logistic_regression(no_densify):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    docs, y = [], []
    for i in range(400):  # two topics sharing a vocabulary, drawn locally
        label = i % 2
        vocab = words[:200] if label else words[100:]
        docs.append(" ".join(rng.choice(vocab, size=20)))
        y.append(label)
    X = TfidfVectorizer().fit_transform(docs)
    ours = LogLossClassifier(optimizer="lbfgs", alpha=1.0, tol=1e-10, max_iter=1000).fit(X, y)
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)


def test_text_pipeline_grid_search(no_densify):
    rng = np.random.default_rng(1)
    topics = [["ball", "goal", "team", "match"], ["vote", "law", "party", "court"],
              ["cell", "gene", "virus", "protein"]]
    filler = ["the", "a", "of", "and", "in", "report", "today"]
    docs, y = [], []
    for i in range(300):
        k = i % 3
        docs.append(" ".join(rng.choice(topics[k] + filler, size=12)))
        y.append(k)
    pipe = make_pipeline(TfidfVectorizer(), LogLossClassifier(max_iter=50, random_state=0))
    search = fit_quiet(
        GridSearchCV(pipe, {"loglossclassifier__learning_rate": [0.01, 0.1]}, cv=3), docs, y
    )
    assert search.best_score_ > 0.9
    assert search.predict(["the goal of the team"])[0] == 0


def test_sparse_rows_without_any_nonzero_train():
    """Found by the property tests: a CSR batch with no stored value read past the data."""
    X = sp.csr_matrix(np.zeros((6, 2)))
    y = np.array([0, 1, 0, 1, 0, 1])
    model = LogLossClassifier(max_iter=3, random_state=0, tol=0.0)
    dense = LogLossClassifier(max_iter=3, random_state=0, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
        dense.fit(X.toarray(), y)
    np.testing.assert_allclose(model.predict_proba(X), dense.predict_proba(X.toarray()),
                               rtol=0, atol=1e-12)
    assert np.isfinite(model.loss_)


def csr_with_int64_indices(X):
    X = sp.csr_array(X)
    out = sp.csr_array((X.data, X.indices, X.indptr), shape=X.shape)
    out.indices, out.indptr = X.indices.astype(np.int64), X.indptr.astype(np.int64)  # as hstack
    return out


@pytest.mark.parametrize("params", [{}, {"hidden_layer_sizes": (5,)}, {"optimizer": "lbfgs"},
                                    {"early_stopping": True}])
@pytest.mark.bitwise
def test_int64_indices_give_the_bits_of_the_int32_copy(data, params):
    X, y = data
    wide = csr_with_int64_indices(X)
    assert wide.indices.dtype == np.int64 and wide.indptr.dtype == np.int64
    narrow = sp.csr_array(X)
    assert narrow.indices.dtype == np.int32
    settings = {"random_state": 0, "max_iter": 20, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = LogLossClassifier(**settings).fit(wide, y)
        b = LogLossClassifier(**settings).fit(narrow, y)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(a.predict_proba(wide), b.predict_proba(narrow))


def records(n=300, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array(["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"])
    rows, labels = [], []
    for _ in range(n):
        picked = rng.choice(words, size=3, replace=False)
        rows.append({str(w): float(rng.integers(1, 4)) for w in picked} | {"len": rng.random()})
        labels.append(int(("alpha" in picked) ^ ("beta" in picked)))
    return rows, np.array(labels)


@pytest.mark.bitwise
@pytest.mark.parametrize("vectorizer", ["dict", "hasher"])
def test_dict_vectorizer_and_feature_hasher_pipelines(vectorizer):
    # DictVectorizer gives int64 indices, FeatureHasher int64 row pointers on some
    # scikit-learn versions: LogisticRegression fits them, and so do we
    from sklearn.feature_extraction import DictVectorizer, FeatureHasher

    rows, y = records()
    make = {"dict": lambda: DictVectorizer(), "hasher": lambda: FeatureHasher(n_features=2**12)}
    Xt = make[vectorizer]().fit_transform(rows)
    narrow = sp.csr_matrix((Xt.data, Xt.indices.astype(np.int32), Xt.indptr.astype(np.int32)),
                           shape=Xt.shape)
    model = make_pipeline(make[vectorizer](), LogLossClassifier(random_state=0, max_iter=50))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(rows, y)
        alone = LogLossClassifier(random_state=0, max_iter=50).fit(narrow, y)
    np.testing.assert_array_equal(model[-1].coef_, alone.coef_)
    reference = make_pipeline(make[vectorizer](), LogisticRegression()).fit(rows, y)
    assert model.score(rows, y) >= reference.score(rows, y) - 0.05 and model.score(rows, y) > 0.8
