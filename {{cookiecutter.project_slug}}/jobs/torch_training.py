"""The training loop of the MLP: mini-batches, AdamW, one loss per problem type, early stopping on validation loss.

Losses: MSE on the standardised target (regression), BCEWithLogits (binary, class code 1 positive), CrossEntropy
(multiclass). After each epoch the main process prints `epoch=3; train_loss=0.412345; validation_loss=0.398765;`
(the `train:loss` / `validation:loss` metric definitions read them). Training stops after `patience` epochs without a
lower validation loss (0: never early) and ends with the weights of the best epoch. In a distributed job each process
trains on its DistributedSampler shard of the training rows inside DDP, and the losses are averaged over the job, so
every process takes the same stopping decision.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
from torch_cluster import Cluster, sum_across


@dataclass(frozen=True)
class LoopSettings:
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    seed: int = 42


@dataclass(frozen=True)
class History:
    """What the loop did: epochs run, the best epoch and its validation loss, whether it stopped early."""

    epochs_run: int
    best_epoch: int
    best_validation_loss: float
    stopped_early: bool


class DivergedError(Exception):
    """The loss became NaN or infinite (a learning rate too high, usually)."""


class AdamW:
    """AdamW (decoupled weight decay; the update of `torch.optim.AdamW` with its defaults, foreach=False), written out
    because the first step of any torch.optim optimizer imports torch._dynamo: seconds per job, longer than training
    this network on the sample data."""

    def __init__(
        self, parameters: list[nn.Parameter], lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8
    ) -> None:
        self.parameters = [parameter for parameter in parameters if parameter.requires_grad]
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, betas, eps
        self.steps = 0
        self.first = [torch.zeros_like(parameter) for parameter in self.parameters]
        self.second = [torch.zeros_like(parameter) for parameter in self.parameters]

    def zero_grad(self) -> None:
        for parameter in self.parameters:
            parameter.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1 - beta1**self.steps)
        root_correction = math.sqrt(1 - beta2**self.steps)
        for parameter, first, second in zip(self.parameters, self.first, self.second, strict=True):
            if parameter.grad is None:
                continue
            parameter.mul_(1 - self.lr * self.weight_decay)
            first.lerp_(parameter.grad, 1 - beta1)
            second.mul_(beta2).addcmul_(parameter.grad, parameter.grad, value=1 - beta2)
            parameter.addcdiv_(first, (second.sqrt() / root_correction).add_(self.eps), value=-step_size)


def loss_function(n_classes: int | None) -> nn.Module:
    if n_classes is None:
        return nn.MSELoss()
    return nn.BCEWithLogitsLoss() if n_classes == 2 else nn.CrossEntropyLoss()


def target_tensor(target: np.ndarray, n_classes: int | None) -> torch.Tensor:
    """The target as the loss expects it: (rows, 1) floats, or (rows,) class codes for CrossEntropy."""
    if n_classes is not None and n_classes > 2:
        return torch.as_tensor(target, dtype=torch.long)
    return torch.as_tensor(target, dtype=torch.float32).reshape(-1, 1)


def _epoch_loss(
    model: nn.Module, loader: DataLoader, loss: nn.Module, device: torch.device, optimizer: AdamW | None
) -> tuple[float, int]:
    """(sum of the per-row loss, rows) over one pass; trains when an optimizer is given."""
    total, rows = 0.0, 0
    model.train(optimizer is not None)
    with torch.set_grad_enabled(optimizer is not None):
        for features, target in loader:
            features, target = features.to(device), target.to(device)
            value = loss(model(features), target)
            if optimizer is not None:
                optimizer.zero_grad()
                value.backward()
                optimizer.step()
            total += float(value.detach()) * len(target)
            rows += len(target)
    return total, rows


def fit(
    model: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
    n_classes: int | None,
    settings: LoopSettings,
    cluster: Cluster,
    device: torch.device,
) -> History:
    """Train `model` (already on `device`, DDP-wrapped in a distributed job) in place; see the module docstring."""
    datasets = {
        name: TensorDataset(torch.as_tensor(x, dtype=torch.float32), target_tensor(y, n_classes))
        for name, (x, y) in (("train", train), ("validation", validation))
    }
    generator = torch.Generator().manual_seed(settings.seed)
    sampler = None
    if cluster.distributed:
        sampler = DistributedSampler(datasets["train"], cluster.world_size, cluster.rank, seed=settings.seed)
    train_loader = DataLoader(
        datasets["train"], batch_size=settings.batch_size, shuffle=sampler is None, sampler=sampler, generator=generator
    )
    validation_loader = DataLoader(datasets["validation"], batch_size=max(settings.batch_size, 1024))
    loss = loss_function(n_classes)
    optimizer = AdamW(list(model.parameters()), settings.learning_rate, settings.weight_decay)
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(model.state_dict())
    epoch = 0
    for epoch in range(1, settings.epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        train_sum, train_rows = _epoch_loss(model, train_loader, loss, device, optimizer)
        validation_sum, validation_rows = _epoch_loss(model, validation_loader, loss, device, None)
        train_sum, train_rows, validation_sum, validation_rows = sum_across(
            [train_sum, train_rows, validation_sum, validation_rows], cluster, device
        )
        train_loss, validation_loss = train_sum / train_rows, validation_sum / validation_rows
        if cluster.is_main:
            print(f"epoch={epoch}; train_loss={train_loss:.6f}; validation_loss={validation_loss:.6f};", flush=True)
        if not (math.isfinite(train_loss) and math.isfinite(validation_loss)):
            raise DivergedError(f"the loss is not finite at epoch {epoch}: lower learning_rate")
        if validation_loss < best_loss:
            best_loss, best_epoch, best_state = validation_loss, epoch, copy.deepcopy(model.state_dict())
        elif settings.patience and epoch - best_epoch >= settings.patience:
            if cluster.is_main:
                print(f"early stopping: no lower validation loss in {settings.patience} epochs", flush=True)
            model.load_state_dict(best_state)
            return History(epoch, best_epoch, best_loss, True)
    model.load_state_dict(best_state)
    return History(epoch, best_epoch, best_loss, False)
