"""Stand-in for the SageMaker built-in XGBoost algorithm's training (algorithm mode), run as a plain script.

The local executor runs `python xgboost_algorithm.py` for a training job whose image is `sagemaker-xgboost` and that
names no sagemaker_program. Like the real container (aws/sagemaker-xgboost-container, algorithm_mode/train.py) it:

- reads /opt/ml/input/config/hyperparameters.json (plain strings), refuses a hyperparameter it does not know
  ("Extraneous hyperparameter found") and needs num_round (num_class with a multi: objective);
- reads the `train` channel (required) and `validation` channel (optional): text/csv, label first, no header, an
  empty field a missing value (a missing label, an empty file or a header row fail the job);
- trains with xgboost.train, evaluating `eval_metric` (comma-separated; `_tuning_objective_metric` such as
  `validation:rmse` is added last, so that early stopping watches it) on train and validation each round, printed as
  `[12]#011train-rmse:2.1#011validation-rmse:2.9`, the lines the predefined metric regexes read;
- stops early after `early_stopping_rounds` rounds without improvement on validation;
- writes /opt/ml/model/xgboost-model (xgboost's JSON format, cut to the best round; the real one pickles the
  booster), or the cause on the first line of /opt/ml/output/failure and exit 1.

SAGEMAKER_BASE_DIR replaces /opt/ml where the executor cannot mount it. It needs numpy, xgboost, sm_runtime and the
hyperparameter table of sm_engine.builtin_xgboost.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import xgboost as xgb

from sm_engine.builtin_xgboost import FLOAT, INTEGER, TEXT
from sm_runtime.errors import SmRuntimeError

MODEL_FILE = "xgboost-model"
CSV_TYPES = ("text/csv", "csv")


class AlgorithmError(SmRuntimeError):
    """A problem with the hyperparameters or the data; the message is the job's FailureReason."""


