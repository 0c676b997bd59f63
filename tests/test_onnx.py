"""ONNX export (issue 16): onnxruntime's labels and probabilities against predict and predict_proba."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import onnxruntime as rt
import pandas as pd
import pytest
from conftest import fit_quiet
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_iris, make_multilabel_classification
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import sk_logloss.onnx  # noqa: F401  (registers the converters)
from sk_logloss import LogLossClassifier, LogLossClassifierCV

# float32 graphs against NumPy's float32 forward pass: a few float32 roundings
TOL32 = 1e-5
TOL64 = 1e-12


def session(model, X, **options):
    onx = to_onnx(model, X[:1], options=options or {"zipmap": False})
    return rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])


def run(model, X, **options):
    sess = session(model, X, **options)
    return sess.run(None, {sess.get_inputs()[0].name: X})


def assert_matches(model, X, tol):
    labels, proba = run(model, X)
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=tol)
    assert np.isfinite(proba).all()


def data(target):
    if target == "multilabel":
        X, y = make_multilabel_classification(200, 6, n_classes=4, random_state=0)
        return X, y
    loader = load_breast_cancer if target == "binary" else load_iris
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


MODELS = {
    "binary": ("binary", {}),
    "multiclass, sigmoid": ("multiclass", {}),
    "multiclass, softmax": ("multiclass", {"loss": "softmax"}),
    "multilabel": ("multilabel", {}),
    **{f"hidden, {act}": ("multiclass", {"hidden_layer_sizes": (8, 5), "activation": act})
       for act in ("identity", "logistic", "tanh", "relu")},
    "hidden, softmax, binary": ("binary", {"hidden_layer_sizes": (6,), "loss": "softmax"}),
}


@pytest.mark.parametrize("trained", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(MODELS))
def test_onnxruntime_matches_predict_and_predict_proba(name, trained):
    target, params = MODELS[name]
    X, y = data(target)
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=200, **params),
                      X.astype(trained), y)
    assert_matches(model, X.astype(np.float32), TOL32)
    assert_matches(model, X.astype(np.float64), TOL64)


def test_string_labels_and_large_logits():
    """Unscaled breast cancer: logits in the hundreds, which the probabilities survive."""
    X, y = load_breast_cancer(return_X_y=True)
    labels = np.array(["benign", "malignant"])[y]
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=100), X, labels)
    assert np.abs(model.decision_function(X)).max() > 30
    assert_matches(model, X.astype(np.float32), TOL32)


def test_one_vs_rest_probabilities_where_every_sigmoid_underflows():
    """Rows whose every logit is near -200 (float32 sigmoids of 0): normalized in log
    space, their probabilities are the softmax of the logits, no 0/0."""
    X, y = data("multiclass")
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=100), X, y)
    W, b = model.coefs_[0], model.intercepts_[0]
    targets = np.array([[-200.0, -210.0, -220.0], [-230.0, -200.0, -205.0]])
    far = np.linalg.lstsq(W.T, (targets - b).T, rcond=None)[0].T
    np.testing.assert_allclose(model.decision_function(far), targets, atol=1e-6)
    assert_matches(model, far.astype(np.float32), TOL32)
    _labels, proba = run(model, far.astype(np.float32))
    np.testing.assert_allclose(proba[0], np.exp([0, -10, -20]) / np.exp([0, -10, -20]).sum(),
                               rtol=1e-4)


def test_zipmap_options():
    X, y = data("multiclass")
    X = X.astype(np.float32)
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=100), X, y)
    _, dicts = run(model, X[:5], zipmap=True)
    assert [sorted(d) for d in dicts] == [[0, 1, 2]] * 5
    np.testing.assert_allclose([[d[c] for c in (0, 1, 2)] for d in dicts],
                               model.predict_proba(X[:5]), atol=TOL32)
    columns = session(model, X, zipmap="columns")
    assert [o.name for o in columns.get_outputs()][1:] == ["i0", "i1", "i2"]
    labels, _ = run(model, X, zipmap=False, nocl=True)
    np.testing.assert_array_equal(labels, np.argmax(model.predict_proba(X), axis=1))


def test_tfidf_pipeline():
    """The issue's first case: Pipeline(TfidfVectorizer, LogLossClassifier) on generated text."""
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(40)])
    texts, y = [], rng.integers(0, 3, 300)
    for label in y:  # each class favours its own third of the vocabulary
        p = np.ones(40)
        p[label * 13:(label + 1) * 13] = 6
        texts.append(" ".join(rng.choice(words, 12, p=p / p.sum())))
    texts = np.array(texts)
    pipe = fit_quiet(make_pipeline(TfidfVectorizer(), LogLossClassifier(random_state=0)),
                     texts, y)
    # onnxruntime's lower-casing needs a locale it can build: "C" always exists
    onx = to_onnx(pipe, texts[:1].reshape(-1, 1), options={
        TfidfVectorizer: {"locale": "C"}, LogLossClassifier: {"zipmap": False}})
    sess = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = sess.run(None, {sess.get_inputs()[0].name: texts.reshape(-1, 1)})
    np.testing.assert_array_equal(labels, pipe.predict(texts))
    np.testing.assert_allclose(proba, pipe.predict_proba(texts), atol=TOL32)
    assert (labels == y).mean() > 0.8


