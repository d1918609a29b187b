"""The training job (jobs/train.py), run as SageMaker runs it: /opt/ml-like folder, SM_* variables, CLI arguments."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import joblib
import pandas as pd
import pytest
import train
from conftest import TRAINING_HYPERPARAMETERS
from metrics import regression_metrics
from sm_runtime.training import format_metrics
from train import main, parse_args


def captured_metrics(config, text: str) -> dict[str, list[float]]:
    """Every value each MetricDefinition regex of the config captures, as the service reads the logs."""
    return {
        definition.name: [float(value) for value in re.findall(definition.regex, text)]
        for definition in config.training.metric_definitions
    }


# What a model that learned something scores on the sample data, whatever the algorithm: (metric, lowest, highest).
SANE_SCORES = {
    "regression": [("rmse", 0, 6.0), ("r2", 0.5, 1)],
    "binary_classification": [("accuracy", 0.75, 1), ("roc_auc", 0.8, 1)],
    "multiclass_classification": [("accuracy", 0.6, 1), ("macro_f1", 0.5, 1)],
}


def test_metrics_lines_match_the_configs_regexes(training_run, config) -> None:
    assert training_run.result.returncode == 0, training_run.result.stderr
    metrics = captured_metrics(config, training_run.result.stdout + training_run.result.stderr)
    assert all(len(values) == 1 for values in metrics.values()), metrics
    values = {name: found[0] for name, found in metrics.items()}
    for split in ("train", "validation"):
        for name, lowest, highest in SANE_SCORES[config.data.problem_type]:
            assert lowest <= values[f"{split}:{name}"] <= highest, (split, name, values)
    if config.data.problem_type == "regression":
        assert 0 <= values["validation:mae"] <= values["validation:rmse"]


def test_model_is_saved_with_the_hyperparameters(
    trained_model_dir: Path, processed: Path, training_run, config
) -> None:
    model = joblib.load(trained_model_dir / "model.joblib")
    train = pd.read_csv(processed / "train" / "train.csv", header=None)
    assert model.n_features_in_ == train.shape[1] - 1
    params = model.get_params()
    given = {key: value for key, value in TRAINING_HYPERPARAMETERS.items() if key in params}
    assert given and {key: params[key] for key in given} == given
    assert model.predict(train.iloc[:3, 1:].to_numpy()).shape == (3,)
    metrics = json.loads((training_run.base / "output" / "data" / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation"}
    assert not (training_run.base / "output" / "failure").exists()
    classes = config.data.classes
    saved = sorted(path.name for path in trained_model_dir.iterdir())
    assert saved == (["model.joblib"] if classes is None else ["classes.json", "model.joblib"])
    if classes is not None:
        assert json.loads((trained_model_dir / "classes.json").read_text()) == classes
        assert model.classes_.tolist() == list(range(len(classes)))


def test_a_missing_channel_writes_the_failure_file(tmp_path: Path, processed: Path, training_runner) -> None:
    result = training_runner(tmp_path, {"train": processed / "train" / "train.csv"})
    assert result.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text()
    assert failure.splitlines()[0].startswith("TrainingError: channel 'validation' is missing")
    assert "Traceback" not in failure + result.stderr
    assert "channel 'validation' is missing" in result.stderr
    assert not (tmp_path / "model" / "model.joblib").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--max_depth", "None", "--max_features", "sqrt", "--random_state", ""], (None, "sqrt", None)),
        (["--max_depth", "12", "--max_features", "1", "--random_state", "7"], (12, 1, 7)),
        (["--max_depth", "12.0", "--max_features", "1.0", "--random_state", "null"], (12, 1.0, None)),
    ],
)
def test_hyperparameters_accept_the_toolkits_rendering(argv: list[str], expected: tuple) -> None:
    args = parse_args(argv)
    assert (args.max_depth, args.max_features, args.random_state) == expected
    assert type(args.max_features) is type(expected[1])


def test_min_samples_leaf_is_a_count_or_a_fraction() -> None:
    assert parse_args(["--min_samples_leaf", "2.0"]).min_samples_leaf == 2
    assert isinstance(parse_args(["--min_samples_leaf", "2.0"]).min_samples_leaf, int)
    assert parse_args(["--min_samples_leaf", "0.05"]).min_samples_leaf == 0.05


def test_unknown_hyperparameters_are_ignored_with_a_note(capsys) -> None:
    assert parse_args(["--n_estimators", "5", "--extra", "1"]).n_estimators == 5
    assert "--extra 1" in capsys.readouterr().out


def test_bad_hyperparameters_fail_the_job_cleanly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path))
    assert main(["--n_estimators", "many"]) == 1
    failure = (tmp_path / "failure").read_text()
    assert failure.startswith("TrainingError: bad hyperparameter: argument --n_estimators: 'many' is not a number")
    assert "Traceback" not in failure


def test_a_rejected_hyperparameter_fails_with_a_clean_cause(tmp_path: Path, processed: Path, monkeypatch) -> None:
    for name in ("train", "validation"):
        monkeypatch.setenv(f"SM_CHANNEL_{name.upper()}", str(processed / name))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path / "output"))
    assert main(["--algorithm", "random_forest", "--n_estimators", "0"]) == 1
    text = (tmp_path / "output" / "failure").read_text()
    assert text.startswith("TrainingError: cannot fit the model:") and "n_estimators" in text
    assert "Traceback" not in text


def test_an_unexpected_error_puts_the_cause_first_and_the_traceback_after(
    tmp_path: Path, processed: Path, monkeypatch
) -> None:
    for name in ("train", "validation"):
        monkeypatch.setenv(f"SM_CHANNEL_{name.upper()}", str(processed / name))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("SM_OUTPUT_DIR", str(tmp_path / "output"))

    def broken_dump(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(train.joblib, "dump", broken_dump)
    assert main(["--n_estimators", "3"]) == 1
    lines = (tmp_path / "output" / "failure").read_text().splitlines()
    assert lines[0] == "RuntimeError: disk on fire"
    assert any(line.startswith("Traceback") for line in lines[1:])


def test_a_preprocessor_channel_puts_the_preprocessor_into_the_model(
    tmp_path: Path, processed: Path, monkeypatch, capsys
) -> None:
    for name in ("train", "validation", "preprocessor"):
        monkeypatch.setenv(f"SM_CHANNEL_{name.upper()}", str(processed / name))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "data"))
    assert main(["--n_estimators", "3"]) == 0
    assert sorted(path.name for path in (tmp_path / "model").iterdir()) == ["model.joblib", "preprocessor.joblib"]
    assert "copied preprocessor.joblib" in capsys.readouterr().out
    joblib.load(tmp_path / "model" / "preprocessor.joblib")


def test_format_metrics_is_parsed_by_the_regexes(config) -> None:
    metrics = regression_metrics([1.0, 2.0, 3.0], [1.5, 2.0, 2.0])
    assert metrics["mae"] == pytest.approx(0.5)
    assert metrics["rmse"] == pytest.approx(math.sqrt(1.25 / 3))
    line = format_metrics("validation", {"mae": 1e-7, "rmse": 2.5, "r2": -0.25})
    assert line == "validation_mae=0.000000; validation_rmse=2.500000; validation_r2=-0.250000;"
    names = [m.name.partition(":")[2] for m in config.training.metric_definitions if m.name.startswith("validation:")]
    found = captured_metrics(config, format_metrics("validation", {name: -0.25 * i for i, name in enumerate(names)}))
    assert [found[f"validation:{name}"] for name in names] == [[-0.25 * i] for i in range(len(names))]
    assert found[f"train:{names[0]}"] == []
