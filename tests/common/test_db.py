import asyncpg
import pytest

from sotay_common.db import Migration, MigrationChanged, apply_migrations, connect
from sotay_devstack.pytest_plugin import FreshSchema


async def test_migrations_apply_once_in_order(fresh_database: FreshSchema) -> None:
    conn = await fresh_database.connect()
    try:
        first = [
            Migration("svc/0001_a.sql", "CREATE TABLE a (x int)"),
            Migration("svc/0002_b.sql", "INSERT INTO a VALUES (1)"),
        ]
        assert await apply_migrations(conn, fresh_database.schema, first) == [
            "svc/0001_a.sql",
            "svc/0002_b.sql",
        ]
        assert await apply_migrations(conn, fresh_database.schema, first) == []
        assert await conn.fetchval("SELECT count(*) FROM a") == 1
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(fresh_database: FreshSchema) -> None:
    conn = await fresh_database.connect()
    try:
        broken = [Migration("svc/0001_x.sql", "CREATE TABLE x (y int); SELECT * FROM nowhere")]
        with pytest.raises(asyncpg.UndefinedTableError):
            await apply_migrations(conn, fresh_database.schema, broken)
        assert await conn.fetchval("SELECT to_regclass('x')") is None
    finally:
        await conn.close()


async def test_an_applied_migration_must_not_change(fresh_database: FreshSchema) -> None:
    conn = await connect(fresh_database.dsn, fresh_database.schema)
    try:
        await apply_migrations(
            conn, fresh_database.schema, [Migration("svc/0001_a.sql", "SELECT 1")]
        )
        with pytest.raises(MigrationChanged):
            await apply_migrations(
                conn, fresh_database.schema, [Migration("svc/0001_a.sql", "SELECT 2")]
            )
    finally:
        await conn.close()


async def test_jsonb_round_trips_in_queries_and_binary_copy(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE TEMP TABLE j (doc jsonb)")
    await conn.execute("INSERT INTO j VALUES ($1)", {"tên": "Hòa", "n": [1, 2]})
    await conn.copy_records_to_table("j", records=[({"copied": True},)])
    assert await conn.fetch("SELECT doc FROM j") == [
        ({"tên": "Hòa", "n": [1, 2]},),
        ({"copied": True},),
    ]
