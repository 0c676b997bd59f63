"""Export of a fitted model to an equivalent Keras model, for serving with TensorFlow."""

from ._backend import keras
from ._network import KERAS_ACTIVATIONS


def keras_model(coefs, intercepts, activation, multilabel, dtype, loss="sigmoid"):
    """A Keras model from inputs to the probabilities that ``predict_proba`` returns.

    Built from standard layers only (Dense, Softmax), so it saves and loads in
    every Keras format without custom objects. One logit ``z`` becomes the two
    columns ``softmax([-z/2, z/2]) = [1 - sigmoid(z), sigmoid(z)]``; several
    one-vs-rest logits become ``softmax(log_sigmoid(z))`` (the sigmoids
    normalized to sum to 1), softmax-loss logits ``softmax(z)``; multilabel
    logits become sigmoids.
    """
    keras_ = keras()
    layers = keras_.layers
    inputs = keras_.Input(shape=(coefs[0].shape[0],), dtype=dtype, name="X")
    h = inputs
    last = len(coefs) - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        if i < last:
            act, units, weights = KERAS_ACTIVATIONS[activation], W.shape[1], [W, b]
        elif multilabel:
            act, units, weights = "sigmoid", W.shape[1], [W, b]
        elif W.shape[1] == 1:
            act, units, weights = "linear", 2, [W * [-0.5, 0.5], b * [-0.5, 0.5]]
        elif loss == "softmax":
            act, units, weights = "linear", W.shape[1], [W, b]
        else:
            act, units, weights = "log_sigmoid", W.shape[1], [W, b]
        dense = layers.Dense(units, activation=act, dtype=dtype, name=f"dense_{i}")
        h = dense(h)
        dense.set_weights([w.astype(dtype) for w in weights])
    if not multilabel:
        h = layers.Softmax(dtype=dtype, name="proba")(h)
    return keras_.Model(inputs, h, name="sk_logloss")
