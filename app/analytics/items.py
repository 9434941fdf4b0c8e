"""Item analysis: statistics from summed groups of responses, pure and Session-free.

The service reads the item groups kept at submission (app.analytics.models.ItemGroupSums), one
row per (quiz version, question, attempt size, chosen options); this module adds those groups up
per question and derives difficulty, point-biserial discrimination and option counts. Options
are named by their position in the quiz version's authored list (option ids are random per
attempt). Rest-score sums are added as fractions, so they are exact whatever the order.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

Number = int | float | Fraction

TOO_EASY = 0.95  # difficulty (proportion correct) above this
TOO_HARD = 0.3  # difficulty below this
LOW_DISCRIMINATION = 0.1  # point-biserial below this

TRUE_LABEL, FALSE_LABEL = "True", "False"


@dataclass
class OptionCount:
    text: str
    is_correct: bool
    chosen: int = 0


@dataclass
class ItemAccumulator:
    """Running sums for one question in one quiz version."""

    question_id: str
    prompt: str
    type: str
    options: dict[str, OptionCount] = field(default_factory=dict)  # by option text
    responses: int = 0
    correct: int = 0
    # Sums for the Pearson correlation of item score x (0/1) with rest score y.
    n: int = 0
    sum_x: Number = 0
    sum_y: Number = 0
    sum_xy: Number = 0
    sum_xx: Number = 0
    sum_yy: Number = 0

    @property
    def difficulty(self) -> float | None:
        return self.correct / self.responses if self.responses else None

    @property
    def discrimination(self) -> float | None:
        return pearson(self.n, self.sum_x, self.sum_y, self.sum_xy, self.sum_xx, self.sum_yy)

    def flags(self) -> list[str]:
        found = []
        difficulty, discrimination = self.difficulty, self.discrimination
        if difficulty is not None and difficulty > TOO_EASY:
            found.append("too easy")
        if difficulty is not None and difficulty < TOO_HARD:
            found.append("too hard")
        if discrimination is not None and discrimination < LOW_DISCRIMINATION:
            found.append("low discrimination")
        if self.responses and any(o.chosen == 0 for o in self.options.values()):
            found.append("unused option")
        return found


def pearson(n: int, sx: Number, sy: Number, sxy: Number, sxx: Number, syy: Number) -> float | None:
    """Pearson's r from running sums; None when either variable is constant (r undefined)."""
    var_x = n * sxx - sx * sx
    var_y = n * syy - sy * sy
    if n < 2 or var_x <= 1e-12 or var_y <= 1e-12:
        return None
    return float(n * sxy - sx * sy) / math.sqrt(var_x * var_y)


def _authored_options(question: Mapping[str, Any]) -> list[OptionCount]:
    if question.get("type") == "true_false":
        answer = question.get("answer") is True
        return [OptionCount(TRUE_LABEL, answer), OptionCount(FALSE_LABEL, not answer)]
    return [
        OptionCount(str(o.get("text", "")).strip(), bool(o.get("correct")))
        for o in question.get("options", [])
    ]


@dataclass
class Sums:
    """A group of item responses from attempts of ``item_count`` questions. ``rest`` sums the
    rest points (the attempt's other questions answered right), so the rest score is
    y = rest / (item_count - 1); a response counts towards r only when the attempt has another
    question to correlate with."""

    responses: int
    correct: int
    item_count: int
    rest: int
    rest_x: int  # Σ x · rest
    rest_sq: int  # Σ rest²


class ItemAnalysis:
    """Collects item statistics per (quiz version, question) from grouped SQL sums."""

    def __init__(self) -> None:
        self.items: dict[tuple[int, str], ItemAccumulator] = {}
        self._texts: dict[tuple[int, str], list[str]] = {}  # option text by authored position

    def add_version(self, version_id: int, questions: Sequence[Mapping[str, Any]]) -> None:
        """Registers the authored questions, so options nobody picks still appear (and count 0)."""
        for q in questions:
            item = self._item(version_id, str(q["id"]), q)
            options = _authored_options(q)
            self._texts[(version_id, item.question_id)] = [o.text for o in options]
            for option in options:
                item.options.setdefault(option.text, option)

    def _item(
        self, version_id: int, question_id: str, q: Mapping[str, Any] | None = None
    ) -> ItemAccumulator:
        key = (version_id, question_id)
        item = self.items.get(key)
        if item is None:
            q = q or {}
            item = ItemAccumulator(
                question_id=question_id,
                prompt=str(q.get("prompt", "")),
                type=str(q.get("type", "")),
            )
            self.items[key] = item
        return item

    def add_group(self, version_id: int, question_id: str, chosen: str | None, sums: Sums) -> None:
        """Adds one group of responses that chose the same options (``chosen`` as stored)."""
        item = self._item(version_id, question_id)
        item.responses += sums.responses
        item.correct += sums.correct
        if sums.item_count > 1:
            others = sums.item_count - 1
            item.n += sums.responses
            item.sum_x += sums.correct
            item.sum_xx += sums.correct  # x is 0 or 1, so x * x == x
            item.sum_y += Fraction(sums.rest, others)
            item.sum_xy += Fraction(sums.rest_x, others)
            item.sum_yy += Fraction(sums.rest_sq, others * others)
        texts = self._texts.get((version_id, question_id), [])
        for position in (chosen or "").split(","):
            if not position.isdigit():
                continue
            index = int(position)
            text = texts[index] if index < len(texts) else f"option {index + 1}"
            option = item.options.get(text)
            if option is None:
                option = item.options[text] = OptionCount(text, False)
            option.chosen += sums.responses
