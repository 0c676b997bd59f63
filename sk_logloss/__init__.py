"""scikit-learn classifier trained by TensorFlow on mean sigmoid cross-entropy."""

from ._classifier import LogLossClassifier

__version__ = "0.1.0"

__all__ = ["LogLossClassifier", "__version__"]
