"""Extractive answers: the best passage quoted word for word with its citation, the sentence
that answers highlighted inside the quote, further passages to read ("xem thêm"), or an honest
"not found" when the evidence is weak.

Abstention is a logistic model over six signals of a search (`answer_features`): the best
dense score, how much of the question's BM25 weight the best keyword match covers, the share of
question syllables the corpus never uses, whether both retrievers agree on the best passage,
how far the ranker puts the first passage ahead of the second, and the question's length (a
member telling their situation at length matches less of any passage than a short question
does, without being out of scope). Whether the question repeats a known one is left out: a
deployment whose passages have no known questions yet would then refuse more. For the same
reason its weights and threshold are fitted on each dev question of the evaluation set twice,
ranked with known questions and without (the ranker's margin grows with them);
bench/assistant.py --calibrate writes data/abstention.json, and only reports the held-out test
split.

A language model may phrase the answer (`AnswerPhraser`, e.g. an OpenAI-compatible endpoint);
the quote and its citation stay verbatim beside whatever it writes, and everything works
without one.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Protocol

import numpy as np

from sotay_assistant.chunking import Chunk
from sotay_assistant.index import Hit
from sotay_assistant.retrieval import SearchResult
from sotay_assistant.sparse import text_terms
from sotay_assistant.vietnamese import tokenize
from sotay_common.text import fold

NOT_FOUND_VI = "Tôi chưa tìm thấy quy định trả lời câu hỏi này trong các văn bản trên Sổ tay."
WHERE_TO_LOOK_VI = (
    "Đồng chí có thể tra mục lục Điều lệ và các quy định, hoặc hỏi bí thư chi bộ, "
    "văn phòng đảng ủy cơ sở nơi mình sinh hoạt."
)
PHRASING_INSTRUCTIONS_VI = (
    "Bạn là trợ lý của Sổ tay Đảng viên. Chỉ trả lời dựa trên các văn bản được cung cấp, "
    "ngắn gọn, bằng tiếng Việt, nêu rõ Khoản, Điều được dùng. Nếu văn bản không trả lời "
    "câu hỏi, hãy nói là chưa tìm thấy quy định."
)
MAX_SEE_ALSO = 3
_SEE_ALSO_SHARE = 0.5  # of the best passage's fused score
# A sentence, clause or Điểm: up to a line end, a ";" or a "." after a word (not the dot of
# "10.000" or of the numbering "2.", nor a colon introducing a value: "lương hưu: 0,5%").
_SENTENCE = re.compile(r"[^\n]+?(?:(?:(?<!\d)\.|;)(?=\s)|$)", re.MULTILINE)
logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Citation:
    document_id: str
    version: int
    anchor: str
    where: str  # "Khoản 2 Điều 5", "Điều 5", or a section title
    source: str  # "Điều lệ mẫu", "Nghị quyết 01-NQ/TU"
    topic: str | None  # the Điều's title or the section's, what a follow-up is about
    document_title: str
    dieu: str | None
    khoan: str | None
    text: str  # the passage, verbatim

    @property
    def label(self) -> str:
        """ "Khoản 2 Điều 5 Điều lệ mẫu", or "Nghị quyết 01-NQ/TU, phần «II. MỤC TIÊU»"."""
        if self.where.startswith(("Khoản", "Điều", "Phần mở đầu")):
            return f"{self.where} {self.source}"
        return f"{self.source}, phần «{self.where}»"

    @classmethod
    def of(cls, chunk: Chunk) -> Citation:
        return cls(
            document_id=str(chunk.document_id),
            version=chunk.version,
            anchor=chunk.anchor,
            where=chunk.citation,
            source=chunk.source_name,
            topic=chunk.dieu_title or chunk.section,
            document_title=chunk.document_title,
            dieu=chunk.dieu,
            khoan=chunk.khoan,
            text=chunk.text,
        )


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    answered: bool
    text: str  # what to show: the cited quote, or the not-found message
    confidence: float  # the abstention model's probability that the question is answerable
    citation: Citation | None = None
    quote: str | None = None  # verbatim text of the cited passage
    highlight: Span | None = None  # the answering sentence, offsets within `quote`
    see_also: tuple[Citation, ...] = ()
    phrased: str | None = None  # a language model's wording, shown beside the quote


# -- abstention -----------------------------------------------------------------------------------

FEATURES = (
    "dense_top",
    "sparse_coverage",
    "unknown_share",
    "retrievers_agree",
    "ranker_margin",
    "question_length",
)


def answer_features(result: SearchResult) -> tuple[float, ...]:
    """The signals abstention reads, in FEATURES order (zeros when nothing was found)."""
    length = float(len(result.question.restoration.tokens))  # syllables
    if not result.hits:
        return (0.0, 0.0, result.unknown_share, 0.0, 0.0, length)
    best_dense = max(result.hits, key=lambda hit: hit.dense)
    best_sparse = max(result.hits, key=lambda hit: hit.sparse)
    ceiling = result.sparse_ceiling
    return (
        best_dense.dense,
        best_sparse.sparse / ceiling if ceiling else 0.0,
        result.unknown_share,
        float(best_dense.chunk.anchor == best_sparse.chunk.anchor),
        result.hits[0].ranked - result.hits[1].ranked if len(result.hits) > 1 else 0.0,
        length,
    )


@dataclass(frozen=True, slots=True)
class AbstentionModel:
    """P(answerable) = sigmoid(bias + sum(weight * (feature - mean) / scale))."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: str = ""

    def probability(self, result: SearchResult) -> float:
        return self.probability_of(answer_features(result))

    def probability_of(self, features: Sequence[float]) -> float:
        z = self.bias + sum(
            w * (x - m) / s
            for w, x, m, s in zip(self.weights, features, self.mean, self.scale, strict=True)
        )
        return 1 / (1 + math.exp(-max(min(z, 50.0), -50.0)))

    def to_json(self) -> str:
        return json.dumps({"features": FEATURES, **asdict(self)}, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> AbstentionModel:
        data = json.loads(text)
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the calibration was fitted on other features")
        return cls(
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            weights=tuple(data["weights"]),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            fitted_on=str(data.get("fitted_on", "")),
        )


@cache
def default_abstention() -> AbstentionModel:
    source = resources.files("sotay_assistant").joinpath("data/abstention.json")
    return AbstentionModel.from_json(source.read_text(encoding="utf-8"))


def fit_abstention(
    samples: Sequence[tuple[Sequence[float], bool]], *, fitted_on: str, l2: float = 0.1
) -> AbstentionModel:
    """Logistic regression (features standardised, L2-regularised, Newton steps) on
    (features, answerable) pairs; the threshold maximises balanced accuracy on the samples."""
    x = np.array([list(features) for features, _ in samples], dtype=float)
    y = np.array([1.0 if answerable else 0.0 for _, answerable in samples])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    design = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    beta = np.zeros(design.shape[1])
    penalty = np.diag([0.0] + [l2] * (design.shape[1] - 1))
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ beta))
        gradient = design.T @ (p - y) + penalty @ beta
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        beta -= np.linalg.solve(hessian, gradient)
    probabilities = 1 / (1 + np.exp(-design @ beta))
    model = AbstentionModel(
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in beta[1:]),
        bias=float(beta[0]),
        threshold=0.5,
        fitted_on=fitted_on,
    )
    threshold = _balanced_threshold(list(probabilities), [bool(v) for v in y])
    return AbstentionModel(**{**asdict(model), "threshold": threshold})


