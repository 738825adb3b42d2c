from pathlib import Path

from sotay_voice.lexicon import (
    Lexicon,
    LocalityKind,
    Scope,
    builtin_lexicon_path,
    is_syllable,
    read_rows,
    spell_letters,
)


def test_builtin_lexicon_rows_are_well_formed_and_nfc() -> None:
    rows = read_rows(builtin_lexicon_path())
    assert len(rows) > 100
    keys = [(row.abbreviation, row.scope, row.locality) for row in rows]
    assert len(keys) == len(set(keys)), "duplicate rows in the built-in lexicon"


def test_tu_depends_on_the_locality_kind() -> None:
    assert Lexicon.load(LocalityKind.PROVINCE).lookup("TU") == "Tỉnh ủy"
    assert Lexicon.load(LocalityKind.CITY).lookup("TU") == "Thành ủy"


def test_scopes_separate_state_issuers_from_party_organs() -> None:
    lexicon = Lexicon.load()
    assert lexicon.lookup("BTC") == "Ban Tổ chức"
    assert lexicon.lookup("BTC", Scope.STATE_ISSUER) == "Bộ Tài chính"
    assert lexicon.lookup("QĐ", Scope.DOC_TYPE) == "quyết định"
    assert lexicon.lookup("QĐ") is None


def test_compounds_of_known_parts_are_expanded() -> None:
    lexicon = Lexicon.load()
    assert lexicon.lookup("BTVTU") == "Ban Thường vụ Tỉnh ủy"
    assert lexicon.lookup("UBKTTW") == "Ủy ban Kiểm tra Trung ương"
    assert lexicon.lookup("XYZQ") is None


def test_operator_row_for_one_locality_overrides_the_builtin(tmp_path: Path) -> None:
    operator_file = tmp_path / "extra.tsv"
    operator_file.write_text("TU\tThị ủy\t\tcity\n", encoding="utf-8")
    assert Lexicon.load(LocalityKind.CITY, (operator_file,)).lookup("TU") == "Thị ủy"
    assert Lexicon.load(LocalityKind.PROVINCE, (operator_file,)).lookup("TU") == "Tỉnh ủy"


def test_spelling_and_syllables() -> None:
    assert spell_letters("WTO") == "vê kép tê o"
    assert spell_letters("HĐND") == "hát đê en dê"
    assert is_syllable("NGHIÊNG")
    assert is_syllable("Tỉnh")
    assert is_syllable("quốc")
    assert not is_syllable("HĐND")
    assert not is_syllable("WTO")
