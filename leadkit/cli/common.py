"""What every command shares: two consoles, the common options, typed choices, the context, and
the one error boundary, in one decorator (`command`) and one group (`LeadkitGroup`).

A command module writes only its own options:

    @command(app, "recycle", book="arg")
    def recycle(cmd: Cmd, ...) -> int:
        ctx = cmd.context()

and the decorator adds BOOK/--book, --as-of, --dry-run, --force, --json and -q/--quiet (those
`options=` names), configures `ui`, and turns a LeadkitError into its one line and exit code.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_type_hints

import typer
from rich.console import Console
from typer.core import TyperGroup

from leadkit import clock
from leadkit.errors import ExitStatus, LeadkitError, RuleError
from leadkit.errors import UsageError as LeadkitUsageError

try:  # typer >= 0.20 carries its own click; the floor's typer uses the click package
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - only on the floor's typer
    from click import exceptions as click_errors  # type: ignore[no-redef]

if TYPE_CHECKING:
    from leadkit.context import Context


class Ui:
    """Data on stdout, messages on stderr; `--quiet` and `--json` silence the chatter."""

    def __init__(self) -> None:
        self.quiet = False
        self.json = False
        self.emitted = False  # stdout has its JSON document: an error adds no second one
        self.out = Console(soft_wrap=False, highlight=False)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)

    def configure(self, *, quiet: bool = False, json_out: bool = False) -> None:
        self.quiet, self.json = quiet, json_out
        self.emitted = False
        wide = None if sys.stdout.isatty() else 120
        self.out = Console(soft_wrap=False, highlight=False, width=wide)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)

    @property
    def chatty(self) -> bool:
        return not (self.quiet or self.json)

    def say(self, message: str) -> None:
        """A message for a person (stderr); silent under --quiet/--json."""
        if self.chatty:
            self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        """A warning: stderr, even under --quiet."""
        self.err.print(f"leadkit: warning: {message}", markup=False, style="yellow")

    def show(self, renderable: Any) -> None:
        """Data for the terminal (stdout); silent under --quiet and --json."""
        if self.chatty:
            self.out.print(renderable)

    def emit_json(self, payload: Any) -> None:
        """The machine-readable summary (stdout) under --json.

        Pass a function to build a large payload only when --json asked for it.
        """
        if self.json:
            if callable(payload):
                payload = payload()
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str, indent=2) + "\n")
            self.emitted = True


ui = Ui()


def boundary(fn: Callable[..., int | None]) -> Callable[..., None]:
    """The one place user errors become a message and an exit code; bugs keep their traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            status = fn(*args, **kwargs)
        except LeadkitError as exc:
            error_line(str(exc))
            if not ui.emitted:  # under --json, the error's code for scripts (one document)
                ui.emit_json({"error": error_json(exc)})
            raise typer.Exit(int(exc.exit_status)) from None
        raise typer.Exit(int(status or ExitStatus.OK))

    return wrapper


def error_json(exc: LeadkitError) -> dict[str, Any]:
    """A user error as `--json` gives it: its stable code, the line, and a rule file's problems."""
    payload: dict[str, Any] = {"code": exc.code.value, "message": str(exc)}
    if isinstance(exc, RuleError):
        payload["problems"] = [
            {"code": exc.code.value, "file": str(exc.file), "line": line, "message": message}
            for line, message in exc.problems
        ]
    return payload


def error_line(message: str) -> None:
    """`leadkit: error: …` on stderr: the one format of every error, leadkit's and the parser's."""
    ui.err.print(f"leadkit: error: {message}", markup=False, highlight=False, style="red")


BookArg = Annotated[
    Path | None,
    typer.Argument(
        help="The lead book (default: the workspace's, from leadkit.yaml).", show_default=False
    ),
]
BookOpt = Annotated[
    Path | None, typer.Option("--book", help="The lead book; overrides the workspace's.")
]


class OptionError(typer.BadParameter):
    """A bad option value whose message already names the option (printed as it is)."""

    def format_message(self) -> str:
        return self.message


def date_option(param: typer.CallbackParam, value: str | None) -> str | None:
    """Refuse a date option that is not a date, or is out of range, naming that option."""
    if value is None:
        return None
    option = param.opts[0] if param.opts else f"--{param.name}"
    try:
        clock.now("UTC", value, option=option)
    except LeadkitUsageError as exc:
        raise OptionError(exc.message) from None
    return value


AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="The clock for this run, e.g. 2026-03-01T09:00 (default: now).",
        callback=date_option,
    ),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable summary on stdout.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Nothing on stdout/stderr on success.")]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Write even if Excel/WPS/LibreOffice has the book open (~$book, .~lock.book#) or it is read-only.",
    ),
]


def pick_book(arg: Path | None, opt: Path | None) -> Path | None:
    """The positional BOOK or --book; they must not disagree."""
    if arg is not None and opt is not None and arg != opt:
        raise typer.BadParameter("give the book either as an argument or with --book, not both")
    return arg or opt


# Typed choices: a typo is a usage error at parse time, in the one format, for every command.
# StrEnum members are str, so the steps compare and print them as the words they are.


class Lang(StrEnum):
    zh = "zh"
    en = "en"


class Channels(StrEnum):
    """Where reminders and reports go (leadkit.yaml's notify:)."""

    email = "email"
    webhook = "webhook"
    both = "both"


