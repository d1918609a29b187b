"""A covering array of the supported answers: every valid pair of answers appears in at least one baked project.

Baking every combination of the choice prompts is far too slow, so the matrix is (1) the hand-named rows of
combinations.py, (2) one row for each valid framework x sagemaker_mode x problem_type triple, and (3) greedy rows that
cover every pair of answers a valid project can hold. Validity is the pre-gen hook's own verdict, so the matrix follows
SUPPORTED and the cross-answer rules without a second copy of them. Deterministic: a fixed seed, stable order.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from conftest import load_hook, rendered_answers

# The prompts whose answers change how the project behaves: every valid pair of their answers is baked.
DIMENSIONS: tuple[str, ...] = (
    "problem_type",
    "framework",
    "algorithm",
    "sagemaker_mode",
    "deployment_target",
    "production_variants",
    "inference_pipeline",
    "tuning",
    "tuning_strategy",
    "api",
)
# The prompts that only change metadata and tooling: each of their answers is baked at least once.
COSMETIC: tuple[str, ...] = ("python_version", "ci", "license")
TRIPLE = ("framework", "sagemaker_mode", "problem_type")
SAMPLES = 20000
SEED = 5  # of the seeds tried, one that gives the fewest rows (33 with today's answers)

Answers = dict[str, str]
Pair = tuple[tuple[str, str], tuple[str, str]]


def defaults() -> Answers:
    """cookiecutter.json's default answers, as `--no-input` renders them."""
    return rendered_answers()


def supported_values() -> dict[str, tuple[str, ...]]:
    """The values of each dimension the hook accepts today."""
    table = pre_gen_hook().SUPPORTED
    return {name: tuple(table[name]) for name in DIMENSIONS + COSMETIC}


@functools.cache
def pre_gen_hook() -> Any:
    """hooks/pre_gen_project.py as a module, loaded once; so is each engine module it loads from this checkout to
    check an answer set (valid_pool asks it SAMPLES times, and loading those modules again each time was most of the
    time it took to collect the tests)."""
    hook = load_hook("pre_gen_project")
    load = hook.load_engine_module
    loaded: dict[tuple[str, str], ModuleType] = {}

    def load_once(answers: dict[str, Any], relative_path: str, name: str) -> ModuleType:
        if (relative_path, name) not in loaded:
            loaded[relative_path, name] = load(answers, relative_path, name)
        return loaded[relative_path, name]

    hook.load_engine_module = load_once
    return hook


def is_valid(answers: Answers, base: Answers) -> bool:
    """True when the pre-gen hook would generate a project for these answers."""
    return not pre_gen_hook().problems_of({**base, "project_slug": "mpg_predictor", **answers})


def pairs_of(answers: Answers) -> set[Pair]:
    """Every pair of (dimension, value) items in one answer set."""
    items = sorted((name, answers[name]) for name in DIMENSIONS)
    return set(itertools.combinations(items, 2))


def differing(answers: Answers, base: Answers) -> Answers:
    """Only the answers that differ from the defaults (how combinations.py writes a row)."""
    return {name: value for name, value in answers.items() if base.get(name) != value}


def valid_pool(base: Answers, values: dict[str, tuple[str, ...]]) -> list[Answers]:
    """Seeded random answer sets that the hook accepts, duplicates removed, in a stable order."""
    rng = random.Random(SEED)
    seen: dict[tuple[str, ...], Answers] = {}
    for _ in range(SAMPLES):
        candidate = {name: rng.choice(values[name]) for name in DIMENSIONS}
        key = tuple(candidate[name] for name in DIMENSIONS)
        if key not in seen and is_valid(candidate, base):
            seen[key] = candidate
    return list(seen.values())


def closest_to_defaults(candidates: Iterable[Answers], base: Answers) -> Answers:
    """The candidate with the fewest non-default answers (ties: the first)."""
    return min(candidates, key=lambda answers: len(differing(answers, base)))


def triple_of(answers: Answers) -> tuple[str, ...]:
    return tuple(answers[name] for name in TRIPLE)


def triple_rows(pool: list[Answers], base: Answers, baked: set[tuple[str, ...]]) -> list[Answers]:
    """One row per valid framework x sagemaker_mode x problem_type not in `baked`, as close to the defaults as the
    pool allows."""
    groups: dict[tuple[str, ...], list[Answers]] = {}
    for answers in pool:
        groups.setdefault(triple_of(answers), []).append(answers)
    return [closest_to_defaults(groups[key], base) for key in sorted(groups) if key not in baked]


def greedy_rows(pool: list[Answers], covered: set[Pair]) -> list[Answers]:
    """Rows picked from the pool, each covering the most pairs not yet covered, until every reachable pair is."""
    reachable = set().union(*(pairs_of(answers) for answers in pool)) if pool else set()
    missing = reachable - covered
    rows = []
    while missing:
        best = max(pool, key=lambda answers: len(pairs_of(answers) & missing))
        rows.append(best)
        missing -= pairs_of(best)
    return without_redundant_rows(rows, covered, reachable)


def without_redundant_rows(rows: list[Answers], covered: set[Pair], reachable: set[Pair]) -> list[Answers]:
    """Drop, latest first, each greedy row whose pairs the other rows (and the named ones) cover anyway."""
    kept = list(rows)
    for row in reversed(rows):
        others = [other for other in kept if other is not row]
        if reachable <= covered.union(*(pairs_of(other) for other in others)):
            kept = others
    return kept


def covering_rows(named: Iterable[Answers]) -> list[Answers]:
    """The triple rows and the greedy pair rows that the named rows (full answer sets) leave to cover."""
    base = defaults()
    pool = valid_pool(base, supported_values())
    full = [{**base, **answers} for answers in named]
    rows = triple_rows(pool, base, {triple_of(answers) for answers in full})
    covered = set().union(*(pairs_of(answers) for answers in full + rows))
    rows += greedy_rows(pool, covered)
    return [differing(answers, base) for answers in with_cosmetic_answers(rows, full, base)]


def with_cosmetic_answers(rows: list[Answers], named: list[Answers], base: Answers) -> list[Answers]:
    """Give the rows, in turn, each cosmetic answer that no named row bakes (a row keeps its answer when the turn's
    value would make it invalid, and the value moves on to the next row)."""
    values = supported_values()
    rows = [dict(row) for row in rows]
    for name in COSMETIC:
        pending = [value for value in values[name] if all(answers[name] != value for answers in named)]
        for row in rows:
            if not pending:
                break
            if is_valid({**row, name: pending[0]}, base):
                row[name] = pending.pop(0)
    return rows
