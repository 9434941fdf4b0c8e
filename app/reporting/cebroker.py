"""The CE Broker roster: which certificates become rows, why others are skipped, and the .xlsx.

Pure functions over plain data. The column layout is CE Broker's Excel roster upload as its help
centre describes it (full and partial credit share one layout, columns A to J, no header row):

    A provider tracking number (without "50-")   F completion date (an Excel date)
    B course tracking number (without "20-")     G "State=XX"
    C or the provider's own course id            H "Profession=<CE Broker profession code>"
    D CE Broker publishing number (blank)        I subject area code  } partial credit only
    E licence number                             J hours              }
"""

import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook

from app.certificates.accreditation import Approval
from app.licences import professions

COLUMNS: tuple[tuple[str, str], ...] = (
    ("A", "Provider tracking number"),
    ("B", "Course tracking number"),
    ("C", "Provider's own course id"),
    ("D", "Publishing number"),
    ("E", "Licence number"),
    ("F", "Completion date"),
    ("G", "State"),
    ("H", "Profession"),
    ("I", "Subject area code (partial credit)"),
    ("J", "Hours (partial credit)"),
)
SHEET_TITLE = "Roster"
DATE_FORMAT = "m/d/yyyy"  # CE Broker's example: 12/3/2008

# Skip reasons, in the order they are checked.
REVOKED = "revoked"
SUPERSEDED = "superseded"
NO_LICENCE_NUMBER = "no_licence_number"
NO_LICENCE_STATE = "no_licence_state"
NO_CEBROKER_APPROVAL = "no_cebroker_approval"
NO_PROFESSION_CODE = "no_profession_code"
ALREADY_REPORTED = "already_reported"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Completion:
    """A certificate as the roster sees it."""

    certificate_id: int
    code: str
    learner_name: str
    state: str
    licence_number: str
    profession_key: str
    completion_date: date
    approvals: list[dict[str, Any]]
    is_revoked: bool = False
    superseded_by: str = ""  # the code of the reissue (same completion) that replaced it


@dataclass(frozen=True)
class RosterRow:
    certificate_id: int
    certificate_code: str
    learner_name: str
    approval_id: str
    provider_tracking_number: str
    course_tracking_number: str
    course_id: str
    publishing_number: str
    licence_number: str
    completion_date: date
    state: str
    profession_code: str
    subject_code: str
    hours: float | None

    @property
    def key(self) -> "LedgerKey":
        return LedgerKey(
            self.state, self.profession_code, licence_key(self.licence_number), self.completion_date
        )

    def cells(self) -> list[str | date | float | None]:
        """The row's cells, columns A to J."""
        partial = self.hours is not None
        return [
            self.provider_tracking_number,
            self.course_tracking_number,
            self.course_id,
            self.publishing_number,
            self.licence_number,
            self.completion_date,
            f"State={self.state}",
            f"Profession={self.profession_code}",
            self.subject_code if partial else "",
            self.hours if partial else None,
        ]

    def json_cells(self) -> list[str | float | None]:
        return [c.isoformat() if isinstance(c, date) else c for c in self.cells()]


@dataclass(frozen=True)
class LedgerKey:
    state: str
    profession_code: str
    licence_key: str
    completion_date: date


@dataclass(frozen=True)
class Skipped:
    certificate_code: str
    learner_name: str
    reason: str
    detail: str


@dataclass
class Roster:
    rows: list[RosterRow] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """Names exactly these rows: marking a roster reported must match what was previewed."""
        body = json.dumps(
            [[r.certificate_code, *r.json_cells()] for r in self.rows], separators=(",", ":")
        )
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


def licence_key(number: str) -> str:
    """The licence number as the ledger compares it: spacing and letter case do not matter."""
    return "".join(number.split()).upper()


def _strip_prefix(number: str, prefix: str) -> str:
    # CE Broker shows tracking numbers as 50-1234 (provider) and 20-5678 (course); the upload
    # wants them without the prefix.
    number = number.strip()
    return number[len(prefix) :] if number.startswith(prefix) else number


