"""HTTP routes of the assistant service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from sotay_assistant.repository import AnswerRecord
from sotay_assistant.schemas import (
    AnswerOut,
    AskedQuestionOut,
    AskRequest,
    CitationOut,
    ConversationOut,
    ConversationSummaryOut,
    DailyCountsOut,
    Highlight,
    IndexedDocumentOut,
    Rating,
    RatingRequest,
    SuggestionOut,
)
from sotay_assistant.service import (
    AssistantService,
    ConversationService,
    EngineSlot,
    QuestionsService,
)
from sotay_assistant.settings import AssistantSettings
from sotay_common.auth import Principal, current_principal
from sotay_common.runtime import Runtime

router = APIRouter()
CallerDep = Annotated[Principal, Depends(current_principal)]
ENGINE = "engine"  # runtime.state key of the EngineSlot


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def assistant_service(request: Request) -> AssistantService:
    runtime = _runtime(request)
    settings = runtime.settings
    assert isinstance(settings, AssistantSettings)
    slot = runtime.state.setdefault(ENGINE, EngineSlot())  # before the loader's first step
    assert isinstance(slot, EngineSlot)
    return AssistantService(runtime.database, await slot.get(settings.startup_wait_s))


def conversation_service(request: Request) -> ConversationService:
    return ConversationService(_runtime(request).database)


def questions_service(request: Request) -> QuestionsService:
    return QuestionsService(_runtime(request).database)


AssistantDep = Annotated[AssistantService, Depends(assistant_service)]
ConversationsDep = Annotated[ConversationService, Depends(conversation_service)]
QuestionsDep = Annotated[QuestionsService, Depends(questions_service)]


def _citation_out(stored: dict[str, Any]) -> CitationOut:
    span = stored.get("highlight")
    highlight = None
    if span is not None:
        start, end = span["start"], span["end"]
        highlight = Highlight(start=start, end=end, text=stored["text"][start:end])
    return CitationOut(
        document_id=stored["document_id"],
        document_title=stored["document_title"],
        version=stored["version"],
        dieu=stored["dieu"],
        khoan=stored["khoan"],
        anchor=stored["anchor"],
        label=stored["label"],
        text=stored["text"],
        see_also=stored["role"] == "see_also",
        highlight=highlight,
    )


def answer_out(record: AnswerRecord) -> AnswerOut:
    return AnswerOut(
        answer_id=record.id,
        conversation_id=record.conversation_id,
        question=record.question,
        searched_question=record.scores.get("read_as", record.searched),
        answer=record.answer,
        abstained=record.abstained,
        confidence=round(record.confidence, 3),
        phrased_by_model=bool(record.scores.get("phrased")),
        citations=[_citation_out(c) for c in record.citations if c["role"] != "suggestion"],
        suggestions=[
            SuggestionOut(
                document_id=c["document_id"],
                document_title=c["document_title"],
                anchor=c["anchor"],
                label=c["label"],
            )
            for c in record.citations
            if c["role"] == "suggestion"
        ],
        asked_at=record.asked_at,
        rating=_rating(record),
    )


def _rating(record: AnswerRecord) -> Rating | None:
    if record.useful is None or record.rated_at is None:
        return None
    return Rating(useful=record.useful, comment=record.comment, rated_at=record.rated_at)


@router.post("/ask", response_model=AnswerOut, tags=["assistant"])
async def ask(body: AskRequest, caller: CallerDep, service: AssistantDep) -> AnswerOut:
    """Answers from the published regulations, quoting the Khoản it relies on; says so when
    it does not know."""
    return answer_out(await service.ask(caller, body))


@router.post("/answers/{answer_id}/rating", response_model=AnswerOut, tags=["assistant"])
async def rate_answer(
    answer_id: uuid.UUID, body: RatingRequest, caller: CallerDep, service: ConversationsDep
) -> AnswerOut:
    """The asker says whether the answer helped (again to change their mind)."""
    return answer_out(await service.rate(caller, answer_id, body))


@router.get("/conversations", response_model=list[ConversationSummaryOut], tags=["assistant"])
async def list_conversations(
    caller: CallerDep,
    service: ConversationsDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ConversationSummaryOut]:
    """The caller's own conversations, latest first."""
    found = await service.conversations(caller, limit=limit, offset=offset)
    return [ConversationSummaryOut(**c.__dict__) for c in found]


@router.get("/conversations/{conversation_id}", response_model=ConversationOut, tags=["assistant"])
async def get_conversation(
    conversation_id: uuid.UUID, caller: CallerDep, service: ConversationsDep
) -> ConversationOut:
    conversation, answers = await service.conversation(caller, conversation_id)
    return ConversationOut(
        id=conversation.id,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        answers=[answer_out(a) for a in answers],
    )


def _asked_out(record: AnswerRecord) -> AskedQuestionOut:
    cited = next((c["label"] for c in record.citations if c["role"] == "answer"), None)
    return AskedQuestionOut(
        answer_id=record.id,
        question=record.question,
        searched_question=record.scores.get("read_as", record.searched),
        abstained=record.abstained,
        confidence=round(record.confidence, 3),
        cited=cited,
        organization_id=record.organization_path[-1] if record.organization_path else None,
        asked_at=record.asked_at,
        useful=record.useful,
        comment=record.comment,
    )


@router.get("/questions", response_model=list[AskedQuestionOut], tags=["staff"])
async def list_questions(
    caller: CallerDep,
    service: QuestionsDep,
    unanswered_first: Annotated[
        bool, Query(description="Unanswered and not-useful answers first")
    ] = True,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AskedQuestionOut]:
    """Questions members of the caller's subtree asked (committee staff; everyone's for a
    system administrator), to see what the documents fail to answer."""
    found = await service.asked(
        caller, unanswered_first=unanswered_first, limit=limit, offset=offset
    )
    return [_asked_out(r) for r in found]


@router.get("/questions/daily", response_model=list[DailyCountsOut], tags=["staff"])
async def daily_questions(
    caller: CallerDep,
    service: QuestionsDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> list[DailyCountsOut]:
    """Questions asked per day (Vietnam time), unanswered and rated."""
    return [DailyCountsOut(**d.__dict__) for d in await service.daily(caller, days=days)]


@router.get("/documents", response_model=list[IndexedDocumentOut], tags=["staff"])
async def indexed_documents(caller: CallerDep, service: QuestionsDep) -> list[IndexedDocumentOut]:
    """The documents the assistant was asked to index, and how that went (system admins)."""
    return [
        IndexedDocumentOut(
            document_id=d.document_id,
            title=d.title,
            kind=d.kind,
            version=d.version,
            archived=d.archived,
            status=d.job_status,
            attempts=d.attempts,
            error=d.error,
            requested_at=d.requested_at,
            indexed_version=d.indexed_version,
            chunk_count=d.chunk_count,
            indexed_at=d.indexed_at,
        )
        for d in await service.documents(caller)
    ]
