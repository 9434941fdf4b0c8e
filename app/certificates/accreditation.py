"""Accreditation approvals from course.yaml: which apply to a learner, and the rules a
certificate must meet under each before it is issued.

Pure functions over plain data, shared by `lms content check` (rules that the course itself
cannot meet) and certificate issue (rules this learner's record does not meet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, get_args

Body = Literal["APA", "ASWB ACE", "NBCC", "ANCC", "Joint Accreditation", "State board"]
BODIES: tuple[str, ...] = get_args(Body)
# APA's standards recommend a 75% pass mark on home-study post-tests. Other bodies: whatever
# `min_pass_mark` the approval sets.
DEFAULT_MIN_PASS_MARK: dict[str, float] = {"APA": 0.75}
RETENTION_YEARS = 6  # ANCC: keep completion records at least six years


@dataclass(frozen=True)
class CEBroker:
    provider_tracking_number: str
    course_tracking_number: str  # "" = report the course by the provider's own course id
    profession_codes: dict[str, str]  # profession key -> CE Broker profession code
    subject_code: str = ""  # with `hours`, for partial credit
    hours: float | None = None


@dataclass(frozen=True)
class Approval:
    id: str
    body: str
    body_name: str
    number: str
    statement: str
    credit_type: str
    credit_amount: float
    professions: tuple[str, ...]
    states: tuple[str, ...]  # empty: any state
    valid_from: date
    valid_until: date
    min_pass_mark: float | None = None
    cebroker: CEBroker | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def required_pass_mark(self) -> float | None:
        if self.min_pass_mark is not None:
            return self.min_pass_mark
        return DEFAULT_MIN_PASS_MARK.get(self.body)

    @property
    def display_body(self) -> str:
        return self.body_name or self.body

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on <= self.valid_until

    def covers(self, profession: str, state: str) -> bool:
        return profession in self.professions and (not self.states or state in self.states)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "body": self.body,
            "body_name": self.body_name,
            "number": self.number,
            "statement": self.statement,
            "credit_type": self.credit_type,
            "credit_amount": self.credit_amount,
            "professions": list(self.professions),
            "states": list(self.states),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "min_pass_mark": self.min_pass_mark,
        }
        if self.cebroker is not None:
            data["cebroker"] = {
                "provider_tracking_number": self.cebroker.provider_tracking_number,
                "course_tracking_number": self.cebroker.course_tracking_number,
                "profession_codes": dict(self.cebroker.profession_codes),
                "subject_code": self.cebroker.subject_code,
                "hours": self.cebroker.hours,
            }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Approval:
        broker = data.get("cebroker")
        return cls(
            id=data["id"],
            body=data["body"],
            body_name=data.get("body_name", ""),
            number=data["number"],
            statement=data["statement"],
            credit_type=data["credit_type"],
            credit_amount=float(data["credit_amount"]),
            professions=tuple(data["professions"]),
            states=tuple(data.get("states", ())),
            valid_from=date.fromisoformat(data["valid_from"]),
            valid_until=date.fromisoformat(data["valid_until"]),
            min_pass_mark=data.get("min_pass_mark"),
            cebroker=(
                CEBroker(
                    provider_tracking_number=broker["provider_tracking_number"],
                    course_tracking_number=broker.get("course_tracking_number", ""),
                    profession_codes=dict(broker.get("profession_codes", {})),
                    subject_code=broker.get("subject_code", ""),
                    hours=broker.get("hours"),
                )
                if broker
                else None
            ),
        )


def approvals_of(raw: list[dict[str, Any]]) -> list[Approval]:
    return [Approval.from_json(item) for item in raw]


def applicable(approvals: list[Approval], profession: str, state: str, on: date) -> list[Approval]:
    """Approvals that cover this profession (and state) and are in force on the given day."""
    return [a for a in approvals if a.covers(profession, state) and a.in_force(on)]


@dataclass(frozen=True)
class CourseFacts:
    """What the course-level rules look at."""

    final_pass_mark: float
    delivery_format: str
    instructional_level: str
    credit_basis: str
    ce_hours: float
    has_evaluation: bool


def course_rule_failures(approval: Approval, facts: CourseFacts) -> list[str]:
    """Reasons this course can never meet the approval's rules (checked by content check)."""
    reasons: list[str] = []
    minimum = approval.required_pass_mark
    if minimum is not None and facts.final_pass_mark + 1e-9 < minimum:
        reasons.append(
            f"the final exam's pass mark {facts.final_pass_mark:.0%} is under the "
            f"{minimum:.0%} minimum of approval '{approval.id}' ({approval.display_body})"
        )
    if not facts.delivery_format.strip():
        reasons.append(f"approval '{approval.id}' needs a delivery_format")
    if not facts.instructional_level.strip():
        reasons.append(f"approval '{approval.id}' needs an instructional_level")
    if not facts.credit_basis.strip():
        reasons.append(
            f"approval '{approval.id}' needs the course's credit_basis (how the hours were set)"
        )
    if not facts.has_evaluation:
        reasons.append(f"approval '{approval.id}' needs a course evaluation")
    if approval.credit_amount > facts.ce_hours + 1e-9:
        reasons.append(
            f"approval '{approval.id}' awards {approval.credit_amount:g} credits, more than the "
            f"course's {facts.ce_hours:g} ce_hours"
        )
    return reasons


def learner_rule_failures(
    approvals: list[Approval],
    facts: CourseFacts,
    *,
    final_score: float | None,
    evaluation_submitted: bool,
) -> list[str]:
    """Why this learner's record does not meet the rules of the approvals that apply."""
    reasons: list[str] = []
    for approval in approvals:
        reasons.extend(course_rule_failures(approval, facts))
        minimum = approval.required_pass_mark
        if minimum is not None and (final_score is None or final_score + 1e-9 < minimum):
            shown = "no passing score" if final_score is None else f"{final_score:.0%}"
            reasons.append(
                f"final exam score {shown} is under the {minimum:.0%} minimum of "
                f"approval '{approval.id}' ({approval.display_body})"
            )
        if not evaluation_submitted:
            reasons.append(f"approval '{approval.id}' needs the course evaluation submitted")
    return list(dict.fromkeys(reasons))
