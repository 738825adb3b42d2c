"""Second stage over the fused candidates: a learned ranking of the first `depth` of them, and
of the passages whose known questions the question repeats most (KnowledgeBase.candidates).

RRF in Qdrant ranks by positions only, so a passage that BM25 ranks second by a hair and one it
ranks second far behind the first count the same, and neither retriever reads much of what a
question asks. Each candidate is described by a few signals (FEATURES):
- its fused score and position, how close its BM25 score comes to the best candidate's and to
  what a passage matching every term of the question would score, how far its e5 cosine falls
  below the best (e5 cosines of relevant passages differ by hundredths);
- the cosine of its latent terms with the question's (sotay_assistant.dense): the words both
  use, as e5 reads them, where the pooled e5 vector keeps only their gist;
- whether it opens with the question's subject: a Khoản states its subject first ("Chi bộ quyết
  định khiển trách…"), and so does a question ("chi bộ có quyền kỷ luật…");
- whether it gives the kind of answer asked for: "bao nhiêu năm" is answered by a passage saying
  "10 năm", "bao lâu" by a duration, "gồm những gì" by a list;
- whether a number the question states falls in a range it sets: "tôi 62 tuổi" and "người trên
  60 tuổi" (sotay_assistant.quantities);
- how much of the question's weight its heading (the Điều's title) holds, and how much of the
  regulation wording of the question (sotay_assistant.vietnamese.regulation_wording) its text;
- how closely the question repeats one it is known to answer (sotay_assistant.memory), and how
  likely its words are as a member's wording of the passage's (sotay_assistant.translation),
  itself and against the best candidate.
The three marks count "rarely": weighted by the share of candidates without the mark, since a
mark most candidates carry ("đảng viên" as the subject) tells nothing.

The score is linear in the standardised signals. Its weights are fitted on the dev split of the
evaluation set by listwise logistic regression (`fit_ranker`: a softmax over each question's
candidates, maximising the probability of the passages that answer it); bench/assistant.py
--calibrate writes them to data/ranker.json, and reports the held-out split.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from sotay_assistant.index import Hit
from sotay_assistant.quantities import meets, stated_quantities
from sotay_assistant.sparse import text_terms
from sotay_assistant.vietnamese import folded, is_count, is_number, tokenize
from sotay_common.text import fold

FEATURES = (
    "fused",
    "fused_rank",
    "bm25_relative",
    "bm25_coverage",
    "e5_gap",
    "latent_terms",
    "opens_with_subject",
    "opens_with_subject_rarely",
    "gives_asked_answer_rarely",
    "meets_stated_quantity_rarely",
    "heading_coverage",
    "wording_coverage",
    "asked_before",
    "translation",
    "translation_gap",
)
DEFAULT_DEPTH = 30  # fused candidates ranked (the right passage is among them for 99.5% of dev)
SUBJECT_SYLLABLES = 2  # the question's first syllables...
SUBJECT_WINDOW = 3  # ...found among the passage's first words
_NEWTON_STEPS = 100
Features = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RankedQuestion:
    """What the ranking reads of a question."""

    tokens: Sequence[str]  # its syllables, diacritics restored
    weights: Mapping[str, float]  # IDF of its terms the corpus knows (folded term -> weight)
    wording: Mapping[str, float]  # the same for the terms of its regulation wording
    sparse_ceiling: float  # about what a passage matching every term scores in BM25
    asked_before: Callable[[str], float] = lambda text: 0.0  # of a passage's text
    # TranslationTable.likelihoods of passages (their embed_text)
    translation: Callable[[Sequence[str]], npt.NDArray[np.float64]] = lambda texts: np.zeros(
        len(texts)
    )


@dataclass(frozen=True, slots=True)
class Ranker:
    """score = sum(weight * (feature - mean) / scale) over FEATURES, for the first `depth`
    fused candidates and the remembered ones."""

    depth: int
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    fitted_on: str

    def scores(self, features: Features) -> npt.NDArray[np.float64]:
        standardised = (features - np.array(self.mean)) / np.array(self.scale)
        return np.asarray(standardised @ np.array(self.weights), dtype=np.float64)

    def to_json(self) -> str:
        return json.dumps({"features": FEATURES, **asdict(self)}, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Ranker:
        data = json.loads(text)
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the ranker was fitted on other features")
        return cls(
            depth=int(data["depth"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            weights=tuple(data["weights"]),
            fitted_on=str(data["fitted_on"]),
        )


@cache
def default_ranker() -> Ranker:
    source = resources.files("sotay_assistant").joinpath("data/ranker.json")
    return Ranker.from_json(source.read_text(encoding="utf-8"))


def rerank(hits: Sequence[Hit], question: RankedQuestion, ranker: Ranker) -> list[Hit]:
    """The hits (the candidates of KnowledgeBase.candidates) in the ranker's order, with its
    scores."""
    if not hits:
        return []
    scores = ranker.scores(candidate_features(hits, question))
    order = np.argsort(-scores, kind="stable")
    return [replace(hits[i], ranked=float(scores[i])) for i in order]


def candidate_features(hits: Sequence[Hit], question: RankedQuestion) -> Features:
    """One row per hit, the FEATURES in order; the hits are the fused candidates, in order."""
    best_sparse = max(hit.sparse for hit in hits) or 1.0
    best_dense = max(hit.dense for hit in hits)
    subject = folded(question.tokens[:SUBJECT_SYLLABLES])
    asked = asked_answer(question.tokens)
    stated = stated_quantities(question.tokens)
    opening = _marks(opens_with(hit.chunk.text, subject, SUBJECT_WINDOW) for hit in hits)
    fitting = _marks(gives_asked_answer(hit.chunk.text, asked) for hit in hits)
    meeting = _marks(meets(hit.chunk.text, stated) for hit in hits)
    translated = question.translation([hit.chunk.embed_text for hit in hits])
    columns = {
        "fused": [hit.fused for hit in hits],
        "fused_rank": [1 / (1 + position) for position in range(len(hits))],
        "bm25_relative": [hit.sparse / best_sparse for hit in hits],
        "bm25_coverage": [hit.sparse / (question.sparse_ceiling or 1.0) for hit in hits],
        "e5_gap": [hit.dense - best_dense for hit in hits],
        "latent_terms": [hit.latent for hit in hits],
        "opens_with_subject": opening,
        "opens_with_subject_rarely": _rarely(opening),
        "gives_asked_answer_rarely": _rarely(fitting),
        "meets_stated_quantity_rarely": _rarely(meeting),
        "heading_coverage": [
            coverage(question.weights, hit.chunk.dieu_title or hit.chunk.section or "")
            for hit in hits
        ],
        "wording_coverage": [coverage(question.wording, hit.chunk.text) for hit in hits],
        "asked_before": [question.asked_before(hit.chunk.text) for hit in hits],
        "translation": translated,
        "translation_gap": translated - translated.max(),
    }
    return np.column_stack([np.asarray(columns[name], dtype=np.float64) for name in FEATURES])


def _marks(marks: Iterable[bool]) -> npt.NDArray[np.float64]:
    return np.fromiter(marks, dtype=np.float64)


def _rarely(marks: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A mark weighted by the share of candidates without it."""
    return np.asarray(marks * (1 - marks.mean()), dtype=np.float64)


