"""Training job entry point of the pytorch framework (contract §1): an MLP regressor or classifier.

The SageMaker PyTorch container runs `python train_pytorch.py --epochs 100 --hidden_units 64,32 ...` in /opt/ml/code
(under torchrun, one process per GPU, with `sagemaker_torch_distributed_enabled`); the data contract is train.py's
(sm_runtime.training). Hyperparameters: epochs, batch_size, learning_rate, hidden_units (comma-separated widths),
dropout, weight_decay, patience (early stopping on validation loss; 0 = off), seed, and `classes` for a classifier.

Prints a loss line per epoch (torch_training), then one metrics line per split with the names of the sklearn models
(`validation_rmse=...;`, `validation_roc_auc=...;`, see metrics.py), so the tuning objective is the same. The main
process saves, in SM_MODEL_DIR, the network (mlp.py: model.pth + model.json), classes.json of a classifier,
preprocessor.joblib when the `preprocessor` channel is given, and `code/`: inference.py with the modules it imports,
which the SageMaker PyTorch inference container loads from model.tar.gz (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code).
On failure: the cause on the first line of <SM_OUTPUT_DIR>/failure, exit 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from pathlib import Path

import joblib
import mlp
import numpy as np
import sklearn
import sm_runtime
import torch
import torch_cluster
from metrics import classification_metrics, regression_metrics
from sm_runtime.archives import PREPROCESSOR_FILE
from sm_runtime.training import (
    ArgumentParser,
    TrainingError,
    describe_splits,
    integer,
    model_dir,
    number,
    read_splits,
    report_metrics,
    run_job,
    save_beside_model,
)
from torch.nn.parallel import DistributedDataParallel
from torch_training import DivergedError, LoopSettings, fit

CODE_DIR = "code"
SERVING_MODULES = ("inference.py", "mlp.py")
"""inference.py and the project modules it imports; the engine's sm_runtime/ goes with them."""


def hidden_units(text: str) -> tuple[int, ...]:
    """`64,32` (also `[64, 32]` or `64`): the width of each hidden layer, at least one, each 1 or more."""
    parts = [part.strip() for part in text.strip().strip("[]()").split(",") if part.strip()]
    try:
        widths = tuple(integer(part) for part in parts)
    except argparse.ArgumentTypeError:
        widths = ()
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of layer widths such as 64,32")
    return widths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The MLP's hyperparameters and `--classes`; unknown ones are noted, not fatal."""
    parser = ArgumentParser(description="Train an MLP regressor or classifier with pytorch.")
    parser.add_argument("--epochs", type=integer, default=100)
    parser.add_argument("--batch_size", type=integer, default=32)
    parser.add_argument("--learning_rate", type=number, default=1e-3)
    parser.add_argument("--hidden_units", type=hidden_units, default=(64, 32))
    parser.add_argument("--dropout", type=number, default=0.1)
    parser.add_argument("--weight_decay", type=number, default=0.0)
    parser.add_argument("--patience", type=integer, default=10, help="epochs without improvement; 0: no early stop")
    parser.add_argument("--seed", type=integer, default=42)
    args = parser.parse_hyperparameters(argv)
    rules = {
        "epochs": args.epochs >= 1,
        "batch_size": args.batch_size >= 1,
        "learning_rate": args.learning_rate > 0,
        "dropout": 0 <= args.dropout < 1,
        "weight_decay": args.weight_decay >= 0,
        "patience": args.patience >= 0,
    }
    wanted = {"epochs": ">= 1", "batch_size": ">= 1", "learning_rate": "> 0", "dropout": "in [0, 1)"}
    for name, valid in rules.items():
        if not valid:
            raise TrainingError(f"bad hyperparameter: {name} {getattr(args, name)} must be {wanted.get(name, '>= 0')}")
    return args


def architecture_for(args: argparse.Namespace, train: tuple[np.ndarray, np.ndarray], n_classes: int | None):
    """The network's shape; a regressor's target is standardised with the training split's mean and deviation."""
    features, target = train
    mean, scale = 0.0, 1.0
    if n_classes is None:
        mean, scale = float(target.mean()), float(target.std()) or 1.0
    return mlp.Architecture(features.shape[1], args.hidden_units, args.dropout, n_classes, mean, scale)


def scaled(split: tuple[np.ndarray, np.ndarray], architecture: mlp.Architecture) -> tuple[np.ndarray, np.ndarray]:
    features, target = split
    if architecture.n_classes is not None:
        return features, target
    return features, (target - architecture.target_mean) / architecture.target_scale


