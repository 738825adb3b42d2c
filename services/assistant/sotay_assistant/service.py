"""Use cases of the assistant: asking (with conversations), rating answers, the questions
committee staff review, members' own history; and the index worker that carries out the
indexing requests the consumers record.

The knowledge base (e5 and the passage index) is loaded once per process into an `Engine`;
its calls block (e5, Qdrant local mode) so they run in threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from sotay_assistant import events, repository
from sotay_assistant.answer import (
    FEATURES,
    AbstentionModel,
    Answer,
    AnswerPhraser,
    Citation,
    NoPhraser,
    OpenAICompatiblePhraser,
    Turn,
    answer_features,
    compose_answer,
    default_abstention,
    rewrite_follow_up,
)
from sotay_assistant.dense import DenseEncoder
from sotay_assistant.errors import AssistantError
from sotay_assistant.index import PassageIndex, SearchScope
from sotay_assistant.indexing import retry_delay_s
from sotay_assistant.memory import KnownQuestion, packaged_questions, passage_key
from sotay_assistant.repository import AnswerRecord, IndexJob
from sotay_assistant.retrieval import IndexOutcome, KnowledgeBase, SearchResult
from sotay_assistant.schemas import AskRequest, RatingRequest
from sotay_assistant.settings import AssistantSettings
from sotay_common.auth import Principal, Role
from sotay_common.db import Database
from sotay_common.errors import Forbidden, NotFound, ServiceUnavailable
from sotay_common.storage import BlobStore

logger = logging.getLogger(__name__)
MAX_PAGE = 100


class StaffOnly(Forbidden):
    code = "staff_only"
    detail_vi = "Chỉ cán bộ cấp ủy mới xem được các câu hỏi của đảng viên."


class SystemAdminsOnly(Forbidden):
    code = "system_admins_only"
    detail_vi = "Chỉ quản trị hệ thống mới xem được tình trạng lập chỉ mục văn bản."


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    detail_vi = "Không tìm thấy cuộc hội thoại."


class AnswerNotFound(NotFound):
    code = "answer_not_found"
    detail_vi = "Không tìm thấy câu trả lời."


class AssistantStarting(ServiceUnavailable):
    code = "assistant_starting"
    detail_vi = "Trợ lý đang khởi động. Vui lòng thử lại sau ít phút."


class AssistantUnavailable(ServiceUnavailable):
    code = "assistant_unavailable"
    detail_vi = "Trợ lý tạm thời không hoạt động. Vui lòng thử lại sau."


# -- the engine ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """What answers questions: the knowledge base, the abstention model, the phrasing hook."""

    knowledge: KnowledgeBase
    abstention: AbstentionModel
    phraser: AnswerPhraser

    def answer(self, question: str, scope: SearchScope | None) -> tuple[SearchResult, Answer]:
        """Blocking: run it in a thread."""
        result = self.knowledge.search(question, scope=scope)
        return result, compose_answer(result, abstention=self.abstention, phraser=self.phraser)


def build_engine(settings: AssistantSettings) -> Engine:
    """Loads e5 and opens the passage index. Blocking, a few seconds."""
    encoder = DenseEncoder(threads=settings.encoder_threads)
    index = PassageIndex.connect(
        url=settings.qdrant_url or None,
        path=settings.qdrant_path,
        collection=settings.qdrant_collection,
    )
    phraser: AnswerPhraser = NoPhraser()
    if settings.llm_base_url:
        api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        phraser = OpenAICompatiblePhraser(
            settings.llm_base_url,
            settings.llm_model,
            api_key=api_key,
            timeout_s=settings.llm_timeout_s,
        )
    knowledge = KnowledgeBase(index, encoder)
    knowledge.remember(packaged_questions())
    return Engine(knowledge, default_abstention(), phraser)


class EngineSlot:
    """Where requests find the engine while it loads in the background after a start."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self._settled = asyncio.Event()
        self._error: str | None = None
        if engine is not None:
            self._settled.set()

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def set(self, engine: Engine) -> None:
        self._engine = engine
        self._settled.set()

    def fail(self, error: str) -> None:
        self._error = error
        self._settled.set()

    async def get(self, wait_s: float) -> Engine:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), wait_s)
        if self._engine is not None:
            return self._engine
        if self._error is not None:
            raise AssistantUnavailable()
        raise AssistantStarting()


