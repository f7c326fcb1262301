"""Settings from the environment and a .env file, all prefixed WEGWIJZER_.

An adapter runs when its settings are present; with none, the console.
Secrets are SecretStr so they never appear in a repr, a log or an error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WEGWIJZER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db: Path | str = Field(default=Path("data/wegwijzer.sqlite3"),
                           description="SQLite database file, or a PostgreSQL URL (postgresql://...)")
    db_synchronous: str = Field(default="NORMAL", pattern="^(NORMAL|FULL)$",
                                description="SQLite durability: NORMAL survives a crash of the bot, FULL also a power cut")
    db_cache_kb: int = Field(default=256, ge=64, le=1_048_576,
                             description="SQLite's own page cache in KB; the operating system caches the file as well")
    flows_dir: Path = Field(default=ROOT / "flows", description="flow files and flows/directory/")
    locales_dir: Path = Field(default=ROOT / "locales", description="texts per language")
    default_lang: str = Field(default="nl", description="language for users whose app gives none we have")
    entry_flow: str = Field(default="main", description="flow a new conversation starts with")
    moderators: Annotated[list[str], NoDecode] = Field(  # NoDecode: comma-separated too, see _list_from_text
        default_factory=list, description="platform user ids allowed /reload and /stats, comma-separated "
                                          "(or a JSON list), e.g. telegram:123,matrix:@anna:example.org")
    watch_flows: bool = Field(default=True, description="reload flows, texts and directory when their files change")
    directory_max_age_days: int = Field(default=365, description="warn about directory entries checked longer ago")
    flood_per_minute: int = Field(default=30, description="messages one user may send per minute before being slowed down")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$",
                           description="how much the bot logs: DEBUG, INFO, WARNING, ERROR or CRITICAL "
                                       "(libraries stay at WARNING; never user text or secrets)")

    health_port: int | None = Field(default=None, ge=0, le=65535,
                                    description="port of /healthz, /readyz and /metrics (unset: off; 0: any free port)")
    health_host: str = Field(default="127.0.0.1", description="address the health and metrics server binds")

    telegram_token: SecretStr | None = Field(default=None, description="bot token from @BotFather")
    telegram_api_url: str = Field(default="https://api.telegram.org/bot",
                                  description="Bot API base URL (for a self-hosted Bot API server)")
    telegram_webhook_url: str | None = Field(default=None, description="public HTTPS URL; set to use webhook mode")
    telegram_webhook_secret: SecretStr | None = Field(default=None, validate_default=True,
                                                      description="secret_token Telegram sends back")
    telegram_webhook_listen: str = Field(default="127.0.0.1", description="address the webhook server binds")
    telegram_webhook_port: int = Field(default=8443, description="port the webhook server binds")
    telegram_rate_limit: bool = Field(default=True, description="apply Telegram's documented send limits")

    matrix_homeserver: str | None = Field(default=None, description="e.g. https://matrix.example.org")
    matrix_user: str | None = Field(default=None, description="e.g. @wegwijzer:example.org")
    matrix_password: SecretStr | None = Field(default=None, description="password (or use an access token)")
    matrix_access_token: SecretStr | None = Field(default=None, description="access token instead of a password")
    matrix_device_id: str | None = Field(default=None, description="device id that goes with the access token")
    matrix_store: Path | None = Field(default=None, description="where keys and sync token live (default: next to the DB)")

    # Safety desk, check-ins and privacy (bot/desk, bot/timers, bot/privacy, bot/crypto).
    desks: str = Field(default="", description="desk rooms for reports and hand-offs, comma-separated "
                                                "platform:room, e.g. telegram:-100123,matrix:!abc:example.org")
    desk_hours: str = Field(default="mon-fri 09:00-17:00",
                            description="when people staff the desk (Dutch time), e.g. 'mon-fri 09:00-17:00; "
                                        "sat 10:00-13:00', or 'always'")
    desk_holidays: str = Field(default="nl",
                               description="days the desk is closed: 'nl' (Dutch public holidays), 'none', "
                                           "or dates, e.g. 'nl,2026-12-24,2026-12-31'")
    desk_lang: str = Field(default="nl", description="language of the desk's cards and replies")
    encryption_keys: SecretStr | None = Field(
        default=None, description="Fernet keys for data at rest, comma-separated, the current key first "
                                  "(python -m bot new-key; see docs/KEY-ROTATION.md)")
    retention_days: int = Field(default=30, ge=1, description="delete conversations inactive this many days")
    relay_retention_days: int = Field(default=7, ge=1,
                                      description="delete talks with the desk (and closed requests) after this many days")

    @field_validator("moderators", mode="before")
    @classmethod
    def _list_from_text(cls, value: object) -> object:
        """Comma-separated like WEGWIJZER_DESKS, or a JSON list: people write both."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a JSON list ({exc.msg}); or write the ids comma-separated") from None
        return [part.strip() for part in value.split(",") if part.strip()]

    @field_validator("db", mode="before")
    @classmethod
    def _file_or_url(cls, value: object) -> object:
        """A PostgreSQL URL stays text (a Path would fold its `//`); anything else is a file."""
        if isinstance(value, str) and not value.startswith(("postgresql://", "postgres://")):
            return Path(value)
        return value

    @property
    def data_dir(self) -> Path:
        """Where files beside the database go (the Matrix store): the SQLite file's folder, or data/."""
        return self.db.parent if isinstance(self.db, Path) else Path("data")

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _one_secret_for_all_workers(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        """Webhook workers on one PostgreSQL each register the webhook: a secret of its own each would lock
        the others out (Telegram keeps only the last one)."""
        db, url = info.data.get("db"), info.data.get("telegram_webhook_url")
        if value is None and url and isinstance(db, str):
            raise ValueError("must be set when WEGWIJZER_DB is PostgreSQL and WEGWIJZER_TELEGRAM_WEBHOOK_URL is set "
                             "(every webhook worker registers the webhook, and all must check the same secret)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    def secrets(self) -> list[str]:
        """Every secret value set, for the log's redaction (bot/logs.py)."""
        found = [self.telegram_token, self.telegram_webhook_secret, self.matrix_password,
                 self.matrix_access_token, self.encryption_keys]
        values = [secret.get_secret_value() for secret in found if secret is not None]
        if isinstance(self.db, str) and (password := urlsplit(self.db).password):
            values.append(password)
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    @field_validator("desks")
    @classmethod
    def _desks_well_formed(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            platform, _, room = item.partition(":")
            if not platform or not room:
                raise ValueError(f"a desk is written platform:room (e.g. telegram:-100123), not {item!r}")
        return value

    @field_validator("desk_holidays")
    @classmethod
    def _desk_holidays_well_formed(cls, value: str) -> str:
        # Imported here so that importing the settings stays cheap: bot.desk's package loads the safety desk and the core.
        from bot.desk.hours import ClosedDays

        ClosedDays.parse(value)  # its DeskHoursInvalid is a ValueError: one line naming the variable
        return value

    def desk_rooms(self, platform: str | None = None) -> list[tuple[str, str]]:
        """The configured desks as (platform, room), optionally of one platform only."""
        rooms = []
        for item in filter(None, (part.strip() for part in self.desks.split(","))):
            name, _, room = item.partition(":")
            if platform is None or name == platform:
                rooms.append((name, room))
        return rooms

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_token is not None

    @property
    def matrix_enabled(self) -> bool:
        return bool(self.matrix_homeserver and self.matrix_user
                    and (self.matrix_password or self.matrix_access_token))


def describe_problem(exc: ValidationError | SettingsError) -> list[str]:
    """One line per wrong setting, naming its variable and what it expects (never the value: it may be a secret)."""
    if isinstance(exc, SettingsError):  # a value pydantic-settings could not even decode
        found = re.search(r'field "(\w+)"', str(exc))
        return [_problem_line(found.group(1) if found else "", "could not be read")]
    return [_problem_line(str(error["loc"][0]) if error["loc"] else "", str(error["msg"]).removeprefix("Value error, "))
            for error in exc.errors(include_input=False, include_url=False)]


def _problem_line(field: str, problem: str) -> str:
    name = f"WEGWIJZER_{field.upper()}" if field else "a WEGWIJZER_ setting"
    info = Settings.model_fields.get(field)
    return f"{name}: {problem}" + (f" (expected: {info.description})" if info and info.description else "")
