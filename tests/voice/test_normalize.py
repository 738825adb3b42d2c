import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from sotay_voice.lexicon import Lexicon, LexiconError, LocalityKind
from sotay_voice.normalize import BlockKind, Normalizer

CASES_FILE = Path(__file__).parent / "data" / "normalization_cases.tsv"


@dataclass(frozen=True)
class Case:
    category: str
    locality: LocalityKind
    written: str
    expected: str


def load_cases() -> list[Case]:
    lines = CASES_FILE.read_text(encoding="utf-8").splitlines()
    rows = csv.DictReader(
        (line for line in lines if not line.startswith("#")), delimiter="\t", quoting=csv.QUOTE_NONE
    )
    return [
        Case(
            row["category"],
            LocalityKind(row["locality"] or "province"),
            row["written"].replace("\\n", "\n"),
            row["expected"],
        )
        for row in rows
    ]


CASES = load_cases()
NORMALIZERS = {locality: Normalizer(Lexicon.load(locality)) for locality in LocalityKind}


def spoken(case: Case) -> str:
    normalizer = NORMALIZERS[case.locality]
    if case.category == "document":
        blocks = normalizer.normalize_document(case.written)
        return " | ".join(f"{block.kind}: {block.text}" for block in blocks)
    return normalizer.normalize(case.written)


def test_case_file_covers_every_category_with_enough_cases() -> None:
    categories = {case.category for case in CASES}
    expected_categories = {
        "date", "time", "number", "decimal", "percent", "fraction", "ordinal", "roman", "range",
        "doc_code", "abbreviation", "locality", "currency", "unit", "url", "email", "symbol",
        "heading", "document",
    }  # fmt: skip
    assert categories == expected_categories
    assert len(CASES) >= 150


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{number:03d}-{case.category}" for number, case in enumerate(CASES, 1)]
)
def test_normalization_case(case: Case) -> None:
    assert spoken(case) == case.expected


def test_output_is_nfc_even_for_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", "Nghị quyết 01-NQ/TU ngày 10/8/2021.")
    result = Normalizer().normalize(decomposed)
    assert result == unicodedata.normalize("NFC", result)
    assert result == (
        "Nghị quyết số một của Tỉnh ủy ngày mười tháng tám năm hai nghìn không trăm hai mươi mốt."
    )


def test_output_has_no_digits_for_a_realistic_paragraph() -> None:
    text = (
        "Ngày 15/3/2024, BTV Tỉnh ủy ban hành Kế hoạch số 120-KH/TU triển khai Nghị quyết "
        "Đại hội XIII; đến 14h30, 98,7% chi bộ (1.204 chi bộ) đã quán triệt, giai đoạn "
        "2021-2025 đạt 12,5 tỷ đồng."
    )
    result = Normalizer().normalize(text)
    assert not any(char.isdigit() for char in result)
    assert "/" not in result
    assert "Ban Thường vụ Tỉnh ủy" in result


def test_document_blocks_keep_source_offsets_and_titles() -> None:
    text = "Điều 1. Phạm vi\n\n  Quy định này áp dụng với 25 chi bộ.\na) Chi bộ cơ sở;"
    blocks = Normalizer().normalize_document(text)
    assert [block.kind for block in blocks] == [
        BlockKind.HEADING,
        BlockKind.PARAGRAPH,
        BlockKind.LIST_ITEM,
    ]
    for block in blocks:
        assert text[block.start : block.end] == block.title
    assert blocks[1].title == "Quy định này áp dụng với 25 chi bộ."


def test_operator_lexicon_adds_and_overrides_rows(tmp_path: Path) -> None:
    operator_file = tmp_path / "lexicon.tsv"
    operator_file.write_text(
        "# operator rows\nBTGTU\tBan Tuyên giáo và Dân vận Tỉnh ủy\nKCNC\tkhu công nghệ cao\n",
        encoding="utf-8",
    )
    normalizer = Normalizer(Lexicon.load(LocalityKind.PROVINCE, (operator_file,)))
    assert normalizer.normalize("Hướng dẫn 05-HD/BTGTU tại KCNC.") == (
        "Hướng dẫn số năm của Ban Tuyên giáo và Dân vận Tỉnh ủy tại khu công nghệ cao."
    )


def test_malformed_operator_lexicon_raises_a_coded_error(tmp_path: Path) -> None:
    operator_file = tmp_path / "lexicon.tsv"
    operator_file.write_text("KCNC\tkhu công nghệ cao\tnowhere\n", encoding="utf-8")
    with pytest.raises(LexiconError) as raised:
        Lexicon.load(LocalityKind.PROVINCE, (operator_file,))
    assert raised.value.code == "voice_lexicon_invalid"
    assert "dòng 1" in raised.value.message_vi
