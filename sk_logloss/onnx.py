"""ONNX export: ``import sk_logloss.onnx`` registers our estimators with skl2onnx.

After the import, ``skl2onnx.to_onnx(model_or_pipeline, X[:1])`` converts a
fitted LogLossClassifier or LogLossClassifierCV, alone or at the end of a
Pipeline (StandardScaler, ColumnTransformer, TfidfVectorizer, ... upstream),
into one ONNX graph that onnxruntime serves. The graph is the NumPy forward
pass written in standard ONNX operators (MatMul, Add, the activations, Softmax,
Gather) from the fitted arrays, so converting never imports TensorFlow:

- labels: the class of the largest logit; for one logit, the positive class
  where it is positive; multilabel, an int64 indicator matrix of the positive
  logits (:meth:`~sk_logloss.LogLossClassifier.predict`);
- probabilities: :meth:`~sk_logloss.LogLossClassifier.predict_proba`, in the
  input's float type (float32 input computes in float32, double in double).

skl2onnx's classifier options apply: ``zipmap`` (True, False or
``"columns"``) and ``nocl``. Needs the ``onnx`` extra:
``pip install "sk_logloss[onnx]"``.

Examples
--------
>>> import numpy as np
>>> import onnxruntime as rt
>>> import sk_logloss.onnx  # registers the converters
>>> from skl2onnx import to_onnx
>>> from sklearn.datasets import load_iris
>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from sk_logloss import LogLossClassifier
>>> X, y = load_iris(return_X_y=True)
>>> X = X.astype(np.float32)
>>> pipe = make_pipeline(StandardScaler(), LogLossClassifier(random_state=0)).fit(X, y)
>>> onx = to_onnx(pipe, X[:1], options={"zipmap": False})
>>> session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
>>> labels, proba = session.run(None, {"X": X})
>>> bool((labels == pipe.predict(X)).all()), bool(np.abs(proba - pipe.predict_proba(X)).max() < 1e-5)
(True, True)
"""

import numpy as np

try:
    from skl2onnx import update_registered_converter
    from skl2onnx._parse import _parse_sklearn_classifier
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType, guess_proto_type
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from skl2onnx.proto import onnx_proto
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "sk_logloss.onnx needs skl2onnx and onnxruntime; install them with "
        "pip install \"sk_logloss[onnx]\"."
    ) from error

from . import LogLossClassifier, LogLossClassifierCV

__all__ = []

