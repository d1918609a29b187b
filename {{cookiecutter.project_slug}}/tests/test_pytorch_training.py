"""The pytorch MLP's training (jobs/train_pytorch.py, torch_training.py, torch_cluster.py, mlp.py): the loop converges
and stops early, the device and the distributed environment are read right, and the job writes the model the PyTorch
inference container loads (code/ inside the model)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlp
import numpy as np
import pytest
import torch
import torch_cluster
import train_pytorch
import yaml
from conftest import (
    CONFIG,
    PROJECT_ROOT,
    REQUESTS,
    TRAINING_HYPERPARAMETERS,
    JobRun,
    hyperparameter_args,
    run_job,
    training_env,
)
from sm_engine.config import ConfigError, ProjectConfig, parse_config
from sm_engine.local.training import pytorch_script_mode
from sm_engine.sagemaker_requests import RequestFactory
from torch_cluster import Cluster, ClusterError, cluster_from_environment
from torch_training import AdamW, LoopSettings, fit

CLASSIFICATION = CONFIG.data.classes is not None
SINGLE = Cluster()
CPU = torch.device("cpu")


def regression_data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    features = generator.normal(size=(rows, 3))
    return features, features @ np.array([1.5, -2.0, 0.5]) + 0.05 * generator.normal(size=rows)


def validation_loss(model: torch.nn.Module, data: tuple[np.ndarray, np.ndarray]) -> float:
    with torch.no_grad():
        predictions = model.eval()(torch.as_tensor(data[0], dtype=torch.float32))[:, 0].double().numpy()
    return float(np.mean((predictions - data[1]) ** 2))


def test_the_loop_learns_a_linear_function() -> None:
    train, validation = regression_data(256), regression_data(64, seed=1)
    architecture = mlp.Architecture(3, (16,), 0.0)
    torch.manual_seed(0)
    model = mlp.build(architecture)
    before = validation_loss(model, validation)
    history = fit(model, train, validation, None, LoopSettings(epochs=60, learning_rate=0.01, patience=0), SINGLE, CPU)
    assert history.epochs_run == 60 and not history.stopped_early
    assert validation_loss(model, validation) < 0.05 < before / 20
    assert validation_loss(model, validation) == pytest.approx(history.best_validation_loss, rel=1e-4)


def test_early_stopping_stops_and_keeps_the_best_epoch(capsys: pytest.CaptureFixture[str]) -> None:
    generator = np.random.default_rng(3)
    noise = (generator.normal(size=(64, 3)), generator.normal(size=64))  # nothing to learn: validation gets worse
    torch.manual_seed(0)
    model = mlp.build(mlp.Architecture(3, (64,), 0.0))
    settings = LoopSettings(epochs=500, learning_rate=0.05, patience=3)
    history = fit(
        model, noise, (generator.normal(size=(32, 3)), generator.normal(size=32)), None, settings, SINGLE, CPU
    )
    assert history.stopped_early
    assert history.epochs_run == history.best_epoch + 3 < 500
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch=")]
    assert len(lines) == history.epochs_run
    assert re.fullmatch(r"epoch=\d+; train_loss=[0-9.]+; validation_loss=[0-9.]+;", lines[-1])
    losses = [float(re.search(r"validation_loss=([0-9.]+);", line).group(1)) for line in lines]
    assert min(losses) == pytest.approx(history.best_validation_loss, abs=1e-6) == losses[history.best_epoch - 1]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_the_loop_separates_classes(n_classes: int) -> None:
    generator = np.random.default_rng(0)
    codes = generator.integers(0, n_classes, size=300)
    features = np.eye(n_classes)[codes] * 3 + generator.normal(scale=0.5, size=(300, n_classes))
    architecture = mlp.Architecture(n_classes, (8,), 0.0, n_classes)
    torch.manual_seed(0)
    model = mlp.build(architecture)
    split = (features[:240], codes[:240]), (features[240:], codes[240:])
    fit(model, *split, n_classes, LoopSettings(epochs=30, learning_rate=0.02, patience=0), SINGLE, CPU)
    probabilities = mlp.predict(model, architecture, features[240:])
    assert probabilities.shape == (60, n_classes)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert (probabilities.argmax(axis=1) == codes[240:]).mean() > 0.95


def test_adamw_takes_the_steps_of_torch_optim_adamw() -> None:
    torch.manual_seed(0)
    ours, reference = torch.nn.Linear(4, 2), torch.nn.Linear(4, 2)
    reference.load_state_dict(ours.state_dict())
    optimizers = (
        AdamW(list(ours.parameters()), 0.01, 0.1),
        torch.optim.AdamW(reference.parameters(), lr=0.01, weight_decay=0.1, foreach=False),
    )
    features, target = torch.randn(32, 4), torch.randn(32, 2)
    for _ in range(25):
        for model, optimizer in zip((ours, reference), optimizers, strict=True):
            optimizer.zero_grad()
            ((model(features) - target) ** 2).mean().backward()
            optimizer.step()
    for mine, theirs in zip(ours.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-6, atol=1e-7)


# -- device and cluster -----------------------------------------------------------------------------------------------


def test_the_device_is_the_cpu_without_gpus(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert torch_cluster.select_device({}, SINGLE) == CPU
    assert torch_cluster.select_device({"SM_NUM_GPUS": "0"}, SINGLE) == CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert torch_cluster.select_device({"SM_NUM_GPUS": "4"}, SINGLE) == CPU
    assert "SM_NUM_GPUS=4 but torch sees no CUDA device" in capsys.readouterr().out


def test_the_device_is_the_local_ranks_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    device = torch_cluster.select_device({"SM_NUM_GPUS": "4"}, Cluster(8, 5, 1, launcher="torchrun"))
    assert device == torch.device("cuda", 1)
    assert torch_cluster.backend(device) == "nccl" and torch_cluster.backend(CPU) == "gloo"


def test_one_instance_has_no_process_group() -> None:
    for env in ({}, {"SM_HOSTS": '["algo-1"]', "SM_CURRENT_HOST": "algo-1"}):
        cluster = cluster_from_environment(env)
        assert cluster == SINGLE and not cluster.distributed and cluster.is_main


def test_torchrun_variables_define_the_cluster() -> None:
    env = {"WORLD_SIZE": "8", "RANK": "5", "LOCAL_RANK": "1", "MASTER_ADDR": "algo-1", "MASTER_PORT": "7777"}
    env |= {"SM_HOSTS": '["algo-1", "algo-2"]', "SM_CURRENT_HOST": "algo-2"}  # torchrun's variables win
    assert cluster_from_environment(env) == Cluster(8, 5, 1, "algo-1", 7777, "torchrun")
    assert not cluster_from_environment(env).is_main


def test_several_hosts_without_torchrun_rank_by_host() -> None:
    env = {"SM_HOSTS": '["algo-1","algo-2","algo-3"]', "SM_CURRENT_HOST": "algo-3"}
    assert cluster_from_environment(env) == Cluster(3, 2, 0, "algo-1", 7777, "hosts")
    assert cluster_from_environment({**env, "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}).master_port == 29500


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK=2 is outside 0..WORLD_SIZE-1"),
        ({"WORLD_SIZE": "two", "RANK": "0"}, "WORLD_SIZE='two' is not an integer"),
        ({"WORLD_SIZE": "2"}, "RANK is not set"),
        ({"SM_HOSTS": "algo-1,algo-2"}, "SM_HOSTS='algo-1,algo-2' is not a JSON list"),
        ({"SM_HOSTS": '["algo-1", "algo-2"]', "SM_CURRENT_HOST": "algo-9"}, "'algo-9' is not one of SM_HOSTS"),
    ],
)
def test_an_inconsistent_environment_is_a_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ClusterError, match=re.escape(message)):
        cluster_from_environment(env)


def test_small_networks_train_on_one_thread() -> None:
    assert torch_cluster.cpu_threads({}, 32, (13, 64, 32)) == 1
    assert torch_cluster.cpu_threads({}, 1024, (13, 512, 512)) is None
    assert torch_cluster.cpu_threads({"OMP_NUM_THREADS": "4"}, 32, (13, 64)) is None


@pytest.mark.parametrize(("text", "widths"), [("64,32", (64, 32)), ("[128, 64]", (128, 64)), ("16", (16,))])
def test_hidden_units_read_the_toolkits_renderings(text: str, widths: tuple[int, ...]) -> None:
    assert train_pytorch.hidden_units(text) == widths


@pytest.mark.parametrize("text", ["", "64,x", "0,8", "1.5"])
def test_bad_hidden_units_are_refused(text: str) -> None:
    with pytest.raises(Exception, match="is not a list of layer widths such as 64,32"):
        train_pytorch.hidden_units(text)


def config_with(**training: object) -> ProjectConfig:
    raw = yaml.safe_load((PROJECT_ROOT / "config" / "project.yaml").read_text(encoding="utf-8"))
    raw["training"].update(training)
    return parse_config(raw)


def test_torch_distributed_is_requested_as_the_sdk_requests_it() -> None:
    config = config_with(instance_type="ml.g5.12xlarge", instance_count=2, distribution={"torch_distributed": True})
    request = RequestFactory(config, "example-bucket", REQUESTS.role_arn).training_job("job")
    hyperparameters = request["HyperParameters"]
    assert hyperparameters["sagemaker_torch_distributed_enabled"] == "true"
    assert hyperparameters["sagemaker_instance_type"] == '"ml.g5.12xlarge"'
    assert request["AlgorithmSpecification"]["TrainingImage"].endswith("/pytorch-training:2.6.0-gpu-py312")
    assert not any("distributed" in key for key in REQUESTS.training_job("job")["HyperParameters"])


def test_torch_distributed_needs_a_gpu_or_trainium_instance() -> None:
    with pytest.raises(ConfigError, match=r"distribution\.torch_distributed: needs a GPU or Trainium instance type"):
        config_with(instance_type="ml.m5.xlarge", distribution={"torch_distributed": True})


# -- the training job -----------------------------------------------------------------------------------------------


def test_the_job_saves_the_network_and_its_serving_code(training_run: JobRun) -> None:
    assert training_run.result.returncode == 0, training_run.result.stderr
    model = training_run.base / "model"
    expected = {"model.pth", "model.json", "code"} | ({"classes.json"} if CLASSIFICATION else set())
    assert {path.name for path in model.iterdir()} == expected
    assert {path.name for path in (model / "code").iterdir()} == {*train_pytorch.SERVING_MODULES, "sm_runtime"}
    network, architecture = mlp.load(model)
    assert architecture.hidden_units == train_pytorch.hidden_units(str(CONFIG.training.hyperparameters["hidden_units"]))
    assert sum(parameter.numel() for parameter in network.parameters()) > 0
    metrics = json.loads((training_run.base / "output" / "data" / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation"}


def test_every_metric_definition_captures_a_value(training_run: JobRun) -> None:
    output = training_run.result.stdout
    for definition in CONFIG.training.metric_definitions:
        values = [float(value) for value in re.findall(definition.regex, output)]
        assert values, f"{definition.name} printed nothing"
    objective = CONFIG.tuning.objective
    latest = float(
        re.findall(next(d.regex for d in CONFIG.training.metric_definitions if d.name == objective.metric), output)[-1]
    )
    assert (latest < 6.0) if objective.type == "Minimize" else (latest > 0.6)  # a useful model, not just a number


def test_a_bad_hyperparameter_writes_the_failure_file(
    tmp_path: Path, processed: Path, training_runner: Callable
) -> None:
    channels = {name: processed / name / f"{name}.csv" for name in ("train", "validation")}
    result = training_runner(tmp_path, channels, {**TRAINING_HYPERPARAMETERS, "dropout": 1.5})
    assert result.returncode == 1
    failure = (tmp_path / "output" / "failure").read_text().splitlines()[0]
    assert failure == "TrainingError: bad hyperparameter: dropout 1.5 must be in [0, 1)"
    assert "Traceback" not in result.stderr


def test_the_local_executor_gives_the_hosts_of_a_job_one_master() -> None:
    request = {**REQUESTS.training_job("job-a"), "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2}}
    arguments = {"region": "us-east-1", "job_arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-a"}
    hosts = ["algo-1", "algo-2"]
    first, second = (pytorch_script_mode(request, host, hosts, **arguments)[1] for host in hosts)
    assert first["MASTER_ADDR"] == second["MASTER_ADDR"] == "127.0.0.1"
    assert first["MASTER_PORT"] == second["MASTER_PORT"]
    other = pytorch_script_mode({**request, "TrainingJobName": "job-b"}, "algo-1", hosts, **arguments)[1]
    assert other["MASTER_PORT"] != first["MASTER_PORT"]  # jobs of a tuning job run side by side
    single = pytorch_script_mode(request, "algo-1", ["algo-1"], **arguments)[1]
    assert "MASTER_ADDR" not in single and "MASTER_PORT" not in single
    assert cluster_from_environment(first).master_addr == "127.0.0.1"
    assert cluster_from_environment(second) == Cluster(2, 1, 0, "127.0.0.1", int(first["MASTER_PORT"]), "hosts")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_hosts_train_one_model_through_a_gloo_process_group(tmp_path: Path, processed: Path) -> None:
    """The DDP path for real: two processes (algo-1, algo-2) on the loopback, as two CPU instances would run."""
    channels = {name: processed / name / f"{name}.csv" for name in ("train", "validation")}
    hyperparameters = {**TRAINING_HYPERPARAMETERS, "epochs": 3, "patience": 0}
    port, hosts = str(free_port()), ["algo-1", "algo-2"]

    def train(host: str) -> subprocess.CompletedProcess:
        env = training_env(tmp_path / host, channels, hyperparameters)
        env |= {"SM_HOSTS": json.dumps(hosts), "SM_CURRENT_HOST": host, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
        return run_job("train_pytorch.py", hyperparameter_args(hyperparameters), env, cwd=tmp_path / host)

    with ThreadPoolExecutor(len(hosts)) as pool:  # both at once: each waits for the other in the process group
        runs = dict(zip(hosts, pool.map(train, hosts), strict=True))
    outputs = {host: run.stdout + run.stderr for host, run in runs.items()}
    assert [runs[host].returncode for host in hosts] == [0, 0], outputs
    assert "rank 0 of 2, gloo backend" in outputs["algo-1"] and "rank 1 of 2" in outputs["algo-2"]
    assert outputs["algo-1"].count("epoch=") == 3 and "epoch=" not in outputs["algo-2"]
    assert (tmp_path / "algo-1" / "model" / "model.pth").is_file()
    assert not any((tmp_path / "algo-2" / "model").iterdir())  # only rank 0 saves
