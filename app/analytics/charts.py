"""Geometry for server-rendered SVG bar charts (the template draws them); pure, no I/O."""

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
LABEL_WIDTH = 230
VALUE_WIDTH = 70
BAR_HEIGHT = 22
GAP = 10
PAD = 8
MAX_LABEL_CHARS = 34


@dataclass
class Bar:
    label: str  # possibly shortened; the table beside the chart has the full text
    value_label: str
    x: int
    y: int
    width: float
    height: int
    text_y: int


@dataclass
class BarChart:
    chart_id: str
    title: str
    desc: str
    width: int
    height: int
    label_x: int
    bars: list[Bar]


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def bar_chart(
    chart_id: str,
    title: str,
    items: Sequence[tuple[str, float, str]],
    *,
    max_value: float | None = None,
) -> BarChart:
    """Horizontal bars, one per (label, value, value label); lengths scale to max_value.
    The description repeats every label and number, for screen readers."""
    top = max_value if max_value is not None else max((v for _, v, _ in items), default=0)
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for i, (label, value, value_label) in enumerate(items):
        y = PAD + i * (BAR_HEIGHT + GAP)
        width = area * value / top if top > 0 else 0.0
        bars.append(
            Bar(
                label=_short(label),
                value_label=value_label,
                x=LABEL_WIDTH,
                y=y,
                width=round(max(width, 0.0), 1),
                height=BAR_HEIGHT,
                text_y=y + BAR_HEIGHT // 2 + 5,
            )
        )
    desc = "; ".join(f"{label}: {value_label}" for label, _, value_label in items) or "No data."
    return BarChart(
        chart_id=chart_id,
        title=title,
        desc=desc,
        width=WIDTH,
        height=PAD * 2 + max(len(items), 1) * (BAR_HEIGHT + GAP) - GAP,
        label_x=LABEL_WIDTH - 8,
        bars=bars,
    )


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{round(100 * value)}%"


def funnel_chart(steps: Sequence[tuple[str, int]]) -> BarChart:
    """Enrolled, each module passed, final exam passed, certificate: learner counts."""
    return bar_chart(
        "funnel-chart",
        "Learner funnel: how many learners reached each step",
        [(label, count, f"{count:,}") for label, count in steps],
    )


def pass_rate_chart(modules: Sequence[tuple[str, float | None]]) -> BarChart:
    """First-attempt pass rate of each module quiz and the final exam, out of 100%."""
    return bar_chart(
        "first-pass-chart",
        "First-attempt pass rate per quiz",
        [(label, (rate or 0.0) * 100, _percent(rate)) for label, rate in modules],
        max_value=100,
    )


def likert_chart(question_id: str, prompt: str, counts: Sequence[int]) -> BarChart:
    """How many respondents chose each rating from 1 to 5."""
    return bar_chart(
        f"likert-{question_id}",
        f"Ratings: {prompt}",
        [(f"{i + 1} of 5", n, f"{n:,}") for i, n in enumerate(counts)],
    )
