"""Read the fields of a rectified party card with two OCR engines.

Tesseract (Debian's Vietnamese model) reads the card's text area as one block and gives
its lines and word boxes: that is the layout. The label-tolerant parser (card_fields)
finds each field's line and value. Aster, a Vietnamese line recogniser, then reads each
value again from its own crop. A field is accepted automatically only when both engines
give the same parsed value (optionally: each above a confidence floor) and the value
passes validation; anything
else goes to a person, with both readings shown.

Engines are built once and shared: AsterEngine is thread-safe (onnxruntime sessions are),
TesseractEngine keeps one Tesseract instance per thread (a Tesseract instance is not).
"""

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import tesserocr
from PIL import Image

from sotay_identity import card_fields
from sotay_identity.card import RectifiedCard
from sotay_identity.card_fields import (
    as_digits,
    committee_similarity,
    letters,
    match_committee,
    match_label,
    parse_card_number,
    parse_date,
    parse_name,
    strip_label,
)

__all__ = [
    "AsterEngine",
    "CardReader",
    "CardReading",
    "EngineText",
    "FieldReading",
    "LineEngine",
    "OcrUnavailable",
    "TesseractEngine",
    "TextLine",
    "Word",
    "combine",
    "default_reader",
    "read_card",
]

Image8 = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]  # x0, y0, x1, y1
T = TypeVar("T")

TESSDATA_ENV = "SOTAY_TESSDATA_DIR"
DEFAULT_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"
ASTER_ENV = "SOTAY_ASTER_MODEL_DIR"
DEFAULT_ASTER_DIR = Path(__file__).resolve().parents[3] / ".cache" / "models" / "asterocr"

# The card's text area in the canonical frame: right of the portrait, below the red band.
TEXT_AREA: Box = (262, 138, 1000, 606)
# Minimum confidence of (Tesseract, Aster) for a value to be accepted. Off by default: on
# 600 degraded generated cards the agreement rule alone left 2 wrong values in 4167
# accepted, and a floor of 0.3 would have sent 11% more cards to a person (bench/ocr.py).
NO_CONFIDENCE_FLOOR = (0.0, 0.0)
PROBATION_MONTHS = 12
# The Party Charter counts membership as official from the end of the 12-month probation;
# the committee has up to 30 working days (about six weeks) to decide, and some records
# carry the decision's date. So the official date may lie 0 to 45 days after that end.
OFFICIAL_DATE_SLACK = dt.timedelta(days=45)
MIN_ADMISSION_AGE = 18
FIELD_NAMES = (
    "full_name",
    "date_of_birth",
    "party_card_number",
    "admission_date",
    "official_date",
    "issuing_committee",
    "issue_date",
)


class OcrUnavailable(Exception):
    """An engine's model files are missing: an installation problem, not the user's."""

    code = "ocr_unavailable"
    message_vi = "Hệ thống nhận dạng thẻ tạm thời chưa sẵn sàng. Vui lòng thử lại sau."


@dataclass(frozen=True)
class EngineText:
    text: str
    confidence: float  # 0..1: the engine's confidence in its least sure character or word


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    confidence: float  # 0..1


@dataclass(frozen=True)
class TextLine:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words).strip()

    @property
    def box(self) -> Box:
        return _union(word.box for word in self.words)


class LineEngine(Protocol):
    """What both engines offer: the text of one cropped line image (BGR)."""

    name: str

    def read_line(self, line: Image8) -> EngineText: ...


