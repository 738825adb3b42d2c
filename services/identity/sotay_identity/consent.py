"""What a member consents to before any image is processed (Decree 13/2023 on personal data:
biometric data and party membership are sensitive; consent is explicit, for a stated purpose,
recorded with the version of the text shown, and can be withdrawn).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONSENT_TEXTS", "EKYC_BIOMETRIC", "ConsentText", "current_text"]

EKYC_BIOMETRIC = "ekyc_biometric"


@dataclass(frozen=True)
class ConsentText:
    purpose: str
    version: str
    text_vi: str


CONSENT_TEXTS = {
    EKYC_BIOMETRIC: ConsentText(
        purpose=EKYC_BIOMETRIC,
        version="2025-07-01",
        text_vi=(
            "Tôi đồng ý để hệ thống Sổ tay Đảng viên xử lý ảnh thẻ đảng viên, ảnh khuôn mặt và "
            "đặc điểm sinh trắc học khuôn mặt của tôi với mục đích duy nhất là xác thực danh tính "
            "khi đăng ký và sử dụng tài khoản. Ảnh chụp được xóa ngay khi có kết quả xác thực "
            "(hoặc sau khi cán bộ cấp ủy xem xét xong); đặc điểm sinh trắc học được mã hóa, chỉ "
            "lưu trong hệ thống xác thực và không chia sẻ cho bên nào khác. Mọi lần truy cập dữ "
            "liệu cá nhân của tôi đều được ghi lại. Tôi có thể rút lại sự đồng ý này bất cứ lúc "
            "nào; khi đó dữ liệu sinh trắc học của tôi sẽ bị xóa."
        ),
    )
}


def current_text(purpose: str) -> ConsentText | None:
    return CONSENT_TEXTS.get(purpose)