def _balanced_threshold(probabilities: Sequence[float], answerable: Sequence[bool]) -> float:
    """The cut between two neighbouring probabilities with the best balanced accuracy."""
    ordered = sorted(set(probabilities))
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(ordered)] or [0.5]
    positives = max(sum(answerable), 1)
    negatives = max(len(answerable) - sum(answerable), 1)

    def balanced_accuracy(cut: float) -> float:
        kept = sum(p >= cut and a for p, a in zip(probabilities, answerable, strict=True))
        refused = sum(p < cut and not a for p, a in zip(probabilities, answerable, strict=True))
        return kept / positives + refused / negatives

    return float(max(cuts, key=balanced_accuracy))


# -- composing the answer -----------------------------------------------------------------------


class AnswerPhraser(Protocol):
    """Writes an answer in plain words from the passages, or returns None."""

    def phrase(self, question: str, passages: Sequence[Chunk]) -> str | None: ...


class NoPhraser:
    """The default: answers are the cited quotes themselves."""

    def phrase(self, question: str, passages: Sequence[Chunk]) -> str | None:
        return None


class OpenAICompatiblePhraser:
    """Asks an OpenAI-compatible chat endpoint (LLM_BASE_URL, e.g. "http://host:8000/v1") to
    phrase a short answer from the passages only. Any failure gives None: the cited quote is
    the answer anyway."""

    def __init__(
        self, base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 20.0
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("LLM_BASE_URL must be an http(s) URL")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s

    def phrase(self, question: str, passages: Sequence[Chunk]) -> str | None:
        sources = "\n\n".join(f"[{Citation.of(chunk).label}]\n{chunk.text}" for chunk in passages)
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": PHRASING_INSTRUCTIONS_VI},
                {"role": "user", "content": f"Văn bản:\n{sources}\n\nCâu hỏi: {question}"},
            ],
        }
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.url,
            data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                reply = json.loads(response.read())
            return str(reply["choices"][0]["message"]["content"]).strip() or None
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            logger.warning("answer phrasing failed at %s", self.url, exc_info=True)
            return None


