"""`data init`: each inference rule of schema_inference, each unusable file refused (exit 2, config untouched), the
config's comments kept, a second run changing nothing, and the sections that follow the problem type."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import PROJECT_ROOT, bake
from typer.testing import CliRunner

from sm_engine.cli import app
from sm_engine.config import load_config
from sm_engine.schema_inference import DataError, infer_schema, ordered_classes, section_yaml

ROWS = 60


def csv_text(columns: dict[str, list[str]]) -> str:
    """A CSV with these columns (same lengths), comma-separated, quoted where needed."""
    names = list(columns)
    rows = zip(*(columns[name] for name in names), strict=True)
    lines = [",".join(names)] + [",".join(f'"{v}"' if "," in v or " " in v else v for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def sample_columns(rows: int = ROWS, seed: int = 3) -> dict[str, list[str]]:
    """One column of every kind, plus a binary target `churned`."""
    pick = random.Random(seed)
    return {
        "customer_id": [str(1000 + i) for i in range(rows)],
        "user_key": [str(pick.randrange(10**9)) for _ in range(rows)],
        "token": [f"t{pick.randrange(10**9)}x{i}" for i in range(rows)],
        "plan": [pick.choice(["basic", "pro", "max"]) for _ in range(rows)],
        "monthly": [f"{pick.uniform(5, 90):.2f}" if i % 7 else "?" for i in range(rows)],
        "stars": [str(pick.randint(1, 5)) for _ in range(rows)],
        "active": [pick.choice(["Yes", "No"]) for _ in range(rows)],
        "verified": [pick.choice(["0", "1"]) for _ in range(rows)],
        "notes": [f"note number {i}" for i in range(rows)],
        "city": [f"city{pick.randrange(45)}" for _ in range(rows)],
        "region": [pick.choice(["north", "south", "NA"]) for _ in range(rows)],
        "constant": ["x"] * rows,
        "blank": [""] * rows,
        "churned": ["yes" if i % 3 == 0 else "no" for i in range(rows)],
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the default project's config and data."""
    root = tmp_path / "project"
    for folder in ("config", "data"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    return root


def data_init(project: Path, csv: Path | str, *options: str) -> Any:
    arguments = ["data", "init", str(csv), *options, "--config", str(project / "config" / "project.yaml")]
    return CliRunner().invoke(app, arguments, env={"COLUMNS": "300"})


# -- inference rules ---------------------------------------------------------------------------------------------------


def test_each_column_gets_its_kind_or_a_reason_to_be_ignored(tmp_path: Path) -> None:
    schema = infer_schema(write(tmp_path, "d.csv", csv_text(sample_columns())), "churned")
    assert schema.columns == {
        "plan": "categorical",
        "monthly": "numeric",
        "stars": "categorical",  # integers with few distinct values are codes
        "active": "boolean",
        "verified": "boolean",
        "region": "categorical",
    }
    assert schema.ignore == ["customer_id", "user_key", "token", "notes", "city", "constant", "blank"]
    notes = schema.notes
    assert notes["customer_id"].startswith("ID-like") and notes["user_key"].startswith("ID-like")
    assert notes["token"].startswith("ID-like") and notes["notes"].startswith("free text")
    assert notes["city"].startswith("free text") and notes["constant"].startswith("constant")
    assert notes["blank"].startswith("no values")
    assert schema.missing_values == ["", "?", "NA"]


def test_unique_integers_that_are_neither_a_run_nor_named_like_an_id_are_numbers(tmp_path: Path) -> None:
    columns = {"weight": [str(1000 + 7 * i * i) for i in range(ROWS)], "y": [str(i * 1.5) for i in range(ROWS)]}
    assert infer_schema(write(tmp_path, "d.csv", csv_text(columns)), "y").columns == {"weight": "numeric"}


@pytest.mark.parametrize(
    ("labels", "problem_type", "classes"),
    [
        ([f"{i * 0.37:.2f}" for i in range(ROWS)], "regression", None),
        ([str(i % 40) for i in range(ROWS)], "regression", None),  # integers, too many distinct values for codes
        (["1", "0", "0"] * 20, "binary_classification", ["0", "1"]),
        (["spam", "ham", "ham"] * 20, "binary_classification", ["ham", "spam"]),
        (["low", "medium", "high"] * 20, "multiclass_classification", ["high", "low", "medium"]),
        (["10", "2", "3"] * 20, "multiclass_classification", ["2", "3", "10"]),  # integer codes, in numeric order
    ],
    ids=["floats", "many-integers", "binary-01", "binary-text", "multiclass-text", "multiclass-codes"],
)
def test_the_problem_type_and_the_classes_follow_the_target(
    tmp_path: Path, labels: list[str], problem_type: str, classes: list[str] | None
) -> None:
    columns = {"x": [str(i) for i in range(len(labels))], "z": ["a", "b"] * (len(labels) // 2), "y": labels}
    schema = infer_schema(write(tmp_path, "d.csv", csv_text(columns)), "y")
    assert (schema.problem_type, schema.classes) == (problem_type, classes)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["yes", "no"], ["no", "yes"]),
        (["True", "False"], ["False", "True"]),
        (["zzz", "yes"], ["zzz", "yes"]),  # the recognisable positive label goes second
        (["abnormal", "no"], ["no", "abnormal"]),  # the recognisable negative label goes first
        (["ham", "spam"], ["ham", "spam"]),  # nothing recognisable: sorted
        (["1", "-1"], ["-1", "1"]),
    ],
)
def test_binary_classes_put_the_positive_label_second(labels: list[str], expected: list[str]) -> None:
    assert ordered_classes(labels) == expected


