"""Image URIs on AWS: the SageMaker Python SDK's lookup when the SDK is installed, else the built-in table.

`sagemaker.core.image_uris.retrieve` (SDK v3, the project's `aws` extra) knows every framework version and region
the SDK release knows, offline. It is imported on first use and only here, so the local executor never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..images import ImageError, image_scope, image_uri

SDK_MISSING = (
    "SageMaker Python SDK not installed (`pip install -e '.[aws]'`): image URIs come from the built-in table of "
    "images.py"
)


def load_retrieve() -> Callable[..., str] | None:
    """The SDK's `image_uris.retrieve`, or None when the SDK is not installed."""
    try:
        from sagemaker.core import image_uris
    except ImportError:
        return None
    return image_uris.retrieve


class SdkImages:
    """An `ImageResolver` through the SDK; without it, `images.image_uri` (said once through `log`)."""

    def __init__(self, log: Callable[[str], None], loader: Callable[[], Any] = load_retrieve) -> None:
        self.log = log
        self.loader = loader
        self._retrieve: Callable[..., str] | None = None
        self._loaded = False

    def retrieve(self) -> Callable[..., str] | None:
        if not self._loaded:
            self._retrieve = self.loader()
            self._loaded = True
            if self._retrieve is None:
                self.log(SDK_MISSING)
        return self._retrieve

    def __call__(self, framework: str, version: str, region: str, purpose: str, instance_type: str) -> str:
        retrieve = self.retrieve()
        if retrieve is None:
            return image_uri(framework, version, region, purpose, instance_type)
        try:
            return retrieve(
                framework=framework,
                region=region,
                version=version,
                image_scope=image_scope(purpose),
                instance_type=instance_type,
            )
        except ValueError as error:  # the SDK's message lists what is supported
            raise ImageError(
                f"no AWS {framework} {version} {purpose} image for {instance_type} in {region}: {error} "
                "Fix framework_version or the instance type, or set image_uri."
            ) from None
