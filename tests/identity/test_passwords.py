import pytest

from sotay_identity.passwords import (
    PasswordRejected,
    check_policy,
    hash_password,
    needs_rehash,
    temporary_password,
    verify_password,
)


def test_a_password_verifies_against_its_argon2id_hash_only() -> None:
    hashed = hash_password("Mật khẩu có dấu 1")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(hashed, "Mật khẩu có dấu 1")
    assert not verify_password(hashed, "Mat khau co dau 1")
    assert not verify_password("not a hash", "Mật khẩu có dấu 1")
    assert not needs_rehash(hashed)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("ngắn", "password_too_short"),
        ("x" * 129, "password_too_long"),
        ("11111111", "password_too_weak"),
        ("toi-0912345678", "password_contains_personal_data"),
    ],
)
def test_the_policy_says_what_is_wrong(password: str, code: str) -> None:
    with pytest.raises(PasswordRejected) as rejected:
        check_policy(password, personal=("0912345678",))
    assert rejected.value.code == code


def test_temporary_passwords_are_random_and_unambiguous() -> None:
    drawn = {temporary_password() for _ in range(50)}
    assert len(drawn) == 50
    assert all(len(p) == 14 and not set(p) & set("l1o0i") for p in drawn)
