from app.core.errors import Invalid, NotFound


class CourseNotFoundForStaff(NotFound):
    """No course with that slug that this user may analyse (others' courses look absent)."""


class UnknownLearnerStatus(Invalid):
    """The learner filter named a status that does not exist."""
