from app.core.errors import Forbidden, NotFound


class CourseNotFound(NotFound):
    """No published course with that slug (drafts are invisible to learners)."""


class ModuleNotFound(NotFound):
    """No module with that slug in the course."""


class NotEnrolled(Forbidden):
    """The learner must enrol first."""


class ModuleLocked(Forbidden):
    """Prerequisites are not passed yet."""