class AssignBy(StrEnum):
    """`assign --by` / `run --by`: leadkit.steps.routing.BY."""

    region = "region"
    industry = "industry"
    grade = "grade"
    round_robin = "round-robin"
    load = "load"
    rules = "rules"


class Period(StrEnum):
    """`report --period`: leadkit.steps.report.Period."""

    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    md = "md"


def steps_option(value: str | None) -> str | None:
    """`run --steps`: every name a step of the pipeline (leadkit.order.RUN_STEPS)."""
    from leadkit.order import RUN_STEPS

    if value is None:
        return None
    unknown = [s.strip() for s in value.split(",") if s.strip() and s.strip() not in RUN_STEPS]
    if unknown:
        raise OptionError(
            f"--steps: unknown step(s) {', '.join(unknown)}; use {', '.join(RUN_STEPS)}"
        )
    return value


CommonOption = Literal["as_of", "dry_run", "force", "json", "quiet"]
ALL_COMMON: tuple[CommonOption, ...] = ("as_of", "dry_run", "force", "json", "quiet")


@dataclass(frozen=True)
class Cmd:
    """The common options of one invocation, and the context they name."""

    book_arg: Path | None = None
    book_opt: Path | None = None
    as_of: str | None = None
    dry_run: bool = False
    force: bool = False
    json: bool = False
    quiet: bool = False

    @property
    def book(self) -> Path | None:
        return pick_book(self.book_arg, self.book_opt)

    def context(self) -> Context:
        """The workspace, rules, book and clock these options name."""
        from leadkit.context import context

        return context(
            self.book,
            as_of=self.as_of,
            dry_run=self.dry_run,
            force=self.force,
        )


_KEYWORD = inspect.Parameter.KEYWORD_ONLY
# (parameter name, Cmd field, annotation, default) in the order --help lists them
_BOOK_PARAMS = {
    "arg": [("book", "book_arg", BookArg), ("book_opt", "book_opt", BookOpt)],
    "opt": [("book_opt", "book_opt", BookOpt)],
}
_COMMON_PARAMS: dict[CommonOption, tuple[str, Any, bool | None]] = {
    "as_of": ("as_of", AsOf, None),
    "dry_run": ("dry_run", DryRun, False),
    "force": ("force", Force, False),
    "json": ("json_out", Json, False),
    "quiet": ("quiet", Quiet, False),
}


def command(
    app: typer.Typer,
    name: str,
    *,
    book: Literal["arg", "opt"] | None = None,
    options: Sequence[CommonOption] = ALL_COMMON,
) -> Callable[[Callable[..., int | None]], Callable[..., None]]:
    """Register `body(cmd: Cmd, **own_options)` as `leadkit NAME` with the common options added.

    `book="arg"`: a positional BOOK and --book; `"opt"`: --book only (the command has its own
    positional arguments). `options`: which of --as-of, --dry-run, --force, --json, -q it takes.
    """

    def decorate(body: Callable[..., int | None]) -> Callable[..., None]:
        hints = get_type_hints(body, include_extras=True)
        own = list(inspect.signature(body).parameters.values())[1:]  # the first is `cmd`
        fields: dict[str, str] = {}
        params: list[inspect.Parameter] = []
        for pname, field, annotation in _BOOK_PARAMS[book] if book else []:
            fields[pname] = field
            params.append(inspect.Parameter(pname, _KEYWORD, default=None, annotation=annotation))
        params += [p.replace(kind=_KEYWORD, annotation=hints[p.name]) for p in own]
        for option in options:
            pname, annotation, default = _COMMON_PARAMS[option]
            fields[pname] = option
            params.append(
                inspect.Parameter(pname, _KEYWORD, default=default, annotation=annotation)
            )

        @functools.wraps(body)
        def run(**kwargs: Any) -> int | None:
            cmd = Cmd(**{fields[k]: kwargs.pop(k) for k in list(kwargs) if k in fields})
            ui.configure(quiet=cmd.quiet, json_out=cmd.json)
            return body(cmd, **kwargs)

        wrapper = boundary(run)
        # typer reads the options from the signature and annotations: the command's own plus ours
        del wrapper.__wrapped__  # type: ignore[attr-defined]
        wrapper.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        app.command(name)(wrapper)
        return wrapper

    return decorate


def _hint(param: Any) -> str:
    opts = getattr(param, "opts", None) or []
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.human_readable_name)
    return "/".join(opts) if opts else str(getattr(param, "name", ""))


def usage_message(exc: click_errors.ClickException) -> str:
    """The parser's error as leadkit's one line (without the `leadkit: error: ` prefix)."""
    if isinstance(exc, OptionError):
        return exc.message
    if isinstance(exc, click_errors.BadParameter) and not isinstance(
        exc, click_errors.MissingParameter
    ):
        where = exc.param_hint if isinstance(exc.param_hint, str) else None
        if where is None and exc.param is not None:
            where = _hint(exc.param)
        # typer words a failed conversion "Value error, 'x' is not one of …"
        text = exc.message.rstrip(".").removeprefix("Value error, ")
        return f"{where}: {text}" if where else text
    text = exc.format_message().rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click_errors.UsageError) and ctx is not None:
        text += f" (see '{ctx.command_path} -h')"
    return text


class LeadkitGroup(TyperGroup):
    """The `leadkit` group: the parser's usage errors in leadkit's one-line format, not a box."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `leadkit`: the help, exit 2
                typer.echo(exc.format_message(), err=True)
            else:
                error_line(usage_message(exc))
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(status if isinstance(status, int) else 0)