class TesseractEngine:
    """Tesseract with Debian's `vie` model; also finds the lines of a block of text."""

    name = "tesseract"

    def __init__(self, tessdata: str | None = None) -> None:
        self._tessdata = tessdata or os.environ.get(TESSDATA_ENV, DEFAULT_TESSDATA)
        if "vie" not in tesserocr.get_languages(self._tessdata)[1]:
            raise OcrUnavailable(f"no vie.traineddata in {self._tessdata}")
        self._local = threading.local()

    def read_line(self, line: Image8) -> EngineText:
        words = [w for one in self._read(line, tesserocr.PSM.SINGLE_LINE) for w in one.words]
        return EngineText(
            " ".join(w.text for w in words), min((w.confidence for w in words), default=0.0)
        )

    def read_block(self, block: Image8) -> list[TextLine]:
        """The text lines of a block of text, with word boxes and confidences."""
        return self._read(block, tesserocr.PSM.SINGLE_BLOCK)

    def _read(self, image: Image8, mode: int) -> list[TextLine]:
        api = self._api()
        api.SetPageSegMode(mode)
        api.SetImage(Image.fromarray(_ink_channel(image)))
        api.Recognize()
        lines: list[TextLine] = []
        words: list[Word] = []
        iterator = api.GetIterator()
        word_level, line_level = tesserocr.RIL.WORD, tesserocr.RIL.TEXTLINE
        while True:
            box = iterator.BoundingBox(word_level)
            text = (iterator.GetUTF8Text(word_level) or "").strip() if box else ""
            if text:
                words.append(Word(text, box, iterator.Confidence(word_level) / 100.0))
            if iterator.IsAtFinalElement(line_level, word_level) and words:
                lines.append(TextLine(tuple(words)))
                words = []
            if not iterator.Next(word_level):
                break
        if words:
            lines.append(TextLine(tuple(words)))
        return lines

    def _api(self) -> tesserocr.PyTessBaseAPI:
        api: tesserocr.PyTessBaseAPI | None = getattr(self._local, "api", None)
        if api is None:
            api = tesserocr.PyTessBaseAPI(path=self._tessdata, lang="vie")
            self._local.api = api
        return api


