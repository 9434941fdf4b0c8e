from app.core.errors import Conflict, Invalid, NotFound


class LicenceNotFound(NotFound):
    """No licence with that id among the learner's own."""


class DuplicateLicence(Conflict):
    """The learner already holds a licence with this profession, state and number."""


class LicenceChoiceNeeded(Invalid):
    """Several licences could apply to a claim and none was chosen."""
