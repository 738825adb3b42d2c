from sotay_common.serve import serve
from sotay_members.app import create_app
from sotay_members.settings import MembersSettings


def main() -> None:
    settings = MembersSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
