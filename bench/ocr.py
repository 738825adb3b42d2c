"""Party card OCR on generated, photo-degraded cards: automation, errors, speed.

    .venv/bin/python bench/ocr.py --count 200 --seed 1

Prints: the share of cards read fully automatically (all seven fields accepted), the share
of accepted fields that are wrong, per-field accuracy of each engine alone (first reading)
and of the accepted values, why fields were not accepted, what confidence thresholds would
change, and the time per card of each step (one thread; p50 / p95; wall time, and the CPU
time of the reading thread, which other processes on the machine do not inflate).
--blur-sweep prints how sharpness relates to reading success, which is what
images.BLUR_THRESHOLD was calibrated from.
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.identity.support, the card renderer

from sotay_identity.card import CardNotFound, RectifiedCard, locate_card  # noqa: E402
from sotay_identity.card_fields import match_committee, parse_card_number, parse_date, parse_name  # noqa: E402
from sotay_identity.images import ImageLimits, decode_image, sharpness  # noqa: E402
from sotay_identity.names import canonical_name  # noqa: E402
from sotay_identity.ocr import (  # noqa: E402
    FIELD_NAMES,
    AsterEngine,
    CardReader,
    CardReading,
    EngineText,
    FieldReading,
    TesseractEngine,
    TextLine,
)
from tests.identity.support.cards import COMMITTEES, CardTruth, Degradation, card_photo  # noqa: E402

R = TypeVar("R")
Image8 = npt.NDArray[np.uint8]


class Timings:
    """Seconds per card of each step; a step may run several times for one card."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.pending: dict[str, float] = defaultdict(float)

    def timed(self, step: str, work: Callable[[], R]) -> R:
        start = time.perf_counter()
        try:
            return work()
        finally:
            self.pending[step] += time.perf_counter() - start

    def end_card(self) -> None:
        for step, seconds in self.pending.items():
            self.samples[step].append(seconds)
        self.pending.clear()


class TimedTesseract(TesseractEngine):
    def __init__(self, timings: Timings) -> None:
        super().__init__()
        self.timings = timings

    def read_block(self, block: Image8) -> list[TextLine]:
        read = super().read_block
        return self.timings.timed("tesseract", lambda: read(block))


class TimedAster:
    name = "aster"

    def __init__(self, timings: Timings) -> None:
        self.engine = AsterEngine()
        self.timings = timings

    def read_line(self, line: Image8) -> EngineText:
        return self.timings.timed("aster", lambda: self.engine.read_line(line))


def expected_values(truth: CardTruth) -> dict[str, object]:
    return {
        "full_name": canonical_name(truth.full_name),
        "date_of_birth": truth.date_of_birth,
        "party_card_number": truth.party_card_number,
        "admission_date": truth.admission_date,
        "official_date": truth.official_date,
        "issuing_committee": truth.issuing_committee,
        "issue_date": truth.issue_date,
    }


def engine_value(field: str, raw: EngineText | None) -> object:
    if raw is None:
        return None
    parsers: dict[str, Callable[[str], object]] = {
        "full_name": parse_name,
        "party_card_number": parse_card_number,
        "issuing_committee": lambda text: match_committee(text, COMMITTEES),
    }
    return parsers.get(field, parse_date)(raw.text)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed_read(
    jpeg: bytes, reader: CardReader, timings: Timings, limits: ImageLimits
) -> CardReading | None:
    """Decode, locate and read one photo, each step timed; None when no card is found."""
    start, cpu_start = time.perf_counter(), time.thread_time()
    try:
        image = timings.timed("decode", lambda: decode_image(jpeg, limits=limits))
        card: RectifiedCard = timings.timed("locate", lambda: locate_card(image))
    except CardNotFound:
        timings.end_card()
        return None
    reading = reader.read(card, known_committees=COMMITTEES, today=dt.date(2025, 1, 1))
    timings.pending["total"] = time.perf_counter() - start
    timings.pending["total CPU"] = time.thread_time() - cpu_start
    timings.end_card()
    return reading


@dataclass
class Tally:
    cards: int = 0
    not_found: int = 0
    fully_automatic: int = 0
    accepted: int = 0
    wrong: int = 0
    second_looks: int = 0  # accepted after a second look
    right_by_field: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    reasons: Counter[str] = field(default_factory=Counter)
    wrong_examples: list[str] = field(default_factory=list)
    # (confidence of Tesseract, of Aster, right?) of every agreed, valid value
    agreed: list[tuple[float, float, bool]] = field(default_factory=list)
    # the lowest confidence of each engine over the fields of each fully automatic card
    automatic_minimums: list[tuple[float, float]] = field(default_factory=list)


def run(count: int, seed: int, degradation: Degradation, verbose: bool) -> None:
    timings = Timings()
    reader = CardReader(TimedTesseract(timings), TimedAster(timings))
    tally = Tally(cards=count)
    for index in range(count):
        photo = card_photo(seed * 100_000 + index, degradation=degradation)
        reading = timed_read(photo.photo_jpeg, reader, timings, ImageLimits())
        if reading is None:
            tally.not_found += 1
            continue
        tally.fully_automatic += reading.fully_accepted
        if reading.fully_accepted:
            tally.automatic_minimums.append(lowest_confidences(reading))
        expected = expected_values(photo.truth)
        for name, result in reading.fields().items():
            count_field(tally, index, name, result, expected[name], verbose)
    print_report(tally, timings)


def lowest_confidences(reading: CardReading) -> tuple[float, float]:
    firsts = [f.tesseract_raw.confidence for f in reading.fields().values() if f.tesseract_raw]
    seconds = [f.aster_raw.confidence for f in reading.fields().values() if f.aster_raw]
    return min(firsts), min(seconds)


