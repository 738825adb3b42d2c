from sotay_assistant.vietnamese import (
    bigrams,
    clauses,
    expand_abbreviations,
    folded,
    is_syllable,
    normalize_number,
    parse_abbreviations,
    parse_paraphrases,
    regulation_wording,
    tokenize,
)


def test_tokens_are_lowercase_syllables_with_one_tone_placement() -> None:
    assert tokenize("Hoà bình, THUỶ lợi") == tokenize("hòa bình thủy lợi")
    assert tokenize("Đảng viên dự bị") == ["đảng", "viên", "dự", "bị"]


def test_numbers_are_written_one_way() -> None:
    assert tokenize("03 ngày, 10.000 đồng, 0,5% và 10k") == [
        "3", "ngày", "10000", "đồng", "0.5", "và", "10000",
    ]  # fmt: skip
    assert normalize_number("007") == "7"
    assert normalize_number("0") == "0"


def test_document_numbers_split_into_number_and_codes() -> None:
    assert tokenize("Chỉ thị 03-CT/TU") == ["chỉ", "thị", "3", "ct", "tu"]


def test_bigrams_stay_inside_a_clause() -> None:
    parts = clauses("Chi bộ họp; đảng viên dự.")
    assert parts == [["chi", "bộ", "họp"], ["đảng", "viên", "dự"]]
    assert bigrams(parts[0]) == ["chi bộ", "bộ họp"]


def test_chat_abbreviations_are_written_out() -> None:
    expanded = expand_abbreviations("đv dbi có đc biểu quyết ko")
    assert expanded == "đảng viên dự bị có được biểu quyết không"
    assert expand_abbreviations("DV CT co quyen gi") == "đảng viên chính thức co quyen gi"


def test_codes_inside_document_numbers_and_numbers_are_not_abbreviations() -> None:
    assert expand_abbreviations("Chỉ thị 03-CT/TU nói gì") == "Chỉ thị 03-CT/TU nói gì"
    assert expand_abbreviations("đóng 10k") == "đóng 10k"


def test_abbreviation_table_is_extendable() -> None:
    table = parse_abbreviations("# comment\nQĐ\tquyết định\n")
    assert expand_abbreviations("qd kỷ luật", table) == "quyết định kỷ luật"


def test_member_phrases_bring_the_regulations_wording() -> None:
    question = tokenize("bị xóa tên rồi có được vào đảng lại không")
    assert regulation_wording(question) == ["kết", "nạp"]
    assert regulation_wording(tokenize("vao dang lai khong")) == ["kết", "nạp"]
    assert regulation_wording(tokenize("chi bộ họp mấy lần")) == []
    assert regulation_wording(tokenize("dự bị nửa năm")) == ["6", "tháng"]  # months, as written


def test_the_longest_member_phrase_wins() -> None:
    table = parse_paraphrases([("bị đuổi", "bị khai trừ"), ("bị đuổi khỏi đảng", "khai trừ")])
    assert regulation_wording(tokenize("tôi bị đuổi khỏi đảng"), table) == ["khai", "trừ"]
    assert regulation_wording(tokenize("tôi bị đuổi việc"), table) == ["bị", "khai", "trừ"]


def test_vietnamese_syllables_are_told_from_typos_and_foreign_words() -> None:
    words = "nguyễn nghiêng quyền giường khuỷu xoong thuở gìn ươi ơi đảng viên"
    assert all(is_syllable(word) for word in folded(tokenize(words)))
    assert not any(is_syllable(word) for word in ["khnog", "abo", "vgng", "hc", "zalo", "online"])
