"""Second stage over the fused candidates: give back what rank fusion drops.

RRF in Qdrant ranks by positions only, so a passage that BM25 ranks second by a hair and one it
ranks second far behind the first count the same. Among the top `depth` fused passages, each
gets its fused score
- plus how close its BM25 score comes to the best BM25 score of the candidates,
- plus how far its e5 cosine falls below the best cosine (e5 cosines of relevant passages
  differ by hundredths),
- plus a bonus when it opens with the question's subject: a Khoản states its subject first
  ("Chi bộ quyết định khiển trách…"), and so does a question ("chi bộ có quyền kỷ luật…"),
  which tells apart sibling Khoản that share the question's words but rule on another body.
  Only when few candidates open so: a subject most of them share ("đảng viên") tells nothing.
- plus a bonus when it gives the kind of answer the question asks for: "bao nhiêu năm" is
  answered by a passage saying "10 năm", "bao lâu" by one giving a duration, "gồm những gì" and
  "theo trình tự nào" by one that lists (points a), b), ... or a lead-in ending in a colon).
  Again only when few candidates do.
- plus a bonus when a number the question states falls in a range the passage sets: "tôi 62
  tuổi" and "người trên 60 tuổi" (sotay_assistant.quantities). Again only when few do.
Weights chosen on the dev split of the evaluation set, where each sits on a plateau of equally
good values (the middle is taken); see bench/assistant.py for both splits.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sotay_assistant.index import Hit
from sotay_assistant.quantities import meets, stated_quantities
from sotay_assistant.vietnamese import folded, is_count, is_number, tokenize
from sotay_common.text import fold


@dataclass(frozen=True, slots=True)
class RerankSettings:
    depth: int = 10
    sparse_weight: float = 0.3
    dense_gap_weight: float = 10.0
    subject_weight: float = 0.25
    subject_syllables: int = 2  # the question's first syllables...
    subject_window: int = 3  # ...found among the passage's first words
    subject_max_share: float = 0.3  # of the candidates opening so, beyond which it tells nothing
    answer_kind_weight: float = 0.5
    answer_kind_max_share: float = 0.3
    quantity_weight: float = 0.75
    quantity_max_share: float = 0.3


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


def rerank(hits: Sequence[Hit], question: Sequence[str], settings: RerankSettings) -> list[Hit]:
    """The first `depth` hits in their new order, then the rest as they were. `question`:
    its syllables, diacritics restored."""
    head, tail = list(hits[: settings.depth]), list(hits[settings.depth :])
    if len(head) < 2:
        return [*head, *tail]
    best_sparse = max(hit.sparse for hit in head) or 1.0
    best_dense = max(hit.dense for hit in head)
    subject = folded(question[: settings.subject_syllables])
    opening = [opens_with(hit.chunk.text, subject, settings.subject_window) for hit in head]
    bonus = settings.subject_weight if _telling(opening, settings.subject_max_share) else 0.0
    asked = asked_answer(question)
    fitting = [gives_asked_answer(hit.chunk.text, asked) for hit in head]
    fits_bonus = (
        settings.answer_kind_weight if _telling(fitting, settings.answer_kind_max_share) else 0.0
    )
    stated = stated_quantities(question)
    meeting = [meets(hit.chunk.text, stated) for hit in head]
    meets_bonus = (
        settings.quantity_weight if _telling(meeting, settings.quantity_max_share) else 0.0
    )
    scores = [
        hit.fused
        + settings.sparse_weight * hit.sparse / best_sparse
        + settings.dense_gap_weight * (hit.dense - best_dense)
        + bonus * opens
        + fits_bonus * fits
        + meets_bonus * meet
        for hit, opens, fits, meet in zip(head, opening, fitting, meeting, strict=True)
    ]
    order = sorted(range(len(head)), key=lambda i: scores[i], reverse=True)
    return [*(head[i] for i in order), *tail]


def opens_with(passage: str, subject: Sequence[str], window: int) -> bool:
    """Whether the folded syllables `subject` occur among the first `window` words of the
    passage (its numbering left out)."""
    if not subject:
        return False
    opening = folded(t for t in tokenize(passage[: 16 * window]) if not is_number(t))[:window]
    size = len(subject)
    return any(opening[i : i + size] == list(subject) for i in range(window - size + 1))


def _telling(marks: Sequence[bool], max_share: float) -> bool:
    """A mark tells candidates apart when some, but few, of them carry it."""
    return 0 < sum(marks) <= max_share * len(marks)


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