def compose_answer(
    result: SearchResult,
    *,
    abstention: AbstentionModel | None = None,
    phraser: AnswerPhraser | None = None,
) -> Answer:
    """The answer to show for a search: a cited quote, or "not found" with where to look."""
    abstention = abstention or default_abstention()
    confidence = abstention.probability(result)
    typed = result.question.typed
    if not result.hits or confidence < abstention.threshold:
        return Answer(
            question=typed,
            answered=False,
            text=f"{NOT_FOUND_VI} {WHERE_TO_LOOK_VI}",
            confidence=confidence,
            see_also=tuple(Citation.of(hit.chunk) for hit in result.hits[:2]),
        )
    best = result.hits[0]
    citation = Citation.of(best.chunk)
    quote = best.chunk.text
    phrased = (phraser or NoPhraser()).phrase(typed, [hit.chunk for hit in result.hits[:3]])
    return Answer(
        question=typed,
        answered=True,
        text=f"Theo {citation.label}: «{quote}»",
        confidence=confidence,
        citation=citation,
        quote=quote,
        highlight=answering_sentence(quote, result.term_weights),
        see_also=see_also(best, result.hits[1:]),
        phrased=phrased,
    )


def answering_sentence(quote: str, term_weights: dict[str, float]) -> Span | None:
    """The sentence (or clause, or Điểm) of the quote sharing the most question weight."""
    best: tuple[float, Span] | None = None
    for match in _SENTENCE.finditer(quote):
        sentence = match.group(0)
        if not tokenize(sentence):
            continue
        terms = text_terms(sentence).counts
        score = sum(weight for term, weight in term_weights.items() if term in terms)
        start = match.start() + len(sentence) - len(sentence.lstrip())
        span = Span(start, match.start() + len(sentence.rstrip()))
        if best is None or score > best[0]:
            best = (score, span)
    return best[1] if best and best[0] > 0 else None


