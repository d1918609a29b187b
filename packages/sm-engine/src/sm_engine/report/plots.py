"""The report's figures: matplotlib (imported when a figure is drawn, without pyplot) rendered to inline SVG strings.

Each function returns the SVG markup of one figure, text drawn as paths so the page needs no font and no file.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .collect import Importance, TestPredictions, TuningTrials

BEST_STYLE = {"marker": "*", "s": 220, "color": "#d62728", "edgecolors": "black", "zorder": 3, "label": "best"}


def _figure(columns: int = 1, rows: int = 1, width: float = 5.5, height: float = 4.2) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure  # not pyplot: no GUI backend, no global state

    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    return figure, axes


def to_svg(figure: Figure) -> str:
    """The figure as an `<svg>` element (the XML prolog and doctype left out), deterministic across runs."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "sm-report", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def regression(test: TestPredictions) -> dict[str, str]:
    """Predicted against actual (the diagonal is a perfect model) and the residuals against the prediction."""
    truth = [float(value) for value in test.truth]
    predicted = [float(value) for value in test.predicted]
    residuals = [p - t for p, t in zip(predicted, truth, strict=True)]
    figure, (scatter,) = _figure()
    scatter.scatter(truth, predicted, alpha=0.7, edgecolors="none")
    low, high = min(truth + predicted), max(truth + predicted)
    scatter.plot([low, high], [low, high], color="grey", linestyle="--", label="predicted = actual")
    scatter.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual (test split)")
    scatter.legend()
    predicted_vs_actual = to_svg(figure)
    figure, (against, histogram) = _figure(columns=2)
    against.scatter(predicted, residuals, alpha=0.7, edgecolors="none")
    against.axhline(0, color="grey", linestyle="--")
    against.set(xlabel="predicted", ylabel="residual (predicted - actual)", title="Residuals vs predicted")
    histogram.hist(residuals, bins=min(30, max(5, len(residuals) // 3)))
    histogram.set(xlabel="residual (predicted - actual)", ylabel="rows", title="Distribution of the residuals")
    return {"predicted-vs-actual": predicted_vs_actual, "residuals": to_svg(figure)}


def confusion_matrix(test: TestPredictions, classes: list[str]) -> str:
    """Counts of each (true, predicted) class pair, annotated."""
    from sklearn.metrics import confusion_matrix as counts_of

    counts = counts_of(test.truth, test.predicted, labels=classes)
    size = max(4.0, 0.6 * len(classes) + 2.5)
    figure, (axes,) = _figure(width=size + 1, height=size)
    image = axes.imshow(counts, cmap="Blues")
    figure.colorbar(image, ax=axes)
    axes.set(
        xticks=range(len(classes)),
        yticks=range(len(classes)),
        xticklabels=classes,
        yticklabels=classes,
        xlabel="predicted",
        ylabel="actual",
        title="Confusion matrix (test split)",
    )
    threshold = counts.max() / 2
    for (row, column), count in _cells(counts):
        color = "white" if count > threshold else "black"
        axes.text(column, row, str(count), ha="center", va="center", color=color)
    return to_svg(figure)


def _cells(counts: object) -> list[tuple[tuple[int, int], int]]:
    import numpy as np

    matrix = np.asarray(counts)
    return [((row, column), int(matrix[row, column])) for row, column in np.ndindex(*matrix.shape)]


def _curves_by_class(test: TestPredictions, classes: list[str]) -> list[tuple[str, list[int], list[float]]]:
    """(label, is-this-class per row, its probability per row): the positive class of a binary problem, every class
    (one against the rest) of a multiclass one."""
    probabilities = test.probabilities or []
    shown = classes[1:] if len(classes) == 2 else classes
    return [
        (label, [int(value == label) for value in test.truth], [row[classes.index(label)] for row in probabilities])
        for label in shown
    ]


def roc_and_precision_recall(test: TestPredictions, classes: list[str]) -> dict[str, str]:
    """The ROC curve (with its AUC) and the precision-recall curve (with its average precision) per class shown."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    figure, (roc,) = _figure()
    pr_figure, (pr,) = _figure()
    for label, actual, scores in _curves_by_class(test, classes):
        if len(set(actual)) < 2:  # a class absent from the test split has no curve
            continue
        false_positive, true_positive, _ = roc_curve(actual, scores)
        roc.plot(false_positive, true_positive, label=f"{label} (AUC {auc(false_positive, true_positive):.3f})")
        precision, recall, _ = precision_recall_curve(actual, scores)
        pr.plot(recall, precision, label=f"{label} (AP {average_precision_score(actual, scores):.3f})")
    roc.plot([0, 1], [0, 1], color="grey", linestyle="--", label="chance")
    roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve (test split)")
    pr.set(xlabel="recall", ylabel="precision", title="Precision-recall curve (test split)", ylim=(0, 1.05))
    roc.legend(loc="lower right")
    pr.legend(loc="lower left")
    return {"roc": to_svg(figure), "precision-recall": to_svg(pr_figure)}


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def tuning(trials: TuningTrials) -> dict[str, str]:
    """The objective of each trial in the order they started, and against each tuned hyperparameter; the best trial
    marked with a star."""
    scored = [(index, trial) for index, trial in enumerate(trials.trials, start=1) if trial.objective is not None]
    figure, (per_trial,) = _figure(width=7)
    per_trial.plot([i for i, _ in scored], [t.objective for _, t in scored], marker="o", label=trials.metric)
    for index, trial in scored:
        if trial.best:
            per_trial.scatter([index], [trial.objective], **BEST_STYLE)
    per_trial.set(
        xlabel="trial (in start order)", ylabel=trials.metric, title=f"Objective per trial ({trials.job_name})"
    )
    per_trial.legend()
    plots = {"tuning-trials": to_svg(figure)}
    if not trials.parameters:
        return plots
    columns = min(3, len(trials.parameters))
    rows = math.ceil(len(trials.parameters) / columns)
    figure, axes = _figure(columns=columns, rows=rows, width=4.2, height=3.4)
    for parameter, axis in zip(trials.parameters, axes, strict=False):
        _objective_against(axis, parameter, [trial for _, trial in scored], trials.metric)
    for axis in axes[len(trials.parameters) :]:
        axis.set_visible(False)
    figure.suptitle(f"{trials.metric} against each hyperparameter")
    plots["tuning-hyperparameters"] = to_svg(figure)
    return plots


def _objective_against(axis: Axes, parameter: str, trials: list, metric: str) -> None:
    """One hyperparameter's values (numbers, or categories on an axis of their own) against the objective."""
    values = [trial.hyperparameters.get(parameter, "") for trial in trials]
    numbers = [_number(value) for value in values]
    if all(number is not None for number in numbers):
        positions: list[float] = [float(number) for number in numbers if number is not None]
    else:
        categories = sorted(set(values))
        positions = [float(categories.index(value)) for value in values]
        axis.set_xticks(range(len(categories)), categories)
    objectives = [trial.objective for trial in trials]
    axis.scatter(positions, objectives, alpha=0.8)
    for position, trial in zip(positions, trials, strict=True):
        if trial.best:
            axis.scatter([position], [trial.objective], **BEST_STYLE)
    axis.set(xlabel=parameter, ylabel=metric)


def importance(result: Importance) -> str:
    """Permutation importance per raw feature column, the most important on top, with its spread over repeats."""
    height = max(3.0, 0.45 * len(result.features) + 1.5)
    figure, (axes,) = _figure(width=7, height=height)
    positions = list(range(len(result.features)))[::-1]
    axes.barh(positions, result.means, xerr=result.stds, color="#1f77b4", ecolor="black", capsize=3)
    axes.set_yticks(positions, result.features)
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set(xlabel=result.score, title="Permutation feature importance (test split)")
    return to_svg(figure)
