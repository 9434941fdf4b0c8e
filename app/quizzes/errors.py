from app.core.errors import Conflict, Forbidden, NotFound, Throttled


class AttemptNotFound(NotFound):
    """No such attempt for this learner."""


class AlreadySubmitted(Conflict):
    """An attempt is graded once."""


class AttemptsExhausted(Throttled):
    """No attempts left until the cooldown ends."""


class QuizLocked(Forbidden):
    """The quiz's module or the final exam is not open yet."""


class EvaluationAlreadySubmitted(Conflict):
    """The course evaluation is submitted once."""
