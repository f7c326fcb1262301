"""The one markup of locale texts, and what it becomes on each platform.

Two line rules, and nothing else (docs/FLOWS.md, "Bold headings and lists"):

- a line that is `**Kop**` and nothing more is a short bold heading;
- a line starting with `- ` is an item of a list.

Telegram gets HTML (`<b>`, and "• " lines: its HTML has no lists), Matrix gets
`formatted_body` HTML with a real `<ul>`, and the console, Matrix's `body` and
every length rule get the plain text (the heading without its stars, "• " items).
No other character means anything: `*`, `_`, `#` and a typed `<b>` are shown as
they are.

What this module must never do: let text become a tag. Each line is
HTML-escaped first and our own tags are put around the escaped text after, so
whatever a user typed, and every value interpolated into a text, arrives as
text. (A user who types a whole line `**x**` or `- x` gets it shown as a heading
or an item: their own words, never markup they did not see.)

Why line rules of our own and not a Markdown parser (markdown-it-py): Markdown
would read much more into today's texts (`*`, `_`, `1.` lines, `#`, joined
lines in a paragraph, `[...](...)`), and Telegram's HTML subset and the plain
text would still need renderers of their own; two rules are a few lines here,
and `check` can say exactly which line breaks them (`problems`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from typing import Literal

#: What a list item shows in front of it where there is no real list (Telegram, plain text).
BULLET = "\u2022"
#: A heading longer than this is a sentence in bold, not a heading: `check` warns.
HEADING_MAX = 60

_HEADING = re.compile(r"\*\*([^*\s](?:[^*]*[^*\s])?)\*\*")
_ITEM = "- "
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.S)
_TEMPLATE_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
#: Tags of HTML elements someone may paste or type for formatting; "<hard>" or "<naam>" are words.
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|blockquote|br|code|del|div|em|font|h[1-6]|hr|i|iframe|img|ins|li|mark|ol|p|pre|s|"
    r"script|small|span|strong|style|sub|sup|table|td|th|tr|u|ul)(?:\s[^<>]*)?/?>", re.I)

Kind = Literal["text", "heading", "item"]


def lines(text: str) -> Iterator[tuple[Kind, str]]:
    """Each line of `text` with what it is; the text is without its markup."""
    for line in text.replace("\r\n", "\n").split("\n"):
        heading = _HEADING.fullmatch(line.rstrip())
        if heading is not None:
            yield "heading", heading.group(1)
        elif line.startswith(_ITEM):
            yield "item", line[len(_ITEM):]
        else:
            yield "text", line


def without_tags(text: str) -> str:
    """A letter without HTML tags someone typed ("<b>Anna</b>" is "Anna"): a letter is read on
    paper or in Word, where a tag is neither formatting nor safe-looking, only noise. The words
    between the tags stay, and so does what is no HTML ("a < b", "<3", "<hard>")."""
    return _HTML_TAG.sub(lambda m: " " if m.group()[1:3].lower() == "br" else "", text) if "<" in text else text


#: An HTML character reference: "&amp;", "&nbsp;", "&#233;", "&#x27;"
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_ZWJ = "\u200d"
_SPACE_RUN = re.compile(r"[ \t]{2,}")


def cleaned(text: str) -> str:
    """A typed answer as it goes into a letter or a public text: the words, without what was pasted along.

    Why: text pasted from Word or a web page carries invisible characters (zero-width spaces, soft
    hyphens, direction marks: Unicode category Cf) that split a worker's name so the name check
    missed it ("M\u200barieke d\u200be V\u200bries", try-out 37), and HTML ("<b>jeugdbescherming</b>
    &amp; ...<br>") that went into the formal e-mail as typed. So: the tags go (their words stay), a
    character reference becomes its character, the format characters go, and NFKC makes look-alike
    forms (full-width letters, ligatures, a no-break space) the plain ones. A joiner inside an emoji
    ("👨\u200d👩\u200d👧") stays: emoji are the person's own.
    """
    typed = text
    if "<" in text:
        text = without_tags(text)
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    if any(unicodedata.category(c) == "Cf" for c in text):
        text = "".join(c for i, c in enumerate(text) if unicodedata.category(c) != "Cf" or _in_emoji(text, i))
    text = unicodedata.normalize("NFKC", text)
    return text if text == typed else _SPACE_RUN.sub(" ", text).strip()


def _in_emoji(text: str, i: int) -> bool:
    """A zero-width joiner or tag character between symbols (an emoji sequence), not inside a word."""
    before = text[i - 1] if i else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if text[i] == _ZWJ:
        return bool(before and after) and not before.isalnum() and not after.isalnum()
    return "\U000e0020" <= text[i] <= "\U000e007f" and bool(before) and not before.isalnum()


def tags_blanked(text: str) -> str:
    """The text with each HTML tag replaced by as many spaces: what a reader of its words sees,
    so "<b>Ouders</b> wachten" still starts a sentence with "Ouders" (bot.personal)."""
    return _HTML_TAG.sub(lambda m: " " * len(m.group()), text) if "<" in text else text


def plain(text: str) -> str:
    """What a person reads where there is no HTML: headings without stars, items with a bullet."""
    if "**" not in text and _ITEM not in text:
        return text
    return "\n".join(f"{BULLET} {line}" if kind == "item" else line for kind, line in lines(text))


def telegram_html(text: str) -> str:
    """Telegram's HTML parse mode: escaped lines, `<b>` headings, "• " items."""
    if "**" not in text and not text.startswith(_ITEM) and "\n" + _ITEM not in text:
        return html.escape(text.replace("\r\n", "\n"), quote=False)  # no heading, no item: most replies
    out: list[str] = []
    for kind, line in lines(text):
        shown = html.escape(line, quote=False)
        out.append(f"<b>{shown}</b>" if kind == "heading" else f"{BULLET} {shown}" if kind == "item" else shown)
    return "\n".join(out)


def matrix_html(text: str) -> str:
    """Matrix `formatted_body`: escaped lines joined by `<br>`, `<strong>` headings, items in a `<ul>`."""
    out: list[str] = []
    in_list = after_block = False
    for index, (kind, line) in enumerate(lines(text)):
        shown = html.escape(line, quote=True)
        if kind == "item":
            out.append(f"{'' if in_list else '<ul>'}<li>{shown}</li>")
            in_list = True
            continue
        if in_list:
            out.append("</ul>")
            in_list, after_block = False, True
        elif index and not after_block:
            out.append("<br>")
        else:
            after_block = False
        out.append(f"<strong>{shown}</strong>" if kind == "heading" else shown)
    if in_list:
        out.append("</ul>")
    return "".join(out)


def problems(source: str) -> list[tuple[str, str]]:
    """Where a locale text breaks the markup rule: (what is wrong, how to fix it), for `check`.

    Placeholders and template tags are left out first: what a value holds is not the moderator's markup.
    """
    found: list[tuple[str, str]] = []
    for line in _PLACEHOLDER.sub("x", _TEMPLATE_TAG.sub("", source)).split("\n"):
        stripped = line.strip()
        heading = _HEADING.fullmatch(stripped)
        if heading is not None and len(heading.group(1)) > HEADING_MAX:
            found.append((f"the heading `{stripped[:40]}...` is longer than {HEADING_MAX} characters",
                          "keep a heading to a few words, or write the sentence without `**`"))
        elif heading is None and "**" in stripped:
            found.append((f"`**` in `{stripped[:60]}` is not a heading line",
                          "bold is only for a short heading on a line of its own: `**Kop**`"))
        if stripped.startswith(BULLET):
            found.append((f"the line `{stripped[:40]}` starts with `{BULLET}`",
                          "start a list line with `- ` (every platform shows it as a list)"))
        tag = _TAG.search(line)
        if tag is not None:
            found.append((f"`{tag.group(0)}` is HTML, which is shown as typed, not as formatting",
                          "use `**Kop**` for a heading and `- ` for a list line; nothing else"))
    return found
