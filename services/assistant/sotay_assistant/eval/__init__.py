"""The evaluation set (questions.jsonl) and its metrics.

Each question is labelled with the passages that answer it, as `<document slug>:<anchor>`
(e.g. "dieu-le-mau:dieu-5-khoan-2"), or ["none"] when the corpus does not answer it. The set is
split into dev (used to choose methods, fit the ranker and abstention, and packaged as known
questions) and a held-out test split (only reported).

Who wrote them: q001-q820 the people who built the assistant; q821 onwards separate authors who
read only the corpus passages, never the system or the other questions, each batch with its own
persona (q821-q940 dev, q941-q1004 test, q1005-q1084 test, q1085-q1204 dev: older rural
members and cell secretaries, q1205-q1324 dev: young members and applicants, q1325-q1444 dev:
committee office staff, q1445-q1564 dev: retired members and veterans, q1565-q1684 dev: young
civil servants typing keyword queries, q1685-q1804 dev: cells of mountain villages,
q1805-q1924 dev: Youth Union members applying, q1925-q2044 dev: members working away from home,
q2045-q2164 dev: new cell secretaries, q2165-q2284 dev: members in a dispute over their rights,
q2285-q2404 dev: older members dictating by voice, q2405-q2524 dev: commune committee leaders,
q2525-q2644 dev: members in private business, q2645-q2764 dev: members preparing a study
session, q2765-q2884 dev: questions on distinctions and conditions, q2885-q3004 dev: members
using the app). Their wording is further from the documents', and harder. `author_of` names
these batches.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

NONE = "none"
# The first question of each author's batch (see above), in order.
_BATCHES = (
    (1, "builders"),
    (821, "b"),
    (941, "c"),
    (1005, "d"),
    (1085, "e"),
    (1205, "f"),
    (1325, "g"),
    (1445, "h"),
    (1565, "i"),
    (1685, "j"),
    (1805, "k"),
    (1925, "l"),
    (2045, "m"),
    (2165, "n"),
    (2285, "o"),
    (2405, "p"),
    (2525, "q"),
    (2645, "r"),
    (2765, "s"),
    (2885, "t"),
)


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    id: str
    split: str
    category: str
    question: str
    answers: tuple[str, ...]

    @property
    def in_scope(self) -> bool:
        return self.answers != (NONE,)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the system did with one question: the labels of its ranked passages, whether it
    abstained, and how long it took."""

    question: EvalQuestion
    ranked: tuple[str, ...]
    abstained: bool
    seconds: float

    @property
    def rank(self) -> int | None:
        """1-based rank of the first passage that answers, None if none in the list."""
        for position, label in enumerate(self.ranked, start=1):
            if label in self.question.answers:
                return position
        return None


@dataclass(frozen=True, slots=True)
class Summary:
    """Rates are None where undefined (no in-scope question, no abstention, ...)."""

    questions: int
    in_scope: int
    recall_at_1: float | None
    recall_at_5: float | None
    mrr: float | None
    abstention_precision: float | None  # abstentions that were out of scope
    abstention_recall: float | None  # out-of-scope questions abstained on
    answered_correctly: float | None  # in scope, not abstained, first passage right
    latency_p50_ms: float
    latency_p95_ms: float


def load_questions() -> list[EvalQuestion]:
    source = resources.files(__name__).joinpath("questions.jsonl")
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line]
    return [
        EvalQuestion(
            id=row["id"],
            split=row["split"],
            category=row["category"],
            question=row["question"],
            answers=tuple(row["answers"]),
        )
        for row in rows
    ]


def author_of(question_id: str) -> str:
    """Who wrote a question ("q123"): its batch."""
    number = int(question_id.removeprefix("q"))
    return [name for first, name in _BATCHES if number >= first][-1]


def summarize(outcomes: Sequence[Outcome]) -> Summary:
    scoped = [o for o in outcomes if o.question.in_scope]
    ranks = [o.rank for o in scoped]
    abstained = [o for o in outcomes if o.abstained]
    out_of_scope = [o for o in outcomes if not o.question.in_scope]
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    return Summary(
        questions=len(outcomes),
        in_scope=len(scoped),
        recall_at_1=_share(ranks, lambda r: r == 1),
        recall_at_5=_share(ranks, lambda r: r is not None and r <= 5),
        mrr=statistics.fmean(1 / r if r else 0.0 for r in ranks) if ranks else None,
        abstention_precision=_ratio(
            sum(not o.question.in_scope for o in abstained), len(abstained)
        ),
        abstention_recall=_ratio(sum(o.abstained for o in out_of_scope), len(out_of_scope)),
        answered_correctly=_ratio(
            sum(o.rank == 1 and not o.abstained for o in scoped), len(scoped)
        ),
        latency_p50_ms=_percentile(latencies, 0.50),
        latency_p95_ms=_percentile(latencies, 0.95),
    )


def _share(ranks: Sequence[int | None], hit: Callable[[int | None], bool]) -> float | None:
    return _ratio(sum(bool(hit(r)) for r in ranks), len(ranks))


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]
