from sotay_assistant.settings import AssistantSettings
from sotay_common.serve import serve


def main() -> None:
    serve("sotay_assistant.app:create_app", AssistantSettings())


if __name__ == "__main__":
    main()
