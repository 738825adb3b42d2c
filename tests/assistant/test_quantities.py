import math

import pytest

from sotay_assistant.quantities import Quantity, Range, meets, set_ranges, stated_quantities
from sotay_assistant.vietnamese import tokenize

MONTH = 365 / 12  # days


def stated(question: str) -> list[Quantity]:
    return stated_quantities(tokenize(question))


def test_a_question_states_numbers_with_their_unit_durations_in_days() -> None:
    assert stated("Tôi 62 tuổi có được vào Đảng không?") == [Quantity(62, "tuoi")]
    assert stated("nằm viện 4 tháng liền") == [Quantity(4 * MONTH, "ngay")]
    assert stated("đi tập huấn 2 tuần") == [Quantity(14, "ngay")]
    assert stated("hai năm") == [Quantity(730, "ngay")]
    assert stated("thôn còn 2 đảng viên") == [Quantity(2, "nguoi")]


def test_dates_asked_amounts_and_one_as_a_frame_state_nothing() -> None:
    assert stated("báo cáo trước ngày 15 tháng 12") == []
    assert stated("phải dự bị bao nhiêu tháng") == []
    assert stated("Một năm đảng viên phải học mấy chuyên đề?") == []
    assert stated("ra nước ngoài 1 năm") == [Quantity(365, "ngay")]


@pytest.mark.parametrize(
    ("passage", "expected"),
    [
        ("Người trên 60 tuổi có uy tín", Range(60, math.inf, "tuoi", low_open=True)),
        ("tuổi đời từ đủ 18 tuổi đến 60 tuổi", Range(18, 60, "tuoi")),
        ("gồm từ 03 đến 07 đảng viên chính thức", Range(3, 7, "nguoi")),
        ("có từ 03 đảng viên chính thức trở lên", Range(3, math.inf, "nguoi")),
        ("Nơi có dưới 03 đảng viên", Range(-math.inf, 3, "nguoi", high_open=True)),
        ("tổng số lần bầu không quá 02 lần", Range(-math.inf, 2, "lan")),
        ("kéo dài không ít hơn 90 phút", Range(90, math.inf, "phut")),
        ("có thời hạn từ đủ 03 tháng đến 24 tháng", Range(3 * MONTH, 24 * MONTH, "ngay")),
    ],
)
def test_a_passage_sets_one_range_per_bound(passage: str, expected: Range) -> None:
    assert set_ranges(passage) == [expected]


def test_start_dates_and_deadlines_set_no_range() -> None:
    assert set_ranges("có hiệu lực từ ngày 01 tháng 01 năm 2025") == []
    assert set_ranges("chậm nhất ngày 15 tháng 12") == []
    assert set_ranges("trong thời hạn 30 ngày kể từ ngày ký") == []


def test_a_stated_quantity_meets_the_range_it_falls_in_and_of_its_own_unit() -> None:
    sixty_two = stated("tôi 62 tuổi")
    assert meets("Người trên 60 tuổi có uy tín cao", sixty_two)
    assert not meets("tuổi đời từ đủ 18 tuổi đến 60 tuổi", sixty_two)
    assert not meets("Chi bộ có trên 50 đảng viên", sixty_two)
    assert meets("đi học tập, công tác dưới 03 tháng", stated("đi tập huấn 2 tuần"))
    assert not meets("Người trên 60 tuổi", [])


def test_twelve_months_are_a_year() -> None:
    a_year = stated("đi xuất khẩu lao động 1 năm")
    assert meets("ra nước ngoài có thời hạn từ đủ 03 tháng đến 12 tháng", a_year)
    assert not meets("ra nước ngoài trên 12 tháng", a_year)


def test_more_or_less_than_a_quantity_meets_the_open_side_of_its_bound() -> None:
    over_a_year = stated("ra nước ngoài hơn 1 năm")
    assert meets("ra nước ngoài trên 12 tháng", over_a_year)
    assert not meets("có thời hạn từ đủ 03 tháng đến 12 tháng", over_a_year)
    assert meets("đi công tác dưới 03 tháng", stated("đi công tác chưa đủ 3 tháng"))
    assert not meets("từ đủ 03 tháng trở lên", stated("đi công tác dưới 3 tháng"))
    assert stated("đi công tác không quá 3 tháng") == [Quantity(3 * MONTH, "ngay")]
    assert stated("không ít hơn 90 phút") == [Quantity(90, "phut")]
    assert meets("không quá 01 quý", stated("nộp chậm 3 tháng"))


def test_counts_are_spelled_out_with_their_diacritics() -> None:
    assert stated("đi tập huấn hai tuần") == [Quantity(14, "ngay")]
    assert stated("sau ngày kết nạp bao lâu thì được") == []  # "sau" is not "sáu"
    assert set_ranges("phát biểu ít nhất một lần") == [Range(1, math.inf, "lan")]
