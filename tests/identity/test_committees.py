import pytest

from sotay_common.events.members import OrganizationType as T
from sotay_identity.card_fields import match_committee
from sotay_identity.committees import issuing_committee, issuing_committees


@pytest.mark.parametrize(
    ("name", "kind", "committee"),
    [
        ("Đảng bộ tỉnh Hòa Bình", T.PROVINCE_COMMITTEE, "Tỉnh ủy Hòa Bình"),
        ("Đảng bộ thành phố Hà Nội", T.PROVINCE_COMMITTEE, "Thành ủy Hà Nội"),
        ("Đảng bộ huyện Lạc Sơn", T.INTERMEDIATE_COMMITTEE, "Huyện ủy Lạc Sơn"),
        ("Đảng bộ thị xã Phú Thọ", T.INTERMEDIATE_COMMITTEE, "Thị ủy Phú Thọ"),
        ("Đảng bộ quận Ba Đình", T.INTERMEDIATE_COMMITTEE, "Quận ủy Ba Đình"),
        ("ĐẢNG BỘ  TỈNH   Hòa Bình", T.PROVINCE_COMMITTEE, "Tỉnh ủy Hòa Bình"),
        (
            "Đảng bộ Khối các cơ quan tỉnh",
            T.INTERMEDIATE_COMMITTEE,
            "Đảng ủy Khối các cơ quan tỉnh",
        ),
        ("Tỉnh ủy Hòa Bình", T.PROVINCE_COMMITTEE, "Tỉnh ủy Hòa Bình"),
        ("Đảng bộ xã Yên Mông", T.GRASSROOTS_COMMITTEE, None),
        ("Chi bộ thôn Đông", T.CELL, None),
        ("Ban Tổ chức", T.INTERMEDIATE_COMMITTEE, None),
    ],
)
def test_the_card_names_the_committee_of_the_organisation(
    name: str, kind: T, committee: str | None
) -> None:
    assert issuing_committee(name, kind) == committee


def test_the_list_feeds_the_card_reader_whatever_the_tone_placement() -> None:
    committees = issuing_committees(
        [
            ("Đảng bộ tỉnh Hoà Bình", T.PROVINCE_COMMITTEE),
            ("Đảng bộ huyện Lạc Sơn", T.INTERMEDIATE_COMMITTEE),
            ("Đảng bộ huyện Lạc Sơn", T.INTERMEDIATE_COMMITTEE),
            ("Chi bộ thôn Đông", T.CELL),
        ]
    )
    assert committees == ["Huyện ủy Lạc Sơn", "Tỉnh ủy Hoà Bình"]
    assert match_committee("TỈNH ỦY HÒA BÌNH", committees) == "Tỉnh ủy Hoà Bình"