def coverage(weights: Mapping[str, float], text: str) -> float:
    """Share of the weight of `weights`' terms that `text` uses."""
    total = sum(weights.values())
    if not total:
        return 0.0
    used = text_terms(text).counts
    return sum(weight for term, weight in weights.items() if term in used) / total


@dataclass(frozen=True, slots=True)
class AskedAnswer:
    """What kind of answer a question wants: a number of `units`, and/or a list."""

    units: frozenset[str] = frozenset()
    enumeration: bool = False


_ASKING_AMOUNT = (("bao", "nhieu"), ("may",))
_ASKING_LIST = frozenset({"gom"})  # "gồm những gì", "hồ sơ gồm"
_ASKING_STEPS = frozenset({("trinh", "tu"), ("cac", "buoc"), ("nhung", "buoc"), ("quy", "trinh")})
_LIST_PRONOUNS = frozenset({"gi", "ai", "nao"})  # "những ... gì / ai / nào" within a few words
_LIST_REACH = 4
_LIST_LAYOUT = re.compile(r":\s*\n|(?:^|\n)\s*[a-zđ]\)")
_LIST_ITEM = re.compile(r"(?:^|\n)\s*(?:\d+\.|[-•])\s")  # two or more make a list
_PERCENT = re.compile(r"\d\s*%")
_ASKING_DURATION = ("bao", "lau")
_DURATION_UNITS = frozenset({"phut", "gio", "ngay", "tuan", "thang", "quy", "nam"})


def opens_with(passage: str, subject: Sequence[str], window: int) -> bool:
    """Whether the folded syllables `subject` occur among the first `window` words of the
    passage (its numbering left out)."""
    if not subject:
        return False
    opening = folded(t for t in tokenize(passage[: 16 * window]) if not is_number(t))[:window]
    size = len(subject)
    return any(opening[i : i + size] == list(subject) for i in range(window - size + 1))


def asked_answer(question: Sequence[str]) -> AskedAnswer:
    """The kind of answer a question wants: "mấy tháng" -> a number of months, "bao lâu" -> a
    duration, "gồm những gì" -> a list; neither for the rest."""
    keys = folded(question)
    units: set[str] = set()
    enumeration = False
    for start, key in enumerate(keys):
        if tuple(keys[start : start + 2]) == _ASKING_DURATION:
            units |= _DURATION_UNITS
        for asking in _ASKING_AMOUNT:
            end = start + len(asking)
            if tuple(keys[start:end]) == asking and end < len(keys):
                units.add(keys[end])
        reach = keys[start + 1 : start + 1 + _LIST_REACH]
        if (
            key in _ASKING_LIST
            or tuple(keys[start : start + 2]) in _ASKING_STEPS
            or (key == "nhung" and _LIST_PRONOUNS.intersection(reach))
        ):
            enumeration = True
    return AskedAnswer(frozenset(units), enumeration)


