"""The workspace: `leadkit.yaml`, its book, its rules and its private `.leadkit/` folder."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, field_validator

from leadkit.errors import UsageError
from leadkit.files import replacing
from leadkit.order import RUN_STEPS
from leadkit.rules.base import Strict, default_rules_dir, load_yaml_model
from leadkit.rules.loader import Rules

CONFIG_NAME = "leadkit.yaml"


def env_secret(name: str, encoding: str = "utf-8", why: str = "") -> str | None:
    """A secret from the environment, refused (exit 2, naming the variable) if not sendable."""
    value = os.environ.get(name)
    if value is None:
        return None
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        # Never the character itself: it is part of a secret.
        bad = "bytes that are not text" if any(0xDC80 <= ord(c) <= 0xDCFF for c in value) else (
            f"characters that are not {encoding.upper()}"
        )  # fmt: skip
        raise UsageError(
            f"environment variable {name} holds {bad}"
            + (f" ({why})" if why else "")
            + "; set it again with plain characters (e.g. the provider's app password)"
        ) from None
    return value


# The notify: section; leadkit.notify sends with it (kept here, so reading leadkit.yaml does not
# import SMTP, TLS and HTTP clients).
class EmailConfig(Strict):
    host: str
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    password_env: str = "LEADKIT_SMTP_PASSWORD"
    sender: str
    manager: str | None = None  # gets the digest, and a copy of escalated reminders
    timeout: float = Field(default=20, gt=0)

    def password(self) -> str | None:
        """The SMTP password, from the environment variable the settings name."""
        # smtplib logs in (PLAIN, LOGIN, CRAM-MD5) with ASCII only; anything else would be a
        # traceback in the middle of sending.
        return env_secret(self.password_env, "ascii", "SMTP login sends ASCII only")


class WebhookConfig(Strict):
    kind: Literal["wecom", "dingtalk", "feishu", "slack", "generic"]
    url: str
    secret_env: str | None = None  # DingTalk / Feishu signing secret, from the environment
    name: str | None = None
    # Posts a minute this robot takes; the service's documented limit when left out (notify.RATES)
    per_minute: float | None = Field(default=None, gt=0)


class NotifyConfig(Strict):
    """The `notify:` section of leadkit.yaml."""

    email: EmailConfig | None = None
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    # A rep's most urgent items shown in a chat message per run (the rest go with the next run);
    # at 20 posts a minute, 30 reps × hundreds of lines would take the robot an hour to post
    chat_items_per_rep: int = Field(default=10, ge=1)
    # The longest one run spends posting to the robots (waits for a robot's rate and retries
    # included); what is not sent by then goes with the next run. Cron every few minutes wants less.
    budget_seconds: float = Field(default=120, gt=0)


class LimitsConfig(Strict):
    """The `limits:` section: the largest input leadkit parses (leadkit.bookio.limits checks first).

    The defaults are far past any real lead sheet and well below what exhausts memory.
    """

    unpacked_mb: float = Field(default=200, gt=0)  # a package unpacked; a CSV or .xls as is
    # the lead book itself grows with the team's use (100k leads with 500k follow-ups unpack to
    # ~221 MB), so it has its own, larger cap; its rows, columns and cells are checked as above
    book_unpacked_mb: float = Field(default=4000, gt=0)
    rows: int = Field(default=1_048_576, ge=2)  # Excel's own row limit
    columns: int = Field(default=500, ge=2, le=16_384)
    # rows × columns up to the last cell: the reader holds that grid in memory
    cells: int = Field(default=25_000_000, ge=4)
    # characters in one cell; past Excel's 32,767 a cell is split into continuation columns
    cell_chars: int = Field(default=1_000_000, ge=100)


Channels = Literal["email", "webhook", "both"]


class AssignStep(Strict):
    by: Literal["region", "industry", "grade", "round-robin", "load", "rules"] = "round-robin"


class DueStep(Strict):
    notify: Channels | None = None  # send the reminders, as `due --notify`
    out: str | None = None  # also write the to-do list to this .xlsx


class ReportStep(Strict):
    period: Literal["week", "month", "quarter", "year"] = "month"
    out: str | None = None  # .xlsx, .html or .md
    notify: Channels | None = None  # to the manager, as `report --notify`
    rfm: bool = False  # as `report --rfm`


class PipelineConfig(Strict):
    """The `pipeline:` section: what `leadkit run` does without --steps, and each step's options."""

    steps: list[Literal[RUN_STEPS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["import", "dedupe", "score", "assign", "recycle"]
    )
    assign: AssignStep = Field(default_factory=AssignStep)
    due: DueStep = Field(default_factory=DueStep)
    report: ReportStep = Field(default_factory=ReportStep)


class InboxConfig(Strict):
    """The `inbox:` block (or just `inbox: FOLDER`): the folder `run` imports every file from."""

    folder: str = "inbox"
    # files whose name matches one of these patterns (fnmatch, case-insensitive) are behaviour
    # events, as `import --events`; others are events when their columns say so (a time, an
    # event and a phone/e-mail/lead ID, no company), else leads
    events_glob: list[str] = Field(default_factory=list)

    @field_validator("events_glob", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def is_events(self, name: str) -> bool:
        """Whether the naming rule makes the file `name` an events file."""
        return any(fnmatch.fnmatch(name.lower(), g.lower()) for g in self.events_glob)


class WorkspaceConfig(Strict):
    """`leadkit.yaml`."""

    book: str = "leads.xlsx"
    rules: str = "rules"
    lang: Literal["zh", "en"] = "zh"
    timezone: str = "Asia/Shanghai"
    id_prefix: str = Field(default="LX", pattern=r"^[A-Za-z]{1,8}$")
    backups: int = Field(default=20, ge=1, le=1000)
    notify: NotifyConfig | None = None
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    # a folder (relative to the workspace) `run` imports every lead and events file from
    inbox: InboxConfig | None = None
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)

    @field_validator("inbox", mode="before")
    @classmethod
    def _folder_only(cls, value: Any) -> Any:
        return {"folder": value} if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value


def needed_env(config: WorkspaceConfig) -> list[str]:
    """The environment variables the settings name (secrets kept out of leadkit.yaml), in order."""
    names: list[str] = []
    notify = config.notify
    if notify is not None:
        if notify.email is not None and notify.email.user is not None:
            names.append(notify.email.password_env)
        names += [w.secret_env for w in notify.webhooks if w.secret_env]
    return list(dict.fromkeys(names))


@dataclass
class Workspace:
    """Where a command runs: a folder with `leadkit.yaml`, or the packaged defaults."""

    root: Path
    config: WorkspaceConfig
    has_config: bool

    @property
    def rules_dir(self) -> Path:
        own = self.root / self.config.rules
        return own if self.has_config and own.is_dir() else default_rules_dir()

    @property
    def inbox_dir(self) -> Path | None:
        return self.root / self.config.inbox.folder if self.config.inbox else None

    @property
    def state_dir(self) -> Path:
        return self.root / ".leadkit"

    def rules(self) -> Rules:
        return Rules(self.rules_dir)

    def read_state(self, name: str) -> dict[str, Any]:
        """A small JSON state file of the workspace (e.g. the routing rotation); {} if none yet."""
        path = self.state_dir / f"{name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"{path}: unreadable state file ({exc}); delete it to start afresh"
            ) from None
        return data if isinstance(data, dict) else {}

    def write_state(self, name: str, data: dict[str, Any]) -> None:
        """Write a state file atomically (temp file + rename)."""
        with replacing(self.state_dir / f"{name}.json") as tmp:
            tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    def book_path(self, override: Path | None = None) -> Path:
        """The book a command works on: the argument if given, else the configured one."""
        if override is not None:
            return override
        return self.root / self.config.book


def find_workspace(start: Path | None = None) -> Workspace:
    """The workspace of `start` (default: the current folder) or the first parent with one."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        cfg = folder / CONFIG_NAME
        if cfg.is_file():
            return Workspace(folder, load_yaml_model(cfg, WorkspaceConfig), True)
    return Workspace(here, WorkspaceConfig(), False)


def init_workspace(folder: Path, lang: str = "zh") -> Workspace:
    """Create `leadkit.yaml` and a copy of the default rules; the caller writes the empty book."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg_path = folder / CONFIG_NAME
    if cfg_path.exists():
        raise UsageError(f"{cfg_path} already exists; this folder is a workspace already")
    config = WorkspaceConfig(lang=lang)  # type: ignore[arg-type]
    rules = folder / config.rules
    if not rules.exists():
        shutil.copytree(default_rules_dir(), rules)
    cfg_path.write_text(
        "# leadkit workspace settings (see README, 'Workspace')\n"
        + yaml.safe_dump(config.model_dump(), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return Workspace(folder.resolve(), config, True)
