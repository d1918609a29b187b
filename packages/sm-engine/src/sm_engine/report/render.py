"""The report page: one HTML file with its style and its figures (inline SVG) inside, no script, no external file.

Every text that comes from the run (names, values, labels) is escaped; only the figures' SVG markup, made by
matplotlib, goes in as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from string import Template

from . import plots
from .collect import RunReport

SPLITS = ("train", "validation", "test")

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; } th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; }
th { background: #f4f4f4; text-align: left; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.best { background: #e8f5e9; font-weight: bold; } .note { color: #666; font-style: italic; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
.row { display: flex; flex-wrap: wrap; gap: 1rem; }
</style>
</head>
<body>
<h1>$title</h1>
<p>$subtitle</p>
$sections
</body>
</html>
""")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1, classes: str = "") -> str:
    """An HTML table of escaped cells; columns from `numeric_from` on are right-aligned."""
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="number">{escape(cell)}</td>' if index >= numeric_from else f"<td>{escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    attribute = f' class="{classes}"' if classes else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(name: str, svg: str) -> str:
    return f'<figure data-plot="{escape(name)}">{svg}</figure>'


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def jobs_section(report: RunReport) -> str:
    return _section("jobs", "Jobs", _table(["step", "name"], report.jobs.items(), numeric_from=2))


def metrics_section(report: RunReport) -> str:
    rows = [[metric, *(_value(by_split.get(split)) for split in SPLITS)] for metric, by_split in report.metrics.items()]
    hyperparameters = _table(["hyperparameter", "value"], report.hyperparameters.items())
    return _section(
        "metrics",
        "Metrics per split",
        _table(["metric", *SPLITS], rows),
        _note("train and validation: the training job's metrics; test: the batch transform's predictions scored."),
        "<h3>Hyperparameters of the model</h3>",
        hyperparameters,
    )


def predictions_section(report: RunReport) -> str:
    if report.regression:
        figures = plots.regression(report.test)
        return _section("predictions", "Predictions on the test split", *(_figure(n, s) for n, s in figures.items()))
    classes = report.classes or []
    parts = [_figure("confusion-matrix", plots.confusion_matrix(report.test, classes))]
    if report.test.probabilities is not None:
        curves = plots.roc_and_precision_recall(report.test, classes)
        parts.append(f'<div class="row">{"".join(_figure(n, s) for n, s in curves.items())}</div>')
    else:
        parts.append(_note(f"ROC and precision-recall curves: {report.notes.get('curves', 'not available')}"))
    return _section("predictions", "Predictions on the test split", *parts)


def latency_section(report: RunReport) -> str:
    title = "Endpoint latency"
    latency = report.latency
    if latency is None:
        return _section(
            "latency", title, _note("not measured: the run deployed no endpoint, or the report was made after the run")
        )
    row = [str(latency.requests), *(f"{value:.1f}" for value in (latency.p50, latency.p95, latency.max))]
    return _section(
        "latency",
        title,
        _table(["requests", "p50 (ms)", "p95 (ms)", "max (ms)"], [row], numeric_from=0),
        _note("The run's sample requests, each timed from the request to the answer read, as the caller sees it."),
    )


def tuning_section(report: RunReport) -> str:
    trials = report.tuning
    if trials is None:
        return ""
    figures = [_figure(name, svg) for name, svg in plots.tuning(trials).items()]
    header = ["trial", "status", *trials.parameters, trials.metric]
    rows = []
    for trial in trials.trials:
        cells = [trial.name, trial.status, *(trial.hyperparameters.get(p, "-") for p in trials.parameters)]
        css = ' class="best"' if trial.best else ""
        row = "".join(f"<td>{escape(cell)}</td>" for cell in cells)
        rows.append(f'<tr{css}>{row}<td class="number">{escape(_value(trial.objective))}</td></tr>')
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    direction = "maximized" if trials.maximize else "minimized"
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return _section(
        "tuning",
        f"Tuning: {len(trials.trials)} trials",
        _note(f"Objective {trials.metric}, {direction}; the best trial is starred in the plots and bold below."),
        *figures,
        table,
    )


def importance_section(report: RunReport) -> str:
    result = report.importance
    title = "Permutation feature importance (test split)"
    if result is None:
        return _section("importance", title, _note(report.notes.get("importance", "not available for this model")))
    rows = [
        [name, f"{mean:.4g}", f"{std:.4g}"]
        for name, mean, std in zip(result.features, result.means, result.stds, strict=True)
    ]
    return _section(
        "importance",
        title,
        _figure("importance", plots.importance(result)),
        _table(["feature", f"mean {result.score}", "std"], rows),
    )


def schema_section(report: RunReport) -> str:
    rows = [[column.name, column.role, str(column.missing), str(column.distinct)] for column in report.schema]
    return _section(
        "schema",
        f"Data schema ({report.data_rows} rows)",
        _table(["column", "role", "missing", "distinct values"], rows, numeric_from=2),
    )


def render(report: RunReport) -> str:
    """The whole page."""
    kind = report.problem_type.replace("_", " ")
    sections = [
        jobs_section(report),
        metrics_section(report),
        predictions_section(report),
        latency_section(report),
        tuning_section(report),
        importance_section(report),
        schema_section(report),
    ]
    return PAGE.substitute(
        title=escape(f"Run report: {report.project}"),
        subtitle=escape(f"{kind} on the {report.executor} executor, made {report.created}"),
        sections="\n".join(section for section in sections if section),
    )
