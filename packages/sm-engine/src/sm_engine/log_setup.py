"""Logging for the command line: configured once when it starts, one rich handler on stderr (stdout stays the
commands' output), at the level `--log-level` names."""

from __future__ import annotations

import enum
import logging


class LogLevel(str, enum.Enum):
    """The levels `--log-level` accepts."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def configure_logging(level: LogLevel) -> None:
    """Route every logger's records at `level` and above through one rich handler on stderr, replacing any handler
    configured before."""
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False, markup=False, rich_tracebacks=False)
    logging.basicConfig(level=level.value.upper(), format="%(message)s", datefmt="[%X]", handlers=[handler], force=True)
