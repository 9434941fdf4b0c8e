"""Analytics report shapes: the HTML page and GET /api/v1/courses/{slug}/analytics share them."""

from pydantic import BaseModel


class FunnelStepOut(BaseModel):
    key: str  # "enrolled", a module slug, "final" or "certificate"
    label: str
    count: int


class ModuleStatsOut(BaseModel):
    slug: str
    title: str
    bank_key: str
    learners: int  # learners with at least one submitted attempt
    first_attempts: int  # submitted attempts numbered 1
    first_attempt_pass_rate: float | None
    mean_attempts: float | None  # submitted attempts per learner who submitted any
    passed: int
    median_seconds_to_pass: float | None  # first start to first passing submission


class OptionStatsOut(BaseModel):
    text: str
    is_correct: bool
    chosen: int
    is_never_chosen: bool


class ItemStatsOut(BaseModel):
    bank_key: str
    quiz_version_id: int
    quiz_version: int
    question_id: str
    prompt: str
    type: str
    responses: int  # submitted attempts that drew this question
    difficulty: float | None  # proportion correct
    discrimination: float | None  # point-biserial: item vs rest of the attempt's score
    options: list[OptionStatsOut]
    flags: list[str]  # "too easy", "too hard", "low discrimination", "unused option"
    edit_url: str


class LikertStatsOut(BaseModel):
    question_id: str
    prompt: str
    counts: list[int]  # responses rating 1..5
    responses: int
    mean: float | None


class TextAnswersOut(BaseModel):
    question_id: str
    prompt: str
    total: int
    answers: list[str]  # the most recent ones, at most TEXT_ANSWERS_SHOWN


class EvaluationStatsOut(BaseModel):
    responses: int
    likert: list[LikertStatsOut]
    text: list[TextAnswersOut]


class CourseReportOut(BaseModel):
    slug: str
    title: str
    funnel: list[FunnelStepOut]
    modules: list[ModuleStatsOut]
    final_exam: ModuleStatsOut | None
    items: list[ItemStatsOut]
    evaluation: EvaluationStatsOut
    status_counts: dict[str, int]  # learners per status (see LEARNER_STATUSES)


class LearnerRowOut(BaseModel):
    user_id: int
    full_name: str
    email: str
    enrolled_at: str
    modules_passed: int
    modules_total: int
    final_passed: bool
    evaluation_submitted: bool
    certificate_code: str | None
    attempts: int
    last_activity_at: str | None
    progress_percent: int
    status: str


class LearnerPageOut(BaseModel):
    rows: list[LearnerRowOut]
    total: int
    page: int
    per_page: int
    status: str
    query: str
