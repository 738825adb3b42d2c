from sotay_common.serve import serve
from sotay_members.settings import MembersSettings


def main() -> None:
    serve("sotay_members.app:create_app", MembersSettings())


if __name__ == "__main__":
    main()
