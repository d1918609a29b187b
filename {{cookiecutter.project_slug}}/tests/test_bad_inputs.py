"""Bad processing and training inputs, one table per entry point (preprocess.py, the training script of the config,
the built-in XGBoost stand-in): each fails the job with a first line that says what is wrong and how to fix it (the
ExitMessage of a processing job, the failure file of a training job), never a raw traceback, and writes no output.
Entry points that the project's framework or mode does not use are skipped."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import CONFIG, PROJECT_ROOT, TRAINING_HYPERPARAMETERS, hyperparameter_args
from sm_engine.packaging import write_data_schema

CLASSES = CONFIG.data.classes
TARGET = CONFIG.data.target
TRAINING_SCRIPTS = ("train.py", "train_xgboost.py", "train_pytorch.py")
Texts = dict[str, str | None]
"""File name (or channel) -> its text; None: the file (or channel) is not there at all."""


@dataclass(frozen=True)
class Case:
    """One bad input: how to spoil good input, and two fragments of the first line of the job's reason: what is
    wrong and how to fix it (`what=None`: the input is valid for this entry point and the job must succeed)."""

    id: str
    spoil: Callable[[Texts], Texts]
    what: str | None
    fix: str = ""
    classification_only: bool = False


def params(cases: list[Case]) -> list:
    """pytest params of the cases, a classification-only case skipped in a regression project."""
    skip = pytest.mark.skip(reason="a regression has no classes")
    return [
        pytest.param(case, id=case.id, marks=[skip] if case.classification_only and CLASSES is None else [])
        for case in cases
    ]


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def assert_clean_reason(reason: str, case: Case, prefix: str) -> None:
    """The first line is a handled cause (`prefix`), names what is wrong and how to fix it; no traceback first."""
    line = first_line(reason)
    assert line.startswith(prefix), reason
    assert case.what in line and case.fix in line, line
    assert "Traceback" not in line and "Stack trace" not in reason


def lines(text: str | None) -> list[str]:
    return [] if text is None else text.splitlines(keepends=True)


def edit_cell(text: str | None, row: int, column: int, value: str) -> str:
    """The CSV text with one cell replaced (row and column from 0, the header row of a raw file counted)."""
    rows = [line.rstrip("\n").split(",") for line in lines(text)]
    rows[row][column] = value
    return "".join(",".join(cells) + "\n" for cells in rows)


def drop_column(text: str | None, column: int) -> str:
    return "".join(
        ",".join(line.rstrip("\n").split(",")[:column] + line.rstrip("\n").split(",")[column + 1 :]) + "\n"
        for line in lines(text)
    )


def blank_column(text: str | None, column: int, keep_header: bool) -> str:
    out = []
    for index, line in enumerate(lines(text)):
        cells = line.rstrip("\n").split(",")
        if index or not keep_header:
            cells[column] = ""
        out.append(",".join(cells) + "\n")
    return "".join(out)


def header_for(text: str | None) -> str:
    """A header row as wide as the CSV text: `target,f1,f2,...`."""
    width = len(lines(text)[0].split(","))
    return ",".join(["target"] + [f"f{index}" for index in range(1, width)]) + "\n"


def keep_columns(text: str | None, count: int) -> str:
    return "".join(",".join(line.rstrip("\n").split(",")[:count]) + "\n" for line in lines(text))


# -- the processing job (jobs/preprocess.py) ------------------------------------------------------------------------

RAW = "data.csv"
RAW_TEXT = (PROJECT_ROOT / CONFIG.data.local_path).read_text()
HEADER = RAW_TEXT.splitlines()[0].split(",")
NUMERIC = next(name for name, kind in CONFIG.data.columns.items() if kind == "numeric")


def raw_column(name: str) -> int:
    return [column.strip() for column in HEADER].index(name)


def rename_column(texts: Texts, name: str, new: str) -> Texts:
    text = str(texts[RAW])
    head, _, rest = text.partition("\n")
    cells = [new if cell.strip() == name else cell for cell in head.split(",")]
    return {RAW: ",".join(cells) + "\n" + rest}


PROCESSING_CASES = [
    Case("missing-input", lambda texts: {}, "the processing input 'raw' is missing", "add a 'raw' input"),
    Case("no-csv-file", lambda texts: {RAW: None}, "the processing input 'raw' is empty", "upload the data"),
    Case("empty-file", lambda texts: {RAW: ""}, "is empty (0 bytes)", "upload the data again"),
    Case(
        "header-only",
        lambda texts: {RAW: lines(texts[RAW])[0]},
        "has a header row but no data rows",
        "add the data rows",
    ),
    Case(
        "wrong-columns",
        lambda texts: rename_column(texts, NUMERIC, "renamed"),
        f"column(s) {NUMERIC!r} not in the header",
        "fix the header row",
    ),
    Case(
        "no-target-column",
        lambda texts: rename_column(texts, TARGET, "goal"),
        f"column(s) {TARGET!r} not in the header",
        "data.target in config/project.yaml",
    ),
    Case(
        "all-nan-feature",
        lambda texts: {RAW: blank_column(texts[RAW], raw_column(NUMERIC), keep_header=True)},
        f"{NUMERIC!r} have no value in any row",
        "fill them in the data",
    ),
    Case(
        "label-not-in-classes",
        lambda texts: {RAW: edit_cell(texts[RAW], 1, raw_column(TARGET), "unheard-of")},
        "labels that the classes",
        "add them to data.classes",
        classification_only=True,
    ),
    Case(
        "non-numeric",
        lambda texts: {RAW: edit_cell(texts[RAW], 3, raw_column(NUMERIC), "heavy")},
        f"line 4, column {NUMERIC!r}: 'heavy' is not a number",
        "fix those values",
    ),
    Case(
        "single-row",
        lambda texts: {RAW: "".join(lines(texts[RAW])[:2])},
        "1 row(s) are too few to split",
        "add rows",
    ),
    Case("not-utf8", lambda texts: {RAW: "\udcff"}, "not a readable CSV file", "save it as UTF-8 CSV"),
]


def write_texts(folder: Path, texts: Texts) -> None:
    """Each text as a file in `folder` (created); None creates the folder only."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        if text is not None:
            (folder / name).write_bytes(text.encode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("case", params(PROCESSING_CASES))
def test_bad_processing_input_fails_with_a_clear_exit_message(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import preprocess

    texts = case.spoil({RAW: RAW_TEXT})
    if texts:
        write_texts(tmp_path / "processing" / "input" / "raw", texts)
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    schema = write_data_schema(CONFIG.data, tmp_path)
    arguments = ["--target", TARGET, "--schema", str(schema)] + (["--classes", json.dumps(CLASSES)] if CLASSES else [])
    assert preprocess.main(arguments) == 1
    message = (tmp_path / "output" / "message").read_text()
    assert_clean_reason(message, case, "preprocess.py: error: ")
    assert first_line(message) in capsys.readouterr().err
    output = tmp_path / "processing" / "output"
    assert not output.exists() or not any(path.is_file() for path in output.rglob("*"))


# -- the training script of the config (jobs/train.py, train_xgboost.py, train_pytorch.py) ------------------------


def good_channels(processed: Path) -> Texts:
    return {name: (processed / name / f"{name}.csv").read_text() for name in ("train", "validation")}


TRAINING_CASES = [
    Case(
        "missing-channel",
        lambda texts: {**texts, "validation": None},
        "channel 'validation' is missing",
        "add a 'validation' input channel",
    ),
    Case("no-file", lambda texts: {**texts, "train": "<folder>"}, "channel 'train' is empty", "S3 prefix"),
    Case("empty-file", lambda texts: {**texts, "validation": ""}, "is empty (0 bytes)", "rerun the processing job"),
    Case(
        "header-only",
        lambda texts: {**texts, "validation": header_for(texts["validation"])},
        "holds only a header row",
        "no header",
    ),
    Case(
        "header-row",
        lambda texts: {**texts, "train": header_for(texts["train"]) + str(texts["train"])},
        "starts with a header row",
        "header=False",
    ),
    Case(
        "wrong-columns",
        lambda texts: {**texts, "validation": drop_column(texts["validation"], 1)},
        "feature columns but validation has",
        "outputs of the same processing job",
    ),
    Case(
        "target-only",
        lambda texts: {name: keep_columns(text, 1) for name, text in texts.items()},
        "expected the target then at least one feature column",
        "processing job's output",
    ),
    Case(
        "all-nan-feature",
        lambda texts: {**texts, "train": blank_column(texts["train"], 2, keep_header=False)},
        "column 3 is empty in every row",
        "imputes missing values",
    ),
    Case(
        "missing-value",
        lambda texts: {**texts, "train": edit_cell(texts["train"], 4, 2, "")},
        "row 5, column 3 is empty",
        "imputes missing values",
    ),
    Case(
        "label-not-in-classes",
        lambda texts: {**texts, "train": edit_cell(texts["train"], 0, 0, str(len(CLASSES or [])))},
        "is not a class code",
        "position in the classes list",
        classification_only=True,
    ),
    Case(
        "non-numeric",
        lambda texts: {**texts, "train": edit_cell(texts["train"], 2, 1, "abc")},
        "row 3, column 2: 'abc' is not a number",
        "numbers only",
    ),
    Case(
        "infinite",
        lambda texts: {**texts, "validation": edit_cell(texts["validation"], 0, 1, "inf")},
        "row 1, column 2 is 'inf', not a finite number",
        "numbers only",
    ),
    Case(
        "single-row",
        lambda texts: {**texts, "train": lines(texts["train"])[0]},
        "channel 'train' has 1 row",
        "add data",
    ),
]


def stage_channels(base: Path, texts: Texts, monkeypatch: pytest.MonkeyPatch, label: str = "{name}.csv") -> None:
    """Channel folders under base/input/data (a channel whose text is None is not there; `<folder>`: no file)."""
    for name, text in texts.items():
        if text is None:
            continue
        folder = base / "input" / "data" / name
        folder.mkdir(parents=True)
        if text != "<folder>":
            (folder / label.format(name=name)).write_text(text)
        monkeypatch.setenv(f"SM_CHANNEL_{name.upper()}", str(folder))


@pytest.mark.parametrize("script", TRAINING_SCRIPTS)
@pytest.mark.parametrize("case", params(TRAINING_CASES))
def test_bad_channels_fail_the_training_script_with_a_clear_failure_file(
    script: str, case: Case, tmp_path: Path, processed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if script != CONFIG.training.entry_point:
        pytest.skip(f"jobs/{script} is not this project's training entry point (another framework or mode)")
    for name in ("train", "validation"):
        monkeypatch.setenv(f"SM_CHANNEL_{name.upper()}", str(tmp_path / "input" / "data" / name))
    stage_channels(tmp_path, case.spoil(good_channels(processed)), monkeypatch)
    for variable, folder in (("SM_MODEL_DIR", "model"), ("SM_OUTPUT_DIR", "output")):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(tmp_path / "output" / "data"))
    module = importlib.import_module(script.removesuffix(".py"))
    assert module.main(hyperparameter_args(TRAINING_HYPERPARAMETERS)) == 1
    assert_clean_reason((tmp_path / "output" / "failure").read_text(), case, "TrainingError: ")
    model = tmp_path / "model"
    assert not model.exists() or not any(model.iterdir())


# -- the built-in XGBoost algorithm's stand-in (local/emulators/xgboost_algorithm.py) -------------------------------

EMULATOR_CASES = [
    Case(
        "missing-channel",
        lambda texts: {**texts, "train": None},
        "channel train is required",
        "add a train input channel",
    ),
    Case("no-file", lambda texts: {**texts, "train": "<folder>"}, "channel train: no data files", "S3 prefix"),
    Case("empty-file", lambda texts: {**texts, "validation": ""}, "validation.csv is empty", "rerun the job"),
    Case(
        "header-only",
        lambda texts: {**texts, "train": "label,a,b\n"},
        "is not numeric CSV with the label first and no header row",
    ),
    Case(
        "wrong-columns",
        lambda texts: {**texts, "validation": drop_column(texts["validation"], 1)},
        "different numbers of feature columns",
        "same processing job",
    ),
    Case(
        "label-only",
        lambda texts: {name: keep_columns(text, 1) for name, text in texts.items()},
        "expected the label then at least one feature column",
    ),
    # the container reads an empty field as a missing value, which XGBoost handles: the job trains
    Case("all-nan-feature", lambda texts: {**texts, "train": blank_column(texts["train"], 2, False)}, None),
    Case(
        "missing-label",
        lambda texts: {**texts, "train": edit_cell(texts["train"], 3, 0, "")},
        "row 4 has no label",
        "put each row's label first",
    ),
    Case(
        "label-not-in-classes",
        lambda texts: {**texts, "train": edit_cell(texts["train"], 0, 0, str(len(CLASSES or []) + 5))},
        "label must be",  # binary: "label must be in [0,1]"; multiclass: "label must be discrete values in ..."
        classification_only=True,
    ),
    Case(
        "non-numeric",
        lambda texts: {**texts, "train": edit_cell(texts["train"], 2, 1, "abc")},
        "is not numeric CSV",
        "label first",
    ),
    # one row trains a (poor) booster in the container too
    Case("single-row", lambda texts: {**texts, "train": lines(texts["train"])[0]}, None),
]


def emulator_hyperparameters() -> dict[str, str]:
    objective = {
        "regression": {"objective": "reg:squarederror"},
        "binary_classification": {"objective": "binary:logistic"},
        "multiclass_classification": {"objective": "multi:softprob", "num_class": str(len(CLASSES or []))},
    }[CONFIG.data.problem_type]
    return {**objective, "num_round": "3"}


@pytest.mark.parametrize("case", params(EMULATOR_CASES))
def test_bad_channels_fail_the_builtin_xgboost_stand_in_with_its_failure_reason(
    case: Case, tmp_path: Path, processed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if CONFIG.training.framework != "xgboost":
        pytest.skip("the built-in XGBoost stand-in serves xgboost projects only")
    algorithm = importlib.import_module("sm_engine.local.emulators.xgboost_algorithm")
    texts = case.spoil(good_channels(processed))
    stage_channels(tmp_path, texts, monkeypatch)
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(emulator_hyperparameters()))
    channels = {name: {"ContentType": "text/csv"} for name, text in texts.items() if text is not None}
    (config / "inputdataconfig.json").write_text(json.dumps(channels))
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path))
    code = algorithm.main()
    model = tmp_path / "model" / "xgboost-model"
    if case.what is None:
        assert code == 0 and model.is_file()
        return
    assert code == 1
    assert_clean_reason((tmp_path / "output" / "failure").read_text(), case, "ClientError: ")
    assert not model.exists()


def test_the_tables_cover_every_kind_of_bad_input() -> None:
    """The kinds of bad input issue 4 lists, in each table (where the entry point reads that kind of input)."""
    kinds = {"missing-", "empty-file", "header-only", "wrong-columns", "all-nan-feature", "label-not-in-classes"}
    kinds |= {"non-numeric", "single-row"}
    for table in (PROCESSING_CASES, TRAINING_CASES, EMULATOR_CASES):
        ids = [case.id for case in table]
        assert all(any(case_id.startswith(kind) for case_id in ids) for kind in kinds), ids
        assert len(set(ids)) == len(ids)


def test_a_header_row_in_a_channel_is_named_with_its_cells(tmp_path: Path) -> None:
    from sm_runtime.training import TrainingError, read_matrix

    path = tmp_path / "train.csv"
    pd.DataFrame({"y": [18.0, 15.0], "size": [3504, 3693]}).to_csv(path, index=False)
    with pytest.raises(TrainingError, match=r"starts with a header row \['y', 'size'\]"):
        read_matrix(path, "train")
