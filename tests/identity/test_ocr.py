import datetime as dt
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from sotay_identity.card import locate_card
from sotay_identity.card_fields import (
    match_committee,
    match_label,
    parse_card_number,
    parse_date,
    parse_name,
    strip_label,
)
from sotay_identity.images import ImageLimits, decode_image
from sotay_identity.names import canonical_name
from sotay_identity.ocr import (
    FIELD_NAMES,
    AsterEngine,
    CardReader,
    CardReading,
    EngineText,
    OcrUnavailable,
    TesseractEngine,
    combine,
    read_card,
)
from tests.identity.support.cards import COMMITTEES, CardTruth, card_photo

TODAY = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def reader() -> CardReader:
    return CardReader(TesseractEngine(), AsterEngine())


# --- parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("26/06/1964", dt.date(1964, 6, 26)),
        ("26I06I1964", dt.date(1964, 6, 26)),  # slashes read as I
        ("26l06l1964", dt.date(1964, 6, 26)),
        ("26|06|1964", dt.date(1964, 6, 26)),
        ("26/O6/l964", dt.date(1964, 6, 26)),  # O for 0, l for 1
        ("2610611964", dt.date(1964, 6, 26)),  # slashes read as 1
        ("26061964", dt.date(1964, 6, 26)),  # slashes lost
        ("26.06.1964", dt.date(1964, 6, 26)),
        ("26 - 06 - 1964", dt.date(1964, 6, 26)),
        ("ngày: 26/06/1964", dt.date(1964, 6, 26)),  # a label fragment left over
        ("ll/11/1971", dt.date(1971, 11, 11)),
        ("Ngày 03 tháng 02 năm 2015", dt.date(2015, 2, 3)),
        ("03 thang 02 nam 2015", dt.date(2015, 2, 3)),  # accents lost
        ("3 tháng 2 năm 2015", dt.date(2015, 2, 3)),
        ("03 02 2015", dt.date(2015, 2, 3)),
    ],
)
def test_dates_are_repaired(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/1964", "26/06/64", "26/13/1964", "", "ngày", "2/6/19"])
def test_impossible_or_incomplete_dates_are_none(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123456789012", "123456789012"),
        ("12345678901O", "123456789010"),  # O for 0
        ("l23456789012", "123456789012"),  # l for 1
        ("1234 5678 9012", "123456789012"),
        ("1234.5678.9012", "123456789012"),
        (": 123456789012 .", "123456789012"),
        ("' 123456789012", "123456789012"),
    ],
)
def test_card_numbers_are_repaired(text: str, expected: str) -> None:
    assert parse_card_number(text) == expected


@pytest.mark.parametrize("text", ["12345678901", "1234567890123", "123456 789 012 345", "abc"])
def test_card_numbers_must_be_exactly_twelve_digits(text: str) -> None:
    assert parse_card_number(text) is None


def test_names_are_canonical() -> None:
    assert parse_name("NGUYỄN THỊ THUỶ") == "Nguyễn Thị Thủy"
    assert parse_name(" Lê  Văn Hoà, ") == "Lê Văn Hòa"
    assert parse_name("NGUYEN VAN AN") == "Nguyễn Van An"  # the surname's accents come back
    assert parse_name("HUỲNH 1 VĂN") == "Huỳnh Văn"


def test_implausible_names_are_none() -> None:
    assert parse_name("NGUYỄN") is None
    assert parse_name("NGUYỄNVĂNANANAN BÌNH") is None
    assert parse_name("") is None


def test_committees_match_accent_and_case_insensitively() -> None:
    assert match_committee("TINH UY NGHE AN", COMMITTEES) == "Tỉnh ủy Nghệ An"
    assert match_committee("TỈNH ỦY QUẢNG NINH", COMMITTEES) == "Tỉnh ủy Quảng Ninh"
    assert match_committee("THÀNH ỦY HÀ NỘ1", COMMITTEES) == "Thành ủy Hà Nội"
    assert match_committee("TỈNH ỦY QUẢNG", COMMITTEES) is None  # Ninh or Bình?
    assert match_committee("CỘNG HÒA XÃ HỘI", COMMITTEES) is None
    assert match_committee("TỈNH ỦY NGHỆ AN", []) is None


