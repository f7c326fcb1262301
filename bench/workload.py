"""Workload "guided-complaint" (v1) as data: identities, texts, updates, the expected transcript.

Everything here is copied from ../shared/bench/WORKLOAD.md and deliberately NOT read from
the bench flow or its locale files: the transcript check compares what the bot said with
what the workload says it must say, so a wrong locale text makes `transcripts_ok` false.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

TOKEN = "123456789:AAHfakefakefakefakefakefakefakefak"
BOT_USER: JSON = {"id": 123456789, "is_bot": True, "first_name": "PeerBench", "username": "peerbench_bot"}
GET_ME: JSON = {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}
USER_BASE = 5000000000
DATE = 1735689600
FIRST_UPDATE_ID = 100000001
WARMUP_USERS = 20
STEPS = 5

# ---------------------------------------------------------------- §2.1 texts

WELCOME_TEXT = (
    "Welkom bij de klachtenwegwijzer. Ik help je in een paar stappen op weg met je klacht over "
    "jeugdbescherming of jeugdhulp. Wie ben jij?"
)
ORG_QUESTION = "Over welke organisatie gaat je klacht?"
DESCRIBE_QUESTION = "Beschrijf je klacht in één zin (10 tot 1000 tekens)."
INVALID_TEXT = "Je beschrijving moet tussen 10 en 1000 tekens lang zijn. Probeer het nog eens."
COMPLAINT_PREFIX = (
    "De gezinsvoogd reageert al weken niet op mijn berichten over de omgang met mijn twee "
    "kinderen; graag hulp"
)
CONFIRM_TEMPLATE = "Je bent: {}\nOrganisatie: {}\nJe klacht: \u201c{}\u201d\n\nKlopt dit?"
ROUTE_TEMPLATE = (
    "Jouw route voor een klacht over {org_label}:\n"
    "1. Bespreek je klacht eerst met de medewerker of diens leidinggevende.\n"
    "2. Kom je er samen niet uit? Dien dan een schriftelijke klacht in bij de klachtencommissie van "
    "{org_long}: wat gebeurde er, wanneer, en wat wil je bereiken?\n"
    "3. Ben je het niet eens met de afhandeling? Stap dan naar {escalation}.\n"
    "Jouw samenvatting ({role_label}): \u201c{text}\u201d\n"
    "Een vertrouwenspersoon helpt je gratis."
)
ROLE_LABEL = {"parent": "ouder / verzorger", "professional": "professional", "other": "iemand anders"}
ORGS = {
    "gi": ("Gecertificeerde instelling (GI)", "de gecertificeerde instelling",
           "de Nationale ombudsman of de Kinderombudsman"),
    "rvdk": ("Raad voor de Kinderbescherming", "de Raad voor de Kinderbescherming", "de Nationale ombudsman"),
    "gemeente": ("Gemeente", "je gemeente", "de Nationale ombudsman of de gemeentelijke ombudsman"),
    "jeugdhulp": ("Jeugdhulpaanbieder", "de jeugdhulpaanbieder", "de Geschillencommissie Jeugdhulp"),
}

# ---------------------------------------------------------------- §2.2 keyboards: rows of (label, data)

Keyboard = tuple[tuple[tuple[str, str], ...], ...]
ROLE_KB: Keyboard = (
    (("Ouder / verzorger", "role:parent"),),
    (("Professional", "role:professional"),),
    (("Iemand anders", "role:other"),),
)
ORG_KB: Keyboard = (
    (("Gecertificeerde instelling (GI)", "org:gi"),),
    (("Raad voor de Kinderbescherming", "org:rvdk"),),
    (("Gemeente", "org:gemeente"),),
    (("Jeugdhulpaanbieder", "org:jeugdhulp"),),
)
CONFIRM_KB: Keyboard = ((("Ja", "confirm:yes"), ("Nee", "confirm:no")),)


def complaint(i: int) -> str:
    return f"{COMPLAINT_PREFIX} (ref {i:08d})"


def confirm_text(i: int) -> str:
    return CONFIRM_TEMPLATE.format(ROLE_LABEL["parent"], ORGS["gi"][0], complaint(i))


def route_text(i: int) -> str:
    label, long, escalation = ORGS["gi"]
    return ROUTE_TEMPLATE.format(org_label=label, org_long=long, escalation=escalation,
                                 role_label=ROLE_LABEL["parent"], text=complaint(i))


#: One transcript entry: (method, text or None, keyboard or None).
Call = tuple[str, str | None, Keyboard | None]


def expected_transcript(i: int) -> list[Call]:
    """The 8 outbound calls of user i, in order (§2)."""
    return [
        ("sendMessage", WELCOME_TEXT, ROLE_KB),
        ("answerCallbackQuery", None, None),
        ("editMessageText", ORG_QUESTION, ORG_KB),
        ("answerCallbackQuery", None, None),
        ("editMessageText", DESCRIBE_QUESTION, None),
        ("sendMessage", confirm_text(i), CONFIRM_KB),
        ("answerCallbackQuery", None, None),
        ("sendMessage", route_text(i), None),
    ]


def keyboard_json(kb: Keyboard) -> JSON:
    return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in kb]}


# ---------------------------------------------------------------- §1 identities, §3 updates


def user(i: int) -> JSON:
    return {"id": USER_BASE + i, "is_bot": False, "first_name": "Gebruiker", "last_name": f"{i:08d}",
            "username": f"peer_user_{i}", "language_code": "nl"}


def chat(i: int) -> JSON:
    return {"id": USER_BASE + i, "first_name": "Gebruiker", "last_name": f"{i:08d}",
            "username": f"peer_user_{i}", "type": "private"}


def index_of(chat_id: int) -> int:
    return chat_id - USER_BASE


class Updates:
    """Builds the Update dicts of §3, keeping the global update and callback counters.

    `next_message_id` and `last_bot_message` are the per-chat arrays shared with the
    fake Bot API (the driver assigns user message ids, the fake the bot's).
    """

    def __init__(self, next_message_id: list[int], last_bot_message: list[int]) -> None:
        self.update_id = FIRST_UPDATE_ID
        self.callback = 1
        self.next_message_id = next_message_id
        self.last_bot_message = last_bot_message
        self._role_kb = keyboard_json(ROLE_KB)
        self._org_kb = keyboard_json(ORG_KB)
        self._confirm_kb = keyboard_json(CONFIRM_KB)

    def _next_update_id(self) -> int:
        value = self.update_id
        self.update_id += 1
        return value

    def _message(self, i: int, text: str, command: bool = False) -> JSON:
        message_id = self.next_message_id[i]
        self.next_message_id[i] = message_id + 1
        message: JSON = {"message_id": message_id, "from": user(i), "chat": chat(i), "date": DATE, "text": text}
        if command:
            message["entities"] = [{"offset": 0, "length": len(text), "type": "bot_command"}]
        return {"update_id": self._next_update_id(), "message": message}

    def _press(self, i: int, data: str, text: str, markup: JSON, edited: bool) -> JSON:
        shown: JSON = {"message_id": self.last_bot_message[i], "from": BOT_USER, "chat": chat(i), "date": DATE,
                       "text": text, "reply_markup": markup}
        if edited:
            shown["edit_date"] = DATE
        query: JSON = {"id": str(self.callback * 10**10 + i), "from": user(i), "message": shown,
                       "chat_instance": str(-(7 * 10**18 + i)), "data": data}
        self.callback += 1
        return {"update_id": self._next_update_id(), "callback_query": query}

    def step(self, k: int, i: int) -> JSON:
        """The update of step k (1..5) of user i."""
        if k == 1:
            return self._message(i, "/start", command=True)
        if k == 2:
            return self._press(i, "role:parent", WELCOME_TEXT, self._role_kb, edited=False)
        if k == 3:
            return self._press(i, "org:gi", ORG_QUESTION, self._org_kb, edited=True)
        if k == 4:
            return self._message(i, complaint(i))
        return self._press(i, "confirm:yes", confirm_text(i), self._confirm_kb, edited=False)
