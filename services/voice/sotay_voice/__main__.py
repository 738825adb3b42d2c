from sotay_common.serve import serve
from sotay_voice.app import create_app
from sotay_voice.settings import VoiceSettings


def main() -> None:
    settings = VoiceSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
