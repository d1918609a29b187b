"""pre_gen_project rejects every invalid answer with a line naming the field, and leaves nothing on disk."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PROJECT_TEMPLATE, SLUG_TOKEN, TEMPLATE, literal_choices, load_hook, project_files, rendered_answers

pre_gen = load_hook("pre_gen_project")

SLUG = {"project_slug": "my_project"}
# (id, answers, a fragment the error output must contain)
INVALID: list[tuple[str, dict[str, str], str]] = [
    ("slug-uppercase", {"project_slug": "MyProject"}, "ERROR: project_slug: 'MyProject' must start with"),
    ("slug-leading-digit", {"project_slug": "1project"}, "ERROR: project_slug: '1project'"),
    ("slug-leading-underscore", {"project_slug": "_project"}, "ERROR: project_slug: '_project'"),
    ("slug-hyphen", {"project_slug": "my-project"}, "ERROR: project_slug: 'my-project'"),
    ("slug-trailing-underscore", {"project_slug": "project_"}, "ERROR: project_slug: 'project_'"),
    ("slug-trailing-newline", {"project_slug": "project\n"}, "ERROR: project_slug: 'project\\n'"),
    ("slug-keyword", {"project_slug": "class"}, "ERROR: project_slug: 'class' is a Python keyword"),
    ("slug-stdlib", {"project_slug": "json"}, "ERROR: project_slug: 'json' would shadow"),
    ("slug-test", {"project_slug": "test"}, "ERROR: project_slug: 'test' would shadow"),
    ("slug-sklearn", {"project_slug": "sklearn"}, "ERROR: project_slug: 'sklearn' would shadow"),
    ("slug-boto3", {"project_slug": "boto3"}, "ERROR: project_slug: 'boto3' would shadow"),
    ("slug-jobs-module", {"project_slug": "features"}, "ERROR: project_slug: 'features' would shadow"),
    ("slug-too-long", {"project_slug": "a" * 41}, "ERROR: project_slug: 'aaaa"),
    ("slug-soft-keyword-type", {"project_slug": "type"}, "ERROR: project_slug: 'type' is a Python keyword"),
    ("slug-soft-keyword-match", {"project_slug": "match"}, "ERROR: project_slug: 'match' is a Python keyword"),
    ("slug-dateutil", {"project_slug": "dateutil"}, "ERROR: project_slug: 'dateutil' would shadow"),
    ("slug-packaging", {"project_slug": "packaging"}, "ERROR: project_slug: 'packaging' would shadow"),
    ("slug-pluggy", {"project_slug": "pluggy"}, "ERROR: project_slug: 'pluggy' would shadow"),
    ("slug-typing-extensions", {"project_slug": "typing_extensions"}, "ERROR: project_slug: 'typing_extensions'"),
    ("slug-pytz", {"project_slug": "pytz"}, "ERROR: project_slug: 'pytz' would shadow"),
    ("slug-from-name-digit", {"project_name": "2048 Predictor"}, "pass project_slug=<name>"),
    ("name-blank", {**SLUG, "project_name": "   "}, "ERROR: project_name: must not be empty"),
    ("name-too-long", {**SLUG, "project_name": "x" * 81}, "ERROR: project_name: 81 characters"),
    ("name-tab", {**SLUG, "project_name": "a\tb"}, "ERROR: project_name: contains a line break"),
    ("description-newline", {"description": "one\ntwo"}, "ERROR: description: contains a line break"),
    ("description-too-long", {"description": "d" * 301}, "ERROR: description: 301 characters"),
    ("author-too-long", {"author_name": "n" * 101}, "ERROR: author_name: 101 characters"),
    ("author-escape", {"author_name": "a\x1bb"}, "ERROR: author_name: contains"),
    ("email-no-at", {"author_email": "not-an-email"}, "ERROR: author_email: 'not-an-email'"),
    ("email-no-domain", {"author_email": "a@b"}, "ERROR: author_email: 'a@b'"),
    ("region-uppercase", {"aws_region": "US-EAST-1"}, "ERROR: aws_region: 'US-EAST-1'"),
    ("region-no-dashes", {"aws_region": "useast1"}, "ERROR: aws_region: 'useast1'"),
    ("region-trailing-newline", {"aws_region": "us-east-1\n"}, "ERROR: aws_region: 'us-east-1\\n'"),
    ("bucket-uppercase", {"s3_bucket": "My_Bucket"}, "ERROR: s3_bucket: 'My_Bucket' is not a valid bucket name"),
    ("bucket-too-short", {"s3_bucket": "ab"}, "ERROR: s3_bucket: 'ab'"),
    ("bucket-too-long", {"s3_bucket": "b" * 64}, "ERROR: s3_bucket: 'bbbb"),
    ("bucket-leading-hyphen", {"s3_bucket": "-bucket"}, "ERROR: s3_bucket: '-bucket'"),
    ("bucket-double-dot", {"s3_bucket": "my..bucket"}, "ERROR: s3_bucket: 'my..bucket' has two adjacent dots"),
    ("bucket-ip", {"s3_bucket": "192.168.0.1"}, "ERROR: s3_bucket: '192.168.0.1' looks like an IP"),
    ("bucket-xn-prefix", {"s3_bucket": "xn--bucket"}, "ERROR: s3_bucket: 'xn--bucket' uses a prefix or suffix"),
    ("bucket-alias-suffix", {"s3_bucket": "data-s3alias"}, "ERROR: s3_bucket: 'data-s3alias' uses a prefix"),
    ("bucket-sthree-prefix", {"s3_bucket": "sthree-data"}, "ERROR: s3_bucket: 'sthree-data' uses a prefix"),
    ("bucket-directory-suffix", {"s3_bucket": "data--x-s3"}, "ERROR: s3_bucket: 'data--x-s3' uses a prefix"),
    ("role-no-name", {"role_arn": "arn:aws:iam::123456789012:role/"}, "ERROR: role_arn: 'arn:aws:iam::123456789012"),
    ("training-made-up-family", {"training_instance_type": "ml.zz.qq"}, "ERROR: training_instance_type: 'ml.zz.qq'"),
    ("role-short-account", {"role_arn": "arn:aws:iam::123:role/x"}, "ERROR: role_arn: 'arn:aws:iam::123:role/x'"),
    ("role-name-only", {"role_arn": "SageMakerRole"}, "ERROR: role_arn: 'SageMakerRole'"),
    ("processing-no-ml", {"processing_instance_type": "m5.large"}, "ERROR: processing_instance_type: 'm5.large'"),
    ("training-no-size", {"training_instance_type": "ml.m5"}, "ERROR: training_instance_type: 'ml.m5'"),
    ("inference-uppercase", {"inference_instance_type": "ML.M5.LARGE"}, "ERROR: inference_instance_type:"),
    ("max-jobs-zero", {"tuning_max_jobs": "0"}, "ERROR: tuning_max_jobs: '0' is not a whole number from 1 to 750"),
    ("max-jobs-751", {"tuning_max_jobs": "751"}, "ERROR: tuning_max_jobs: '751'"),
    ("max-jobs-word", {"tuning_max_jobs": "eight"}, "ERROR: tuning_max_jobs: 'eight'"),
    ("max-jobs-float", {"tuning_max_jobs": "8.5"}, "ERROR: tuning_max_jobs: '8.5'"),
    ("max-jobs-arabic-digit", {"tuning_max_jobs": "\u0668"}, "ERROR: tuning_max_jobs:"),
    ("parallel-101", {"tuning_max_parallel_jobs": "101"}, "ERROR: tuning_max_parallel_jobs: '101'"),
    ("parallel-above-max", {"tuning_max_parallel_jobs": "9"}, "ERROR: tuning_max_parallel_jobs: 9 exceeds"),
    (
        "container-random-forest",
        {"algorithm": "random_forest", "sagemaker_mode": "container"},
        "ERROR: algorithm: the container mode builds",
    ),
    (
        "additive-script",
        {"algorithm": "additive", "sagemaker_mode": "script"},
        "ERROR: algorithm: the container mode builds your own image",
    ),
    (
        "additive-xgboost",
        {"framework": "xgboost", "algorithm": "additive", "sagemaker_mode": "container"},
        "ERROR: algorithm: 'additive' does not fit framework 'xgboost'",
    ),
    (
        "algorithm-framework",
        {"framework": "xgboost", "algorithm": "random_forest"},
        "ERROR: algorithm: 'random_forest' does not fit",
    ),
    ("pytorch-gbtree", {"framework": "pytorch", "algorithm": "gbtree"}, "ERROR: algorithm: 'gbtree' does not fit"),
    ("builtin-sklearn", {"framework": "sklearn", "sagemaker_mode": "builtin"}, "ERROR: sagemaker_mode: builtin"),
    (
        "builtin-no-pipeline",
        {"framework": "xgboost", "algorithm": "gbtree", "sagemaker_mode": "builtin", "inference_pipeline": "no"},
        "ERROR: inference_pipeline: the built-in XGBoost container serves preprocessed feature rows only",
    ),
    (
        "builtin-serverless",
        {
            "framework": "xgboost",
            "algorithm": "gbtree",
            "sagemaker_mode": "builtin",
            "deployment_target": "serverless",
            "inference_pipeline": "no",
        },
        "ERROR: inference_pipeline: the built-in XGBoost container",
    ),
    (
        "serverless-gpu",
        {"deployment_target": "serverless", "inference_instance_type": "ml.g4dn.xlarge"},
        "ERROR: inference_instance_type: serverless endpoints have no GPU",
    ),
    (
        "serverless-two-variants",
        {"deployment_target": "serverless", "production_variants": "2"},
        "ERROR: production_variants: a serverless endpoint has exactly one variant",
    ),
    (
        "serverless-pipeline",
        {"deployment_target": "serverless", "inference_pipeline": "yes"},
        "ERROR: inference_pipeline: serverless",
    ),
    ("batch-api", {"deployment_target": "batch", "api": "yes"}, "ERROR: api: the API needs an endpoint"),
    (
        "batch-variants",
        {"deployment_target": "batch", "production_variants": "2"},
        "ERROR: production_variants: variants need an endpoint",
    ),
    ("data-target-alone", {"data_target": "y"}, "ERROR: data_target: 'y' needs data_csv"),
    ("data-csv-alone", {"data_csv": "/nonexistent/d.csv"}, "ERROR: data_target: blank; name the column"),
    (
        "data-csv-absent",
        {"data_csv": "/nonexistent/d.csv", "data_target": "y"},
        "ERROR: data_csv: /nonexistent/d.csv: cannot read it",
    ),
]

CHOICES = literal_choices()


def assert_rejected(result: Any, output: str, tmp_path: Path, fragment: str) -> None:
    """The bake failed in the hook, the output names the problem, and the output folder holds nothing."""
    assert result.exception is not None, f"the bake should have failed: {output}"
    assert fragment in output, output
    assert "Traceback" not in output
    leftovers = [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()]
    assert leftovers == []


@pytest.mark.parametrize(("answers", "fragment"), [row[1:] for row in INVALID], ids=[row[0] for row in INVALID])
def test_invalid_answers_are_rejected(
    cookies: Any, capfd: pytest.CaptureFixture[str], tmp_path: Path, answers: dict[str, str], fragment: str
) -> None:
    result = cookies.bake(extra_context=answers)
    assert_rejected(result, capfd.readouterr().err, tmp_path, fragment)


LABELS = ["yes", "no", "no"] * 20
ROWS = "\n".join(f"{i % 9},{label}" for i, label in enumerate(LABELS))
# (id, CSV content, target, problem_type, a fragment the error output must contain)
BAD_DATA: list[tuple[str, bytes, str, str, str]] = [
    ("empty", b"", "y", "binary_classification", "ERROR: data_csv: d.csv is empty"),
    ("binary", b"\x00\x01garbage" * 50, "y", "binary_classification", "ERROR: data_csv: d.csv is a binary file"),
    ("latin1", "a,y\ncaf\u00e9,1\n".encode("latin1"), "y", "regression", "iconv -f latin1 -t utf-8 d.csv"),
    ("ragged", b"a,y\n1,2\n3,4,5\n", "y", "regression", "ERROR: data_csv: d.csv: line 3 has 3 fields"),
    ("no-header", b"1.5,2\n2.5,3\n", "y", "regression", "ERROR: data_csv: d.csv has no header"),
    ("one-column", b"a;y\n1;2\n", "y", "regression", "ERROR: data_csv: d.csv has one column only"),
    ("target-absent", f"a,y\n{ROWS}\n".encode(), "label", "regression", "ERROR: data_target: target 'label' is not"),
    ("single-class", b"a,y\n" + b"1,yes\n2,yes\n" * 30, "y", "binary_classification", "a single value ('yes')"),
    (
        "problem-type-mismatch",
        f"a,y\n{ROWS}\n".encode(),
        "y",
        "regression",
        "ERROR: data_target: target 'y' is not a number in every row (e.g. 'yes'), so a regression cannot predict it; "
        "choose problem type binary_classification",
    ),
]


@pytest.mark.parametrize(
    ("content", "target", "problem_type", "fragment"), [row[1:] for row in BAD_DATA], ids=[row[0] for row in BAD_DATA]
)
def test_an_unusable_csv_is_rejected(
    cookies: Any,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes,
    target: str,
    problem_type: str,
    fragment: str,
) -> None:
    csv = tmp_path / "own" / "d.csv"
    csv.parent.mkdir()
    csv.write_bytes(content)
    result = cookies.bake(extra_context={"data_csv": str(csv), "data_target": target, "problem_type": problem_type})
    assert_rejected(result, " ".join(capfd.readouterr().err.split()), tmp_path, fragment)


@pytest.mark.parametrize("field", sorted(CHOICES))
def test_a_declared_value_that_is_not_implemented_yet_is_reported(field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every choice is implemented today; a value declared in cookiecutter.json ahead of its implementation (kept out
    of SUPPORTED) is rejected with the values that work."""
    default, *others = CHOICES[field]
    declared = others[0] if others else f"next-{default}"
    monkeypatch.setitem(pre_gen.SUPPORTED, field, (default,))
    expected = f"{field}: '{declared}' is not supported yet; supported: {default}"
    assert expected in pre_gen.problems_of({**default_answers(), field: declared})


