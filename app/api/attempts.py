"""/api/v1/attempts: grading a submitted attempt (exactly once)."""

from fastapi import APIRouter

from app.core.clock import utcnow
from app.core.deps import ApiUser, SessionDep
from app.quizzes import service as quizzes
from app.quizzes.schemas import ResultOut, SubmissionIn, SubmissionOut

router = APIRouter(prefix="/attempts", tags=["attempts"])


@router.post(
    "/{attempt_id}/submission",
    responses={404: {"description": "unknown attempt"}, 409: {"description": "already submitted"}},
)
def submit(
    attempt_id: str, body: SubmissionIn, user: ApiUser, session: SessionDep
) -> SubmissionOut:
    graded = quizzes.submit_attempt(session, user, attempt_id, body.answers, now=utcnow())
    session.commit()
    return SubmissionOut(
        score=graded.score,
        passed=graded.passed,
        pass_mark=graded.pass_mark,
        timed_out=graded.timed_out,
        results=[ResultOut(**r.__dict__) for r in graded.results],
    )
