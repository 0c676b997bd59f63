"""scikit-learn classifier trained by TensorFlow on mean sigmoid cross-entropy."""

from ._classifier import LogLossClassifier
from ._persistence import InconsistentVersionWarning
from ._version import __version__

__all__ = ["InconsistentVersionWarning", "LogLossClassifier", "__version__"]
