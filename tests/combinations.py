"""The answer sets the template supports today; test_bake bakes and checks each. Later issues add rows."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Combination:
    """One supported answer set: the answers that differ from cookiecutter.json's defaults."""

    id: str
    answers: dict[str, str] = field(default_factory=dict)


COMBINATIONS: list[Combination] = [
    Combination("default"),
    Combination("no-tuning-no-api-no-ci", {"tuning": "no", "api": "no", "ci": "none"}),
    Combination("python-3.13-random-search", {"python_version": "3.13", "tuning_strategy": "Random"}),
    Combination("serverless-no-pipeline", {"deployment_target": "serverless", "inference_pipeline": "no"}),
    Combination("async-api", {"deployment_target": "async"}),
    Combination("batch", {"deployment_target": "batch", "api": "no"}),
    Combination("two-variants-no-pipeline", {"production_variants": "2", "inference_pipeline": "no"}),
    Combination("regression-gradient-boosting", {"algorithm": "gradient_boosting", "api": "no"}),
    Combination("regression-linear", {"algorithm": "linear", "tuning": "no"}),
    Combination("binary-random-forest", {"problem_type": "binary_classification"}),
    Combination(
        "binary-gradient-boosting", {"problem_type": "binary_classification", "algorithm": "gradient_boosting"}
    ),
    Combination("multiclass-linear", {"problem_type": "multiclass_classification", "algorithm": "linear"}),
    Combination(
        "multiclass-gradient-boosting-batch",
        {
            "problem_type": "multiclass_classification",
            "algorithm": "gradient_boosting",
            "deployment_target": "batch",
            "api": "no",
        },
    ),
    Combination("xgboost-script-regression", {"framework": "xgboost", "algorithm": "gbtree"}),
    Combination(
        "xgboost-script-binary-no-pipeline",
        {
            "framework": "xgboost",
            "algorithm": "gbtree",
            "problem_type": "binary_classification",
            "inference_pipeline": "no",
        },
    ),
    Combination(
        "xgboost-script-multiclass-serverless",
        {
            "framework": "xgboost",
            "algorithm": "gbtree",
            "problem_type": "multiclass_classification",
            "deployment_target": "serverless",
            "inference_pipeline": "no",
        },
    ),
    Combination(
        "xgboost-builtin-regression", {"framework": "xgboost", "algorithm": "gbtree", "sagemaker_mode": "builtin"}
    ),
    Combination(
        "xgboost-builtin-binary-async",
        {
            "framework": "xgboost",
            "algorithm": "gbtree",
            "sagemaker_mode": "builtin",
            "problem_type": "binary_classification",
            "deployment_target": "async",
        },
    ),
    Combination(
        "xgboost-builtin-multiclass-batch",
        {
            "framework": "xgboost",
            "algorithm": "gbtree",
            "sagemaker_mode": "builtin",
            "problem_type": "multiclass_classification",
            "deployment_target": "batch",
            "api": "no",
        },
    ),
    Combination("container-regression", {"algorithm": "additive", "sagemaker_mode": "container"}),
    Combination(
        "container-binary-no-pipeline-serverless",
        {
            "algorithm": "additive",
            "sagemaker_mode": "container",
            "problem_type": "binary_classification",
            "inference_pipeline": "no",
            "deployment_target": "serverless",
        },
    ),
    Combination(
        "container-multiclass-batch",
        {
            "algorithm": "additive",
            "sagemaker_mode": "container",
            "problem_type": "multiclass_classification",
            "deployment_target": "batch",
            "api": "no",
        },
    ),
    Combination("pytorch-regression", {"framework": "pytorch", "algorithm": "mlp"}),
    Combination(
        "pytorch-binary-no-pipeline",
        {
            "framework": "pytorch",
            "algorithm": "mlp",
            "problem_type": "binary_classification",
            "inference_pipeline": "no",
        },
    ),
    Combination(
        "pytorch-multiclass-no-tuning",
        {"framework": "pytorch", "algorithm": "mlp", "problem_type": "multiclass_classification", "tuning": "no"},
    ),
]
