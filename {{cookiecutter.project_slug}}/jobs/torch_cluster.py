"""Where a pytorch training process runs: its device and its place in a distributed job (contract §1).

Three shapes, read from the environment:
- torchrun (the SageMaker PyTorch container with `sagemaker_torch_distributed_enabled`, one process per GPU of every
  instance): WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT, process group from `env://`;
- several instances without torchrun: one process per host, rank = position of SM_CURRENT_HOST in SM_HOSTS, the first
  host is the master (MASTER_ADDR / MASTER_PORT override it);
- one instance: no process group at all.
The device is CUDA when SM_NUM_GPUS > 0 and torch sees a GPU (`cuda:<LOCAL_RANK>`), else the CPU. The backend is
NCCL on CUDA, gloo on the CPU.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

DEFAULT_MASTER_PORT = 7777
"""The port the SageMaker toolkits give torchrun's master (TorchDistributedRunner)."""
INIT_TIMEOUT = timedelta(minutes=10)


class ClusterError(Exception):
    """The distributed environment is inconsistent; the message names the variable."""


@dataclass(frozen=True)
class Cluster:
    """This process's place in the job; world_size 1 means no process group."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    master_addr: str = "127.0.0.1"
    master_port: int = DEFAULT_MASTER_PORT
    launcher: str = "single"  # single | torchrun | hosts

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints the metrics and saves the model."""
        return self.rank == 0


def _integer(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    text = env.get(name)
    if text is None or not text.strip():
        if default is None:
            raise ClusterError(f"{name} is not set (torchrun sets WORLD_SIZE, RANK, LOCAL_RANK together)")
        return default
    try:
        return int(text)
    except ValueError:
        raise ClusterError(f"{name}={text!r} is not an integer") from None


def _hosts(env: Mapping[str, str]) -> list[str]:
    text = env.get("SM_HOSTS")
    if not text:
        return []
    try:
        hosts = json.loads(text)
    except json.JSONDecodeError:
        hosts = None
    if not isinstance(hosts, list) or not all(isinstance(host, str) for host in hosts):
        raise ClusterError(f'SM_HOSTS={text!r} is not a JSON list of host names such as ["algo-1", "algo-2"]')
    return hosts


def cluster_from_environment(env: Mapping[str, str]) -> Cluster:
    """The Cluster that the environment describes (see the module docstring)."""
    port = _integer(env, "MASTER_PORT", DEFAULT_MASTER_PORT)
    if "WORLD_SIZE" in env:
        world_size = _integer(env, "WORLD_SIZE")
        rank = _integer(env, "RANK")
        local_rank = _integer(env, "LOCAL_RANK", 0)
        if not 0 <= rank < world_size:
            raise ClusterError(f"RANK={rank} is outside 0..WORLD_SIZE-1 ({world_size - 1})")
        return Cluster(world_size, rank, local_rank, env.get("MASTER_ADDR") or "127.0.0.1", port, "torchrun")
    hosts = _hosts(env)
    if len(hosts) <= 1:
        return Cluster()
    current = env.get("SM_CURRENT_HOST", "")
    if current not in hosts:
        raise ClusterError(f"SM_CURRENT_HOST={current!r} is not one of SM_HOSTS {hosts}")
    return Cluster(len(hosts), hosts.index(current), 0, env.get("MASTER_ADDR") or hosts[0], port, "hosts")


def select_device(env: Mapping[str, str], cluster: Cluster) -> torch.device:
    """`cuda:<local rank>` when the instance has GPUs (SM_NUM_GPUS > 0) and torch can use them, else the CPU."""
    gpus = _integer(env, "SM_NUM_GPUS", 0)
    if gpus > 0 and torch.cuda.is_available():
        return torch.device("cuda", cluster.local_rank % torch.cuda.device_count())
    if gpus > 0:
        print(f"SM_NUM_GPUS={gpus} but torch sees no CUDA device (a CPU build of torch?): training on the CPU")
    return torch.device("cpu")


SMALL_LAYER = 1 << 22
"""Multiply-adds of the widest layer on one batch up to which extra intra-op threads cost more than they save."""


def cpu_threads(env: Mapping[str, str], batch_size: int, widths: tuple[int, ...]) -> int | None:
    """1 intra-op thread for a small network (batch x widest layer's width squared <= SMALL_LAYER: ~3x faster on the
    sample data than torch's default of one per core), else None: torch's default (or OMP_NUM_THREADS when set)."""
    if env.get("OMP_NUM_THREADS"):
        return None
    return 1 if batch_size * max(widths) ** 2 <= SMALL_LAYER else None


def backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def start(cluster: Cluster, device: torch.device) -> None:
    """Join the process group of a distributed job (nothing for a single process)."""
    if not cluster.distributed:
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    init_method = "env://" if cluster.launcher == "torchrun" else f"tcp://{cluster.master_addr}:{cluster.master_port}"
    print(
        f"distributed: {cluster.launcher}, rank {cluster.rank} of {cluster.world_size}, {backend(device)} backend, "
        f"master {cluster.master_addr}:{cluster.master_port}",
        flush=True,
    )
    dist.init_process_group(
        backend(device),
        init_method=init_method,
        world_size=cluster.world_size,
        rank=cluster.rank,
        timeout=INIT_TIMEOUT,
    )


def stop() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # every rank is done (rank 0 has saved) before the group goes: no peer vanishes mid-teardown
        dist.destroy_process_group()


def sum_across(values: list[float], cluster: Cluster, device: torch.device) -> list[float]:
    """Each value summed over the processes of the job (the values themselves for a single process)."""
    if not cluster.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()
