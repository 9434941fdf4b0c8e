"""Item analysis over submitted attempts: pure, streaming, Session-free.

Each attempt adds its graded results once; memory grows with the number of questions,
never with the number of attempts. Option ids are random per attempt, so options are
matched across attempts by their text within one quiz version.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    sum_x: float = 0.0
    sum_y: float = 0.0
    sum_xy: float = 0.0
    sum_xx: float = 0.0
    sum_yy: float = 0.0

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


def pearson(n: int, sx: float, sy: float, sxy: float, sxx: float, syy: float) -> float | None:
    """Pearson's r from running sums; None when either variable is constant (r undefined)."""
    var_x = n * sxx - sx * sx
    var_y = n * syy - sy * sy
    if n < 2 or var_x <= 1e-12 or var_y <= 1e-12:
        return None
    return (n * sxy - sx * sy) / math.sqrt(var_x * var_y)


def _authored_options(question: Mapping[str, Any]) -> list[OptionCount]:
    if question.get("type") == "true_false":
        answer = question.get("answer") is True
        return [OptionCount(TRUE_LABEL, answer), OptionCount(FALSE_LABEL, not answer)]
    return [
        OptionCount(str(o.get("text", "")).strip(), bool(o.get("correct")))
        for o in question.get("options", [])
    ]


class ItemAnalysis:
    """Accumulates item statistics per (quiz version, question) over any number of attempts."""

    def __init__(self) -> None:
        self.items: dict[tuple[int, str], ItemAccumulator] = {}

    def add_version(self, version_id: int, questions: Sequence[Mapping[str, Any]]) -> None:
        """Registers the authored questions, so options nobody picks still appear (and count 0)."""
        for q in questions:
            item = self._item(version_id, q)
            for option in _authored_options(q):
                item.options.setdefault(option.text, option)

    def _item(self, version_id: int, q: Mapping[str, Any]) -> ItemAccumulator:
        key = (version_id, str(q["id"]))
        item = self.items.get(key)
        if item is None:
            item = ItemAccumulator(
                question_id=str(q["id"]), prompt=str(q.get("prompt", "")), type=str(q["type"])
            )
            self.items[key] = item
        return item

    def add_attempt(
        self,
        version_id: int,
        snapshot: Sequence[Mapping[str, Any]],
        answers: Mapping[str, Any] | None,
        results: Sequence[Mapping[str, Any]] | None,
    ) -> None:
        """Adds one submitted attempt: its item scores and the options it chose."""
        answers = answers or {}
        scores = {str(r["question_id"]): 1 if r.get("correct") else 0 for r in results or []}
        total, count = sum(scores.values()), len(scores)
        for q in snapshot:
            qid = str(q["id"])
            if qid not in scores:
                continue
            item = self._item(version_id, q)
            x = scores[qid]
            item.responses += 1
            item.correct += x
            if count > 1:
                # The rest score leaves the item out, so it does not correlate with itself.
                y = (total - x) / (count - 1)
                item.n += 1
                item.sum_x += x
                item.sum_y += y
                item.sum_xy += x * y
                item.sum_xx += x * x
                item.sum_yy += y * y
            for text in _chosen_texts(q, answers.get(qid)):
                option = item.options.get(text)
                if option is None:
                    option = item.options[text] = OptionCount(text, False)
                option.chosen += 1


def _chosen_texts(question: Mapping[str, Any], answer: Any) -> list[str]:
    if answer is None:
        return []
    if question.get("type") == "true_false":
        return [TRUE_LABEL if answer is True else FALSE_LABEL] if isinstance(answer, bool) else []
    if question.get("type") not in ("single", "multiple"):
        return []
    ids = [answer] if isinstance(answer, str) else answer
    if not isinstance(ids, list):
        return []
    texts = {str(o["id"]): str(o.get("text", "")).strip() for o in question.get("options", [])}
    return [texts[i] for i in ids if isinstance(i, str) and i in texts]