def score(model: torch.nn.Module, architecture: mlp.Architecture, split: tuple[np.ndarray, np.ndarray]) -> dict:
    """The problem type's metrics of one split (metrics.py), from the network's predictions."""
    features, target = split
    predictions = mlp.predict(model, architecture, features)
    if architecture.n_classes is None:
        return regression_metrics(target, predictions)
    return classification_metrics(target, predictions)


def copy_serving_code(directory: Path, raw_rows: bool) -> None:
    """code/ in the model: inference.py and the modules it imports, from this script's own folder (/opt/ml/code),
    and sm_runtime/. With raw rows (a bundled preprocessor) also the modules of its custom transformers (they
    unpickle from them), and requirements.txt pinning the scikit-learn that fitted the preprocessor, which the
    inference toolkit installs before it loads inference.py."""
    source = Path(__file__).resolve().parent
    target = directory / CODE_DIR
    target.mkdir(exist_ok=True)
    modules = SERVING_MODULES
    if raw_rows:
        version, preprocessor = load_pickled(directory / PREPROCESSOR_FILE)
        steps = getattr(preprocessor, "steps", [])
        modules += tuple(sorted({f"{type(step).__module__}.py" for _, step in steps} & set(os.listdir(source))))
        requirement = f"scikit-learn=={version}" if version else "scikit-learn"
        (target / "requirements.txt").write_text(requirement + "\n", encoding="utf-8")
    for name in modules:
        if not (source / name).is_file():
            raise TrainingError(f"{name} is missing from the training code ({source}): it is needed to serve the model")
        shutil.copy2(source / name, target / name)
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(Path(sm_runtime.__file__).parent, target / "sm_runtime", ignore=ignored, dirs_exist_ok=True)


def load_pickled(path: Path) -> tuple[str | None, object]:
    """The preprocessor, and the scikit-learn version that pickled it: this one when loading it warns of no other
    (sklearn's InconsistentVersionWarning names the original), None when a warning does not tell."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        preprocessor = joblib.load(path)
    versions = {getattr(warning.message, "original_sklearn_version", None) for warning in caught}
    versions.discard(None)
    if versions:
        return versions.pop(), preprocessor
    unknown = any("version" in str(warning.message) for warning in caught)
    return (None if unknown else sklearn.__version__), preprocessor


def save(model: torch.nn.Module, architecture: mlp.Architecture, classes: list[str] | None) -> None:
    directory = model_dir()
    mlp.save(model, architecture, directory)
    copy_serving_code(directory, save_beside_model(directory, classes))


def train(args: argparse.Namespace) -> dict[str, dict[str, float]] | None:
    """Fit, score and save on the main process; other processes of a distributed job return None."""
    try:
        cluster = torch_cluster.cluster_from_environment(os.environ)
        device = torch_cluster.select_device(os.environ, cluster)
    except torch_cluster.ClusterError as error:
        raise TrainingError(str(error)) from None
    classes = args.classes
    n_classes = None if classes is None else len(classes)
    splits = read_splits(n_classes)
    architecture = architecture_for(args, splits["train"], n_classes)
    if cluster.is_main:
        print(describe_splits(splits))
        print(f"MLP {architecture.hidden_units} on {device}" + (f", classes {classes}" if classes else ""), flush=True)
    threads = torch_cluster.cpu_threads(os.environ, args.batch_size, (architecture.n_features, *args.hidden_units))
    if device.type == "cpu" and threads is not None:
        torch.set_num_threads(threads)
    torch_cluster.start(cluster, device)
    try:
        torch.manual_seed(args.seed)
        model = mlp.build(architecture).to(device)
        network = model
        if cluster.distributed:
            network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        settings = LoopSettings(
            args.epochs, args.batch_size, args.learning_rate, args.weight_decay, args.patience, args.seed
        )
        try:
            history = fit(
                network,
                scaled(splits["train"], architecture),
                scaled(splits["validation"], architecture),
                n_classes,
                settings,
                cluster,
                device,
            )
        except DivergedError as error:
            raise TrainingError(str(error)) from None
    finally:
        torch_cluster.stop()
    if not cluster.is_main:
        return None
    print(
        f"best epoch {history.best_epoch} of {history.epochs_run}, validation loss {history.best_validation_loss:.6f}"
    )
    results = {name: score(model, architecture, split) for name, split in splits.items()}
    report_metrics(results)
    save(model, architecture, classes)
    return results


def main(argv: list[str] | None = None) -> int:
    return run_job(lambda: train(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