def gives_asked_answer(passage: str, asked: AskedAnswer) -> bool:
    """Whether the passage gives a number of one of the asked units ("90 phút", "một lần"),
    or, when a list is asked for, is laid out as one."""
    if asked.enumeration and (
        _LIST_LAYOUT.search(passage) or len(_LIST_ITEM.findall(passage)) >= 2
    ):
        return True
    if not asked.units:
        return False
    if "phan" in asked.units and _PERCENT.search(passage):  # "bao nhiêu phần trăm" -> "18%"
        return True
    tokens = tokenize(passage)
    return any(
        is_count(count) and fold(unit) in asked.units for count, unit in itertools.pairwise(tokens)
    )


# -- fitting --------------------------------------------------------------------------------------


def fit_ranker(
    questions: Sequence[tuple[Features, Sequence[bool]]],
    *,
    depth: int,
    fitted_on: str,
    l2: float = 1.0,
) -> Ranker:
    """Listwise logistic regression over (candidate features, answers-the-question) pairs, one
    per question: each question's candidates compete in a softmax of their scores, and the
    weights maximise the log-probability of those that answer (questions none of whose
    candidates answer teach nothing and are left out), L2-regularised. Damped Newton steps."""
    usable = [(x, np.asarray(r, dtype=bool)) for x, r in questions if len(x) and any(r)]
    if not usable:
        raise ValueError("no question has an answering candidate")
    rows = np.vstack([x for x, _ in usable])
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    width = max(len(x) for x, _ in usable)
    design = np.zeros((len(usable), width, rows.shape[1]))
    valid = np.zeros((len(usable), width), dtype=bool)
    relevant = np.zeros((len(usable), width), dtype=bool)
    for row, (x, answers) in enumerate(usable):
        design[row, : len(x)] = (x - mean) / scale
        valid[row, : len(x)] = True
        relevant[row, : len(x)] = answers
    weights = _newton(_ListwiseLoss(design, valid, relevant, l2), np.zeros(rows.shape[1]))
    return Ranker(
        depth=depth,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in weights),
        fitted_on=fitted_on,
    )


@dataclass(frozen=True, slots=True)
class _ListwiseLoss:
    """Mean over questions of -log(softmax mass of the answering candidates), plus
    l2 / 2 * |w|^2 per question, with its gradient and Hessian."""

    design: npt.NDArray[np.float64]  # question, candidate, feature (standardised)
    valid: npt.NDArray[np.bool_]
    relevant: npt.NDArray[np.bool_]
    l2: float

    def value(self, w: npt.NDArray[np.float64]) -> float:
        scores = self.design @ w
        every = _logsumexp(np.where(self.valid, scores, -np.inf))
        answering = _logsumexp(np.where(self.relevant, scores, -np.inf))
        questions = len(self.design)
        return float(np.mean(every - answering) + self.l2 * (w @ w) / (2 * questions))

    def derivatives(
        self, w: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Gradient and Hessian: the loss is logsumexp over all candidates minus logsumexp
        over the answering ones, whose derivatives are the softmax mean and covariance."""
        scores = self.design @ w
        gradient = np.zeros_like(w)
        hessian = np.zeros((len(w), len(w)))
        for mask, sign in ((self.valid, 1.0), (self.relevant, -1.0)):
            masked = np.where(mask, scores, -np.inf)
            p = np.exp(masked - _logsumexp(masked)[:, None])
            expected = np.einsum("qc,qcf->qf", p, self.design)
            second = np.einsum("qc,qcf,qcg->fg", p, self.design, self.design)
            gradient += sign * expected.sum(axis=0)
            hessian += sign * (second - expected.T @ expected)
        questions = len(self.design)
        penalty = self.l2 * np.eye(len(w))
        return (gradient + self.l2 * w) / questions, (hessian + penalty) / questions


def _newton(loss: _ListwiseLoss, w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Newton steps damped (Levenberg-Marquardt) until the loss stops falling: the loss is not
    convex where several candidates answer, so a step is kept only if it lowers it."""
    damping = 1e-3
    current = loss.value(w)
    for _ in range(_NEWTON_STEPS):
        gradient, hessian = loss.derivatives(w)
        if np.linalg.norm(gradient) < 1e-9:
            break
        while damping < 1e6:
            step = np.linalg.solve(hessian + damping * np.eye(len(w)), gradient)
            candidate = loss.value(w - step)
            if candidate < current:
                w, current, damping = w - step, candidate, max(damping / 10, 1e-9)
                break
            damping *= 10
        else:
            break
    return w


def _logsumexp(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    top = np.max(values, axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.asarray(top + np.log(np.sum(np.exp(values - top[:, None]), axis=1)))
