import unicodedata

import pytest

from sotay_identity.names import canonical_name, canonical_syllable, fold_accents, restore_surname


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("Lê Văn Hoà", "Lê Văn Hòa"),
        ("LÊ VĂN HÒA", "Lê Văn Hòa"),
        ("Nguyễn Thị Thuỷ", "Nguyễn Thị Thủy"),
        ("NGUYỄN THỊ THỦY", "Nguyễn Thị Thủy"),
        ("Đỗ Thị Hoè", "Đỗ Thị Hòe"),
        ("Trần Quý", "Trần Quý"),  # "qu" is the initial: the tone stays on y
        ("Phạm Thị Quỳnh", "Phạm Thị Quỳnh"),
        ("Vũ Gia Hoàng", "Vũ Gia Hoàng"),  # a final consonant keeps the tone on the last vowel
        ("Lò Văn Khuỷu", "Lò Văn Khuỷu"),  # three vowels: the middle one
        ("Trương Thị Người", "Trương Thị Người"),  # ươ: on ơ
        ("Hà Thị Mía", "Hà Thị Mía"),
    ],
)
def test_canonical_name_places_tones_one_way(spelled: str, canonical: str) -> None:
    assert canonical_name(spelled) == canonical


def test_both_spellings_of_a_name_compare_equal() -> None:
    assert canonical_name("TRẦN THỊ THUỶ HOÀ") == canonical_name("Trần Thị Thủy Hòa")


def test_canonical_name_normalises_spacing_case_and_composition() -> None:
    decomposed = unicodedata.normalize("NFD", "  nguyễn   VĂN\tan ")
    result = canonical_name(decomposed)
    assert result == "Nguyễn Văn An"
    assert unicodedata.is_normalized("NFC", result)


def test_misplaced_tone_moves_to_its_vowel() -> None:
    assert canonical_syllable("hòang") == "hoàng"
    assert canonical_syllable("nguỹên") == "nguyễn"


def test_fold_accents_drops_every_mark() -> None:
    assert fold_accents("Đảng ủy Khối các cơ quan tỉnh") == "DANG UY KHOI CAC CO QUAN TINH"


def test_restore_surname_gives_back_lost_accents() -> None:
    assert restore_surname("Nguyên Văn An") == "Nguyễn Văn An"
    assert restore_surname("Tran Thi Lan") == "Trần Thi Lan"


def test_restore_surname_leaves_known_and_unknown_surnames() -> None:
    assert restore_surname("Hà Văn Lâm") == "Hà Văn Lâm"
    assert restore_surname("Ksor Văn Lâm") == "Ksor Văn Lâm"


def test_restore_surname_leaves_ambiguous_folds() -> None:
    # DUONG is both Dương and Đường: no guess.
    assert restore_surname("Duong Van An") == "Duong Van An"
