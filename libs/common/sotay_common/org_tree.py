"""The organisation tree as the services that follow the members service keep it: a table
`organizations (id, parent_id, ancestor_ids, ..., updated_at)` in their own schema, fed by
`organization.created/updated.v1` snapshots. Snapshots of different organisations may arrive
out of order; these keep every `ancestor_ids` consistent with `parent_id` regardless."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from sotay_common.events.members import OrganizationCreatedV1, OrganizationUpdatedV1


@dataclass(frozen=True)
class OrganizationNode:
    """One organisation of the read model; `ancestor_ids` runs from the root to the parent."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    ancestor_ids: list[uuid.UUID]
    name: str
    status: str
    version: int

    @property
    def path_ids(self) -> list[uuid.UUID]:
        """Ancestors from the root, then the organisation itself."""
        return [*self.ancestor_ids, self.id]

    @classmethod
    def from_event(cls, event: OrganizationCreatedV1 | OrganizationUpdatedV1) -> OrganizationNode:
        return cls(
            id=event.organization_id,
            parent_id=event.parent_id,
            ancestor_ids=list(event.ancestor_ids),
            name=event.name,
            status=event.status.value,
            version=event.version,
        )


ORG_COLUMNS = "id, parent_id, ancestor_ids, name, status, version"


async def get_organization(conn: asyncpg.Connection, org_id: uuid.UUID) -> OrganizationNode | None:
    row = await conn.fetchrow(f"SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1", org_id)
    return OrganizationNode(**dict(row)) if row else None


async def upsert_organization(
    conn: asyncpg.Connection, org: OrganizationNode, *, extra: Mapping[str, object] | None = None
) -> bool:
    """Stores a snapshot unless a newer one is already there. True when it was applied.
    `extra`: further columns a service keeps (names from its own code, never from input)."""
    columns = {
        "id": org.id,
        "parent_id": org.parent_id,
        "ancestor_ids": list(org.ancestor_ids),
        "name": org.name,
        "status": org.status,
        "version": org.version,
        **(extra or {}),
    }
    names = list(columns)
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in names if column != "id")
    applied = await conn.fetchval(
        f"INSERT INTO organizations ({', '.join(names)})"
        f" VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))})"
        f" ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = now()"
        " WHERE organizations.version < EXCLUDED.version"
        " RETURNING true",
        *columns.values(),
    )
    return bool(applied)


async def apply_snapshot(
    conn: asyncpg.Connection,
    event: OrganizationCreatedV1 | OrganizationUpdatedV1,
    *,
    extra: Mapping[str, object] | None = None,
) -> bool:
    """What a consumer of organisation events does: the newest snapshot of each organisation
    wins, and an applied one settles the ancestry around it. True when it was applied."""
    applied = await upsert_organization(conn, OrganizationNode.from_event(event), extra=extra)
    if applied:
        await settle_ancestry(conn, event.organization_id)
    return applied


async def adopt_parent_ancestry(conn: asyncpg.Connection, org_id: uuid.UUID) -> None:
    """An organisation's ancestry is its parent's path when the parent is known: the parent's
    own events say where it is now, which a child's older snapshot may not."""
    await conn.execute(
        "UPDATE organizations c SET ancestor_ids = p.ancestor_ids || p.id"
        " FROM organizations p WHERE c.id = $1 AND p.id = c.parent_id AND p.id <> c.id"
        " AND c.id <> ALL (p.ancestor_ids) AND c.ancestor_ids <> p.ancestor_ids || p.id",
        org_id,
    )


async def recompute_descendant_ancestry(conn: asyncpg.Connection, org_id: uuid.UUID) -> int:
    """After a move only the moved organisation's event carries its new ancestry: derive its
    descendants' from `parent_id`. Events of different organisations may arrive out of order,
    so a transient cycle in `parent_id` is cut rather than followed. Returns how many changed."""
    result: str = await conn.execute(
        "WITH RECURSIVE sub (id, ancestor_ids) AS ("
        "  SELECT c.id, p.ancestor_ids || p.id FROM organizations c"
        "  JOIN organizations p ON p.id = c.parent_id WHERE p.id = $1"
        "  UNION ALL"
        "  SELECT c.id, sub.ancestor_ids || sub.id FROM organizations c"
        "  JOIN sub ON c.parent_id = sub.id"
        "  WHERE c.id <> ALL (sub.ancestor_ids) AND c.id <> $1"
        ")"
        " UPDATE organizations o SET ancestor_ids = sub.ancestor_ids, updated_at = now()"
        " FROM sub WHERE o.id = sub.id AND o.ancestor_ids <> sub.ancestor_ids",
        org_id,
    )
    return int(result.rsplit(" ", 1)[-1])


async def settle_ancestry(conn: asyncpg.Connection, org_id: uuid.UUID) -> None:
    """After a snapshot of `org_id` is applied: its ancestry from its parent's, then its
    descendants' from its own."""
    await adopt_parent_ancestry(conn, org_id)
    await recompute_descendant_ancestry(conn, org_id)