def test_labels_are_found_despite_ocr_damage() -> None:
    assert match_label(["Ho", "va", "ten:", "NGUYỄN", "AN"]) == ("full_name", 1.0, 3)
    assert match_label(["Vao", "Dang", "ngay:", "01/01/2000"])[:1] == ("admission_date",)  # type: ignore[index]
    assert match_label(["Chinh", "thuc", "ngav", "01/01/2001"])[:1] == ("official_date",)  # type: ignore[index]
    assert match_label(["TỈNH", "ỦY", "NGHỆ", "AN"]) is None
    assert strip_label("date_of_birth", "Sinh ngày: 26/06/1964") == "26/06/1964"
    assert strip_label("full_name", "tên: NGUYỄN AN") == "NGUYỄN AN"


# --- agreement and validation ----------------------------------------------------------


def readings(
    **overrides: tuple[str | None, str | None],
) -> dict[str, tuple[EngineText | None, EngineText | None]]:
    values = {
        "full_name": ("NGUYỄN VĂN HÒA", "NGUYỄN VĂN HOÀ"),
        "date_of_birth": ("26/06/1964", "26/06/1964"),
        "party_card_number": ("123456789012", "123456789012"),
        "admission_date": ("12/03/1990", "12/03/1990"),
        "official_date": ("12/03/1991", "12/03/1991"),
        "issuing_committee": ("TỈNH ỦY NGHỆ AN", "TỈNH ỦY NGHỆ AN"),
        "issue_date": ("03 tháng 02 năm 2015", "03 02 2015"),
    } | overrides
    return {
        name: tuple(None if text is None else EngineText(text, 0.95) for text in pair)  # type: ignore[misc]
        for name, pair in values.items()
    }


def combined(**overrides: tuple[str | None, str | None]) -> CardReading:
    return combine(readings(**overrides), known_committees=COMMITTEES, today=TODAY)


def test_agreeing_valid_readings_are_all_accepted() -> None:
    reading = combined()
    assert reading.fully_accepted
    assert reading.full_name.value == "Nguyễn Văn Hòa"  # both tone spellings agree
    assert reading.issue_date.value == dt.date(2015, 2, 3)
    assert reading.issuing_committee.value == "Tỉnh ủy Nghệ An"


def test_disagreement_goes_to_a_person_with_both_readings() -> None:
    field = combined(party_card_number=("123456789012", "123456789013")).party_card_number
    assert not field.accepted
    assert field.reason == "engines_disagree"
    assert field.tesseract_raw == EngineText("123456789012", 0.95)
    assert field.aster_raw == EngineText("123456789013", 0.95)


def test_one_engine_alone_is_not_enough() -> None:
    assert combined(date_of_birth=("26/06/1964", "2G/0")).date_of_birth.reason == "one_engine_only"
    assert combined(full_name=(None, None)).full_name.reason == "not_found"
    assert combined(issuing_committee=("UBND", "UBND")).issuing_committee.reason == "invalid_value"


def test_low_confidence_is_not_accepted() -> None:
    raws = readings()
    raws["full_name"] = (EngineText("NGUYỄN VĂN HÒA", 0.95), EngineText("NGUYỄN VĂN HÒA", 0.01))
    floor = (0.3, 0.3)
    reading = combine(raws, known_committees=COMMITTEES, today=TODAY, min_confidence=floor)
    assert reading.full_name.reason == "low_confidence"
    assert reading.date_of_birth.accepted
    assert combine(raws, known_committees=COMMITTEES, today=TODAY).full_name.accepted


def test_official_date_must_follow_the_probation_year() -> None:
    late = combined(official_date=("12/09/1991", "12/09/1991"))
    assert late.official_date.reason == "official_date_inconsistent"
    assert late.admission_date.reason == "official_date_inconsistent"
    assert combined(official_date=("20/04/1991", "20/04/1991")).fully_accepted  # 39 days late
    assert not combined(official_date=("11/03/1991", "11/03/1991")).official_date.accepted


def test_member_must_be_adult_when_admitted() -> None:
    reading = combined(date_of_birth=("26/06/1975", "26/06/1975"))
    assert reading.date_of_birth.reason == "dates_out_of_order"
    assert reading.admission_date.reason == "dates_out_of_order"


