"""The demo corpus: an original charter-like regulation ("Điều lệ mẫu"), a shorter regulation,
a resolution, a directive, a news post and a study topic, all fictional, for `make run`.

Each document is a UTF-8 text or Markdown file listed with its metadata in manifest.json.
"""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict

from sotay_common.events.content import DocumentKind


class DemoDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    slug: str
    kind: DocumentKind
    title: str
    number: str | None
    issuer: str
    issued_on: date
    tags: tuple[str, ...]
    body_format: Literal["text", "markdown"]
    body: str


def load_demo_documents() -> list[DemoDocument]:
    """Every demo document, in manifest order, with its body read from the package."""
    folder = resources.files(__name__)
    manifest = json.loads(folder.joinpath("manifest.json").read_text(encoding="utf-8"))
    return [
        DemoDocument(
            **{key: value for key, value in entry.items() if key != "file"},
            body=folder.joinpath(entry["file"]).read_text(encoding="utf-8"),
        )
        for entry in manifest["documents"]
    ]
