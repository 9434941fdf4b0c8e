"""Quiz API shapes (contract field names). Nothing here carries correctness before submission."""

from typing import Any

from pydantic import BaseModel, Field


class OptionOut(BaseModel):
    id: str
    text: str


class QuestionOut(BaseModel):
    id: str
    type: str
    prompt: str
    options: list[OptionOut]


class AttemptOut(BaseModel):
    attempt_id: str
    questions: list[QuestionOut]
    title: str
    pass_mark: float
    deadline_at: str | None
    attempts_used: int
    max_attempts: int


class SubmissionIn(BaseModel):
    answers: dict[str, list[str] | bool | float | int | str] = Field(max_length=500)


class ResultOut(BaseModel):
    question_id: str
    correct: bool
    explanation: str
    reference: str
    correct_options: list[str] | None = None
    correct_answer: float | bool | None = None


class SubmissionOut(BaseModel):
    score: float
    passed: bool
    pass_mark: float
    results: list[ResultOut]
    timed_out: bool = False


class EvaluationQuestionOut(BaseModel):
    id: str
    type: str
    prompt: str
    required: bool


class EvaluationOut(BaseModel):
    questions: list[EvaluationQuestionOut]


class EvaluationIn(BaseModel):
    answers: dict[str, Any] = Field(max_length=100)
