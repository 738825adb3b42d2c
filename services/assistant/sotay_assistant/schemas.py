"""Request and response bodies of the assistant API (also the service layer's commands)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from sotay_common.text import collapse_spaces, nfc

MAX_QUESTION_CHARS = 500


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskRequest(_Input):
    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=MAX_QUESTION_CHARS)
    ]
    conversation_id: uuid.UUID | None = Field(
        default=None, description="Continue this conversation (one of the caller's own)"
    )

    @field_validator("question")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return collapse_spaces(nfc(value))


class RatingRequest(_Input):
    useful: bool
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class Highlight(BaseModel):
    """The sentence that answers, as code point offsets into the citation's text."""

    start: int
    end: int
    text: str


class CitationOut(BaseModel):
    document_id: uuid.UUID
    document_title: str
    version: int
    dieu: str | None = Field(description="Điều number, e.g. '5'")
    khoan: str | None = Field(description="Khoản number, e.g. '2'")
    anchor: str = Field(description="Anchor in the document, e.g. 'dieu-5-khoan-2'")
    label: str = Field(description="e.g. 'Khoản 2 Điều 5 Điều lệ mẫu'")
    text: str = Field(description="The passage, verbatim")
    see_also: bool = Field(description="False for the quoted passage, true for 'xem thêm'")
    highlight: Highlight | None = None


class SuggestionOut(BaseModel):
    """Where to look when no passage answers well enough."""

    document_id: uuid.UUID
    document_title: str
    anchor: str
    label: str


class Rating(BaseModel):
    useful: bool
    comment: str | None
    rated_at: datetime


class AnswerOut(BaseModel):
    answer_id: uuid.UUID
    conversation_id: uuid.UUID
    question: str = Field(description="As typed")
    searched_question: str = Field(
        description="As searched: a follow-up made self-contained, abbreviations written out,"
        " diacritics restored"
    )
    answer: str
    abstained: bool
    confidence: float
    phrased_by_model: bool = Field(
        description="The answer was worded by the language model from the cited passages"
    )
    citations: list[CitationOut]
    suggestions: list[SuggestionOut]
    asked_at: datetime
    rating: Rating | None = None


class ConversationOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    answers: list[AnswerOut]


class ConversationSummaryOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    first_question: str
    turns: int


class AskedQuestionOut(BaseModel):
    """A question as committee staff see it: no asker, only their organisation."""

    answer_id: uuid.UUID
    question: str
    searched_question: str
    abstained: bool
    confidence: float
    cited: str | None = Field(description="Label of the quoted passage")
    organization_id: uuid.UUID | None
    asked_at: datetime
    useful: bool | None
    comment: str | None


class DailyCountsOut(BaseModel):
    day: date
    asked: int
    unanswered: int
    rated_useful: int
    rated_not_useful: int


class IndexedDocumentOut(BaseModel):
    document_id: uuid.UUID
    title: str | None
    kind: str | None
    version: int
    archived: bool
    status: Literal["pending", "running", "done", "failed"]
    attempts: int
    error: str | None
    requested_at: datetime
    indexed_version: int | None
    chunk_count: int
    indexed_at: datetime | None
