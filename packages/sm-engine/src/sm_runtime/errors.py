"""The errors of the container-side helpers, under one base; the engine's hierarchy (sm_engine.errors) builds on it.

Standard library only: this package runs inside SageMaker containers, where sm_engine is not installed.
"""

from __future__ import annotations


class SmRuntimeError(Exception):
    """Base of every error the container-side helpers raise."""


class PayloadError(SmRuntimeError):
    """A request the handlers refuse, with the HTTP status to answer and a message for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class TrainingError(SmRuntimeError):
    """A problem the user can fix (arguments, channels, data); reported without a traceback."""


class ArtefactError(SmRuntimeError):
    """An expected file is not in the artefact; the message names what is missing and where."""