def test_issue_date_before_official_date_is_implausible() -> None:
    reading = combined(issue_date=("03 tháng 02 năm 1991", "03 02 1991"))
    assert reading.issue_date.reason == "issue_date_implausible"
    assert reading.official_date.accepted


def test_dates_in_the_future_are_refused() -> None:
    reading = combined(issue_date=("03 tháng 02 năm 2026", "03 02 2026"))
    assert reading.issue_date.reason == "date_out_of_range"


# --- real engines ------------------------------------------------------------------------


def rendered_line(text: str, size: int = 30) -> npt.NDArray[np.uint8]:
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf", size)
    width = int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(text, font=font)) + 24
    line = Image.new("RGB", (width, int(size * 1.6)), (245, 238, 215))
    ImageDraw.Draw(line).text((12, size // 4), text, font=font, fill=(20, 20, 20))
    return np.asarray(line)[..., ::-1].copy()


@pytest.mark.parametrize("text", ["NGUYỄN THỊ THỦY", "Trần Quốc Tuấn", "26/06/1964"])
def test_both_engines_read_a_clean_line(reader: CardReader, text: str) -> None:
    line = rendered_line(text)
    for engine in (reader.tesseract, reader.aster):
        result = engine.read_line(line)
        assert result.text == text, engine.name
        assert 0.5 < result.confidence <= 1.0


def test_aster_takes_lines_longer_than_its_window(reader: CardReader) -> None:
    line = rendered_line("NGUYỄN THỊ THỦY " * 8)
    assert line.shape[1] * AsterEngine.HEIGHT / line.shape[0] > AsterEngine.MAX_WIDTH
    assert "NGUY" in reader.aster.read_line(line).text


def truth_values(truth: CardTruth) -> dict[str, object]:
    return {
        "full_name": canonical_name(truth.full_name),
        "date_of_birth": truth.date_of_birth,
        "party_card_number": truth.party_card_number,
        "admission_date": truth.admission_date,
        "official_date": truth.official_date,
        "issuing_committee": truth.issuing_committee,
        "issue_date": truth.issue_date,
    }


@pytest.mark.parametrize("seed", [101, 102, 103, 104])
def test_generated_card_photos_are_read(reader: CardReader, seed: int) -> None:
    photo = card_photo(seed)
    card = locate_card(decode_image(photo.photo_jpeg, limits=ImageLimits()))
    reading = read_card(card, known_committees=COMMITTEES, reader=reader)
    expected = truth_values(photo.truth)
    accepted = {name: field.value for name, field in reading.fields().items() if field.accepted}
    assert len(accepted) >= 6, reading
    assert accepted == {name: expected[name] for name in accepted}


@pytest.mark.parametrize(("seed", "field_name"), [(420, "issue_date"), (459, "full_name")])
def test_a_second_look_settles_a_disagreement(
    reader: CardReader, seed: int, field_name: str
) -> None:
    # On these generated cards the engines' first readings of the field differ.
    photo = card_photo(seed)
    card = locate_card(decode_image(photo.photo_jpeg, limits=ImageLimits()))
    reading = read_card(card, known_committees=COMMITTEES, reader=reader).fields()[field_name]
    assert reading.second_look
    assert reading.accepted
    assert reading.value == truth_values(photo.truth)[field_name]


def test_reader_is_shared_safely_between_threads(reader: CardReader) -> None:
    photos = [card_photo(seed) for seed in (201, 202)]
    cards = [locate_card(decode_image(p.photo_jpeg, limits=ImageLimits())) for p in photos]
    alone = [reader.read(card, known_committees=COMMITTEES, today=TODAY) for card in cards]
    together: list[CardReading | None] = [None, None]

    def read(index: int) -> None:
        together[index] = reader.read(cards[index], known_committees=COMMITTEES, today=TODAY)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


def test_missing_model_files_are_an_installation_error(tmp_path: Path) -> None:
    with pytest.raises(OcrUnavailable):
        AsterEngine(model_dir=tmp_path)
    with pytest.raises(OcrUnavailable):
        TesseractEngine(tessdata=str(tmp_path))


def test_field_names_cover_the_reading() -> None:
    truth = truth_values(card_photo(0).truth)
    assert set(FIELD_NAMES) == set(combined().fields()) == set(truth)
