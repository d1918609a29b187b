"""The template's Jinja extensions (cookiecutter.json's `_extensions`; cookiecutter imports them from the template's
root): the answers given before prompting, and a cache of the project files' compiled templates.

Cookiecutter renders the prompts in order, so a default written as Jinja sees only the answers before it. Answers given
before prompting (`cookiecutter <template> algorithm=gbtree`, the Python API's `extra_context`, a user config's
`default_context`) are already in the raw context, though: cookiecutter moves such an answer to the front of its choice
list. The extension exposes them as the global `given` (prompt -> answer), so an earlier default can follow a later
answer, e.g. `framework` defaults to xgboost when `algorithm=gbtree` is given. Where it cannot see the raw context,
`given` is empty and the defaults are the static ones.

A choice whose first entry is Jinja renders to one of the literal choices after it, so cookiecutter's menu would list
that choice twice; the extension makes the menu show each choice once, the default first.

Compiling README.md and config/project.yaml to Python is most of a bake's rendering time, so the compiled form of each
project file is kept between bakes in the user's cache folder (Jinja's bytecode cache), keyed by the file's path and
the environment's compile settings and checked against the file's checksum: an edited file compiles afresh.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import pickle
import sys
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment
from jinja2.bccache import Bucket, FileSystemBytecodeCache
from jinja2.ext import Extension

JINJA_MARK = "{{"
COMPILE_SETTINGS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "autoescape",
    "finalize",
    "optimized",
    "is_async",
)
"""The environment's settings that a template's compiled code depends on besides its source (the bytecode cache's own
header holds the Jinja and Python versions)."""


def given_answers(raw_prompts: Mapping[str, Any]) -> dict[str, str]:
    """The answers given before prompting to the choice prompts whose default is Jinja: such a list holds a Jinja
    entry first, unless an answer was moved in front of it."""
    return {
        name: choices[0]
        for name, choices in raw_prompts.items()
        if isinstance(choices, list)
        and choices
        and isinstance(choices[0], str)
        and JINJA_MARK not in choices[0]
        and any(isinstance(choice, str) and JINJA_MARK in choice for choice in choices)
    }


def raw_prompts_of_caller() -> Mapping[str, Any]:
    """The raw `cookiecutter` context that the environment being created serves: cookiecutter passes it as `context`
    to the environment (cookiecutter.utils.create_env_with_context), not to its extensions, so it is read from the
    nearest calling frame that holds one. Empty when no caller does."""
    frame = inspect.currentframe()  # None where the interpreter keeps no frames: then the static defaults
    while frame is not None:
        context = frame.f_locals.get("context")
        if isinstance(context, Mapping) and isinstance(context.get("cookiecutter"), Mapping):
            return context["cookiecutter"]
        frame = frame.f_back
    return {}


def listing_each_choice_once(read_user_choice: Callable[..., Any]) -> Callable[..., Any]:
    """cookiecutter's choice menu, given each option once (in order: the rendered default stays first)."""
    if getattr(read_user_choice, "lists_each_choice_once", False):
        return read_user_choice

    def read_unique_choice(var_name: str, options: list[Any], *args: Any, **kwargs: Any) -> Any:
        unique: list[Any] = []
        for option in options:
            if option not in unique:
                unique.append(option)
        return read_user_choice(var_name, unique, *args, **kwargs)

    read_unique_choice.lists_each_choice_once = True  # type: ignore[attr-defined]
    return read_unique_choice


class GivenAnswersExtension(Extension):
    """Adds the global `given` (the answers given before prompting) and a menu without repeated choices."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["given"] = given_answers(raw_prompts_of_caller())
        prompt = sys.modules.get("cookiecutter.prompt")
        if prompt is not None and callable(getattr(prompt, "read_user_choice", None)):
            prompt.read_user_choice = listing_each_choice_once(prompt.read_user_choice)


def compile_settings(environment: Environment) -> str:
    """The environment's syntax and compiler options, its extensions (their tags) and cookiecutter's version."""
    cookiecutter = sys.modules.get("cookiecutter")
    settings = [getattr(environment, name) for name in COMPILE_SETTINGS]
    return repr((settings, sorted(environment.extensions), getattr(cookiecutter, "__version__", None)))


class CompiledTemplateCache(FileSystemBytecodeCache):
    """Jinja's bytecode cache in a folder, keyed by the compile settings and the template's name as well; a cache file
    that cannot be read or written only costs a compile."""

    def get_bucket(self, environment: Environment, name: str, filename: str | None, source: str) -> Bucket:
        return super().get_bucket(environment, f"{compile_settings(environment)}|{name}", filename, source)

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def cache_folder() -> str:
    """The template's folder in the user's cache (XDG_CACHE_HOME, else ~/.cache)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "sm-template", "jinja")


class CompiledTemplateCacheExtension(Extension):
    """Keeps the compiled project files between bakes (CompiledTemplateCache); without a writable cache folder every
    bake compiles them, as cookiecutter does by default."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        folder = cache_folder()
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except OSError:
            return
        environment.bytecode_cache = CompiledTemplateCache(folder)
