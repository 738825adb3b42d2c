"""Builders shared by the content service tests: the organisation read model, callers and
document commands."""

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from sotay_common.auth import Principal, Role
from sotay_common.events.content import DocumentKind
from sotay_content import repository
from sotay_content.demo import load_demo_documents
from sotay_content.domain import OrganizationNode
from sotay_content.schemas import DocumentCreate

CHARTER = next(d for d in load_demo_documents() if d.slug == "dieu-le-mau")


class Callers:
    """Principals of each role, as tokens would give them."""

    @staticmethod
    def system_admin() -> Principal:
        return Principal(subject="root", roles=frozenset({Role.SYSTEM_ADMIN}))

    @staticmethod
    def committee_admin(org: OrganizationNode) -> Principal:
        return Principal(
            subject=f"admin-{org.name}",
            roles=frozenset({Role.COMMITTEE_ADMIN, Role.MEMBER}),
            organization_id=org.id,
        )

    @staticmethod
    def member(org: OrganizationNode, member_id: uuid.UUID | None = None) -> Principal:
        member_id = member_id or uuid.uuid4()
        return Principal(
            subject=f"account-{member_id}",
            roles=frozenset({Role.MEMBER}),
            organization_id=org.id,
            member_id=member_id,
        )


@dataclass
class Tree:
    """Tỉnh → huyện → xã → two chi bộ; and a second district with one cell."""

    province: OrganizationNode
    district: OrganizationNode
    commune: OrganizationNode
    cell_a: OrganizationNode
    cell_b: OrganizationNode
    other_district: OrganizationNode
    other_cell: OrganizationNode


async def add_organization(
    conn: asyncpg.Connection,
    name: str,
    parent: OrganizationNode | None,
    *,
    status: str = "active",
) -> OrganizationNode:
    node = OrganizationNode(
        id=uuid.uuid4(),
        parent_id=parent.id if parent else None,
        ancestor_ids=parent.path_ids if parent else [],
        name=name,
        status=status,
        version=1,
    )
    await repository.upsert_organization(conn, node)
    return node


async def build_tree(conn: asyncpg.Connection) -> Tree:
    province = await add_organization(conn, "Đảng bộ tỉnh Thanh Bình", None)
    district = await add_organization(conn, "Đảng bộ huyện Yên Hòa", province)
    commune = await add_organization(conn, "Đảng bộ xã Yên Mông", district)
    cell_a = await add_organization(conn, "Chi bộ thôn Đông", commune)
    cell_b = await add_organization(conn, "Chi bộ thôn Tây", commune)
    other_district = await add_organization(conn, "Đảng bộ huyện Lạc Sơn", province)
    other_cell = await add_organization(conn, "Chi bộ thôn Bãi", other_district)
    return Tree(province, district, commune, cell_a, cell_b, other_district, other_cell)


NEWS_BODY = (
    "## Hội nghị triển khai\n\n"
    "Sáng nay, Đảng bộ huyện tổ chức hội nghị quán triệt **nghị quyết** về chuyển đổi số.\n\n"
    "1. Rà soát hồ sơ đảng viên.\n2. Cập nhật Sổ tay Đảng viên điện tử.\n"
)


def document_command(**overrides: Any) -> DocumentCreate:
    """A news post by default; `scope_organization_id` only when given."""
    values: dict[str, Any] = {
        "kind": DocumentKind.NEWS,
        "title": "Hội nghị quán triệt nghị quyết về chuyển đổi số",
        "summary": "Tin hoạt động của Đảng bộ huyện.",
        "tags": ["Chuyển đổi số", "tin tức"],
        "body_format": "markdown",
        "body": NEWS_BODY,
    }
    values.update(overrides)
    return DocumentCreate(**values)


def charter_command(**overrides: Any) -> DocumentCreate:
    values: dict[str, Any] = {
        "kind": CHARTER.kind,
        "title": CHARTER.title,
        "issuing_body": CHARTER.issuer,
        "issued_on": CHARTER.issued_on,
        "tags": list(CHARTER.tags),
        "body_format": CHARTER.body_format,
        "body": CHARTER.body,
    }
    values.update(overrides)
    return DocumentCreate(**values)


def many_articles(clauses: int, clause: str) -> str:
    """A regulation of 999 articles with `clauses` numbered clauses each."""
    lines = []
    for article in range(1, 1000):
        lines.append(f"Điều {article}. Nội dung")
        lines += [f"{number}. {clause}" for number in range(1, clauses + 1)]
    return "\n".join(lines)
