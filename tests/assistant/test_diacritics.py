from sotay_assistant.diacritics import DiacriticsRestorer, typed_with_diacritics

CORPUS = """
Đảng viên dự bị không biểu quyết về các nội dung sau.
Đảng viên chính thức được biểu quyết mọi công việc của chi bộ.
Chi bộ sinh hoạt định kỳ mỗi tháng một lần.
Đảng viên đang công tác phải giữ mối liên hệ với chi ủy nơi cư trú.
"""


def restorer() -> DiacriticsRestorer:
    model = DiacriticsRestorer()
    model.add_text(CORPUS)
    return model


def test_restores_the_accented_form_that_fits_the_context() -> None:
    restored = restorer().restore("dang vien du bi co duoc bieu quyet khong")
    assert restored.text == "đảng viên dự bị có được biểu quyết không"
    assert restored.unknown == ()


def test_same_folded_syllable_gets_different_forms_by_context() -> None:
    # "dang" is "đảng" before "viên" and "đang" before "công tác"
    assert restorer().restore("dang vien dang cong tac").text == "đảng viên đang công tác"


def test_syllables_typed_with_diacritics_are_kept() -> None:
    assert restorer().restore("Đang viên").text == "đang viên"


def test_a_plain_syllable_of_a_question_typed_with_diacritics_is_meant_plain() -> None:
    model = restorer()
    model.add_text("Báo cáo kết quả. Báo cáo hằng tháng. Báo cáo chi bộ. Người cao tuổi.")
    typed = "Mẹ tôi tuổi cao có phải đi họp không"
    assert typed_with_diacritics(typed)
    assert model.restore(typed, plain_as_typed=True).tokens[3] == "cao"
    # typed without diacritics, the likelier marked form is read
    assert not typed_with_diacritics("me toi tuoi cao")
    assert model.restore("me toi tuoi cao").tokens[3] == "cáo"


def test_chat_abbreviations_do_not_make_a_question_typed_with_diacritics() -> None:
    assert not typed_with_diacritics("dv du bi co dc bq ko")
    assert typed_with_diacritics("ko đồng ý qđ ky luat thì đc khiếu nại trong bn ngày ạ")


def test_one_letter_typos_are_corrected_by_context() -> None:
    restored = restorer().restore("dnag vien du bi bieu quyt")
    assert restored.text == "đảng viên dự bị biểu quyết"
    assert ("dnag", "đảng") in restored.corrected


def test_unknown_words_stay_and_are_reported() -> None:
    restored = restorer().restore("thoi tiet ha noi")
    assert "tiet" in restored.unknown


def test_removed_text_is_forgotten() -> None:
    model = DiacriticsRestorer(seed_phrases=False)
    model.add_text(CORPUS)
    assert model.knows("tru")
    model.remove_text(CORPUS)
    assert not model.knows("tru")
    assert model.restore("lien he").text == "lien he"


def test_a_syllable_typed_without_its_tone_takes_a_known_tone() -> None:
    model = restorer()
    model.add_text("Thời gian dự bị là 12 tháng. Thôi việc.")
    assert model.restore("thơi gian dự bi").text == "thời gian dự bị"
    # a tone the corpus never uses is the member's word, not a typo
    assert model.restore("giá vàng hôm nay").tokens[:2] == ("giá", "vàng")


def test_unknown_last_words_are_not_corrected_towards_question_endings() -> None:
    restored = restorer().restore("giá vàng hôm nay")
    assert restored.tokens[-1] == "nay"
    assert restored.corrected == ()


def test_a_typo_that_cannot_be_a_syllable_is_always_corrected() -> None:
    # "khnog" and "bieu quyte" have no context the corpus knows; a form that is no
    # Vietnamese syllable is still a typo, so the closest known syllable replaces it
    restored = restorer().restore("khnog bieu quyte")
    assert restored.text == "không biểu quyết"
    assert restored.unknown == ()


def test_member_phrases_of_the_paraphrase_table_are_known() -> None:
    assert DiacriticsRestorer().restore("kem cap").text == "kèm cặp"
