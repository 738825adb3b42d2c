from sotay_common.serve import serve
from sotay_content.settings import ContentSettings


def main() -> None:
    serve("sotay_content.app:create_app", ContentSettings())


if __name__ == "__main__":
    main()
