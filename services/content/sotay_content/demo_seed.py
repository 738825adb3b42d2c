"""Publishes the demo corpus (sotay_content.demo) through the HTTP API, for `make run`.

    python -m sotay_content.demo_seed --url http://127.0.0.1:8003 --token "$SYSTEM_ADMIN_JWT"

or from Python: `await seed_demo(client, token)` with an httpx.AsyncClient on the service.
Idempotent: a demo document already there (same title) is published if it is still a draft and
left alone otherwise. The token must be a system admin's when no scope is given (documents for
everyone); a committee admin's works with `--scope` set to their organisation.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from sotay_content.demo import DemoDocument, load_demo_documents

ALL_STATUSES = [("status", s) for s in ("draft", "published", "archived")]


@dataclass(frozen=True)
class Seeded:
    slug: str
    document_id: str
    outcome: str  # "published", "already_there"


class SeedFailed(RuntimeError):
    pass


def _checked(response: httpx.Response) -> dict[str, Any]:
    if response.is_error:
        raise SeedFailed(f"{response.request.method} {response.request.url}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def _create_body(document: DemoDocument, scope: uuid.UUID | None) -> dict[str, Any]:
    return {
        "kind": document.kind.value,
        "title": document.title,
        "number": document.number,
        "issuing_body": document.issuer,
        "issued_on": document.issued_on.isoformat(),
        "tags": list(document.tags),
        "scope_organization_id": str(scope) if scope else None,
        "body_format": document.body_format,
        "body": document.body,
    }


async def _existing(client: httpx.AsyncClient, headers: dict[str, str], title: str) -> Any:
    page = _checked(
        await client.get("/documents", params=[("q", title), *ALL_STATUSES], headers=headers)
    )
    return next((item for item in page["items"] if item["title"] == title), None)


async def seed_demo(
    client: httpx.AsyncClient, token: str, *, scope_organization_id: uuid.UUID | None = None
) -> list[Seeded]:
    headers = {"Authorization": f"Bearer {token}"}
    seeded = []
    for document in load_demo_documents():
        found = await _existing(client, headers, document.title)
        if found is not None and found["status"] != "draft":
            seeded.append(Seeded(document.slug, found["id"], "already_there"))
            continue
        if found is None:
            found = _checked(
                await client.post(
                    "/documents",
                    json=_create_body(document, scope_organization_id),
                    headers=headers,
                )
            )
        _checked(await client.post(f"/documents/{found['id']}/publish", headers=headers))
        seeded.append(Seeded(document.slug, found["id"], "published"))
    return seeded


async def _run(url: str, token: str, scope: uuid.UUID | None) -> list[Seeded]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await seed_demo(client, token, scope_organization_id=scope)


def main() -> None:
    parser = argparse.ArgumentParser(description="Publish the demo documents over HTTP.")
    parser.add_argument("--url", default="http://127.0.0.1:8003")
    parser.add_argument("--token", default=os.environ.get("CONTENT_DEMO_TOKEN"))
    parser.add_argument("--scope", type=uuid.UUID, default=None, help="organisation id")
    args = parser.parse_args()
    if not args.token:
        parser.error("give --token or CONTENT_DEMO_TOKEN (a system admin's access token)")
    for item in asyncio.run(_run(args.url, args.token, args.scope)):
        print(f"{item.outcome:14} {item.document_id}  {item.slug}")


if __name__ == "__main__":
    main()
