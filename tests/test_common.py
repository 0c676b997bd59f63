"""scikit-learn's estimator checks on several configurations of LogLossClassifier."""

from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from sk_logloss import LogLossClassifier

CONFIGURATIONS = [
    LogLossClassifier(),
    LogLossClassifier(hidden_layer_sizes=(16,), activation="tanh"),
    LogLossClassifier(optimizer="sgd", learning_rate=0.1),
]


@parametrize_with_checks(CONFIGURATIONS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_param_validation():
    check_param_validation("LogLossClassifier", LogLossClassifier())