def test_there_are_enough_cases() -> None:
    assert len(INVALID) >= 40


def default_answers() -> dict[str, Any]:
    return rendered_answers()


def test_the_defaults_have_no_problems() -> None:
    assert pre_gen.problems_of(default_answers()) == []


@pytest.mark.parametrize(
    "answers",
    [
        {"s3_bucket": "my-bucket.data-2024", "role_arn": "arn:aws-us-gov:iam::123456789012:role/service/SageMaker+x"},
        {"aws_region": "us-gov-west-1", "inference_instance_type": "ml.c5.xlarge", "tuning": "no"},
        {"tuning_strategy": "Random", "tuning_max_jobs": "750", "tuning_max_parallel_jobs": "100", "api": "no"},
        {"project_name": 'Joe\'s "Best" Prédicteur 日本', "author_name": "Zoë O'Brien", "ci": "none"},
        {"python_version": "3.13", "license": "Proprietary", "tuning_max_parallel_jobs": "8"},
        {"aws_region": "eusc-de-east-1", "training_instance_type": "ml.p6-b200.48xlarge"},
    ],
    ids=["bucket-and-gov-role", "gov-region", "max-tuning", "unicode-text", "py313", "new-region-and-family"],
)
def test_valid_variations_have_no_problems(answers: dict[str, str]) -> None:
    assert pre_gen.problems_of({**default_answers(), **answers}) == []


