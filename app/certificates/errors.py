from app.core.errors import Conflict, Forbidden, Invalid, NotFound


class RequirementsUnmet(Forbidden):
    """The learner has not met every requirement for the certificate."""


class CertificateNotFound(NotFound):
    """No certificate with that code."""


class AlreadyRevoked(Conflict):
    """A certificate is revoked once."""


class UnreadableDocument(Invalid):
    """An uploaded file that is not a certificate PDF."""
