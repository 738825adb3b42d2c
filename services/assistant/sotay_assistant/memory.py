"""Questions whose answering passage is known, and how closely a new question repeats them.

Members ask the same things again in their own words, and a question that repeats much of one
a passage is known to answer is likely answered by it too, even when it shares few words with
the passage itself ("tiền Đảng tháng này nộp cho ai" after "đóng tiền Đảng ở đâu"). The ranker
reads this as the signal `asked_before` (sotay_assistant.rerank): for each candidate, the
largest overlap (Jaccard over folded syllables and syllable bigrams of the questions as the
retrievers read them) with the known questions it answers.

Known questions come from the dev split of the evaluation set (packaged in
data/answered_questions.tsv by bench/assistant.py --calibrate) and from answers members rated
useful. A passage is known by its text (`passage_key`), not by document id and version: its
questions follow it into a new version or another deployment that publishes the same text,
and a Khoản whose text changed starts without any.

The memory also proposes candidates of its own (`most_asked`): a question worded like known
ones whose passage shares few words with it may not be among the retrievers' candidates at all.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from sotay_assistant.index import text_key
from sotay_assistant.sparse import text_terms

PACKAGED = "data/answered_questions.tsv"
# Known questions kept per passage (the first added): enough wordings of one question, and a
# bound on what ranking a candidate costs (~3 µs each).
MAX_PER_PASSAGE = 100
Grams = frozenset[str]


def passage_key(text: str) -> str:
    """What identifies a passage to the known questions: its text."""
    return text_key(text)


def question_grams(read_text: str) -> Grams:
    """Folded syllables and bigrams of a question as the retrievers read it."""
    return frozenset(text_terms(read_text).counts)


@dataclass(frozen=True, slots=True)
class KnownQuestion:
    """A question and the passage that answers it. `source` says where it came from:
    "eval:<id>" for the packaged ones, "answer:<id>" for a rated answer."""

    source: str
    question: str
    passage: str  # passage_key of the answering passage


class QuestionMemory:
    """Known questions by the passage that answers them, each as the grams of its reading."""

    def __init__(self) -> None:
        self._by_passage: dict[str, list[tuple[str, Grams]]] = defaultdict(list)
        self._known: set[tuple[str, str]] = set()
        self._changes = 0
        self._lookup: _GramLookup | None = None

    def __len__(self) -> int:
        return len(self._known)

    def knows(self, source: str, passage: str) -> bool:
        return (source, passage) in self._known

    def add(self, source: str, passage: str, grams: Grams) -> bool:
        """Whether it was added: not when empty, known, or the passage has enough."""
        known = self._by_passage[passage]
        if not grams or self.knows(source, passage) or len(known) >= MAX_PER_PASSAGE:
            return False
        known.append((source, grams))
        self._known.add((source, passage))
        self._changes += 1
        return True

    def asked_before(self, grams: Grams, passage: str) -> float:
        """The largest overlap of a question with the known questions `passage` answers."""
        best = 0.0
        for _, known in self._by_passage.get(passage, ()):
            shared = len(grams & known)
            if shared:
                best = max(best, shared / (len(grams) + len(known) - shared))
        return best

    def most_asked(self, grams: Grams, count: int) -> list[tuple[str, float]]:
        """The `count` passages with the largest `asked_before`, largest first, each with it
        (passages whose known questions share nothing with the question left out)."""
        return self.prepare().most_asked(grams, count)

    def prepare(self) -> _GramLookup:
        """The lookup `most_asked` reads, built anew after a change (~30 ms for 2,800 known
        questions: worth calling where questions were added, before one is asked)."""
        lookup = self._lookup
        if lookup is None or lookup.changes != self._changes:
            lookup = self._lookup = _GramLookup(self._by_passage, self._changes)
        return lookup

    def forget(self, leave_out: Callable[[str], bool]) -> None:
        """Forgets the questions whose source `leave_out` names."""
        for passage, known in list(self._by_passage.items()):
            # A new list, not one changed in place: a search may be reading the old one.
            self._by_passage[passage] = [(s, g) for s, g in known if not leave_out(s)]
        kept = {(s, p) for s, p in self._known if not leave_out(s)}
        if len(kept) < len(self._known):
            self._known = kept
            self._changes += 1

    def without(self, leave_out: Callable[[str], bool]) -> QuestionMemory:
        """The memory without the questions whose source `leave_out` names."""
        kept = QuestionMemory()
        for passage, known in self._by_passage.items():
            for source, grams in known:
                if not leave_out(source):
                    kept.add(source, passage, grams)
        return kept


class _GramLookup:
    """Known questions by gram: the overlap of a question with all of them at once, where
    comparing it with each in turn costs ~3 µs a question."""

    def __init__(self, by_passage: dict[str, list[tuple[str, Grams]]], changes: int) -> None:
        self.changes = changes  # of the memory it was built from
        self._passages: list[str] = []
        postings: dict[str, list[int]] = defaultdict(list)
        sizes = []
        # list(): a copy taken at once, while a rated answer may be adding a passage
        for passage, known in list(by_passage.items()):
            for _, grams in known:
                for gram in grams:
                    postings[gram].append(len(self._passages))
                self._passages.append(passage)
                sizes.append(len(grams))
        self._sizes = np.array(sizes, dtype=np.float64)
        self._postings = {gram: np.array(rows, dtype=np.int64) for gram, rows in postings.items()}

    def most_asked(self, grams: Grams, count: int) -> list[tuple[str, float]]:
        rows = [self._postings[gram] for gram in grams if gram in self._postings]
        if not rows or count < 1:
            return []
        shared = np.bincount(np.concatenate(rows), minlength=len(self._passages))
        sharing = np.flatnonzero(shared)
        overlap: npt.NDArray[np.float64] = shared[sharing] / (
            len(grams) + self._sizes[sharing] - shared[sharing]
        )
        found: dict[str, float] = {}
        for at in np.argsort(-overlap, kind="stable"):
            found.setdefault(self._passages[sharing[at]], float(overlap[at]))
            if len(found) == count:
                break
        return list(found.items())


def read_known_questions(text: str) -> list[KnownQuestion]:
    """Rows of `source<TAB>passage<TAB>question`, a header first."""
    rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    return [KnownQuestion(source, question, passage) for source, passage, question in rows[1:]]


def write_known_questions(known: Iterable[KnownQuestion]) -> str:
    lines = ["source\tpassage\tquestion"]
    lines += [f"{k.source}\t{k.passage}\t{' '.join(k.question.split())}" for k in known]
    return "\n".join(lines) + "\n"


def packaged_questions() -> list[KnownQuestion]:
    source = resources.files("sotay_assistant").joinpath(PACKAGED)
    return read_known_questions(source.read_text(encoding="utf-8"))
