"""scikit-learn's estimator checks on one configuration per optimizer family and training control."""

from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from sk_logloss import LogLossClassifier, LogLossClassifierCV

CONFIGURATIONS = [
    LogLossClassifier(),  # Adam, the default
    LogLossClassifier(hidden_layer_sizes=(16,)),  # a network at its defaults (issue 24)
    LogLossClassifier(
        optimizer="sgd", learning_rate=0.01, optimizer_params={"momentum": 0.9, "nesterov": True}
    ),
    LogLossClassifier(optimizer="adagrad", learning_rate=0.1),  # adaptive-gradient family
    LogLossClassifier(optimizer="lbfgs"),
    LogLossClassifier(early_stopping=True, learning_rate=0.1),
    LogLossClassifier(class_weight="balanced"),
    # near a strongly regularized optimum, RMSprop's steps of about learning_rate
    # oscillate and amplify rounding (a weighted fit and its repeated rows part
    # after 73 epochs at alpha="auto"); at MLPClassifier's alpha they agree to 1e-12
    LogLossClassifier(optimizer="rmsprop", learning_rate=0.01, alpha=1e-4),
    LogLossClassifier(loss="softmax"),
    LogLossClassifier(loss="softmax", optimizer="lbfgs", hidden_layer_sizes=(8,), alpha=1e-4),
    LogLossClassifierCV(),  # 9 rates x 5 folds
]


@parametrize_with_checks(CONFIGURATIONS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_param_validation():
    check_param_validation("LogLossClassifier", LogLossClassifier())


def test_float32_precision_passes_every_check_but_repeated_row_equivalence():
    """``precision="float32"`` (opt-in): every check passes except scikit-learn's two
    sample-weight equivalence checks, which ask a weighted fit to equal the fit on repeated
    rows to 1e-7, closer than float32 training's rounding after its epochs (README)."""
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(LogLossClassifier(precision="float32"), on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == {"check_sample_weight_equivalence_on_dense_data",
                      "check_sample_weight_equivalence_on_sparse_data"}
    assert sum(r["status"] == "passed" for r in results) >= 60