def _row_for(completion: Completion, approval: Approval, code: str, course_ref: str) -> RosterRow:
    broker = approval.cebroker
    assert broker is not None  # noqa: S101 (the caller picked approvals with a CE Broker block)
    tracking = _strip_prefix(broker.course_tracking_number, "20-")
    return RosterRow(
        certificate_id=completion.certificate_id,
        certificate_code=completion.code,
        learner_name=completion.learner_name,
        approval_id=approval.id,
        provider_tracking_number=_strip_prefix(broker.provider_tracking_number, "50-"),
        course_tracking_number=tracking,
        course_id="" if tracking else course_ref,
        publishing_number="",
        licence_number=completion.licence_number.strip(),
        completion_date=completion.completion_date,
        state=completion.state.upper(),
        profession_code=code,
        subject_code=broker.subject_code if broker.hours is not None else "",
        hours=broker.hours,
    )


def build_roster(
    completions: Iterable[Completion],
    *,
    course_ref: str,
    reported: dict[LedgerKey, str],
) -> Roster:
    """Splits a course's certificates into roster rows and skipped ones (with the reason).

    `reported` maps ledger keys already exported to a description of the export. Only the
    approvals recorded on the certificate at issue count; profession codes come from their
    CE Broker block, never from a guess."""
    roster = Roster()
    seen: dict[LedgerKey, str] = {}

    def skip(c: Completion, reason: str, detail: str) -> None:
        roster.skipped.append(Skipped(c.code, c.learner_name, reason, detail))

    for c in sorted(
        completions, key=lambda c: (c.completion_date, c.learner_name, c.certificate_id)
    ):
        state = c.state.strip().upper()
        profession = professions.label(c.profession_key) if c.profession_key else "no profession"
        if c.is_revoked:
            skip(c, REVOKED, "the certificate was revoked")
        elif c.superseded_by:
            skip(c, SUPERSEDED, f"reissued as {c.superseded_by}, which stands for this completion")
        elif not c.licence_number.strip():
            skip(c, NO_LICENCE_NUMBER, "no licence number on the certificate")
        elif not state:
            skip(c, NO_LICENCE_STATE, "no licence state on the certificate")
        else:
            covering = [
                a
                for a in (Approval.from_json(raw) for raw in c.approvals if raw.get("cebroker"))
                if a.covers(c.profession_key, state)
            ]
            coded = [
                a
                for a in covering
                if a.cebroker is not None and c.profession_key in a.cebroker.profession_codes
            ]
            if not covering:
                skip(
                    c,
                    NO_CEBROKER_APPROVAL,
                    f"no approval with CE Broker tracking covered {profession} in {state} "
                    "when the certificate was issued",
                )
            elif not coded:
                skip(
                    c,
                    NO_PROFESSION_CODE,
                    f"approval '{covering[0].id}' has no CE Broker profession code for "
                    f"{profession}",
                )
            else:
                approval = coded[0]
                assert approval.cebroker is not None  # noqa: S101
                code = approval.cebroker.profession_codes[c.profession_key]
                row = _row_for(c, approval, code, course_ref)
                if row.key in reported:
                    skip(c, ALREADY_REPORTED, f"already reported in {reported[row.key]}")
                elif row.key in seen:
                    skip(c, DUPLICATE, f"the same licensee and completion as {seen[row.key]}")
                else:
                    seen[row.key] = c.code
                    roster.rows.append(row)
    return roster


def workbook(rows: list[RosterRow], *, created_at: datetime, creator: str) -> bytes:
    """The roster as an .xlsx workbook: one sheet, one row per licensee, columns A to J."""
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET_TITLE
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row.cells(), start=1):
            if value is None or value == "":
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                # openpyxl would store "=..." as a formula; licence numbers are learners' input.
                cell.data_type = "s"
                cell.number_format = "@"
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
    for letter, width in zip("ABCDEFGHIJ", (14, 14, 24, 10, 18, 12, 10, 18, 12, 8), strict=True):
        sheet.column_dimensions[letter].width = width
    naive = created_at.replace(tzinfo=None, microsecond=0)
    book.properties.creator = creator
    book.properties.created = naive
    book.properties.modified = naive
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
