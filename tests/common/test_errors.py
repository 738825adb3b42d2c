from datetime import date

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field

from sotay_common.errors import Conflict, FieldError, install_error_handlers


class Body(BaseModel):
    name: str = Field(min_length=2)
    born: date
    count: int = Field(ge=0, le=10)


def app() -> FastAPI:
    application = FastAPI()
    install_error_handlers(application)

    @application.post("/things")
    async def create(body: Body) -> dict[str, str]:
        if body.name == "taken":
            raise Conflict(
                "Tên đã tồn tại.",
                code="duplicate_name",
                errors=[FieldError("name", "duplicate", "Tên đã tồn tại.")],
            )
        return {"ok": body.name}

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    return application


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_validation_errors_are_problems_with_vietnamese_field_messages() -> None:
    response = await call("POST", "/things", json={"name": "a", "born": "2020-02-30", "count": 11})
    body = response.json()
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert body["code"] == "validation_failed"
    assert body["type"] == "urn:sotay:problem:validation_failed"
    assert body["instance"] == "/things"
    fields = {e["field"]: e for e in body["errors"]}
    assert fields["name"]["message"] == "Giá trị quá ngắn (tối thiểu 2 ký tự)."
    assert fields["born"]["message"].startswith("Ngày không hợp lệ")
    assert fields["count"]["message"] == "Giá trị phải nhỏ hơn hoặc bằng 10."


async def test_domain_errors_keep_their_code_and_fields() -> None:
    response = await call(
        "POST", "/things", json={"name": "taken", "born": "2000-01-01", "count": 1}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_name"
    assert response.json()["errors"] == [
        {"field": "name", "code": "duplicate", "message": "Tên đã tồn tại."}
    ]


async def test_unknown_routes_and_crashes_do_not_leak_internals() -> None:
    missing = await call("GET", "/nowhere")
    crash = await call("GET", "/boom")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert crash.status_code == 500
    assert crash.json()["code"] == "internal_error"
    assert "secret" not in crash.text
