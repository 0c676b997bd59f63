"""Registry of optimizer names and the Keras optimizers they build."""

# Name accepted by ``LogLossClassifier(optimizer=...)`` -> Keras class name.
# Keras is imported only when an optimizer is built, inside the engine.
OPTIMIZERS = {
    "adam": "Adam",
    "sgd": "SGD",
}


def build_optimizer(name, learning_rate):
    """Return a new Keras optimizer for ``name`` at ``learning_rate``."""
    import keras

    cls = getattr(keras.optimizers, OPTIMIZERS[name])
    return cls(learning_rate=learning_rate)
