import uuid

from sotay_common.auth import Principal, Role
from sotay_voice.access import AudienceScope, may_listen, may_manage

PROVINCE, DISTRICT, CELL, OTHER_CELL = (uuid.uuid4() for _ in range(4))
SCOPED = AudienceScope(DISTRICT, (PROVINCE,))
EVERYONE = AudienceScope(None)


def caller(org: uuid.UUID | None, *roles: Role) -> Principal:
    return Principal(subject="x", roles=frozenset(roles or {Role.MEMBER}), organization_id=org)


def test_members_hear_documents_of_their_unit_and_the_units_above() -> None:
    assert may_listen(caller(CELL), SCOPED, [CELL, DISTRICT, PROVINCE])
    assert may_listen(caller(DISTRICT), SCOPED, [DISTRICT, PROVINCE])
    assert not may_listen(caller(PROVINCE), SCOPED, [PROVINCE])
    assert not may_listen(caller(OTHER_CELL), SCOPED, [OTHER_CELL, PROVINCE])
    assert not may_listen(caller(CELL), SCOPED, [])  # organisation not known yet
    assert may_listen(caller(None), EVERYONE, [])


def test_committee_administrators_manage_the_units_below_them() -> None:
    admin = caller(PROVINCE, Role.COMMITTEE_ADMIN)
    assert may_listen(admin, SCOPED, [PROVINCE])
    assert may_manage(admin, SCOPED, [PROVINCE])
    assert may_manage(admin, EVERYONE, [PROVINCE])
    district_admin = caller(DISTRICT, Role.COMMITTEE_ADMIN)
    assert may_manage(district_admin, SCOPED, [DISTRICT, PROVINCE])
    assert not may_manage(district_admin, EVERYONE, [DISTRICT, PROVINCE])
    assert not may_manage(caller(CELL, Role.CELL_SECRETARY), SCOPED, [CELL, DISTRICT, PROVINCE])
    assert not may_manage(caller(CELL), SCOPED, [CELL, DISTRICT, PROVINCE])
    assert may_manage(caller(None, Role.SYSTEM_ADMIN), SCOPED, [])