# -- asking -------------------------------------------------------------------------------------


def _citation(citation: Citation, role: str, highlight: Any = None) -> dict[str, Any]:
    return {
        "role": role,
        "document_id": citation.document_id,
        "document_title": citation.document_title,
        "version": citation.version,
        "dieu": citation.dieu,
        "khoan": citation.khoan,
        "anchor": citation.anchor,
        "label": citation.label,
        "text": citation.text,
        "highlight": highlight,
    }


def stored_citations(answer: Answer) -> list[dict[str, Any]]:
    """The quoted passage, then "xem thêm"; or, without an answer, places to look."""
    if answer.citation is None:
        return [_citation(c, "suggestion") for c in answer.see_also]
    span = answer.highlight
    main = _citation(
        answer.citation,
        "answer",
        {"start": span.start, "end": span.end} if span is not None else None,
    )
    return [main, *(_citation(c, "see_also") for c in answer.see_also)]


def stored_scores(result: SearchResult, answer: Answer) -> dict[str, Any]:
    """What staff and calibration need to see why an answer was given or withheld."""
    read = result.question.restoration
    return {
        "read_as": read.text,
        "corrected": [list(pair) for pair in read.corrected],
        "unknown": list(read.unknown),
        "features": dict(zip(FEATURES, answer_features(result), strict=True)),
        "phrased": answer.phrased is not None,
    }


class AssistantService:
    def __init__(self, database: Database, engine: Engine) -> None:
        self.database = database
        self.engine = engine

    async def _search_scope(
        self, principal: Principal
    ) -> tuple[SearchScope | None, list[uuid.UUID]]:
        """Documents scoped to the member's organisation or one above it, and unscoped ones;
        all of them for a system administrator without an organisation."""
        if principal.organization_id is None:
            return (None if principal.is_system_admin else SearchScope(organizations=())), []
        async with self.database.connection() as conn:
            org = await repository.get_organization(conn, principal.organization_id)
        path = org.path_ids if org is not None else [principal.organization_id]
        return SearchScope(organizations=tuple(path)), path

    async def _previous_turn(
        self, principal: Principal, conversation_id: uuid.UUID | None
    ) -> Turn | None:
        if conversation_id is None:
            return None
        async with self.database.connection() as conn:
            conversation = await repository.get_conversation(conn, conversation_id)
            if conversation is None or conversation.owner != principal.subject:
                raise ConversationNotFound()
            previous = await repository.last_answer(conn, conversation_id)
        return Turn(previous.searched, previous.topic) if previous is not None else None

    async def ask(self, principal: Principal, command: AskRequest) -> AnswerRecord:
        previous = await self._previous_turn(principal, command.conversation_id)
        searched = rewrite_follow_up(command.question, previous)
        scope, organization_path = await self._search_scope(principal)
        result, answer = await asyncio.to_thread(self.engine.answer, searched, scope)
        async with self.database.transaction() as tx:
            conversation_id = command.conversation_id
            if conversation_id is None:
                conversation_id = uuid.uuid4()
                await repository.create_conversation(tx.conn, conversation_id, principal.subject)
            else:
                await repository.get_conversation(tx.conn, conversation_id, for_update=True)
            return await repository.insert_answer(
                tx.conn,
                repository.NewAnswer(
                    id=uuid.uuid4(),
                    conversation_id=conversation_id,
                    question=command.question,
                    searched=searched,
                    answer=answer.phrased or answer.text,
                    abstained=not answer.answered,
                    confidence=answer.confidence,
                    topic=answer.citation.topic if answer.citation else None,
                    citations=stored_citations(answer),
                    scores=stored_scores(result, answer),
                    organization_path=organization_path,
                ),
            )


