"""Document kinds, document numbers (`27-QĐ/TW`, `123/QĐ-UBND`) and the content hash."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date

from sotay_common.events.content import DocumentKind
from sotay_content.errors import ContentRejected
from sotay_content.text import normalize_text

KIND_LABELS_VI: dict[DocumentKind, str] = {
    DocumentKind.NEWS: "Tin tức",
    DocumentKind.RESOLUTION: "Nghị quyết",
    DocumentKind.DIRECTIVE: "Chỉ thị",
    DocumentKind.CONCLUSION: "Kết luận",
    DocumentKind.DECISION: "Quyết định",
    DocumentKind.REGULATION: "Quy định",
    DocumentKind.RULES: "Quy chế",
    DocumentKind.GUIDANCE: "Hướng dẫn",
    DocumentKind.ANNOUNCEMENT: "Thông báo",
    DocumentKind.PLAN: "Kế hoạch",
    DocumentKind.STUDY_TOPIC: "Chuyên đề học tập",
}

# Kinds issued as numbered documents (văn kiện); news, study topics and charters carry none.
NUMBERED_KINDS = frozenset(
    {
        DocumentKind.RESOLUTION,
        DocumentKind.DIRECTIVE,
        DocumentKind.CONCLUSION,
        DocumentKind.DECISION,
        DocumentKind.RULES,
        DocumentKind.GUIDANCE,
        DocumentKind.ANNOUNCEMENT,
        DocumentKind.PLAN,
    }
)

# Type codes of the numbering systems of Party and State documents. "QĐ" is used both for
# quyết định and quy định, so it maps to both kinds.
TYPE_CODES: dict[str, frozenset[DocumentKind]] = {
    "NQ": frozenset({DocumentKind.RESOLUTION}),
    "CT": frozenset({DocumentKind.DIRECTIVE}),
    "KL": frozenset({DocumentKind.CONCLUSION}),
    "QĐ": frozenset({DocumentKind.DECISION, DocumentKind.REGULATION}),
    "QC": frozenset({DocumentKind.RULES}),
    "HD": frozenset({DocumentKind.GUIDANCE}),
    "TB": frozenset({DocumentKind.ANNOUNCEMENT}),
    "KH": frozenset({DocumentKind.PLAN}),
    "CTR": frozenset({DocumentKind.PLAN}),
    "ĐA": frozenset({DocumentKind.PLAN}),
    "BC": frozenset(),
    "TTR": frozenset(),
    "CV": frozenset(),
    "NĐ": frozenset({DocumentKind.DECISION}),
    "TT": frozenset({DocumentKind.GUIDANCE}),
}


@dataclass(frozen=True, slots=True)
class DocumentNumber:
    """A parsed document number. `canonical` is what to store, index and compare."""

    canonical: str
    serial: str  # as written, leading zeros kept ("01")
    type_code: str  # "NQ", "QĐ", ...
    issuer: str  # "TW", "TU", "BTGTW", "UBND", ...
    year: int | None  # only the State style writes it ("15/2020/NĐ-CP")
    style: str  # "party" (01-NQ/TU) or "state" (123/QĐ-UBND)

    @property
    def kinds(self) -> frozenset[DocumentKind]:
        """Document kinds this number's type code is used for."""
        return TYPE_CODES[self.type_code]


_CODE = r"[A-ZĐ][A-ZĐ0-9]*(?:[.\-][A-ZĐ0-9]+)*"
_PARTY_NUMBER = re.compile(rf"(?P<serial>\d{{1,5}})-(?P<type>[A-ZĐ]{{2,3}})/(?P<issuer>{_CODE})")
_STATE_NUMBER = re.compile(
    rf"(?P<serial>\d{{1,5}})/(?:(?P<year>(?:19|20)\d\d)/)?(?P<type>[A-ZĐ]{{2,3}})-(?P<issuer>{_CODE})"
)
_NUMBER_PREFIX = re.compile(r"^(?:SỐ|SO|NO)\s*[.:]?\s*")
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—−"), "-")
_SLASHES = dict.fromkeys(map(ord, "⁄∕／"), "/")


def parse_document_number(raw: str) -> DocumentNumber:
    """Parse and canonicalise a number such as `27-QĐ/TW`, `số 01-NQ/TU`, `15/2020/NĐ-CP`."""
    text = _clean_number_text(raw)
    if not text:
        raise ContentRejected("document_number_missing", "Chưa nhập số hiệu văn bản.")
    for style, pattern in (("party", _PARTY_NUMBER), ("state", _STATE_NUMBER)):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        type_code = match["type"]
        if type_code not in TYPE_CODES:
            raise ContentRejected(
                "document_number_unknown_type",
                f"Không nhận ra loại văn bản «{type_code}» trong số hiệu «{raw.strip()}».",
            )
        year = match.groupdict().get("year")
        return DocumentNumber(
            canonical=text,
            serial=match["serial"],
            type_code=type_code,
            issuer=match["issuer"],
            year=int(year) if year else None,
            style=style,
        )
    raise ContentRejected(
        "document_number_invalid",
        f"Số hiệu «{raw.strip()}» không đúng dạng, ví dụ đúng: 27-QĐ/TW, 01-NQ/TU, 123/QĐ-UBND.",
    )


def _clean_number_text(raw: str) -> str:
    text = normalize_text(raw).upper().replace("Ð", "Đ")
    text = text.translate(_DASHES).translate(_SLASHES)
    text = _NUMBER_PREFIX.sub("", text)
    return re.sub(r"\s+", "", text)


def validate_document_number(kind: DocumentKind, raw: str | None) -> DocumentNumber | None:
    """The number a document of `kind` may carry: required for numbered kinds, type matching."""
    if raw is None or not raw.strip():
        if kind in NUMBERED_KINDS:
            raise ContentRejected(
                "document_number_missing",
                f"{KIND_LABELS_VI[kind]} phải có số hiệu văn bản.",
            )
        return None
    number = parse_document_number(raw)
    if number.kinds and kind not in number.kinds:
        raise ContentRejected(
            "document_number_kind_mismatch",
            f"Số hiệu «{number.canonical}» không phải của một {KIND_LABELS_VI[kind].lower()}.",
        )
    return number


HASH_SCHEME = "sotay-content-v1"


def content_hash(
    *,
    kind: DocumentKind,
    title: str,
    body: str,
    number: str | None = None,
    issuer: str | None = None,
    issued_on: date | None = None,
) -> str:
    """SHA-256 (hex) of what a published document says.

    Texts are normalised first (NFC, whitespace), so re-publishing identical content gives the
    same hash whatever the typing variants; tags, authorship and timestamps do not count.
    """
    canonical = {
        "scheme": HASH_SCHEME,
        "kind": kind.value,
        "title": normalize_text(title),
        "number": parse_document_number(number).canonical if number else None,
        "issuer": normalize_text(issuer) if issuer else None,
        "issued_on": issued_on.isoformat() if issued_on else None,
        "body": normalize_text(body),
    }
    payload = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
