"""Topic names: one per aggregate, owned by the service that owns the aggregate."""

MEMBERS_MEMBER = "members.member"
MEMBERS_ORGANIZATION = "members.organization"
IDENTITY_ACCOUNT = "identity.account"
CONTENT_DOCUMENT = "content.document"
VOICE_AUDIO = "voice.audio"
ASSISTANT_INDEX = "assistant.index"
