import pytest

from sotay_identity.logins import Login, normalise_phone, parse_login


@pytest.mark.parametrize(
    ("typed", "login"),
    [
        ("123456789012", Login("card_number", "123456789012")),
        ("1234 5678 9012", Login("card_number", "123456789012")),
        ("0912345678", Login("phone", "0912345678")),
        ("+84 912 345 678", Login("phone", "0912345678")),
        ("0912.345.678", Login("phone", "0912345678")),
        ("12345", None),
        ("nguyen van a", None),
    ],
)
def test_a_login_is_a_card_number_or_a_phone(typed: str, login: Login | None) -> None:
    assert parse_login(typed) == login


def test_phones_are_kept_in_one_form() -> None:
    assert normalise_phone("+84987654321") == normalise_phone("0987 654 321") == "0987654321"
    assert normalise_phone("987654321") is None
