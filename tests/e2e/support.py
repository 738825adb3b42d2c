"""Helpers for end-to-end tests: HTTP calls to service processes and waiting on them."""

import time
from typing import Any

import httpx

from sotay_devstack.services import ServiceProcess


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(
    process: ServiceProcess, method: str, path: str, token: str, **kwargs: Any
) -> httpx.Response:
    return httpx.request(method, process.url + path, headers=bearer(token), timeout=30, **kwargs)


def create_tree(members: ServiceProcess, token: str, prefix: str) -> dict[str, str]:
    """Province → grassroots → two cells; returns their ids by short name."""
    ids: dict[str, str] = {}
    for key, code, name, kind, parent in [
        ("province", "T", "Đảng bộ tỉnh Thanh Bình", "province_committee", None),
        ("commune", "T.1", "Đảng bộ xã Yên Mông", "grassroots_committee", "province"),
        ("cell_a", "T.1.1", "Chi bộ thôn Đông", "cell", "commune"),
        ("cell_b", "T.1.2", "Chi bộ thôn Tây", "cell", "commune"),
    ]:
        body = {
            "code": prefix + code,
            "name": name,
            "type": kind,
            "parent_id": ids[parent] if parent else None,
        }
        response = call(members, "POST", "/organizations", token, json=body)
        assert response.status_code == 201, response.text
        ids[key] = response.json()["id"]
    return ids


def member_body(organization_id: str, card: str, name: str = "Phan Văn Đức") -> dict[str, Any]:
    return {
        "full_name": name,
        "date_of_birth": "1975-09-02",
        "gender": "male",
        "party_card_number": card,
        "admission_date": "2000-03-03",
        "official_date": "2001-03-03",
        "status": "official",
        "organization_id": organization_id,
    }


def wait_for(predicate: Any, timeout: float = 60, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