def test_column_transformer_pipeline():
    """The issue's second case: numeric columns scaled, a categorical one one-hot encoded."""
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame({"a": rng.standard_normal(n).astype(np.float32),
                          "b": rng.standard_normal(n).astype(np.float32),
                          "city": rng.choice(["paris", "lima", "oslo"], n)})
    y = ((frame.a + (frame.city == "lima") * 1.5 - frame.b) > 0.3).map({True: "yes",
                                                                       False: "no"})
    prep = ColumnTransformer([("num", StandardScaler(), ["a", "b"]),
                              ("cat", OneHotEncoder(), ["city"])])
    pipe = fit_quiet(make_pipeline(prep, LogLossClassifier(random_state=0)), frame, y)
    onx = to_onnx(pipe, frame[:1], options={"zipmap": False})
    sess = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {c: frame[c].to_numpy().reshape(-1, 1) for c in frame.columns}
    labels, proba = sess.run(None, feeds)
    np.testing.assert_array_equal(labels, pipe.predict(frame))
    np.testing.assert_allclose(proba, pipe.predict_proba(frame), atol=TOL32)


def test_classifier_cv_converts_its_refit():
    X, y = data("multiclass")
    X = X.astype(np.float32)
    search = fit_quiet(LogLossClassifierCV(learning_rates=(0.01, 0.1), cv=3, random_state=0),
                       X, y)
    assert_matches(search, X, TOL32)
    unrefitted = fit_quiet(LogLossClassifierCV(learning_rates=(0.1,), cv=3, refit=False), X, y)
    with pytest.raises(ValueError, match="refit=True"):
        to_onnx(unrefitted, X[:1])


def test_an_unfitted_model_is_refused():
    X, _ = data("multiclass")
    with pytest.raises(ValueError, match="call fit before converting"):
        to_onnx(LogLossClassifier(), X[:1].astype(np.float32))


def test_float_and_bool_labels_come_out_as_int64():
    X, y = data("binary")
    for labels in (y.astype(float) * 3, y.astype(bool)):
        model = fit_quiet(LogLossClassifier(random_state=0, max_iter=50), X, labels)
        out, _ = run(model, X.astype(np.float32))
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, model.predict(X.astype(np.float32)).astype(np.int64))


def test_conversion_never_imports_tensorflow(tmp_path):
    X, y = data("multiclass")
    model = fit_quiet(LogLossClassifier(random_state=0, max_iter=50), X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    code = (
        "import pickle, sys, numpy as np, onnxruntime as rt, sk_logloss.onnx\n"
        "from skl2onnx import to_onnx\n"
        f"model = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "X = np.zeros((2, 4), np.float32)\n"
        "sess = rt.InferenceSession(to_onnx(model, X).SerializeToString(),\n"
        "                           providers=['CPUExecutionProvider'])\n"
        "sess.run(None, {'X': X})\n"
        "print('tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_without_skl2onnx_the_package_works_and_the_module_names_the_extra():
    code = (
        "import sys, warnings\n"
        "sys.modules['skl2onnx'] = None  # as if not installed\n"
        "import numpy as np\n"
        "from sk_logloss import LogLossClassifier\n"
        "warnings.simplefilter('ignore')\n"
        "X = np.random.default_rng(0).standard_normal((40, 3)); y = (X[:, 0] > 0).astype(int)\n"
        "print(LogLossClassifier(max_iter=20).fit(X, y).predict(X).shape)\n"
        "try:\n"
        "    import sk_logloss.onnx\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    shape, message = out.stdout.strip().splitlines()[-2:]
    assert shape == "(40,)"
    assert 'pip install "sk_logloss[onnx]"' in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import sk_logloss.onnx  # noqa: F401  (importing it twice is harmless)
