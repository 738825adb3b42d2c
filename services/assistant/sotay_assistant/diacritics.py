"""Restores the diacritics (and fixes one-letter typos) of a question from the indexed text.

Members often type without diacritics ("dang vien du bi co duoc bieu quyet khong"). A syllable
bigram language model, counted over the indexed passages plus a few common question phrases,
chooses for each typed syllable the accented form that fits its neighbours best (Viterbi over
the candidate forms). Syllables the model has never seen, folded, may be typos: their
neighbours at one edit (deletion, insertion, substitution, transposition) become candidates at
a penalty, so that the context decides. Syllables typed with diacritics are kept as typed.
When the member types diacritics (most of the question's words carry them), a syllable left
plain is most likely meant plain ("tuổi cao", "qua điện thoại", "từ xa"): its plain reading is
preferred where the corpus uses it, and marks are only added when the context insists.

The counts are updated when passages are added or removed, so the model follows the index.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sotay_assistant.vietnamese import clauses, is_number, is_syllable, paraphrase_rows, tokenize
from sotay_common.text import fold

_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_START = "<s>"
_END = "</s>"
_DISCOUNT = 0.75
# Probability ratio of a correction against the same syllable typed right: it must be
# supported by its context, not just by being frequent.
_TYPO_PENALTY = math.log(1e-3)
_MIN_TYPO_LENGTH = 3
# Probability ratio of a marked reading against the plain one for a syllable typed plain in a
# question typed with diacritics: people who type marks seldom drop one.
_DROPPED_MARK_PENALTY = math.log(0.1)
_TYPED_WITH_DIACRITICS_SHARE = 0.5  # of a question's words carrying diacritics


@dataclass(frozen=True, slots=True)
class Restoration:
    """The question as the model reads it. `unknown`: syllables neither known nor correctable."""

    tokens: tuple[str, ...]
    corrected: tuple[tuple[str, str], ...]
    unknown: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True, slots=True)
class _Candidate:
    form: str
    penalty: float


class DiacriticsRestorer:
    """Bigram model of accented syllables; `restore` chooses the likeliest accented reading."""

    def __init__(self, *, seed_phrases: bool = True) -> None:
        self._unigrams: Counter[str] = Counter()
        self._total = 0
        self._sentences = 0
        self._follow: dict[str, Counter[str]] = {}
        self._follow_totals: Counter[str] = Counter()
        self._forms: dict[str, Counter[str]] = {}
        self._deletions: dict[str, set[str]] | None = None
        if seed_phrases:
            self.add_text(default_seed_phrases())

    def add_text(self, text: str) -> None:
        self._count(text, +1)

    def remove_text(self, text: str) -> None:
        self._count(text, -1)

    def knows(self, syllable: str) -> bool:
        """Whether the folded syllable occurs in the counted text."""
        return fold(syllable) in self._forms

    def restore(self, text: str, *, plain_as_typed: bool = False) -> Restoration:
        """The likeliest reading of `text`. `plain_as_typed`: the member typed diacritics
        (`typed_with_diacritics` of what was typed), so plain syllables are likely meant plain."""
        tokens = tokenize(text)
        if not tokens:
            return Restoration((), (), ())
        lattice = [self._candidates(token, plain_as_typed) for token in tokens]
        best = self._viterbi(lattice)
        corrected = tuple(
            (typed, chosen)
            for typed, chosen, options in zip(tokens, best, lattice, strict=True)
            if fold(typed) != fold(chosen) and any(c.penalty for c in options)
        )
        unknown = tuple(
            typed
            for typed, chosen in zip(tokens, best, strict=True)
            if not is_number(typed) and fold(chosen) not in self._forms
        )
        return Restoration(tuple(best), corrected, unknown)

    # -- counting -----------------------------------------------------------------------------

    def _count(self, text: str, sign: int) -> None:
        for sentence in clauses(text):
            self._sentences += sign
            for previous, token in _pairs(sentence):
                self._add_pair(previous, token, sign)
            for token in sentence:
                self._unigrams[token] += sign
                self._total += sign
                self._forms.setdefault(fold(token), Counter())[token] += sign
                if self._unigrams[token] <= 0:
                    self._forget(token)
        self._deletions = None

    def _add_pair(self, previous: str, token: str, sign: int) -> None:
        follow = self._follow.setdefault(previous, Counter())
        follow[token] += sign
        self._follow_totals[previous] += sign
        if follow[token] <= 0:
            del follow[token]
            if not follow:
                del self._follow[previous]
                del self._follow_totals[previous]

    def _forget(self, token: str) -> None:
        del self._unigrams[token]
        forms = self._forms[fold(token)]
        del forms[token]
        if not forms:
            del self._forms[fold(token)]

    # -- decoding -----------------------------------------------------------------------------

    def _candidates(self, token: str, plain_as_typed: bool) -> list[_Candidate]:
        key = fold(token)
        if is_number(token):
            return [_Candidate(token, 0.0)]
        if key != token:
            return self._accented_candidates(token, key)
        if key in self._forms:
            forms = self._forms[key]
            marked = _DROPPED_MARK_PENALTY if plain_as_typed and token in forms else 0.0
            return [_Candidate(form, 0.0 if form == token else marked) for form in forms]
        neighbours = self._neighbours(key)
        if neighbours and not is_syllable(key):
            # Cannot be Vietnamese ("khnog", "abo"): a typo, whichever fix the context prefers.
            typed, fix = _TYPO_PENALTY, 0.0
        else:
            typed, fix = 0.0, _TYPO_PENALTY
        fixes = [_Candidate(form, fix) for near in neighbours for form in self._forms[near]]
        return [_Candidate(token, typed), *fixes]

    def _accented_candidates(self, token: str, key: str) -> list[_Candidate]:
        """Typed with diacritics: kept, except a form the corpus never uses and typed without
        its tone ("thơi gian"), which may take the tone of a known form ("thời")."""
        if token in self._unigrams or _without_tone(token) != token:
            return [_Candidate(token, 0.0)]
        toned = [form for form in self._forms.get(key, ()) if _without_tone(form) == token]
        return [_Candidate(token, 0.0), *(_Candidate(form, 0.0) for form in toned)]

    def _viterbi(self, lattice: Sequence[Sequence[_Candidate]]) -> list[str]:
        scores: dict[str, tuple[float, list[str]]] = {_START: (0.0, [])}
        for options in lattice:
            step: dict[str, tuple[float, list[str]]] = {}
            for option in options:
                step[option.form] = max(
                    (
                        (
                            score + self._log_probability(previous, option.form) + option.penalty,
                            [*path, option.form],
                        )
                        for previous, (score, path) in scores.items()
                    ),
                    key=lambda scored: scored[0],
                )
            scores = step
        final = max(
            scores.items(), key=lambda item: item[1][0] + self._log_probability(item[0], _END)
        )
        return final[1][1]

    def _log_probability(self, previous: str, token: str) -> float:
        """Bigram probability with absolute discounting, interpolated with unigrams."""
        vocabulary = len(self._unigrams) + 1
        seen = self._sentences if token == _END else self._unigrams.get(token, 0)
        unigram = (seen + 0.5) / (self._total + 0.5 * vocabulary)
        follow = self._follow.get(previous)
        if not follow:
            return math.log(unigram)
        total = self._follow_totals[previous]
        pair = max(follow.get(token, 0) - _DISCOUNT, 0.0) / total
        return math.log(pair + _DISCOUNT * len(follow) / total * unigram)

    def _neighbours(self, key: str) -> set[str]:
        """Known folded syllables one edit away from `key` (symmetric deletion lookup)."""
        if len(key) < _MIN_TYPO_LENGTH or not key.isalpha():
            return set()
        index = self._deletion_index()
        found: set[str] = set()
        for variant in {key, *_deletions(key)}:
            found |= index.get(variant, set())
        return {word for word in found if word != key and _one_edit(key, word)}

    def _deletion_index(self) -> dict[str, set[str]]:
        if self._deletions is None:
            index: dict[str, set[str]] = {}
            for word in self._forms:
                if word.isalpha():
                    for variant in {word, *_deletions(word)}:
                        index.setdefault(variant, set()).add(word)
            self._deletions = index
        return self._deletions


def typed_with_diacritics(text: str) -> bool:
    """Whether most words of `text` carry diacritics: its writer types them."""
    words = [token for token in tokenize(text) if not is_number(token)]
    marked = sum(fold(word) != word for word in words)
    return bool(words) and marked >= _TYPED_WITH_DIACRITICS_SHARE * len(words)


def _without_tone(syllable: str) -> str:
    """The syllable without its tone mark, keeping ă â ê ô ơ ư đ: "thời" -> "thơi"."""
    decomposed = unicodedata.normalize("NFD", syllable)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))


def _pairs(sentence: Sequence[str]) -> Iterator[tuple[str, str]]:
    padded = [_START, *sentence, _END]
    return itertools.pairwise(padded)


def _deletions(word: str) -> Iterable[str]:
    return (word[:i] + word[i + 1 :] for i in range(len(word)))


def _one_edit(typed: str, known: str) -> bool:
    """Levenshtein distance 1, or two adjacent letters swapped."""
    if typed == known:
        return False
    if len(typed) == len(known):
        diffs = [i for i, (a, b) in enumerate(zip(typed, known, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        first, second = diffs[0], diffs[-1]
        return (
            len(diffs) == 2
            and second == first + 1
            and typed[first] == known[second]
            and typed[second] == known[first]
        )
    shorter, longer = sorted((typed, known), key=len)
    if len(longer) - len(shorter) != 1:
        return False
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


@cache
def default_seed_phrases() -> str:
    """Common question phrasing (data/question_phrases.txt) and the ways members say what the
    regulations name otherwise (data/paraphrases.tsv), so that their words are known."""
    source = resources.files("sotay_assistant").joinpath("data/question_phrases.txt")
    said = "\n".join(phrase for phrase, _ in paraphrase_rows())
    return source.read_text(encoding="utf-8") + "\n" + said
