"""``prep-refdb``: build, sign, verify and inspect the reference bundle; evaluate and quote.

Exit codes: 0 success, 1 a bundle that must not be trusted (``verify``), 2 bad input. Errors
are one line on standard error, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from reference_db import commands
from reference_db.errors import BundleError, InputError, RefDbError

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prep-refdb",
        description="The signed reference database of regulatory rules, and its engines.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keygen = sub.add_parser("keygen", help="write an Ed25519 signing key and KEYFILE.pub")
    keygen.add_argument(
        "--out", required=True, metavar="KEYFILE", help="private key path (mode 0600)"
    )

    build = sub.add_parser("build", help="validate the sources and build the signed bundle")
    build.add_argument(
        "--sources", metavar="DIR", help="source folder (default: the packaged sources)"
    )
    build.add_argument("--out", default=commands.DEFAULT_BUNDLE, metavar="FILE", help="bundle path")
    build.add_argument("--key", metavar="KEYFILE", help="signing key (or PREP_REFDB_SIGNING_KEY)")

    verify = sub.add_parser("verify", help="check signature, hash, expiry and version of a bundle")
    verify.add_argument("file", metavar="FILE")
    verify.add_argument("--pubkey", metavar="KEY", help="pinned public key (or PREP_REFDB_PUBKEY)")
    verify.add_argument(
        "--current-version",
        type=int,
        metavar="N",
        help="refuse a bundle whose version is not above N",
    )
    verify.add_argument(
        "--at", metavar="INSTANT", help="check expiry at this ISO instant (default: now)"
    )

    evaluate = sub.add_parser("evaluate", help="print the compliance verdict of a scenario")
    evaluate.add_argument("scenario", metavar="SCENARIO.json", help="scenario file, or - for stdin")
    evaluate.add_argument(
        "--db", metavar="FILE", help="bundle (default: PREP_REFDB_DB, else the packaged sources)"
    )
    evaluate.add_argument(
        "--jsonl", action="store_true", help="one scenario per line in, one verdict per line out"
    )
    evaluate.add_argument(
        "--as-of", metavar="INSTANT", help="evaluate at this instant when a scenario has no as_of"
    )
    evaluate.add_argument(
        "--brief", action="store_true", help="print one line, the result and rule ids, not JSON"
    )

    quote = sub.add_parser("quote", help="print the fee quote of a booking")
    quote.add_argument("request", metavar="QUOTE.json", help="quote request file, or - for stdin")
    quote.add_argument(
        "--db", metavar="FILE", help="bundle (default: PREP_REFDB_DB, else the packaged sources)"
    )

    info = sub.add_parser(
        "info", help="summarise versions, jurisdictions, row counts and provenance"
    )
    info.add_argument(
        "--db", metavar="FILE", help="bundle (default: PREP_REFDB_DB, else the packaged sources)"
    )
    info.add_argument(
        "--jurisdiction", metavar="J", help="also show one jurisdiction's rules and fee schedule"
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = getattr(commands, f"run_{args.command}")
    try:
        code: int = handler(args)
    except BundleError as exc:
        print(f"prep-refdb {args.command}: invalid: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except (InputError, RefDbError) as exc:
        print(f"prep-refdb {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UnicodeDecodeError:
        print(f"prep-refdb {args.command}: input is not UTF-8 text", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (``| head``); say nothing more and do not flush into the void.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INVALID
    except KeyboardInterrupt:
        print(f"prep-refdb {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
