"""Reporting errors; app/core/errors.py maps their bases to HTTP statuses."""

from app.core.errors import Conflict, Invalid, NotFound


class CourseNotFound(NotFound):
    """No course with that slug."""


class ExportNotFound(NotFound):
    """No such CE Broker export for this course."""


class RosterChanged(Conflict):
    """The roster is not the one that was previewed (new completions, or another export)."""


class NothingToReport(Conflict):
    """Every eligible licensee has been reported already."""


class AlreadyReported(Conflict):
    """A racing export reported some of these licensees first (the ledger's unique key)."""


class PartOutOfRange(Invalid):
    """The certificate ZIP has fewer parts than the one asked for."""
