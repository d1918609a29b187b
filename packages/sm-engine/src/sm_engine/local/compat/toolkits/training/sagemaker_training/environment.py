"""The training environment (sagemaker_training/environment.py): what the job was started with.

Locally the executor sets SM_TRAINING_ENV (the JSON the toolkit also exports, contract §1); `Environment()` exposes
its keys as attributes and items (`env.channel_input_dirs["train"]`, `env["hyperparameters"]`), as the real
Environment does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

base_dir = os.environ.get("BASE_PATH", "/opt/ml")
model_dir = os.path.join(base_dir, "model")
input_dir = os.path.join(base_dir, "input")
input_config_dir = os.path.join(input_dir, "config")
output_dir = os.path.join(base_dir, "output")
output_data_dir = os.path.join(output_dir, "data")
code_dir = os.path.join(base_dir, "code")


class Environment(Mapping[str, Any]):
    """The properties of SM_TRAINING_ENV (hosts, current_host, channel_input_dirs, hyperparameters, model_dir ...)."""

    def __init__(self) -> None:
        raw = os.environ.get("SM_TRAINING_ENV")
        if not raw:
            raise RuntimeError("SM_TRAINING_ENV is not set: sagemaker_training.environment runs inside a training job")
        self._properties: dict[str, Any] = json.loads(raw)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_properties"][name]
        except KeyError:
            raise AttributeError(f"the training environment has no {name!r}") from None

    def __getitem__(self, key: str) -> Any:
        return self._properties[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._properties)

    def __len__(self) -> int:
        return len(self._properties)

    def properties(self) -> list[str]:
        return sorted(self._properties)