def test_the_problem_type_can_be_chosen_when_the_target_allows_it(tmp_path: Path) -> None:
    columns = {"x": [str(i * 3 % 17) for i in range(ROWS)], "y": [str(i % 5) for i in range(ROWS)]}
    path = write(tmp_path, "d.csv", csv_text(columns))
    assert infer_schema(path, "y").problem_type == "multiclass_classification"
    assert infer_schema(path, "y", "regression").classes is None


def test_the_bake_hook_writes_the_same_section_as_yaml_that_loads_back(tmp_path: Path) -> None:
    columns = {"yes": ["1.5", "2.5", "3.5"] * 20, "on": ["a", "b", "c"] * 20, "1st": ["x", "y"] * 30}
    schema = infer_schema(write(tmp_path, "d.csv", csv_text({**columns, "y": ["no", "yes", "no"] * 20})), "y")
    section = yaml.safe_load(section_yaml(schema.section("data/d.csv"), schema.notes))["data"]
    assert section["classes"] == ["no", "yes"]
    assert section["columns"] == {"yes": "numeric", "on": "categorical", "1st": "categorical"}


# -- unusable files ----------------------------------------------------------------------------------------------------

GOOD = csv_text({"a": [str(i % 9) for i in range(ROWS)], "y": ["p", "q", "r"] * (ROWS // 3)})
BAD: list[tuple[str, str | bytes, str, str]] = [
    ("empty", "", "y", "d.csv is empty"),
    ("blank-lines", "\n\n  \n", "y", "d.csv is empty"),
    ("binary", b"\x00\x01\x02garbage\x00" * 20, "y", "binary file"),
    ("xlsx", b"PK\x03\x04" + b"\x00" * 64, "y", "Excel .xlsx"),
    ("not-utf8", "a,y\ncaf\u00e9,1\n".encode("latin1"), "y", "iconv -f latin1 -t utf-8 d.csv"),
    ("one-column", "a;y\n1;2\n", "y", "one column only (it looks separated by semicolons)"),
    ("ragged", "a,y\n1,2\n3,4,5\n", "y", "line 3 has 3 fields but the header has 2"),
    ("no-header", "18.0,8,chevrolet\n15.0,8,buick\n", "y", "no header: its first line looks like data"),
    ("unnamed-column", "a,,y\n1,2,3\n", "y", "column 2 of the header has no name"),
    ("duplicate-names", "a,b,a,y\n1,2,3,4\n", "y", "'a' appears twice (columns 1 and 3)"),
    ("header-only", "a,y\n", "y", "no rows of data"),
    ("target-absent", GOOD, "label", "target 'label' is not a column of the file; choose one of: a, y"),
    ("target-empty", csv_text({"a": ["1", "2"] * 30, "y": [""] * 60}), "y", "target 'y' is empty"),
    ("target-gaps", csv_text({"a": ["1", "2"] * 30, "y": ["1.5", "?"] * 30}), "y", "has no value in 30 row(s)"),
    ("single-class", csv_text({"a": ["1", "2"] * 30, "y": ["yes"] * 60}), "y", "a single value ('yes')"),
    (
        "scarce-class",
        csv_text({"a": [str(i % 9) for i in range(ROWS)], "y": ["p"] * 57 + ["q"] * 3}),
        "y",
        "class 'q' (3 rows) has too few rows for the stratified split",
    ),
    ("too-few-rows", "a,y\n1,2.5\n2,3.5\n", "y", "too few to split"),
]


@pytest.mark.parametrize(("content", "target", "fragment"), [r[1:] for r in BAD], ids=[r[0] for r in BAD])
def test_unusable_data_exits_2_with_the_fix_and_leaves_the_config(
    project: Path, tmp_path: Path, content: str | bytes, target: str, fragment: str
) -> None:
    config = project / "config" / "project.yaml"
    before = config.read_bytes()
    result = data_init(project, write(tmp_path, "d.csv", content), "--target", target)
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert config.read_bytes() == before
    assert not (project / "data" / "d.csv").exists()


@pytest.mark.parametrize(
    ("labels", "problem_type", "fragment"),
    [
        (["a", "b", "c"] * 20, "regression", "not a number in every row (e.g. 'a')"),
        (["1", "2"] * 30, "regression", "two values only, a regression does not fit"),
        (["a", "b", "c"] * 20, "binary_classification", "binary_classification needs exactly 2"),
        (["a", "b"] * 30, "multiclass_classification", "choose problem type binary_classification"),
    ],
)
def test_a_problem_type_the_target_cannot_be_is_refused(
    project: Path, tmp_path: Path, labels: list[str], problem_type: str, fragment: str
) -> None:
    path = write(tmp_path, "d.csv", csv_text({"a": [str(i % 7) for i in range(ROWS)], "y": labels}))
    result = data_init(project, path, "--target", "y", "--problem-type", problem_type)
    assert result.exit_code == 2 and fragment in result.output, result.output


def test_data_error_tells_the_target_apart(tmp_path: Path) -> None:
    with pytest.raises(DataError) as raised:
        infer_schema(write(tmp_path, "d.csv", GOOD), "missing")
    assert raised.value.about_target


# -- writing the config ------------------------------------------------------------------------------------------------


def comment_lines(text: str) -> list[str]:
    """Every comment of the YAML text, in order."""
    lines = [line for line in text.splitlines() if line.lstrip().startswith("#") or "   # " in line]
    return [line[line.index("#") :] for line in lines]


def test_writes_the_data_section_keeps_the_comments_and_copies_an_outside_file(project: Path, tmp_path: Path) -> None:
    config = project / "config" / "project.yaml"
    before = config.read_text(encoding="utf-8")
    source = write(tmp_path / "elsewhere", "churn.csv", csv_text(sample_columns()))
    result = data_init(project, source, "--target", "churned")
    assert result.exit_code == 0, result.output
    assert f"Copied {source} into the project as data/churn.csv" in " ".join(result.output.split())
    assert "Warning: ignored 'customer_id': ID-like" in result.output
    assert (project / "data" / "churn.csv").read_bytes() == source.read_bytes()
    after = config.read_text(encoding="utf-8")
    data = yaml.safe_load(after)["data"]
    assert data["local_path"] == "data/churn.csv" and data["problem_type"] == "binary_classification"
    assert data["classes"] == ["no", "yes"] and data["target"] == "churned"
    assert data["ignore"][0] == "customer_id" and data["missing_values"] == ["", "?", "NA"]
    assert data["split"] == yaml.safe_load(before)["data"]["split"]
    data_block = before.split("\ndata:\n")[1].split("\n\n")[0]
    kept = [line for line in comment_lines(before) if line not in comment_lines(data_block)]
    changed = ("# the default of the pipeline parameter",)  # the comment names the new threshold parameter
    assert [line for line in kept if not line.startswith(changed)] == [
        line for line in comment_lines(after) if line in kept
    ]
    assert "# S3 layout under s3://<bucket>/<prefix>/\nstorage:" in after
    load_config(config)


def test_a_second_run_changes_nothing(project: Path) -> None:
    config = project / "config" / "project.yaml"
    source = write(project / "data", "churn.csv", csv_text(sample_columns()))
    assert data_init(project, source, "--target", "churned").exit_code == 0
    first = config.read_bytes()
    again = data_init(project, source, "--target", "churned")
    assert again.exit_code == 0 and "Copied" not in again.output
    assert config.read_bytes() == first
    assert yaml.safe_load(first)["data"]["local_path"] == "data/churn.csv"


def test_a_different_file_of_the_same_name_in_data_is_not_overwritten(project: Path, tmp_path: Path) -> None:
    write(project / "data", "churn.csv", "other,content\n1,2\n")
    result = data_init(project, write(tmp_path, "churn.csv", csv_text(sample_columns())), "--target", "churned")
    assert result.exit_code == 2 and "data/churn.csv already exists" in result.output
    assert (project / "data" / "churn.csv").read_text(encoding="utf-8") == "other,content\n1,2\n"


FOLLOWING = (
    ("training", "metric_definitions"),
    ("training", "hyperparameters"),
    ("tuning", "objective"),
    ("pipeline", "condition"),
)


@pytest.mark.parametrize(
    ("answers", "labels", "problem_type"),
    [
        ({}, ["no", "yes", "no"], "binary_classification"),
        ({"problem_type": "binary_classification"}, ["a", "b", "c"], "multiclass_classification"),
        (
            {"framework": "xgboost", "algorithm": "gbtree", "sagemaker_mode": "builtin"},
            ["a", "b", "c"],
            "multiclass_classification",
        ),
        ({"framework": "pytorch", "algorithm": "mlp", "problem_type": "multiclass_classification"}, None, "regression"),
    ],
    ids=["sklearn-to-binary", "binary-to-multiclass", "builtin-to-multiclass", "pytorch-to-regression"],
)
def test_the_sections_that_depend_on_the_problem_type_follow_it(
    tmp_path: Path, answers: dict[str, str], labels: list[str] | None, problem_type: str
) -> None:
    """As if the project had been baked for the data's problem type."""
    project = bake(**answers)
    target = labels * (ROWS // 3) if labels else [f"{i * 0.7:.1f}" for i in range(ROWS)]
    columns = {"a": [str(i * 7 % 13) for i in range(ROWS)], "b": ["u", "v"] * (ROWS // 2), "y": target}
    result = data_init(project, write(tmp_path, "d.csv", csv_text(columns)), "--target", "y")
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((project / "config" / "project.yaml").read_text(encoding="utf-8"))
    reference = yaml.safe_load((bake(**{**answers, "problem_type": problem_type}) / "config/project.yaml").read_text())
    for section, key in FOLLOWING:
        assert written[section].get(key) == reference[section].get(key), f"{section}.{key}"
    load_config(project / "config" / "project.yaml")


def test_the_linear_algorithm_set_up_for_regression_refuses_a_classification(tmp_path: Path) -> None:
    project = bake(algorithm="linear")
    config = project / "config" / "project.yaml"
    before = config.read_bytes()
    result = data_init(project, write(tmp_path, "d.csv", GOOD), "--target", "y")
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "the linear algorithm fits LogisticRegression ('C') for a multiclass_classification" in output
    assert "rename 'alpha' to 'C' in training.hyperparameters and tuning.ranges" in output
    assert config.read_bytes() == before


def test_new_data_of_the_same_problem_type_asks_for_a_fitting_threshold(project: Path, tmp_path: Path) -> None:
    config = project / "config" / "project.yaml"
    pipeline_before = yaml.safe_load(config.read_text(encoding="utf-8"))["pipeline"]
    columns = {"a": [str(i * 7 % 13) for i in range(ROWS)], "y": [f"{i * 70.5:.1f}" for i in range(ROWS)]}
    result = data_init(project, write(tmp_path, "d.csv", csv_text(columns)), "--target", "y")
    assert result.exit_code == 0, result.output
    expected = "pipeline.condition: regression_metrics.rmse.value <= 6.0 was set for data/auto_mpg.csv; set a threshold"
    assert expected in " ".join(result.output.split())
    assert yaml.safe_load(config.read_text(encoding="utf-8"))["pipeline"] == pipeline_before