def count_field(
    tally: Tally,
    index: int,
    name: str,
    result: FieldReading[str] | FieldReading[dt.date],
    truth: object,
    verbose: bool,
) -> None:
    right = tally.right_by_field[name]
    right["tesseract"] += engine_value(name, result.tesseract_raw) == truth
    right["aster"] += engine_value(name, result.aster_raw) == truth
    if result.accepted or result.reason == "low_confidence":
        first, second = result.tesseract_raw, result.aster_raw
        if first is not None and second is not None:
            tally.agreed.append((first.confidence, second.confidence, result.value == truth))
    if result.accepted:
        tally.accepted += 1
        tally.second_looks += result.second_look
        right["accepted"] += 1
        if result.value != truth:
            tally.wrong += 1
            tally.wrong_examples.append(f"  card {index} {name}: {result.value!r} != {truth!r}")
            tally.wrong_examples.append(f"    {result}")
        return
    tally.reasons[f"{name}:{result.reason}"] += 1
    if verbose:
        print(f"card {index} {name} {result.reason}: {result.tesseract_raw}")
        print(f"    {result.aster_raw}  truth: {truth!r}")


def print_report(tally: Tally, timings: Timings) -> None:
    count = tally.cards
    print(f"\ncards: {count}   card not found: {tally.not_found}")
    automatic = tally.fully_automatic / count
    print(f"fully automatic (all 7 fields accepted): {automatic:.1%}   (goal >= 90%)")
    print(
        f"accepted fields: {tally.accepted} of {7 * count}; wrong among them: {tally.wrong} = "
        f"{tally.wrong / max(tally.accepted, 1):.2%}   (goal <= 0.5%)"
    )
    print(f"accepted after a second look at a disagreement: {tally.second_looks}")
    print(f"\n{'field':<20}{'tesseract ok':>14}{'aster ok':>10}{'accepted':>10}")
    for name in FIELD_NAMES:
        right = tally.right_by_field[name]
        print(
            f"{name:<20}{right['tesseract'] / count:>14.1%}{right['aster'] / count:>10.1%}"
            f"{right['accepted'] / count:>10.1%}"
        )
    print("\nnot accepted, by field and reason:")
    for key, number in tally.reasons.most_common():
        print(f"  {key:<45}{number:>5}")
    print_confidence_sweep(tally)
    print(f"\n{'step (ms per card)':<20}{'p50':>8}{'p95':>8}{'mean':>8}")
    for step in ("decode", "locate", "tesseract", "aster", "total", "total CPU"):
        samples = [s * 1000 for s in timings.samples[step]]
        if samples:
            print(
                f"{step:<20}{percentile(samples, 0.5):>8.0f}{percentile(samples, 0.95):>8.0f}"
                f"{statistics.mean(samples):>8.0f}"
            )
    if tally.wrong_examples:
        print("\nwrong accepted fields:")
        print("\n".join(tally.wrong_examples))


def print_confidence_sweep(tally: Tally) -> None:
    """What confidence thresholds would give, applied to the agreed, valid values."""
    print(
        f"\n{'min confidence (tesseract, aster)':<36}{'accepted':>9}{'wrong':>7}{'automatic':>11}"
    )
    for minimum in ((0.0, 0.0), (0.3, 0.3), (0.4, 0.0), (0.5, 0.0), (0.5, 0.5), (0.6, 0.6)):
        kept = [a for a in tally.agreed if a[0] >= minimum[0] and a[1] >= minimum[1]]
        wrong = sum(1 for a in kept if not a[2])
        automatic = sum(
            1 for low in tally.automatic_minimums if low[0] >= minimum[0] and low[1] >= minimum[1]
        )
        print(f"  {minimum!s:<34}{len(kept):>9}{wrong:>7}{automatic / tally.cards:>11.1%}")


def blur_sweep(count: int, seed: int) -> None:
    """Sharpness of the rectified card under extra blur, and how often cards still read."""
    reader = CardReader(TesseractEngine(), AsterEngine())
    outcomes: list[tuple[float, bool]] = []
    print(f"{'blur sigma':>10}{'sharpness p5':>14}{'p50':>8}{'fully automatic':>17}")
    for sigma in (0.0, 1.0, 1.5, 2.0, 2.5, 3.0):
        values, full = [], 0
        for index in range(count):
            photo = card_photo(seed * 100_000 + index, degradation=Degradation(max_blur_sigma=0.0))
            image = decode_image(photo.photo_jpeg, limits=ImageLimits())
            if sigma:
                image = np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), np.uint8)
            card = locate_card(image)
            automatic = reader.read(card, known_committees=COMMITTEES).fully_accepted
            values.append(sharpness(card.image))
            full += automatic
            outcomes.append((values[-1], automatic))
        print(
            f"{sigma:>10.1f}{percentile(values, 0.05):>14.0f}{percentile(values, 0.5):>8.0f}"
            f"{full / count:>17.0%}"
        )
    print(f"\n{'sharpness':>14}{'cards':>7}{'fully automatic':>17}")
    for low, high in ((0, 15), (15, 30), (30, 45), (45, 60), (60, 90), (90, 10**6)):
        inside = [automatic for value, automatic in outcomes if low <= value < high]
        if inside:
            print(f"{f'{low}-{high}':>14}{len(inside):>7}{sum(inside) / len(inside):>17.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verbose", action="store_true", help="print every field not accepted")
    parser.add_argument("--blur-sweep", action="store_true")
    args = parser.parse_args()
    if args.blur_sweep:
        blur_sweep(args.count, args.seed)
    else:
        run(args.count, args.seed, Degradation(), args.verbose)


if __name__ == "__main__":
    main()