def base_dir() -> Path:
    return Path(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"))


def parse_hyperparameters(raw: dict[str, str]) -> dict[str, object]:
    """Typed values of the known hyperparameters; an unknown name or a bad number is an AlgorithmError."""
    parsed: dict[str, object] = {}
    for name, text in raw.items():
        value = str(text).strip()
        try:
            if name in INTEGER:
                number = float(value)
                if not number.is_integer():
                    raise ValueError(value)
                parsed[name] = int(number)
            elif name in FLOAT:
                parsed[name] = float(value)
            elif name in TEXT:
                parsed[name] = value
            else:
                raise AlgorithmError(f"Extraneous hyperparameter found: {name}")
        except ValueError:
            kind = "an integer" if name in INTEGER else "a number"
            raise AlgorithmError(f"Hyperparameter {name}: {value!r} is not {kind}") from None
    if "num_round" not in parsed:
        raise AlgorithmError("Missing required hyperparameter: num_round")
    objective = str(parsed.get("objective", "reg:squarederror"))
    if objective.startswith("multi:") and "num_class" not in parsed:
        raise AlgorithmError(f"Hyperparameter num_class is required with objective {objective}")
    return parsed


def read_channel(name: str, content_type: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(features, labels) of a label-first CSV channel, or None when the channel is absent."""
    directory = base_dir() / "input" / "data" / name
    if not directory.is_dir():
        return None
    if (content_type or "text/csv").split(";")[0].strip().lower() not in CSV_TYPES:
        raise AlgorithmError(f"channel {name}: content type {content_type!r} is not supported locally; use text/csv")
    files = sorted(path for path in directory.rglob("*") if path.is_file() and not path.name.startswith("."))
    if not files:
        raise AlgorithmError(f"channel {name}: no data files in {directory}; check the channel's S3 prefix")
    matrices = [read_matrix(path, name) for path in files]
    if len({matrix.shape[1] for matrix in matrices}) > 1:
        raise AlgorithmError(f"channel {name}: files have different column counts; give it one job's output only")
    matrix = np.vstack(matrices)
    if matrix.shape[1] < 2:
        raise AlgorithmError(f"channel {name}: expected the label then at least one feature column")
    unlabelled = np.flatnonzero(np.isnan(matrix[:, 0]))
    if unlabelled.size:
        raise AlgorithmError(f"channel {name}: row {unlabelled[0] + 1} has no label; put each row's label first")
    return matrix[:, 1:], matrix[:, 0]


def missing_as_nan(text: str) -> float:
    """A CSV field as a number; an empty field is a missing value, as the container's CSV reader reads it."""
    return float(text) if text.strip() else np.nan


def read_matrix(path: Path, channel: str) -> np.ndarray:
    """One label-first, headerless CSV file as a float matrix."""
    if path.stat().st_size == 0:
        raise AlgorithmError(f"channel {channel}: {path.name} is empty; remove it or rerun the job that writes it")
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2, converters=missing_as_nan, encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as error:
        cause = " ".join(str(error).split())[:300]
        raise AlgorithmError(
            f"channel {channel}: {path.name} is not numeric CSV with the label first and no header row ({cause})"
        ) from None


def eval_metrics(params: dict[str, object]) -> list[str]:
    """eval_metric's names, with the tuning objective's metric moved last (the one early stopping watches)."""
    metrics = [name.strip() for name in str(params.pop("eval_metric", "")).split(",") if name.strip()]
    objective = params.pop("_tuning_objective_metric", None)
    if objective:
        metric = str(objective).split(":", 1)[-1]
        metrics = [name for name in metrics if name != metric] + [metric]
    return metrics


def train(base: Path) -> None:
    config = base / "input" / "config"
    raw = json.loads((config / "hyperparameters.json").read_text(encoding="utf-8"))
    channels = json.loads((config / "inputdataconfig.json").read_text(encoding="utf-8"))
    params = parse_hyperparameters(raw)
    train_data = read_channel("train", channels.get("train", {}).get("ContentType"))
    if train_data is None:
        raise AlgorithmError("channel train is required: add a train input channel (text/csv, label first, no header)")
    validation = read_channel("validation", channels.get("validation", {}).get("ContentType"))
    num_round = int(params.pop("num_round"))  # type: ignore[call-overload]
    early_stopping = params.pop("early_stopping_rounds", None)
    params.pop("save_model_on_termination", None)
    metrics = eval_metrics(params)
    if metrics:
        params["eval_metric"] = metrics
    matrices = [(xgb.DMatrix(train_data[0], label=train_data[1]), "train")]
    if validation is not None:
        if validation[0].shape[1] != train_data[0].shape[1]:
            raise AlgorithmError(
                "channels train and validation have different numbers of feature columns; give both the outputs "
                "of the same processing job"
            )
        matrices.append((xgb.DMatrix(validation[0], label=validation[1]), "validation"))
    print(f"Train matrix has {len(train_data[1])} rows and {train_data[0].shape[1]} columns", flush=True)
    try:
        booster = xgb.train(
            params,
            matrices[0][0],
            num_boost_round=num_round,
            evals=matrices,
            early_stopping_rounds=early_stopping if validation is not None else None,
            callbacks=[RoundLog()],
            verbose_eval=False,
        )
    except xgb.core.XGBoostError as error:
        raise AlgorithmError(xgboost_cause(error)) from None
    if early_stopping and validation is not None and booster.num_boosted_rounds() > booster.best_iteration + 1:
        booster = booster[: booster.best_iteration + 1]
    model = base / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / MODEL_FILE).write_bytes(bytes(booster.save_raw("json")))


def xgboost_cause(error: Exception) -> str:
    """XGBoost's message on one line, without its `[time] source.cu:83:` prefix and its native stack trace."""
    text = " ".join(str(error).split("Stack trace:")[0].split())
    return re.sub(r"^\[[0-9:]+\] \S+:[0-9]+: ", "", text)[:900]


def round_line(epoch: int, evals_log: dict) -> str:
    """`[12]#011train-rmse:2.1#011validation-rmse:2.9`: xgboost's eval line with its tabs as CloudWatch shows them."""
    fields = [
        f"{split}-{metric}:{history[-1]:.5f}"
        for split, metrics in evals_log.items()
        for metric, history in metrics.items()
    ]
    return f"[{epoch}]#011" + "#011".join(fields)


class RoundLog(xgb.callback.TrainingCallback):
    """Prints `round_line` after every round."""

    def after_iteration(self, model: object, epoch: int, evals_log: dict) -> bool:
        print(round_line(epoch, evals_log), flush=True)
        return False


def report_failure(base: Path, cause: str) -> None:
    print(cause, file=sys.stderr, flush=True)
    output = base / "output"
    output.mkdir(parents=True, exist_ok=True)
    failure = output / "failure"
    if not failure.exists():
        failure.write_text(cause + "\n", encoding="utf-8")


def main() -> int:
    base = base_dir()
    try:
        train(base)
    except AlgorithmError as error:
        report_failure(base, f"ClientError: {error}")
        return 1
    except (OSError, json.JSONDecodeError) as error:
        report_failure(base, f"AlgorithmError: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
