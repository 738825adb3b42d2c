import math

import pytest

from sotay_assistant.translation import (
    SELF,
    TRANSLATED,
    UNEXPLAINED,
    TranslationTable,
    default_translation,
    fit_translation,
    passage_syllables,
    syllables,
)

# Members say "tiền" where the regulations say "phí", and "đuổi" where they say "khai trừ".
PAIRS = [
    (syllables("nộp tiền đảng ở đâu"), syllables("đảng viên đóng đảng phí tại chi bộ")),
    (syllables("tiền đảng tháng bao nhiêu"), syllables("mức đóng đảng phí hằng tháng")),
    (syllables("ốm có phải nộp tiền không"), syllables("đảng viên ốm được miễn đảng phí")),
    (syllables("bị đuổi khỏi đảng khi nào"), syllables("đảng viên bị khai trừ khi vi phạm")),
    (syllables("ai quyết định đuổi"), syllables("chi bộ quyết định khai trừ")),
]


def test_syllables_are_folded_and_a_passage_is_read_as_shares() -> None:
    assert syllables("Đóng đảng phí, 0,5%!") == ["dong", "dang", "phi", "0.5"]
    assert dict(passage_syllables("Đảng phí. Đảng viên")) == {
        "dang": 0.5,
        "phi": 0.25,
        "vien": 0.25,
    }


def test_fitting_learns_which_words_members_use_for_the_regulations_words() -> None:
    table = fit_translation(PAIRS)
    assert table.rows["tien"]["phi"] > 0.3
    assert table.rows["duoi"]["khai"] > 0.3
    assert table.rows["tien"].get("khai", 0.0) < 0.01
    assert fit_translation([]).rows == {}


def test_a_passage_whose_words_members_say_otherwise_is_likelier() -> None:
    table = fit_translation(PAIRS)
    dues, expulsion = table.likelihoods(
        syllables("nộp tiền cho ai"),
        ["Đảng viên đóng đảng phí tại chi bộ.", "Chi bộ quyết định khai trừ đảng viên."],
    )
    assert dues > expulsion
    assert list(table.likelihoods([], ["Đảng phí."])) == [0.0]
    assert len(table.likelihoods(["phi"], [])) == 0


def test_the_likelihood_of_each_syllable_mixes_itself_its_translations_and_a_floor() -> None:
    table = TranslationTable({"tien": {"phi": 0.4}})
    floor = (1 - TRANSLATED) * UNEXPLAINED
    unexplained, itself, translated, both = table.likelihoods(
        ["tien", "phi"], ["Họp", "Phí", "Phí họp", "Phí tiền"]
    )
    assert unexplained == pytest.approx(math.log(floor))
    # "tien" translated from "phi" (0.4), "phi" itself
    assert itself == pytest.approx(
        (math.log(TRANSLATED * (1 - SELF) * 0.4 + floor) + math.log(TRANSLATED * SELF + floor)) / 2
    )
    # half the passage is "phi": both shares halved
    assert translated == pytest.approx(
        (
            math.log(TRANSLATED * 0.5 * (1 - SELF) * 0.4 + floor)
            + math.log(TRANSLATED * 0.5 * SELF + floor)
        )
        / 2
    )
    # "tien" itself and translated from "phi"
    assert both == pytest.approx(
        (
            math.log(TRANSLATED * 0.5 * (SELF + (1 - SELF) * 0.4) + floor)
            + math.log(TRANSLATED * 0.5 * SELF + floor)
        )
        / 2
    )


def test_a_table_is_written_and_read_back() -> None:
    table = fit_translation(PAIRS)
    text = table.to_text()
    assert text.splitlines()[0] == "question\tpassage\tprobability"
    again = TranslationTable.from_text(text)
    assert len(again) == len(table)
    assert again.rows["tien"]["phi"] == pytest.approx(table.rows["tien"]["phi"], abs=1e-6)


def test_the_packaged_table_loads() -> None:
    table = default_translation()
    assert len(table) > 10_000
    assert all(0 < p <= 1 for row in table.rows.values() for p in row.values())