# the hidden activations as ONNX operators ("identity" adds none)
ONNX_ACTIVATIONS = {"logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}


def _fitted(model):
    """The fitted LogLossClassifier behind ``model`` (a LogLossClassifierCV's refit)."""
    if isinstance(model, LogLossClassifierCV):
        if not hasattr(model, "best_estimator_"):
            raise ValueError(
                "this LogLossClassifierCV has no refitted model to convert (refit=False "
                "or not fitted); fit it with refit=True first."
            )
        return model.best_estimator_
    if not hasattr(model, "coefs_"):
        raise ValueError("this LogLossClassifier is not fitted; call fit before converting.")
    return model


def _class_labels(model):
    """``classes_`` as ONNX carries them: int64 (scikit-learn's classification targets
    are integral whatever their float or bool dtype), or UTF-8 strings."""
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "biuf":
        return classes.astype(np.int64), onnx_proto.TensorProto.INT64
    return np.array([str(c).encode("utf-8") for c in classes]), onnx_proto.TensorProto.STRING


def parser(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser (labels, probabilities, ZipMap), after our fitted checks.

    skl2onnx would otherwise fail first, on the ``classes_`` of an unfitted
    model, with a message that names no fix.
    """
    _fitted(model)
    return _parse_sklearn_classifier(scope, model, inputs, custom_parsers=custom_parsers)


def shape_calculator(operator):
    """skl2onnx's classifier shapes; a multilabel model's labels are an ``[N, labels]`` matrix."""
    model = _fitted(operator.raw_operator)
    calculate_linear_classifier_output_shapes(operator)
    if model._multilabel:
        n = operator.inputs[0].get_first_dimension()
        operator.outputs[0].set_type(Int64TensorType(shape=[n, len(model.classes_)]))


class _Graph:
    """Adds nodes and initializers to skl2onnx's container under unique names."""

    def __init__(self, scope, container, dtype):
        self.scope, self.container, self.dtype = scope, container, dtype

    def const(self, name, value, dtype=None):
        value = np.asarray(value)
        unique = self.scope.get_unique_variable_name(name)
        self.container.add_initializer(unique, self.dtype if dtype is None else dtype,
                                       list(value.shape), value.ravel().tolist())
        return unique

    def node(self, op, inputs, output=None, **attrs):
        output = output or self.scope.get_unique_variable_name(op.lower())
        self.container.add_node(op, inputs, output, name=self.scope.get_unique_operator_name(op),
                                **attrs)
        return output


def _logits(g, model, x):
    """The network's logits ``[N, k]``: the NumPy forward pass, layer by layer."""
    np_dtype = np.float64 if g.dtype == onnx_proto.TensorProto.DOUBLE else np.float32
    h, last = x, len(model.coefs_) - 1
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        h = g.node("MatMul", [h, g.const("coef", W.astype(np_dtype))])
        h = g.node("Add", [h, g.const("intercept", b.astype(np_dtype)[None, :])])
        if i < last and model.activation in ONNX_ACTIVATIONS:
            h = g.node(ONNX_ACTIVATIONS[model.activation], [h])
    return h


def _log_sigmoid(g, z):
    """``min(z, 0) - log(1 + exp(-|z|))``: finite for every finite z."""
    soft = g.node("Log", [g.node("Add", [g.const("one", 1.0), g.node("Exp", [
        g.node("Neg", [g.node("Abs", [z])])])])])
    return g.node("Sub", [g.node("Min", [z, g.const("zero", np.zeros(1))]), soft])


def _probabilities(g, model, z, output):
    """``predict_proba`` from the logits (see :func:`sk_logloss._network.proba`)."""
    if model._multilabel:
        return g.node("Sigmoid", [z], output)
    if model.coefs_[-1].shape[1] == 1:
        return g.node("Concat", [g.node("Sigmoid", [g.node("Neg", [z])]),
                                 g.node("Sigmoid", [z])], output, axis=1)
    scores = z if model.out_activation_ == "softmax" else _log_sigmoid(g, z)
    return g.node("Softmax", [scores], output, axis=1)


def _labels(g, model, z, output, nocl):
    """``predict`` from the logits: positive logits, or the class of the largest."""
    if model._multilabel:
        return g.node("Cast", [g.node("Greater", [z, g.const("zero", np.zeros(1))])], output,
                      to=onnx_proto.TensorProto.INT64)
    if model.coefs_[-1].shape[1] == 1:
        positive = g.node("Greater", [z, g.const("zero", np.zeros(1))])
        index = g.node("Cast", [positive], to=onnx_proto.TensorProto.INT64)
    else:
        index = g.node("ArgMax", [z], axis=1, keepdims=1)
    flat = g.node("Reshape", [index, g.const("flat", np.array([-1], np.int64),
                                             onnx_proto.TensorProto.INT64)])
    if nocl:
        return g.node("Identity", [flat], output)
    classes, kind = _class_labels(model)
    return g.node("Gather", [g.const("classes", classes, kind), flat], output, axis=0)


def converter(scope, operator, container):
    """Write the fitted model's labels and probabilities into skl2onnx's graph."""
    model = _fitted(operator.raw_operator)
    options = container.get_options(operator.raw_operator, {"nocl": False})
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    dtype = guess_proto_type(operator.inputs[0].type) if double else onnx_proto.TensorProto.FLOAT
    g = _Graph(scope, container, dtype)
    x = g.node("Cast", [operator.inputs[0].full_name], to=dtype)
    z = _logits(g, model, x)
    _labels(g, model, z, operator.outputs[0].full_name, options["nocl"])
    _probabilities(g, model, z, operator.outputs[1].full_name)


for _cls in (LogLossClassifier, LogLossClassifierCV):
    update_registered_converter(
        _cls, f"SkLogLoss{_cls.__name__}", shape_calculator, converter,
        parser=parser, options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
