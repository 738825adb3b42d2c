from sotay_common.serve import serve
from sotay_voice.settings import VoiceSettings


def main() -> None:
    serve("sotay_voice.app:create_app", VoiceSettings())


if __name__ == "__main__":
    main()