class AsterEngine:
    """AsterNet, a Vietnamese CTC line recogniser, run with onnxruntime.

    Only the two asset files of the `asterocr` wheel are used (scripts/install.d puts them
    in .cache/models/asterocr); none of that package's code is installed or imported.
    """

    name = "aster"
    HEIGHT = 32
    MAX_WIDTH = 1024  # the positional encoding covers 256 steps of 4 pixels

    def __init__(self, model_dir: Path | None = None, *, squeeze: float = 0.8) -> None:
        folder = model_dir or Path(os.environ.get(ASTER_ENV, DEFAULT_ASTER_DIR))
        model, vocab = folder / "asternet.onnx", folder / "vocab.json"
        if not (model.is_file() and vocab.is_file()):
            raise OcrUnavailable(f"asternet.onnx and vocab.json expected in {folder}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # requests run side by side, one core each
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._chars: list[str] = json.loads(vocab.read_text(encoding="utf-8"))["chars"]
        # The network's cost grows with the input's width; narrowing it by 20% cost no
        # accuracy on card text in our measurements and saves about 15% of the time.
        self._squeeze = squeeze

    def read_line(self, line: Image8) -> EngineText:
        height, width = line.shape[:2]
        if height == 0 or width == 0:
            return EngineText("", 0.0)
        target_width = max(self.HEIGHT, round(width * self.HEIGHT / height * self._squeeze))
        target_width = min(self.MAX_WIDTH, (target_width + 3) // 4 * 4)
        resized = cv2.resize(line, (target_width, self.HEIGHT), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float32)
        tensor = (rgb / 127.5 - 1.0).transpose(2, 0, 1)[np.newaxis]
        log_probs = np.asarray(self._session.run(None, {self._input: tensor})[0])[:, 0, :]
        return self._greedy_ctc(log_probs)

    def _greedy_ctc(self, log_probs: npt.NDArray[np.float32]) -> EngineText:
        """Drop blanks, collapse repeats; confidence is the least probable character's."""
        best = log_probs.argmax(axis=-1)
        best_log_prob = log_probs.max(axis=-1)
        chars: list[str] = []
        char_log_probs: list[float] = []
        previous = 0
        for index, log_prob in zip(best.tolist(), best_log_prob.tolist(), strict=True):
            if index != 0 and index != previous:  # 0 is the CTC blank
                chars.append(self._chars[index])
                char_log_probs.append(log_prob)
            elif index != 0:  # the same character over several frames: its surest frame
                char_log_probs[-1] = max(char_log_probs[-1], log_prob)
            previous = index
        return EngineText("".join(chars), float(np.exp(min(char_log_probs, default=-np.inf))))


@dataclass(frozen=True)
class FieldReading(Generic[T]):
    tesseract_raw: EngineText | None  # the value as each engine read it
    aster_raw: EngineText | None
    value: T | None  # the agreed value; else a suggestion for the reviewer (or None)
    accepted: bool
    reason: str | None  # why it was not accepted: a stable code; None when accepted
    second_look: bool = False  # the readings come from a second look after a disagreement


@dataclass(frozen=True)
class CardReading:
    full_name: FieldReading[str]
    date_of_birth: FieldReading[dt.date]
    party_card_number: FieldReading[str]
    admission_date: FieldReading[dt.date]
    official_date: FieldReading[dt.date]
    issuing_committee: FieldReading[str]
    issue_date: FieldReading[dt.date]

    def fields(self) -> dict[str, FieldReading[str] | FieldReading[dt.date]]:
        return {name: getattr(self, name) for name in FIELD_NAMES}

    @property
    def fully_accepted(self) -> bool:
        return all(reading.accepted for reading in self.fields().values())


Raw = tuple[EngineText | None, EngineText | None]


class CardReader:
    """Both engines, built once; `read` may be called from several threads at once."""

    def __init__(
        self,
        tesseract: TesseractEngine,
        aster: LineEngine,
        *,
        min_confidence: tuple[float, float] = NO_CONFIDENCE_FLOOR,
    ) -> None:
        self.tesseract = tesseract
        self.aster = aster
        self.min_confidence = min_confidence

    def read(
        self, card: RectifiedCard, *, known_committees: Sequence[str], today: dt.date | None = None
    ) -> CardReading:
        x0, y0, x1, y1 = TEXT_AREA
        area = card.image[y0:y1, x0:x1]
        located = _locate_fields(self.tesseract.read_block(area), known_committees)
        crops = {
            name: _value_crop(area, words, numbers_only=name == "issue_date")
            for name, words in located.items()
        }
        raws: dict[str, Raw] = dict.fromkeys(FIELD_NAMES, (None, None))
        for name, words in located.items():
            raws[name] = (_words_text(words), self._aster_reads(name, crops[name]))
        today = today or dt.date.today()
        judge = partial(
            combine,
            known_committees=known_committees,
            today=today,
            min_confidence=self.min_confidence,
        )
        first = judge(raws)
        looked = set()
        for name, reading in first.fields().items():
            if reading.reason in ("engines_disagree", "one_engine_only"):
                agreed = self._second_look(name, crops[name], raws[name], known_committees)
                if agreed is not None:
                    raws[name] = agreed
                    looked.add(name)
        if not looked:
            return first
        return judge(raws, second_looks=looked)

    def _aster_reads(self, name: str, crop: Image8) -> EngineText:
        text = self.aster.read_line(crop)
        if name in card_fields.LABELS:
            return replace(text, text=strip_label(name, text.text))
        return text

    def _second_look(
        self, name: str, crop: Image8, raw: Raw, committees: Sequence[str]
    ) -> Raw | None:
        """When the engines disagree, each reads the value once more, from another view:
        Tesseract the crop enlarged, Aster the crop at its natural width. The first pair
        of one reading from each engine that agrees is returned; None if none does.
        """
        first_tesseract, first_aster = raw
        if first_tesseract is None or first_aster is None:
            return None
        enlarged = cv2.resize(crop, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
        widened = cv2.resize(crop, None, fx=1.25, fy=1.0, interpolation=cv2.INTER_CUBIC)
        parse = _parser(name, committees)
        second_tesseract = self.tesseract.read_line(np.asarray(enlarged, np.uint8))
        second_aster = self._aster_reads(name, np.asarray(widened, np.uint8))
        for pair in (
            (first_tesseract, second_aster),
            (second_tesseract, first_aster),
            (second_tesseract, second_aster),
        ):
            value = parse(pair[0].text)
            if value is not None and value == parse(pair[1].text):
                return pair
        return None


_default_reader: CardReader | None = None
_default_reader_lock = threading.Lock()


def default_reader() -> CardReader:
    """The process-wide reader, engines from the default locations, built on first use."""
    global _default_reader
    with _default_reader_lock:
        if _default_reader is None:
            _default_reader = CardReader(TesseractEngine(), AsterEngine())
        return _default_reader


def read_card(
    card: RectifiedCard, *, known_committees: Sequence[str], reader: CardReader | None = None
) -> CardReading:
    """Read and validate the seven fields of a rectified card with both engines."""
    return (reader or default_reader()).read(card, known_committees=known_committees)


# --- layout: which words hold which field ---------------------------------------------


def _locate_fields(lines: list[TextLine], committees: Sequence[str]) -> dict[str, tuple[Word, ...]]:
    """Each field's value words, found by label, by pattern or from the committee list."""
    best: dict[str, tuple[float, tuple[Word, ...]]] = {}
    for line in lines:
        for field_name, score, value_words in _line_candidates(line, committees):
            if value_words and (field_name not in best or score > best[field_name][0]):
                best[field_name] = (score, value_words)
    return {name: words for name, (_, words) in best.items()}


def _line_candidates(
    line: TextLine, committees: Sequence[str]
) -> list[tuple[str, float, tuple[Word, ...]]]:
    """(field, score, value words) for every field this line could hold."""
    texts = [word.text for word in line.words]
    candidates = []
    labelled = match_label(texts)
    if labelled is not None:
        field_name, score, label_words = labelled
        candidates.append((field_name, score, line.words[label_words:]))
    folded = letters(line.text)
    numeric = [i for i, text in enumerate(texts) if any(ch.isdigit() for ch in text)]
    if "THANG" in folded and "NAM" in folded and len(numeric) >= 3:
        # The last three numbers: specks of the seal left of the line can read as digits.
        candidates.append(("issue_date", 1.0, line.words[numeric[-3] : numeric[-1] + 1]))
    long_numbers = [i for i, text in enumerate(texts) if len(as_digits(text)) >= 10]
    if len(long_numbers) == 1 and not folded.startswith(("SINH", "VAO", "CHINH", "NGAY")):
        # The seal often hides the "Số thẻ" label: the long run of digits tells the line.
        number_words = line.words[long_numbers[0] :]
        candidates.append(("party_card_number", card_fields.MIN_LABEL_SIMILARITY, number_words))
    committee = committee_similarity(line.text, committees)
    if committee >= card_fields.MIN_COMMITTEE_SIMILARITY:
        candidates.append(("issuing_committee", committee, line.words))
    return candidates


def _value_crop(area: Image8, words: tuple[Word, ...], *, numbers_only: bool = False) -> Image8:
    """The value's image for the second engine: its words' box, padded, stretched right
    to the last ink (a word the first engine missed must not go unseen by both).

    With `numbers_only`, the words holding digits are cut out and set side by side: the
    issue date's "tháng" and "năm" are left out, which makes Aster's input a third shorter.
    """
    x0, y0, x1, y1 = _union(word.box for word in words)
    height = max(4, int(np.median([word.box[3] - word.box[1] for word in words])))
    y0, y1 = max(y0, y1 - 2 * height), min(y1, y0 + 2 * height)  # no stray tall word
    pad = max(3, round(height * 0.2))
    band = area[max(0, y0 - pad) : min(area.shape[0], y1 + pad)]
    x1 = _extend_to_ink(band, x1, gap=3 * height)
    if not numbers_only:
        return band[:, max(0, x0 - pad) : x1 + pad]
    numbers = [w.box for w in words if any(ch.isdigit() for ch in w.text)]
    spans = [(box[0], box[2]) for box in numbers[:-1]] + [(numbers[-1][0], x1)]
    paper = np.full((band.shape[0], height, 3), np.median(band, axis=(0, 1)), np.uint8)
    pieces = [band[:, max(0, a - pad) : b + pad] for a, b in spans]
    return np.hstack([part for piece in pieces for part in (piece, paper)][:-1])


def _extend_to_ink(band: Image8, x_end: int, *, gap: int) -> int:
    """Move `x_end` right past ink that follows within `gap` columns: a word OCR missed."""
    ink = _ink_channel(band)
    threshold, _ = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    inked_columns = (ink < threshold).sum(axis=0) > 1
    last = x_end
    for x in range(x_end, len(inked_columns)):
        if x - last > gap:
            break
        if inked_columns[x]:
            last = x
    return last


def _ink_channel(image: Image8) -> Image8:
    """Per-pixel max of B, G and R: dark ink stays dark, the red seal turns nearly paper-light."""
    return image.max(axis=2) if image.ndim == 3 else image


def _union(boxes: Iterable[Box]) -> Box:
    x0s, y0s, x1s, y1s = zip(*boxes, strict=True)
    return min(x0s), min(y0s), max(x1s), max(y1s)


def _words_text(words: tuple[Word, ...]) -> EngineText:
    return EngineText(" ".join(word.text for word in words), min(word.confidence for word in words))


# --- agreement and validation --------------------------------------------------------


def combine(
    raws: Mapping[str, Raw],
    *,
    known_committees: Sequence[str],
    today: dt.date,
    second_looks: Collection[str] = (),
    min_confidence: tuple[float, float] = NO_CONFIDENCE_FLOOR,
) -> CardReading:
    """Parse each field's two readings, accept agreed valid values, check dates together.

    `raws` maps every name of FIELD_NAMES to (Tesseract's text, Aster's text), None for an
    engine that did not read the field; `second_looks` names the fields whose readings
    come from a second look.
    """

    def agree(name: str, parse: Callable[[str], T | None]) -> FieldReading[T]:
        reading = _agree(raws[name], parse, min_confidence)
        return replace(reading, second_look=name in second_looks)

    dates = {
        name: agree(name, parse_date)
        for name in ("date_of_birth", "admission_date", "official_date", "issue_date")
    }
    _check_dates(dates, today)
    return CardReading(
        full_name=agree("full_name", parse_name),
        party_card_number=agree("party_card_number", parse_card_number),
        issuing_committee=agree(
            "issuing_committee", lambda text: match_committee(text, known_committees)
        ),
        **dates,
    )


def _parser(name: str, committees: Sequence[str]) -> Callable[[str], object | None]:
    if name == "full_name":
        return parse_name
    if name == "party_card_number":
        return parse_card_number
    if name == "issuing_committee":
        return lambda text: match_committee(text, committees)
    return parse_date


def _agree(
    raw: Raw, parse: Callable[[str], T | None], min_confidence: tuple[float, float]
) -> FieldReading[T]:
    """Accept a value only when both engines read it, agree on it and are confident enough."""
    first_raw, second_raw = raw
    if first_raw is None or second_raw is None:
        return FieldReading(first_raw, second_raw, None, False, "not_found")
    first, second = parse(first_raw.text), parse(second_raw.text)
    suggestion = first if first is not None else second

    def rejected(reason: str) -> FieldReading[T]:
        return FieldReading(first_raw, second_raw, suggestion, False, reason)

    if first is None and second is None:
        return rejected("invalid_value")
    if first is None or second is None:
        return rejected("one_engine_only")
    if first != second:
        return rejected("engines_disagree")
    if first_raw.confidence < min_confidence[0] or second_raw.confidence < min_confidence[1]:
        return rejected("low_confidence")
    return FieldReading(first_raw, second_raw, first, True, None)


def _check_dates(dates: dict[str, FieldReading[dt.date]], today: dt.date) -> None:
    """Withdraw acceptance from dates that contradict each other or the calendar."""

    def accepted(name: str) -> dt.date | None:
        return dates[name].value if dates[name].accepted else None

    def reject(reason: str, *names: str) -> None:
        for name in names:
            dates[name] = replace(dates[name], accepted=False, reason=reason)

    for name in dates:
        day = accepted(name)
        if day is not None and not dt.date(1900, 1, 1) <= day <= today:
            reject("date_out_of_range", name)
    birth, admission = accepted("date_of_birth"), accepted("admission_date")
    if birth and admission and _add_months(birth, 12 * MIN_ADMISSION_AGE) > admission:
        reject("dates_out_of_order", "date_of_birth", "admission_date")
    admission, official = accepted("admission_date"), accepted("official_date")
    if admission and official:
        end_of_probation = _add_months(admission, PROBATION_MONTHS)
        if not end_of_probation <= official <= end_of_probation + OFFICIAL_DATE_SLACK:
            reject("official_date_inconsistent", "admission_date", "official_date")
    official, issue = accepted("official_date"), accepted("issue_date")
    if official and issue and issue < official:
        reject("issue_date_implausible", "issue_date")


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or that month's last day (31 Jan + 1 -> 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (following - dt.timedelta(days=1)).day))
