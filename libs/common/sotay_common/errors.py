"""Errors as application/problem+json (RFC 9457) with a stable `code` and a Vietnamese `detail`.

Domain code raises `AppError` subclasses; the handlers installed by `install_error_handlers`
turn them (and FastAPI's validation errors) into problem responses.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sotay_common.context import current_correlation_id

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class AppError(Exception):
    status = 400
    code = "bad_request"
    title = "Bad request"
    detail_vi = "Yêu cầu không hợp lệ."

    def __init__(
        self,
        detail_vi: str | None = None,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] = (),
        extra: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if detail_vi is not None:
            self.detail_vi = detail_vi
        if code is not None:
            self.code = code
        self.errors = list(errors)
        self.extra = extra or {}
        self.headers = dict(headers or {})  # set on the problem response (e.g. Retry-After)
        super().__init__(f"{self.code}: {self.detail_vi}")


class BadRequest(AppError):
    pass


class Unauthenticated(AppError):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"
    detail_vi = "Bạn cần đăng nhập để thực hiện thao tác này."


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Forbidden"
    detail_vi = "Bạn không có quyền thực hiện thao tác này."


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"
    detail_vi = "Không tìm thấy dữ liệu yêu cầu."


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"
    detail_vi = "Dữ liệu bị trùng hoặc xung đột với dữ liệu hiện có."


class PreconditionFailed(AppError):
    status = 412
    code = "version_mismatch"
    title = "Precondition failed"
    detail_vi = "Dữ liệu đã được người khác thay đổi. Vui lòng tải lại rồi thử lại."


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"
    detail_vi = "Dữ liệu gửi lên quá lớn."


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"
    detail_vi = "Định dạng tệp không được hỗ trợ."


class ValidationFailed(AppError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"
    detail_vi = "Dữ liệu không hợp lệ. Vui lòng kiểm tra các trường được đánh dấu."


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"
    detail_vi = "Bạn đã thử quá nhiều lần. Vui lòng thử lại sau."


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"
    detail_vi = "Hệ thống đang bận hoặc bảo trì. Vui lòng thử lại sau."


_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "Thiếu trường bắt buộc.",
    "extra_forbidden": "Trường này không được phép.",
    "string_type": "Phải là chuỗi ký tự.",
    "string_too_short": "Giá trị quá ngắn (tối thiểu {min_length} ký tự).",
    "string_too_long": "Giá trị quá dài (tối đa {max_length} ký tự).",
    "string_pattern_mismatch": "Giá trị không đúng định dạng.",
    "int_parsing": "Phải là số nguyên.",
    "int_type": "Phải là số nguyên.",
    "float_parsing": "Phải là số.",
    "bool_parsing": "Phải là true hoặc false.",
    "greater_than_equal": "Giá trị phải lớn hơn hoặc bằng {ge}.",
    "less_than_equal": "Giá trị phải nhỏ hơn hoặc bằng {le}.",
    "greater_than": "Giá trị phải lớn hơn {gt}.",
    "less_than": "Giá trị phải nhỏ hơn {lt}.",
    "date_parsing": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "date_from_datetime_parsing": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "date_type": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
    "datetime_parsing": "Thời điểm không hợp lệ.",
    "uuid_parsing": "Mã định danh không hợp lệ.",
    "uuid_type": "Mã định danh không hợp lệ.",
    "enum": "Giá trị không hợp lệ. Cho phép: {expected}.",
    "literal_error": "Giá trị không hợp lệ. Cho phép: {expected}.",
    "json_invalid": "Dữ liệu JSON không hợp lệ.",
    "list_type": "Phải là danh sách.",
    "too_short": "Danh sách quá ngắn.",
    "too_long": "Danh sách quá dài (tối đa {max_length} phần tử).",
    "model_attributes_type": "Phải là một đối tượng JSON.",
    "dict_type": "Phải là một đối tượng JSON.",
    "value_error": "{reason}",
}


def _field_path(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


def field_errors_from_pydantic(errors: Sequence[Any]) -> list[FieldError]:
    result = []
    for error in errors:
        error_type = str(error.get("type", "value_error"))
        template = _PYDANTIC_MESSAGES.get(error_type, "Giá trị không hợp lệ.")
        context = dict(error.get("ctx") or {})
        if error_type == "value_error":
            context["reason"] = str(context.get("error", error.get("msg", ""))).removeprefix(
                "Value error, "
            )
        if "expected" in context:
            context["expected"] = str(context["expected"]).replace(" or ", " hoặc ")
        try:
            message = template.format(**context)
        except (KeyError, IndexError):
            message = "Giá trị không hợp lệ."
        result.append(FieldError(_field_path(error.get("loc", ())), error_type, message))
    return result


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:sotay:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "correlation_id": current_correlation_id(),
    }
    if request is not None:
        body["instance"] = request.url.path
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_HTTP_CODES: dict[int, tuple[str, str]] = {
    401: ("unauthenticated", Unauthenticated.detail_vi),
    403: ("forbidden", Forbidden.detail_vi),
    404: ("not_found", "Không tìm thấy địa chỉ yêu cầu."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ cho địa chỉ này."),
    413: ("payload_too_large", PayloadTooLarge.detail_vi),
}


async def _app_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail_vi,
        errors=exc.errors,
        extra=exc.extra,
        headers=exc.headers or None,
    )


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        request,
        status=ValidationFailed.status,
        code=ValidationFailed.code,
        title=ValidationFailed.title,
        detail=ValidationFailed.detail_vi,
        errors=field_errors_from_pydantic(exc.errors()),
    )


async def _http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, detail = _HTTP_CODES.get(exc.status_code, ("http_error", "Yêu cầu không hợp lệ."))
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=str(exc.detail),
        detail=detail,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(
        request,
        status=500,
        code="internal_error",
        title="Internal server error",
        detail="Đã xảy ra lỗi hệ thống. Vui lòng thử lại sau hoặc liên hệ quản trị viên.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    app.add_exception_handler(Exception, _unhandled_handler)
