"""`sotay-dev run` (make run) and `sotay-dev test-env -- CMD` (make test)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sotay_devstack.testenv import run_with_test_servers

REPO = Path(__file__).resolve().parents[3]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sotay-dev")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the whole system on this machine with demo data")
    test_env = commands.add_parser("test-env", help="run a command with test servers up")
    test_env.add_argument("cmd", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "test-env":
        command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        return run_with_test_servers(command, repo=REPO)
    from sotay_devstack.stack import run_stack

    return run_stack(REPO)


if __name__ == "__main__":
    sys.exit(main())
