"""Unique, valid SageMaker names."""

from __future__ import annotations

import re

import pytest

from sm_engine.names import (
    MAX_TUNING_JOB_NAME_LENGTH,
    NAME_PATTERN,
    is_valid_name,
    job_name,
    trial_job_name,
)

pytestmark = pytest.mark.executor  # the local executor itself, the same whatever the answers

SAGEMAKER_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
TUNING_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")


def test_name_layout() -> None:
    name = job_name("mpg-predictor", "train")
    assert re.fullmatch(r"mpg-predictor-train-\d{6}-\d{9}-[0-9a-f]{4}", name), name


def test_names_are_unique_over_many_calls() -> None:
    names = [job_name("mpg-predictor", "train") for _ in range(1000)]
    assert len(set(names)) == len(names)
    tuning = [job_name("mpg-predictor", "tune", max_length=MAX_TUNING_JOB_NAME_LENGTH) for _ in range(1000)]
    assert len(set(tuning)) == len(tuning)


@pytest.mark.parametrize(
    "base",
    ["mpg-predictor", "x" * 40, "a-" * 30 + "b", "My_Project.v2", "-leading-and-trailing-", "ab--cd"],
)
@pytest.mark.parametrize("kind", ["process", "train", "model", "endpoint", "config", "transform"])
def test_job_names_fit_the_sagemaker_pattern(base: str, kind: str) -> None:
    name = job_name(base, kind)
    assert len(name) <= 63
    assert SAGEMAKER_PATTERN.match(name), name
    assert is_valid_name(name)
    assert f"-{kind}-" in name or name.startswith(f"{kind}-")


@pytest.mark.parametrize("base", ["mpg-predictor", "x" * 40, "a-" * 30 + "b"])
def test_tuning_names_fit_32_characters(base: str) -> None:
    name = job_name(base, "tune", max_length=MAX_TUNING_JOB_NAME_LENGTH)
    assert len(name) <= MAX_TUNING_JOB_NAME_LENGTH
    assert TUNING_PATTERN.match(name), name
    assert name.startswith(base[:1])


def test_long_base_is_truncated_but_the_unique_part_is_kept() -> None:
    name = job_name("b" * 80, "transform")
    assert len(name) == 63
    assert re.search(r"-transform-\d{6}-\d{9}-[0-9a-f]{4}$", name)


def test_no_room_for_the_unique_part_is_an_error() -> None:
    with pytest.raises(ValueError, match="characters"):
        job_name("mpg", "a-very-long-kind-of-resource", max_length=20)
    with pytest.raises(ValueError, match="no letters or digits"):
        job_name("mpg", "--")


def test_trial_job_names_follow_sagemaker() -> None:
    tuning = job_name("mpg-predictor", "tune", max_length=MAX_TUNING_JOB_NAME_LENGTH)
    name = trial_job_name(tuning, 7)
    assert re.fullmatch(re.escape(tuning) + r"-007-[0-9a-f]{8}", name)
    assert SAGEMAKER_PATTERN.match(name)
    assert trial_job_name(tuning, 1234).startswith(f"{tuning}-1234-")
    assert len({trial_job_name(tuning, 1) for _ in range(200)}) == 200
    with pytest.raises(ValueError):
        trial_job_name(tuning, 0)


def test_is_valid_name() -> None:
    assert is_valid_name("a-b--c1")
    assert not is_valid_name("-a")
    assert not is_valid_name("a_b")
    assert not is_valid_name("a" * 64)
    assert not is_valid_name("a" * 33, max_length=32)
    assert NAME_PATTERN.match("A1")
