"""The command line's exit and error contract, kept in one place so every command follows it.

Exit codes (documented in the README):
  0    success; everything the command showed is sound (a report that shows a failure is not 0)
  1    an error in the data, a model artifact, an input value, the configuration or a file
       (`algospace.errors`, an OSError), or a report that found something unsound
  2    a usage error: an unknown command or option, a missing or mistyped option value
  130  interrupted (Ctrl-C)

Every error writes ONE line to stderr, `error: <Kind>: <what, found, what to do>`; `--debug`
(or ALGOSPACE_DEBUG=1) shows the traceback instead. Reports (tables, check lists) go to stdout.
A command group run without a sub-command prints its help on stdout and exits 0.

Why by hand: click's standalone mode prints usage errors as a multi-line block (a rich box under
typer) and lets our own exceptions escape as tracebacks. Running the app with
`standalone_mode=False` hands every outcome to `run`, which maps it onto the codes above.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence

import typer

from algospace.errors import AlgoSpaceError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEBUG_ENV = "ALGOSPACE_DEBUG"


def one_line(text: str) -> str:
    """A message on one line: continuation lines are joined with '; ' (after a ':' with a space)."""
    parts = [p.strip() for p in str(text).splitlines() if p.strip()]
    out = ""
    for p in parts:
        out = p if not out else out + (" " if out.endswith(":") else "; ") + p
    return out


def fail(kind: str, message: str, code: int = EXIT_ERROR) -> int:
    """Write the one error line to stderr and return the exit code."""
    typer.secho(f"error: {kind}: {one_line(message)}", err=True, fg="red")
    return code


def _click_message(exc: typer.TyperException) -> str:
    """click's message without typer's pydantic prefix ("Value error, ") or a final period."""
    return exc.format_message().replace("Value error, ", "").rstrip(".")


def run(app: typer.Typer, argv: Sequence[str] | None = None, prog_name: str = "algospace") -> int:
    """Run the CLI on `argv` (default: sys.argv[1:]) and return its exit code under the contract."""
    debug_before = os.environ.get(DEBUG_ENV)
    try:
        rv = app(args=list(sys.argv[1:] if argv is None else argv), prog_name=prog_name, standalone_mode=False)
    except typer.TyperException as exc:  # click's exceptions: usage errors and the like
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help was printed; asking for it is fine
            message = exc.format_message()
            if message:
                typer.echo(message)
            return EXIT_OK
        ctx = getattr(exc, "ctx", None)
        hint = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
        code = exc.exit_code if isinstance(getattr(exc, "exit_code", None), int) else EXIT_USAGE
        return fail("UsageError" if code == EXIT_USAGE else type(exc).__name__, _click_message(exc) + hint, code)
    except typer.Abort:
        return fail("Aborted", "the command was aborted before it finished.")
    except AlgoSpaceError as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        return fail(type(exc).__name__, str(exc))
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # the reader of our output went away (`... | head`): nothing to say
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
            return EXIT_ERROR
        if os.environ.get(DEBUG_ENV):
            raise
        return fail(type(exc).__name__, f"{exc}; check the path, its permissions and the free space.")
    except Exception as exc:  # a bug: still one line, with the way to the traceback
        if os.environ.get(DEBUG_ENV):
            raise
        return fail(
            "internal error",
            f"{type(exc).__name__}: {exc} (a bug in algospace: rerun with --debug for the traceback and report it)",
        )
    finally:
        if debug_before is None:  # --debug sets it for this run only (in-process callers run again)
            os.environ.pop(DEBUG_ENV, None)
        else:
            os.environ[DEBUG_ENV] = debug_before
    if rv == EXIT_INTERRUPTED:
        return fail("Interrupted", "stopped by Ctrl-C before the command finished.", rv)
    return rv if isinstance(rv, int) else EXIT_OK
