import pytest

from sotay_common.text import canonical_name, canonical_tones, fold, folded_words, search_words


@pytest.mark.parametrize(
    ("old", "new"),
    [("HÒA", "HOÀ"), ("Thủy", "Thuỷ"), ("khỏe", "khoẻ"), ("Quỳnh", "Quỳnh"), ("hòa", "hoà")],
)
def test_old_and_new_tone_placement_compare_equal(old: str, new: str) -> None:
    assert canonical_tones(old) == canonical_tones(new)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("người", "người"),
        ("Hoàng", "Hoàng"),
        ("toán", "toán"),
        ("giữa", "giữa"),
        ("quý", "quý"),
        ("gì", "gì"),
        ("tuổi", "tuổi"),
        ("khuyến", "khuyến"),
    ],
)
def test_canonical_placement_keeps_regular_spellings(word: str, expected: str) -> None:
    assert canonical_tones(word) == expected


def test_decomposed_input_is_normalised() -> None:
    decomposed = "Nguye\u0302\u0303n Va\u0306n"
    assert canonical_name(decomposed) == "NGUYỄN VĂN"


def test_fold_removes_every_diacritic_and_d_stroke() -> None:
    assert fold("Đặng Thị Ánh Nguyệt") == "dang thi anh nguyet"
    assert folded_words("  Lê   Văn-Tám ") == ["le", "van", "tam"]


def test_search_words_keep_diacritics_in_canonical_form() -> None:
    assert search_words("Nguyễn Thị Hoà") == ["nguyễn", "thị", "hòa"]
