"""Endpoint auto scaling through application-autoscaling: apply the configured policy, remove it before teardown."""

from __future__ import annotations

from typing import Any


class ApplicationAutoScaling:
    """The `EndpointScaling` of AWS, on an application-autoscaling client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def apply(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        """Send `RequestFactory.autoscaling_requests` pairs (register_scalable_target, put_scaling_policy) in order."""
        for method, request in requests:
            getattr(self.client, method)(**request)

    def remove(self, endpoint_name: str) -> int:
        """Deregister every scalable target of the endpoint's variants (their policies go with them); return how
        many."""
        prefix = f"endpoint/{endpoint_name}/variant/"
        targets = [
            target
            for page in self.client.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="sagemaker")
            for target in page["ScalableTargets"]
            if target["ResourceId"].startswith(prefix)
        ]
        for target in targets:
            self.client.deregister_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=target["ResourceId"],
                ScalableDimension=target["ScalableDimension"],
            )
        return len(targets)
