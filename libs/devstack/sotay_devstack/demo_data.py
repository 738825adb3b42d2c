"""Realistic synthetic party organisations and members (names, dates, identifiers) for the
`make run` demo and the national-scale benchmarks. Seeded: the same seed gives the same data."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from sotay_members.importing import export_header

# Share of Vietnamese people by surname (rounded; the long tail is spread over the rest).
SURNAMES: list[tuple[str, float]] = [
    ("Nguyễn", 38.4),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.1),
    ("Hoàng", 4.0),
    ("Huỳnh", 3.0),
    ("Phan", 4.5),
    ("Vũ", 3.9),
    ("Võ", 2.5),
    ("Đặng", 2.1),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
    ("Đinh", 0.6),
    ("Trịnh", 0.5),
    ("Lương", 0.4),
    ("Mai", 0.4),
    ("Tạ", 0.3),
    ("Đoàn", 0.5),
    ("Cao", 0.4),
    ("Lâm", 0.3),
    ("Hà", 0.5),
    ("Tô", 0.2),
    ("Quách", 0.1),
    ("Thái", 0.2),
    ("Kiều", 0.1),
    ("Triệu", 0.2),
    ("Chu", 0.2),
    ("Lưu", 0.2),
    ("Khổng", 0.05),
    ("Âu", 0.05),
    ("Mạc", 0.05),
    ("Tăng", 0.1),
]
MIDDLE_MALE = [
    "Văn",
    "Đức",
    "Minh",
    "Quang",
    "Hữu",
    "Thanh",
    "Công",
    "Xuân",
    "Ngọc",
    "Trọng",
    "Mạnh",
    "Đình",
    "Quốc",
    "Tiến",
    "Duy",
    "Anh",
    "Hoàng",
    "Việt",
    "Thế",
    "Bá",
]
MIDDLE_FEMALE = [
    "Thị",
    "Thu",
    "Ngọc",
    "Thanh",
    "Minh",
    "Hồng",
    "Kim",
    "Thùy",
    "Phương",
    "Bích",
    "Mai",
    "Hải",
    "Lan",
    "Diệu",
    "Khánh",
    "Tuyết",
    "Hoài",
    "Mỹ",
    "Quỳnh",
    "Như",
]
GIVEN_MALE = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đức",
    "Giang",
    "Hải",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Huy",
    "Khang",
    "Khánh",
    "Kiên",
    "Lâm",
    "Long",
    "Lộc",
    "Minh",
    "Nam",
    "Nghĩa",
    "Phong",
    "Phúc",
    "Quân",
    "Quang",
    "Sơn",
    "Tài",
    "Thắng",
    "Thành",
    "Thịnh",
    "Toàn",
    "Trung",
    "Tuấn",
    "Tùng",
    "Việt",
    "Vinh",
    "Vũ",
    "Hưng",
    "Hoàng",
    "Đạt",
    "Duy",
    "Tiến",
    "Thái",
    "Chiến",
    "Công",
    "Tâm",
    "Trí",
    "Bảo",
    "Khải",
    "Luân",
    "Thuận",
]
GIVEN_FEMALE = [
    "Anh",
    "Châu",
    "Chi",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hiền",
    "Hoa",
    "Hòa",
    "Hồng",
    "Hương",
    "Huyền",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Mai",
    "Nga",
    "Ngân",
    "Ngọc",
    "Nhung",
    "Oanh",
    "Phương",
    "Quyên",
    "Quỳnh",
    "Tâm",
    "Thảo",
    "Thu",
    "Thủy",
    "Trang",
    "Trinh",
    "Tuyết",
    "Uyên",
    "Vân",
    "Yến",
    "Xuân",
    "Hậu",
    "Nhi",
    "Thoa",
    "Thơm",
    "Hải",
    "Lý",
    "My",
    "Nguyệt",
    "Thúy",
    "Diệp",
    "Khuê",
    "Ly",
]
ETHNICITIES = [
    ("Kinh", 85.0),
    ("Tày", 2.0),
    ("Thái", 2.0),
    ("Mường", 2.0),
    ("Khmer", 1.5),
    ("Hoa", 1.0),
    ("Nùng", 1.0),
    ("Mông", 1.0),
    ("Dao", 0.8),
    ("Ê Đê", 0.4),
]
PROVINCE_PLACES = [
    "Yên Hòa",
    "Lạc Sơn",
    "Kim Bôi",
    "Tân Lạc",
    "Mai Châu",
    "Lương Sơn",
    "Đà Bắc",
    "Cao Phong",
    "Lạc Thủy",
    "Yên Thủy",
    "Kỳ Sơn",
    "Thanh Hà",
    "Vân Sơn",
]
HAMLETS = [
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Trung",
    "Thượng",
    "Hạ",
    "Mới",
    "Cũ",
    "Đồng Tâm",
    "Tân Tiến",
    "Quyết Thắng",
    "Hòa Bình",
    "Thống Nhất",
    "Đoàn Kết",
    "Chiến Thắng",
]


@dataclass(frozen=True)
class DemoOrganization:
    code: str
    name: str
    type: str
    parent_code: str | None


@dataclass(frozen=True)
class DemoMember:
    full_name: str
    gender: str
    date_of_birth: date
    ethnicity: str
    hometown: str
    citizen_id: str
    party_card_number: str
    admission_date: date
    official_date: date | None
    status: str  # Vietnamese label as in the provincial export
    organization_code: str
    positions: list[str]
    phone: str


class DemoData:
    def __init__(self, seed: int = 2026, today: date = date(2026, 11, 24)) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (demo data, reproducible by seed)
        self.today = today
        self._surnames, surname_weights = zip(*SURNAMES, strict=True)
        self._surname_cum = list(_cumulative(surname_weights))
        self._ethnic, ethnic_weights = zip(*ETHNICITIES, strict=True)
        self._ethnic_cum = list(_cumulative(ethnic_weights))

    def name(self, gender: str) -> str:
        surname = self.rng.choices(self._surnames, cum_weights=self._surname_cum)[0]
        if gender == "male":
            return f"{surname} {self.rng.choice(MIDDLE_MALE)} {self.rng.choice(GIVEN_MALE)}"
        return f"{surname} {self.rng.choice(MIDDLE_FEMALE)} {self.rng.choice(GIVEN_FEMALE)}"

    def member(self, index: int, organization_code: str, *, card_prefix: str = "") -> DemoMember:
        rng = self.rng
        gender = "male" if rng.random() < 0.62 else "female"
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 53))
        earliest = date(born.year + 18, born.month, 28) + timedelta(
            days=4
        )  # after the 18th birthday
        span = (self.today - earliest).days
        # most members join in their twenties or thirties
        admitted = earliest + timedelta(days=int(rng.expovariate(1 / 3650)) % max(1, span))
        probationary = (self.today - admitted).days < 400
        official = (
            None if probationary else _a_year_after(admitted) + timedelta(days=rng.randrange(0, 60))
        )
        if official is not None and official > self.today:
            official, probationary = None, True
        status = (
            "Dự bị"
            if probationary
            else rng.choices(["Chính thức", "Miễn sinh hoạt", "Từ trần"], weights=[95, 4, 1])[0]
        )
        card = f"{card_prefix}{index:0{12 - len(card_prefix)}d}"
        # CCCD layout: province (3 digits), sex and century, year of birth, serial; unique by index
        sex_century = (0 if born.year < 2000 else 2) + (gender == "female")
        citizen = f"{1 + index // 10**6:03d}{sex_century}{born.year % 100:02d}{index % 10**6:06d}"
        positions = []
        if index % 25 == 0:
            positions = ["Bí thư"]
        elif index % 25 == 1:
            positions = ["Phó Bí thư"]
        elif index % 25 in (2, 3):
            positions = ["Chi ủy viên"]
        return DemoMember(
            full_name=self.name(gender),
            gender=gender,
            date_of_birth=born,
            ethnicity=self.rng.choices(self._ethnic, cum_weights=self._ethnic_cum)[0],
            hometown=f"xã {rng.choice(HAMLETS)}, huyện {rng.choice(PROVINCE_PLACES)}",
            citizen_id=citizen,
            party_card_number=card,
            admission_date=admitted,
            official_date=official,
            status=status,
            organization_code=organization_code,
            positions=positions,
            phone=f"09{rng.randrange(10**7, 10**8)}",
        )

    def province_tree(
        self, code: str, name: str, *, districts: int, communes: int, cells: int
    ) -> list[DemoOrganization]:
        """Province → districts (intermediate) → communes (grassroots) → cells."""
        tree = [DemoOrganization(code, name, "province_committee", None)]
        for d in range(1, districts + 1):
            district_code = f"{code}.{d:02d}"
            place = PROVINCE_PLACES[(d - 1) % len(PROVINCE_PLACES)]
            tree.append(
                DemoOrganization(
                    district_code, f"Đảng bộ huyện {place}", "intermediate_committee", code
                )
            )
            for c in range(1, communes + 1):
                commune_code = f"{district_code}.{c:02d}"
                hamlet = HAMLETS[(c - 1) % len(HAMLETS)]
                tree.append(
                    DemoOrganization(
                        commune_code,
                        f"Đảng bộ xã {place} {hamlet}",
                        "grassroots_committee",
                        district_code,
                    )
                )
                for k in range(1, cells + 1):
                    tree.append(
                        DemoOrganization(
                            f"{commune_code}.{k:02d}",
                            f"Chi bộ thôn {HAMLETS[(k - 1) % len(HAMLETS)]} {k}",
                            "cell",
                            commune_code,
                        )
                    )
        return tree

    def members(
        self, cell_codes: list[str], count: int, *, start: int = 1, card_prefix: str = ""
    ) -> Iterator[DemoMember]:
        for i in range(start, start + count):
            yield self.member(i, cell_codes[i % len(cell_codes)], card_prefix=card_prefix)


def _a_year_after(day: date) -> date:
    return date(day.year + 1, day.month, min(day.day, 28)) + timedelta(days=3)


def _cumulative(weights: tuple[float, ...]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


EXPORT_HEADER = export_header()  # the provincial export the members service imports


def export_row(index: int, member: DemoMember) -> list[str]:
    def day(value: date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else ""

    return [
        str(index),
        member.full_name,
        day(member.date_of_birth),
        "Nam" if member.gender == "male" else "Nữ",
        member.ethnicity,
        member.hometown,
        member.citizen_id,
        member.party_card_number,
        day(member.admission_date),
        day(member.official_date),
        member.status,
        member.organization_code,
        "",
        "; ".join(member.positions),
        member.phone,
        "",
        "",
    ]
