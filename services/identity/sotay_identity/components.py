"""What the identity service builds once per process from its settings: signing keys, the
template sealer, object stores, the CPU thread pool and (loaded in the background) the models."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sotay_common.auth import generate_rsa_private_key_pem
from sotay_common.storage import BlobStore, open_blob_store
from sotay_identity.crypto import Sealer
from sotay_identity.keys import SigningKeys
from sotay_identity.limits import Network, parse_networks
from sotay_identity.pipeline import EkycEngine
from sotay_identity.settings import IdentitySettings

logger = logging.getLogger(__name__)


@dataclass
class Components:
    settings: IdentitySettings
    keys: SigningKeys
    sealer: Sealer
    store: BlobStore
    member_photos: BlobStore | None
    executor: ThreadPoolExecutor
    trusted_proxies: tuple[Network, ...]
    engine: EkycEngine | None = field(default=None)

    @classmethod
    def from_settings(cls, settings: IdentitySettings) -> Components:
        return cls(
            settings=settings,
            keys=_signing_keys(settings),
            sealer=_sealer(settings),
            store=open_blob_store(settings.storage_url),
            member_photos=(
                open_blob_store(settings.member_photo_storage_url)
                if settings.member_photo_storage_url
                else None
            ),
            executor=ThreadPoolExecutor(
                max_workers=settings.cpu_workers, thread_name_prefix="ekyc"
            ),
            trusted_proxies=parse_networks(settings.trusted_proxies),
        )

    def load_engine(self) -> EkycEngine:
        """Build the models (blocking, a few seconds) once; later calls return them."""
        if self.engine is None:
            self.engine = EkycEngine.load(
                face_threshold=self.settings.face_threshold,
                card_max_bytes=self.settings.card_max_bytes,
                frame_max_bytes=self.settings.frame_max_bytes,
            )
        return self.engine


def _signing_keys(settings: IdentitySettings) -> SigningKeys:
    if settings.signing_key_pem is not None:
        pem = settings.signing_key_pem.get_secret_value()
    else:
        logger.warning(
            "IDENTITY_SIGNING_KEY_PEM is not set: signing with a throw-away key; tokens will "
            "not survive a restart and replicas will not accept each other's"
        )
        pem = generate_rsa_private_key_pem()
    return SigningKeys.load(
        pem,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        key_id=settings.signing_key_id,
        previous_public_keys_pem=settings.previous_public_keys_pem,
    )


def _sealer(settings: IdentitySettings) -> Sealer:
    if settings.template_key is not None:
        return Sealer.from_base64(settings.template_key.get_secret_value())
    logger.warning(
        "IDENTITY_TEMPLATE_KEY is not set: sealing with a throw-away key; face templates and "
        "images under review become unreadable at the next restart"
    )
    return Sealer.generate()
