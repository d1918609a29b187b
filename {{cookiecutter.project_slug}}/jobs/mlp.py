"""The multilayer perceptron of the pytorch framework: its architecture, predictions, and the files it is saved as.

Shared by the training entry point (train_pytorch.py) and the serving handlers (inference.py), so that both build the
very same network. A model directory holds `model.pth` (the state_dict, loaded with `weights_only=True`) and
`model.json` (the Architecture that rebuilds the network around it). A regressor learns the standardised target and
un-standardises its output; a binary classifier has one logit (class code 1 is the positive class), a multiclass one
a logit per class.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

WEIGHTS_FILE = "model.pth"
ARCHITECTURE_FILE = "model.json"
PREDICT_BATCH_ROWS = 65536


class ModelFileError(Exception):
    """A model directory lacks a file or holds one that does not fit; the message names it."""


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild the network: sizes, dropout, the problem and the regressor's target scaling."""

    n_features: int
    hidden_units: tuple[int, ...]
    dropout: float
    n_classes: int | None = None
    target_mean: float = 0.0
    target_scale: float = 1.0

    @property
    def n_outputs(self) -> int:
        """One output for a regressor and a binary classifier (a logit), one logit per class otherwise."""
        return self.n_classes if self.n_classes is not None and self.n_classes > 2 else 1

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "hidden_units": list(self.hidden_units)}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        values = json.loads(text)
        return cls(**{**values, "hidden_units": tuple(values["hidden_units"])})


def build(architecture: Architecture) -> nn.Sequential:
    """Linear -> ReLU -> Dropout per hidden layer, then a linear output layer."""
    layers: list[nn.Module] = []
    width = architecture.n_features
    for units in architecture.hidden_units:
        layers += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(architecture.dropout)]
        width = units
    layers.append(nn.Linear(width, architecture.n_outputs))
    return nn.Sequential(*layers)


def probabilities(logits: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(rows, n_classes) class probabilities from the network's outputs (column i = class code i)."""
    if n_classes == 2:
        positive = torch.sigmoid(logits[:, 0])
        return torch.stack([1 - positive, positive], dim=1)
    return torch.softmax(logits, dim=1)


def predict(model: nn.Module, architecture: Architecture, features: np.ndarray) -> np.ndarray:
    """Regression values (rows,) or class probabilities (rows, K) of a float feature matrix, in eval mode."""
    device = next(model.parameters()).device
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(features), PREDICT_BATCH_ROWS):
            # contiguous float32 whatever the caller's layout: a strided tensor takes other kernels (other float sums)
            rows = np.ascontiguousarray(features[start : start + PREDICT_BATCH_ROWS], dtype=np.float32)
            batch = torch.as_tensor(rows, device=device)
            logits = model(batch).double()  # probabilities that sum to 1 in float64, as the metrics expect
            if architecture.n_classes is None:
                outputs.append(logits[:, 0] * architecture.target_scale + architecture.target_mean)
            else:
                outputs.append(probabilities(logits, architecture.n_classes))
    return torch.cat(outputs).cpu().numpy()


def save(model: nn.Module, architecture: Architecture, directory: Path) -> None:
    """model.pth (the state_dict of the bare network, also when it is wrapped in DDP) and model.json."""
    network = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    state = {key: value.detach().cpu() for key, value in network.state_dict().items()}
    torch.save(state, directory / WEIGHTS_FILE)
    (directory / ARCHITECTURE_FILE).write_text(architecture.to_json() + "\n", encoding="utf-8")


def load(directory: Path, device: torch.device | str = "cpu") -> tuple[nn.Module, Architecture]:
    """The network of a model directory, on `device`, in eval mode."""
    paths = {name: Path(directory) / name for name in (ARCHITECTURE_FILE, WEIGHTS_FILE)}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise ModelFileError(f"no {' and no '.join(missing)} in {directory} (the pytorch training job writes both)")
    try:
        architecture = Architecture.from_json(paths[ARCHITECTURE_FILE].read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError) as error:
        raise ModelFileError(f"{paths[ARCHITECTURE_FILE]} is not an MLP architecture: {error}") from None
    model = build(architecture)
    try:
        model.load_state_dict(torch.load(paths[WEIGHTS_FILE], map_location=device, weights_only=True))
    except (RuntimeError, ValueError) as error:
        raise ModelFileError(f"{paths[WEIGHTS_FILE]} does not fit {ARCHITECTURE_FILE}: {error}") from None
    return model.to(device).eval(), architecture
