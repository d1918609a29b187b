"""Endpoint auto scaling through application-autoscaling: apply the configured policy, remove it before teardown."""

from __future__ import annotations

from typing import Any


def apply_autoscaling(client: Any, requests: list[tuple[str, dict[str, Any]]]) -> None:
    """Send `RequestFactory.autoscaling_requests` pairs (register_scalable_target, put_scaling_policy) in order."""
    for method, request in requests:
        getattr(client, method)(**request)


def remove_autoscaling(client: Any, endpoint_name: str) -> int:
    """Deregister every scalable target of the endpoint's variants (their policies go with them); return how many."""
    prefix = f"endpoint/{endpoint_name}/variant/"
    targets = [
        target
        for page in client.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="sagemaker")
        for target in page["ScalableTargets"]
        if target["ResourceId"].startswith(prefix)
    ]
    for target in targets:
        client.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=target["ResourceId"], ScalableDimension=target["ScalableDimension"]
        )
    return len(targets)