def test_supported_table_matches_cookiecutter_json() -> None:
    assert set(pre_gen.SUPPORTED) == set(CHOICES)
    for field, supported in pre_gen.SUPPORTED.items():
        assert set(supported) <= set(CHOICES[field]), field
        assert rendered_answers()[field] in supported, f"the default of {field} must be supported"


def test_slugs_of_the_projects_own_modules_are_reserved() -> None:
    files = project_files(PROJECT_TEMPLATE)
    modules = {Path(path).stem for path in files if path.startswith(("jobs/", "api/")) and path.endswith(".py")}
    packages = {path.split("/")[1] for path in files if path.startswith("src/") and SLUG_TOKEN not in path}
    assert modules | packages <= pre_gen.OWN_MODULES | {"__init__"}


def run_cli(tmp_path: Path, output: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    """Run the cookiecutter command line as a user would, with its own empty TMPDIR and HOME."""
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(temp), "HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output), str(TEMPLATE), *answers]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=tmp_path)


def test_cli_failure_leaves_no_project_and_no_rendered_hook(tmp_path: Path) -> None:
    output = tmp_path / "somewhere" / "deeper"
    done = run_cli(tmp_path, output, "project_slug=json", "aws_region=moon")
    assert done.returncode == 1
    assert "ERROR: project_slug: 'json' would shadow" in done.stderr
    assert "ERROR: aws_region: 'moon'" in done.stderr
    assert [p for p in (tmp_path / "somewhere").rglob("*") if p.is_file()] == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_cli_success_prints_next_steps_and_leaves_no_rendered_hook(tmp_path: Path) -> None:
    done = run_cli(tmp_path, tmp_path / "out", "api=no")
    assert done.returncode == 0, done.stderr
    assert "cd mpg_predictor" in done.stdout
    assert "mpg-predictor run" in done.stdout
    assert "python -m mpg_predictor run" in done.stdout
    assert not (tmp_path / "out" / "mpg_predictor" / "api").exists()
    assert list((tmp_path / "tmp").iterdir()) == []


PROJECT_DEPENDENCIES = ("sm-template-engine", "boto3", "joblib", "numpy", "pandas", "scikit-learn", "torch", "xgboost")
DEV_DEPENDENCIES = ("pytest", "pytest-xdist", "ruff", "cfn-lint")


def installed_closure(roots: tuple[str, ...]) -> set[str]:
    """The distributions installed here that `roots` need, directly or not (extras left out)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return seen


def test_every_module_the_dependencies_install_is_a_reserved_slug() -> None:
    from importlib import metadata

    from packaging.utils import canonicalize_name

    needed = installed_closure(PROJECT_DEPENDENCIES + DEV_DEPENDENCIES)
    modules = {
        module
        for module, distributions in metadata.packages_distributions().items()
        if pre_gen.SLUG_PATTERN.fullmatch(module) and {canonicalize_name(d) for d in distributions} & needed
    }
    assert {"pluggy", "packaging", "dateutil", "typing_extensions"} <= modules
    assert modules - pre_gen.RESERVED_SLUGS - sys.stdlib_module_names == set()


# (answers, the key in config/project.yaml, what the engine must read there)
YAML_LOOKALIKES = [
    ({"s3_bucket": "true"}, ("project", "bucket"), "true"),
    ({"s3_bucket": "yes"}, ("project", "bucket"), "yes"),
    ({"s3_bucket": "1234"}, ("project", "bucket"), "1234"),
    ({"s3_bucket": "null"}, ("project", "bucket"), "null"),
    ({"project_slug": "yes"}, ("project", "name"), "yes"),
    ({"project_slug": "null"}, ("project", "prefix"), "null"),
    ({"project_slug": "true"}, ("pipeline", "model_package_group"), "true"),
    ({"tuning_max_jobs": "010"}, ("tuning", "max_jobs"), 10),
]


@pytest.mark.parametrize(("answers", "key", "expected"), YAML_LOOKALIKES, ids=[str(row[0]) for row in YAML_LOOKALIKES])
def test_the_config_reads_the_answer_the_hook_checked(
    cookies: Any, answers: dict[str, str], key: tuple[str, str], expected: object
) -> None:
    from sm_engine.config import load_config

    result = cookies.bake(extra_context=answers)
    assert result.exception is None, result.exception
    path = Path(result.project_path) / "config" / "project.yaml"
    section, field = key
    assert yaml.safe_load(path.read_text(encoding="utf-8"))[section][field] == expected
    assert getattr(getattr(load_config(path), section), field) == expected


def test_a_slug_of_the_longest_length_bakes_a_ruff_clean_project(cookies: Any) -> None:
    slug = "a_forty_character_project_slug_of_length"
    assert len(slug) == 40
    result = cookies.bake(extra_context={"project_slug": slug, "framework": "pytorch", "production_variants": "2"})
    assert result.exception is None, result.exception
    for command in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
            cwd=result.project_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_an_invalid_answer_with_overwrite_reports_the_field_and_keeps_the_project(tmp_path: Path) -> None:
    assert run_cli(tmp_path, tmp_path / "out").returncode == 0
    config = tmp_path / "out" / "mpg_predictor" / "config" / "project.yaml"
    before = config.read_bytes()
    done = run_cli(tmp_path, tmp_path / "out", "-f", "aws_region=moon")
    assert done.returncode == 1
    assert done.stderr.startswith("ERROR: aws_region: 'moon' is not an AWS region")
    assert config.read_bytes() == before


# (answer, the config key it becomes, values): the hook and the config accept and refuse the same ones
SHARED_RULES = [
    ("s3_bucket", ("project", "bucket"), ["xn--data", "sthree-data", "data--x-s3", "my..bucket", "my-bucket.data"]),
    ("aws_region", ("project", "region"), ["eusc-de-east-1", "us-isob-east-1", "useast1", "us-east"]),
    ("training_instance_type", ("training", "instance_type"), ["ml.p6-b200.48xlarge", "ml.zz.qq", "ml.c7i-flex.large"]),
    ("role_arn", ("project", "role_arn"), ["arn:aws:iam::123456789012:role/", "arn:aws:iam::123456789012:role/a/b"]),
]


@pytest.fixture(scope="module")
def default_config(cookies_session: Any) -> dict[str, Any]:
    """config/project.yaml of the default project, parsed."""
    result = cookies_session.bake()
    assert result.exception is None, result.exception
    return yaml.safe_load((Path(result.project_path) / "config" / "project.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("field", "key", "values"), SHARED_RULES, ids=[row[0] for row in SHARED_RULES])
def test_the_hook_and_the_config_agree(
    default_config: dict[str, Any], field: str, key: tuple[str, str], values: list[str]
) -> None:
    from sm_engine.config import ConfigError, parse_config

    for value in values:
        problems = pre_gen.problems_of({**default_answers(), field: value})
        hook_refuses = any(problem.startswith(f"{field}:") for problem in problems)
        data = copy.deepcopy(default_config)
        data[key[0]][key[1]] = value
        try:
            parse_config(data)
        except ConfigError:
            assert hook_refuses, f"the config refuses {value!r}, the hook accepts it"
        else:
            assert not hook_refuses, f"the hook refuses {value!r}, the config accepts it"
