"""What keeps a bake fast without changing what it generates: files that hold no Jinja are copied, not rendered; the
compiled templates are cached between bakes, never served to another file version or Jinja syntax; each hook removes
only its rendered copy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_TEMPLATE, TEMPLATE, load_hook, project_files
from cookiecutter.generate import is_copy_only_path
from jinja2 import DictLoader, Environment

from sm_template_prompts import CompiledTemplateCache, CompiledTemplateCacheExtension, cache_folder

JINJA_FOR_COOKIECUTTER = re.compile(r"\{%|\{#|\{\{-?\s*cookiecutter\b")
"""Text that means its file expects rendering: a tag, a comment or a cookiecutter variable."""


def copied_without_rendering() -> list[str]:
    """The project files that `_copy_without_render` matches, by cookiecutter's own test, directly or by a folder."""
    context = {"cookiecutter": json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))}
    files = []
    for path in sorted(project_files(PROJECT_TEMPLATE)):
        parts = path.split("/")
        if any(is_copy_only_path("/".join(parts[:end]), context) for end in range(1, len(parts) + 1)):
            files.append(path)
    return files


def test_files_copied_without_rendering_hold_no_jinja() -> None:
    files = copied_without_rendering()
    assert "jobs/train.py" in files and "tests/test_train.py" in files and "README.md" not in files
    for path in files:
        text = (PROJECT_TEMPLATE / path).read_bytes().decode("utf-8")
        assert not JINJA_FOR_COOKIECUTTER.search(text), f"{path} is copied without rendering; take it off the list"
        assert "\r" not in text, f"{path}: rendering would turn its CR line ends into the first line's"


def cached_environment(folder: Path, sources: dict[str, str], **settings: Any) -> Environment:
    return Environment(loader=DictLoader(sources), bytecode_cache=CompiledTemplateCache(str(folder)), **settings)


def test_a_cached_template_is_not_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = {"README.md": "# {{ name }}\n"}
    assert cached_environment(tmp_path, sources).get_template("README.md").render(name="x") == "# x"
    assert list(tmp_path.iterdir())
    again = cached_environment(tmp_path, sources)
    monkeypatch.setattr(again, "compile", lambda *args, **kwargs: pytest.fail("compiled again"))
    assert again.get_template("README.md").render(name="y") == "# y"


def test_another_syntax_or_an_edited_file_compiles_afresh(tmp_path: Path) -> None:
    assert cached_environment(tmp_path, {"a.txt": "{{ name }}\n"}).get_template("a.txt").render(name="x") == "x"
    keeping = cached_environment(tmp_path, {"a.txt": "{{ name }}\n"}, keep_trailing_newline=True)
    assert keeping.get_template("a.txt").render(name="x") == "x\n"
    assert cached_environment(tmp_path, {"a.txt": "[{{ name }}]\n"}).get_template("a.txt").render(name="x") == "[x]"


def test_an_unreadable_cache_file_costs_only_a_compile(tmp_path: Path) -> None:
    cached_environment(tmp_path, {"a.txt": "{{ name }}"}).get_template("a.txt")
    for cache_file in tmp_path.iterdir():
        cache_file.write_bytes(cache_file.read_bytes()[:12])
    assert cached_environment(tmp_path, {"a.txt": "{{ name }}"}).get_template("a.txt").render(name="x") == "x"


def test_the_extension_caches_in_the_user_cache_folder_when_it_can(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = Environment(extensions=[CompiledTemplateCacheExtension]).bytecode_cache
    assert isinstance(cache, CompiledTemplateCache)
    assert Path(cache.directory) == Path(cache_folder()) == tmp_path / "cache" / "sm-template" / "jinja"
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    assert Environment(extensions=[CompiledTemplateCacheExtension]).bytecode_cache is None


def test_the_hooks_remove_their_rendered_copy_only(tmp_path: Path) -> None:
    rendered = tmp_path / "tmpa1b2c3.py"
    pre_gen, post_gen = load_hook("pre_gen_project"), load_hook("post_gen_project")
    assert not pre_gen.is_rendered_copy(str(TEMPLATE / "hooks" / "pre_gen_project.py"))
    assert pre_gen.is_rendered_copy(str(rendered))
    assert not post_gen.is_rendered_copy(TEMPLATE / "hooks" / "post_gen_project.py")
    assert post_gen.is_rendered_copy(rendered)
