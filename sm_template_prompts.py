"""The template's Jinja extension for its prompts (cookiecutter.json's `_extensions`; cookiecutter imports it from the
template's root).

Cookiecutter renders the prompts in order, so a default written as Jinja sees only the answers before it. Answers given
before prompting (`cookiecutter <template> algorithm=gbtree`, the Python API's `extra_context`, a user config's
`default_context`) are already in the raw context, though: cookiecutter moves such an answer to the front of its choice
list. The extension exposes them as the global `given` (prompt -> answer), so an earlier default can follow a later
answer, e.g. `framework` defaults to xgboost when `algorithm=gbtree` is given. Where it cannot see the raw context,
`given` is empty and the defaults are the static ones.

A choice whose first entry is Jinja renders to one of the literal choices after it, so cookiecutter's menu would list
that choice twice; the extension makes the menu show each choice once, the default first.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

JINJA_MARK = "{{"


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
