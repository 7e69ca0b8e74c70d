"""Progress lines for the command line: on stderr, so stdout stays the command's answer."""

import sys


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
