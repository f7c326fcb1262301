"""Events in, actions out: the contract between adapters, core and engine.

Everything here is a plain frozen dataclass with no behaviour and no platform
types, so the engine can be tested with function calls and every adapter maps
the same small vocabulary. Texts in actions are already rendered in the user's
language and are *plain text*: each adapter escapes them for its platform
(Telegram HTML, Matrix formatted_body), which is how every user-provided value
ends up escaped without the engine knowing any markup.

Never put a platform object (a PTB Update, a nio event) in here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Who a conversation is with: one per (platform, chat, user).

    Telegram private chats have chat == user; a Matrix DM room is the chat.
    """

    platform: str
    chat: str
    user: str

    def __str__(self) -> str:
        # \x1f (unit separator) cannot occur in Telegram or Matrix ids, ":" can.
        return f"{self.platform}\x1f{self.chat}\x1f{self.user}"

    @classmethod
    def parse(cls, value: str) -> ConversationKey:
        platform, chat, user = value.split("\x1f")
        return cls(platform, chat, user)


# ---------------------------------------------------------------- events in


@dataclass(frozen=True, slots=True)
class Text:
    """Free text the user typed (never logged)."""

    text: str


@dataclass(frozen=True, slots=True)
class Choice:
    """A button pressed: the choice id plus the token of the question it belongs to."""

    choice_id: str
    step_token: str


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command such as /start (args: the deep-link payload or the rest of the line)."""

    name: str
    args: str = ""


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A message the bot cannot read: photo, sticker, voice, file, location ..."""

    kind: str


@dataclass(frozen=True, slots=True)
class Timer:
    """A timer the core scheduled earlier has fired (e.g. a home-visit check-in).

    `values` are the flow's variables when the timer was set: the timer step
    still knows what the user shared if they started something else meanwhile
    (variables the conversation has now take precedence).
    """

    name: str
    values: tuple[tuple[str, Any], ...] = ()


Event: TypeAlias = Text | Choice | Command | Unsupported | Timer


# -------------------------------------------------------------- actions out


@dataclass(frozen=True, slots=True)
class ChoiceButton:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Document:
    """A generated document (letter, incident summary) sent as a file.

    `content` is plain UTF-8 text; adapters that cannot send files show it inline.
    """

    filename: str
    title: str
    content: str
    mime: str = "text/plain"
    #: one line under the file: what it is and what to do with it (Telegram's caption, Matrix's m.file body)
    caption: str = ""


@dataclass(frozen=True, slots=True)
class LinkPreview:
    """The one page a message is about, shown as a small card (Telegram); every other message shows none.

    Chosen in the flow (`preview:` on a step), never taken from the text: a source line is a
    reference, not an invitation to read.
    """

    url: str
    above: bool = False


@dataclass(frozen=True, slots=True)
class Send:
    """Show a message. `choices` make it a question; `token` identifies that question.

    `free_input` says the question waits for typed text (so adapters may add
    a hint such as "type your answer").
    """

    text: str
    choices: tuple[ChoiceButton, ...] = ()
    token: str = ""
    document: Document | None = None
    preview: LinkPreview | None = None


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the question the user just answered with this next question.

    Only emitted in reply to a Choice. Adapters that cannot edit (console,
    Matrix) show it as a new message; Telegram edits the message that held
    the pressed button, which removes its old keyboard.
    """

    text: str
    choices: tuple[ChoiceButton, ...] = ()
    token: str = ""
    preview: LinkPreview | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """A structured report for a safety desk (the user consented to send it)."""

    kind: str
    title: str
    fields: tuple[tuple[str, str], ...]
    urgency: Literal["low", "normal", "high"] = "normal"
    document: Document | None = None


@dataclass(frozen=True, slots=True)
class Forward:
    """Deliver a report to the configured safety desk(s). Handled by the core."""

    report: Report


@dataclass(frozen=True, slots=True)
class ForgetUser:
    """Delete everything stored about this user. Handled by the core."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """Ask the core to fire Timer(name) for this conversation at `at` (ISO datetime, UTC)."""

    name: str
    at: str


@dataclass(frozen=True, slots=True)
class CancelTimers:
    """Cancel this conversation's pending timers."""


@dataclass(frozen=True, slots=True)
class ExportData:
    """Send the user a document with everything stored about them. Handled by the core.

    `short`: what is stored said in the chat instead, briefly, with a button for the whole document;
    the answer to "wat weten jullie van mij?", which asks for their own data, not the privacy text.
    """

    short: bool = False


@dataclass(frozen=True, slots=True)
class HandOff:
    """The user asks for a person; the core opens a relay request at the desk."""

    urgent: bool = False


Action: TypeAlias = (
    Send | Edit | Forward | ForgetUser | ExportData | Schedule | CancelTimers | HandOff
)

#: Actions an adapter receives; the rest are carried out by the core itself.
OUTBOUND: tuple[type, ...] = (Send, Edit)


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update as the core receives it from an adapter.

    update_id: a platform-unique id ("tg:123", "mx:$event") used to handle an
    update at most once; reply_to: an opaque adapter value handed back on
    delivery (e.g. the Telegram message whose button was pressed);
    cursor: (name, value) the adapter wants stored in the same transaction
    (e.g. the Telegram polling offset); flood_checked: the adapter applied the
    flood limit when the update arrived (Telegram polling), so the core does not
    count it again.
    """

    key: ConversationKey
    event: Event
    update_id: str | None = None
    lang_hint: str | None = None
    reply_to: object | None = None
    cursor: tuple[str, str] | None = None
    extra: dict[str, str] = field(default_factory=dict)
    flood_checked: bool = False