class ConversationService:
    """Members' own conversations and their ratings of answers."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def rate(
        self, principal: Principal, answer_id: uuid.UUID, command: RatingRequest
    ) -> AnswerRecord:
        async with self.database.transaction() as tx:
            found = await repository.answer_with_owner(tx.conn, answer_id)
            if found is None or found[1] != principal.subject:
                raise AnswerNotFound()
            return await repository.rate_answer(
                tx.conn, answer_id, useful=command.useful, comment=command.comment or None
            )

    async def conversations(
        self, principal: Principal, *, limit: int, offset: int
    ) -> list[repository.ConversationSummary]:
        async with self.database.connection() as conn:
            return await repository.list_conversations(
                conn, principal.subject, limit=min(limit, MAX_PAGE), offset=offset
            )

    async def conversation(
        self, principal: Principal, conversation_id: uuid.UUID
    ) -> tuple[repository.Conversation, list[AnswerRecord]]:
        async with self.database.connection() as conn:
            conversation = await repository.get_conversation(conn, conversation_id)
            if conversation is None or conversation.owner != principal.subject:
                raise ConversationNotFound()
            return conversation, await repository.list_answers(conn, conversation_id)


# -- what committee staff see ---------------------------------------------------------------------


def staff_subtree(principal: Principal) -> uuid.UUID | None:
    """The organisation whose members' questions the caller may see (None: everyone's)."""
    if principal.is_system_admin:
        return None
    if Role.COMMITTEE_ADMIN in principal.roles and principal.organization_id is not None:
        return principal.organization_id
    raise StaffOnly()


class QuestionsService:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def asked(
        self, principal: Principal, *, unanswered_first: bool, limit: int, offset: int
    ) -> list[AnswerRecord]:
        within = staff_subtree(principal)
        async with self.database.connection() as conn:
            return await repository.questions_asked(
                conn,
                within=within,
                unanswered_first=unanswered_first,
                limit=min(limit, MAX_PAGE),
                offset=offset,
            )

    async def daily(self, principal: Principal, *, days: int) -> list[repository.DailyCounts]:
        within = staff_subtree(principal)
        async with self.database.connection() as conn:
            return await repository.daily_counts(conn, within=within, days=days)

    async def documents(self, principal: Principal) -> list[repository.IndexedDocumentRow]:
        """Every document, whatever its scope: for system administrators."""
        if not principal.is_system_admin:
            raise SystemAdminsOnly()
        async with self.database.connection() as conn:
            return await repository.list_documents(conn)


# -- learning from ratings ----------------------------------------------------------------------

RATED_SOURCE = "answer:"


async def learn_from_ratings(database: Database, knowledge: KnowledgeBase, *, limit: int) -> int:
    """The questions of answers members rated useful become known questions of the passage
    they quoted (the `limit` most recently rated); those no longer rated useful are forgotten.
    Returns how many were new."""
    async with database.connection() as conn:
        rated = await repository.rated_useful(conn, limit=limit)
    known = [
        KnownQuestion(RATED_SOURCE + str(r.answer_id), r.searched, passage_key(r.passage_text))
        for r in rated
    ]
    return await asyncio.to_thread(knowledge.remember, known, replacing=RATED_SOURCE)


# -- the index worker -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Done:
    version: int | None
    content_hash: str | None
    chunks: int
    publish: bool  # the index changed: tell the world


class IndexWorker:
    """Carries out indexing requests one at a time: claim, index off the event loop while
    heartbeating, then record the result and publish assistant.reindexed.v1 in one
    transaction. Failures are retried with back-off; a document that can never be indexed
    (no text, text of the wrong length) fails at once."""

    def __init__(
        self,
        database: Database,
        knowledge: KnowledgeBase,
        content_store: BlobStore,
        *,
        max_attempts: int = 5,
        stale_after_s: float = 60.0,
        heartbeat_s: float = 10.0,
    ) -> None:
        self.database = database
        self.knowledge = knowledge
        self.content_store = content_store
        self.max_attempts = max_attempts
        self.stale_after_s = stale_after_s
        self.heartbeat_s = heartbeat_s

    async def run_next(self) -> bool:
        """Carries out one request. False when none is due."""
        async with self.database.transaction() as tx:
            job = await repository.claim_job(tx.conn, stale_after_s=self.stale_after_s)
        if job is None:
            return False
        beating = asyncio.create_task(self._heartbeat(job))
        try:
            done = await self._carry_out(job)
        except AssistantError as exc:
            await self._failed(job, f"{exc.code}: {exc.message_vi}", permanent=True)
            return True
        except Exception as exc:
            logger.exception("indexing failed", extra={"document_id": str(job.document_id)})
            await self._failed(job, f"{type(exc).__name__}: {exc}", permanent=False)
            return True
        finally:
            beating.cancel()
            with suppress(asyncio.CancelledError):
                await beating
        await self._finish(job, done)
        return True

    async def reconcile(self) -> int:
        """Brings the index in line with the recorded requests: requests again what it should
        hold but does not (its folder was lost, or a crash came between writing the index and
        recording it), and withdraws documents this database never asked for (an index kept
        while the database was reset). Returns how many documents it corrected."""
        async with self.database.connection() as conn:
            recorded = await repository.recorded_documents(conn)
        held = await asyncio.to_thread(self.knowledge.indexed_hashes)
        lost = [
            row["document_id"]
            for row in recorded
            if row["settled"]
            and held.get(row["document_id"]) != (None if row["archived"] else row["indexed_hash"])
        ]
        for document_id in lost:
            async with self.database.transaction() as tx:
                await repository.requeue(tx.conn, document_id)
        unknown = held.keys() - {row["document_id"] for row in recorded}
        for document_id in unknown:
            await asyncio.to_thread(self.knowledge.remove_document, document_id)
        if lost or unknown:
            logger.warning(
                "index reconciled", extra={"requeued": len(lost), "withdrawn": len(unknown)}
            )
        return len(lost) + len(unknown)

    async def finish_rebuild(self) -> bool:
        """Moves the answering to the collection being rebuilt once it holds every recorded
        document (no request waiting, nothing left to re-index), and tells the other
        processes. False while there is no rebuild or it is not done."""
        if not self.knowledge.rebuilding:
            return False
        async with self.database.connection() as conn:
            if await repository.unsettled_requests(conn):
                return False
        if await self.reconcile():
            return False
        if not await asyncio.to_thread(self.knowledge.finish_rebuild):
            return False
        async with self.database.transaction() as tx:
            await repository.notify_changed(tx.conn, "rebuilt")
        logger.info("the passage collection was rebuilt")
        return True

    async def _carry_out(self, job: IndexJob) -> _Done:
        if job.archived or job.event is None:
            removed = await asyncio.to_thread(self.knowledge.remove_document, job.document_id)
            logger.info(
                "document withdrawn",
                extra={"document_id": str(job.document_id), "passages": removed},
            )
            return _Done(None, None, 0, publish=True)
        event = job.event
        text = None
        if event.text is None and event.text_ref:
            text = (await self.content_store.get(event.text_ref)).decode("utf-8")
        report = await asyncio.to_thread(self.knowledge.index_document, event, text)
        logger.info(
            "document indexed",
            extra={
                "document_id": str(job.document_id),
                "version": event.version,
                "outcome": report.outcome.value,
                "passages": report.passages,
                "reused_vectors": report.reused_vectors,
            },
        )
        return _Done(
            report.version,
            report.content_hash,
            report.passages,
            publish=report.outcome is IndexOutcome.INDEXED,
        )

    async def _finish(self, job: IndexJob, done: _Done) -> None:
        async with self.database.transaction() as tx:
            await repository.finish_job(
                tx.conn,
                job,
                indexed_version=done.version,
                indexed_hash=done.content_hash,
                chunk_count=done.chunks,
            )
            if done.publish:
                await tx.outbox.add(
                    events.reindexed(
                        job.document_id,
                        done.version if done.version is not None else job.version,
                        done.content_hash or job.content_hash or "",
                        done.chunks,
                        removed=job.archived,
                    )
                )

    async def _failed(self, job: IndexJob, error: str, *, permanent: bool) -> None:
        retry = None
        if not permanent and job.attempts < self.max_attempts:
            retry = retry_delay_s(job.attempts)
        async with self.database.transaction() as tx:
            await repository.fail_job(tx.conn, job, error=error, retry_in_s=retry)

    async def _heartbeat(self, job: IndexJob) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            with suppress(Exception):
                async with self.database.transaction() as tx:
                    await repository.heartbeat(tx.conn, job)