def see_also(best: Hit, others: Sequence[Hit]) -> tuple[Citation, ...]:
    """Other passages nearly as relevant, each place once."""
    seen = {(best.chunk.document_id, best.chunk.anchor)}
    chosen: list[Citation] = []
    for hit in others:
        key = (hit.chunk.document_id, hit.chunk.anchor)
        if key in seen or hit.fused < _SEE_ALSO_SHARE * best.fused:
            continue
        seen.add(key)
        chosen.append(Citation.of(hit.chunk))
        if len(chosen) == MAX_SEE_ALSO:
            break
    return tuple(chosen)


# -- follow-up questions ------------------------------------------------------------------------

_FOLLOW_UP_OPENERS = (("the", "con"), ("vay", "con"), ("con",), ("the",), ("vay",), ("thi",))
_FOLLOW_UP_CLOSERS = (("thi", "sao"), ("thi", "the", "nao"), ("the", "nao"), ("sao",), ("a",))
_REFERRING = {"do", "nay", "ay", "vay", "tren"}  # đó, này, ấy, vậy, trên
_FUNCTION_WORDS = {
    *("co", "duoc", "khong", "phai", "thi", "la", "bi", "se", "da", "dang", "can"),
    *("bao", "may", "gi", "nao", "ai", "sao", "o", "khi", "neu", "muon"),
}
SHORT_FOLLOW_UP = 7  # syllables


@dataclass(frozen=True, slots=True)
class Turn:
    """What the conversation remembers of the previous exchange."""

    question: str
    topic: str | None = None  # e.g. the cited Điều's title "Quyền của đảng viên dự bị"

    @classmethod
    def after(cls, answer: Answer) -> Turn:
        return cls(answer.question, answer.citation.topic if answer.citation else None)


def rewrite_follow_up(question: str, previous: Turn | None) -> str:
    """A self-contained question: a short or referring follow-up ("còn đảng viên dự bị thì
    sao?") takes its subject into the previous question, or carries its topic over."""
    tokens = tokenize(question)
    if previous is None or not tokens or not _is_follow_up(tokens):
        return question
    core = _strip_follow_up_words(tokens)
    if not core:
        return previous.question
    substituted = _substitute_subject(tokenize(previous.question), core)
    if substituted is not None:
        return " ".join(substituted)
    topic = previous.topic or previous.question
    return f"{' '.join(core)} {topic}"


def _is_follow_up(tokens: Sequence[str]) -> bool:
    words = [fold(token) for token in tokens]
    opens = any(tuple(words[: len(o)]) == o for o in _FOLLOW_UP_OPENERS[:3])
    refers = any(word in _REFERRING for word in words)
    return len(words) <= SHORT_FOLLOW_UP or opens or (refers and len(words) <= 2 * SHORT_FOLLOW_UP)


def _strip_follow_up_words(tokens: Sequence[str]) -> list[str]:
    words = list(tokens)
    for opener in _FOLLOW_UP_OPENERS:
        if tuple(fold(w) for w in words[: len(opener)]) == opener:
            words = words[len(opener) :]
            break
    for closer in _FOLLOW_UP_CLOSERS:
        if tuple(fold(w) for w in words[-len(closer) :]) == closer:
            words = words[: -len(closer)]
            break
    return [w for w in words if fold(w) not in _REFERRING]


def _substitute_subject(previous: Sequence[str], core: Sequence[str]) -> list[str] | None:
    """Replaces the previous question's noun phrase that starts like `core` ("đảng viên chính
    thức" -> "đảng viên dự bị"); None when no phrase starts with the same two syllables."""
    head = [fold(w) for w in core[:2]]
    folded_previous = [fold(w) for w in previous]
    for start in range(len(previous) - len(head) + 1):
        if folded_previous[start : start + len(head)] == head:
            end = start + len(head)
            while end < len(previous) and folded_previous[end] not in _FUNCTION_WORDS:
                end += 1
            return [*previous[:start], *core, *previous[end:]]
    return None
