"""Answers to a flow's questions: a choice, and a typed answer read per `ask` type.

Each type has its own reader (text, number, yes/no, date, municipality). A date and an
unsure municipality are asked back first as system questions ("Ik lees: ... Klopt dat?",
"Bedoel je ...?"); only what the user confirmed is saved.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import assert_never

from bot.dates import (
    MONTH_NAMES,
    WEEKDAY_NUMBERS,
    date_said_in,
    day_unknown,
    format_month,
    listed_dates,
    named_weekday,
    names_week,
    no_such_day,
    read_dates,
    read_month,
)
from bot.engine.protect import ProtectsText
from bot.engine.system import DATE_KIND, WEEK_UNKNOWN, SystemQuestion
from bot.engine.validation import RULES
from bot.engine.words import DONT_KNOW, NO, YES, normalise
from bot.events import Send
from bot.expressions import NOT_KNOWN
from bot.flows.steps import AskStep, ChooseStep
from bot.markup import cleaned
from bot.telephone import read_phone, refuses_phone

#: "nog niet", "no not yet, its sunday" at "Weet je leidinggevende het al?": a no, with a reason after it
_NOT_YET = re.compile(r"^(?:(?:no|nope|nee|neen)[\s,.;:!]+)?(?:not yet|nog niet)(?:$|[\s,.;:!])")
#: "nee, 11 maart" / "no: 11 March" at "Klopt dat?": a no, then the date meant
_NO_AND_DATE = re.compile(r"^(\S+?)[\s,;:.!-]+(\S.*)$")


def text_bounds(step: AskStep) -> tuple[int, int]:
    """Shortest and longest free-text answer a question takes (`AskStep.text_bounds`)."""
    return step.text_bounds


def _shown_number(value: float | None) -> float | int | None:
    """A bound as users read it: 120, not 120.0 (YAML `max: 120` arrives as a float)."""
    return int(value) if value is not None and float(value).is_integer() else value


def read_number(text: str) -> float | int | None:
    """A typed number ("12", "2,5"), as an int when it is whole; None when it is none."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    if not math.isfinite(value):  # float() also reads "nan" and "inf"
        return None
    return int(value) if value.is_integer() else value


class Answers(ProtectsText):
    def choose(self, step: ChooseStep, option_id: str, via_button: bool = False, typed: str | None = None) -> None:
        assert self.state is not None
        option = next(o for o in step.options if o.id == option_id)
        self.mark_read(step, option)
        self.remember()
        self.state.vars.update({**option.set, **self.typed_kept(step, typed)})
        self.state.fails = 0
        self.goto(self.state.flow, option.next)
        self.run(replace_question=via_button)

    def answer(self, step: AskStep, raw: str) -> None:
        """A typed answer to an `ask` step, read as its `type` says."""
        text = raw.strip()
        match step.type:
            case "text":
                self.answer_text(step, text)
            case "number":
                self.answer_number(step, text)
            case "yesno":
                self.answer_yesno(step, text)
            case "date":
                self.answer_date(step, text)
            case "municipality":
                self.answer_municipality(step, text)
            case "phone":
                self.answer_phone(step, text)
            case _:
                assert_never(step.type)

    def answer_text(self, step: AskStep, text: str) -> None:
        before = self.typed_before(step)
        if before is not None and self.takes_typed_before(text):
            text = self.story_in_bounds(step, before)  # the button typed (a numbered list on Matrix), or a yes
        text = cleaned(text)  # pasted HTML and invisible characters out, before any check reads it
        low, high = text_bounds(step)
        if step.protect == "public" and self.public_button(step, text):
            return
        if self.refused(step, text, before_length=True):
            return
        if not low <= len(text) <= high:
            self.fail(step.invalid or "sys.invalid.text", min=low, max=high, got=len(text))
        elif not self.refused(step, text, before_length=False) and not (step.protect and self.protect(step, text)):
            self.accept(step, text)

    def refused(self, step: AskStep, text: str, *, before_length: bool) -> bool:
        """The question's named rules (bot/engine/validation.py) judged at this point; True when one
        refused the text and said why ("weet ik niet" would have been the letter's content)."""
        for name in step.answer_rules:
            rule = RULES[name]
            if rule.before_length != before_length or (key := rule.judge(text)) is None:
                continue
            match rule.then:
                case "again":
                    self.fail(key)
                case "ask":
                    self.ask_if_meant(step, text, key)
                case _:
                    assert_never(rule.then)
            return True
        return False

    def takes_typed_before(self, text: str) -> bool:
        """A typed answer to "use what you wrote before?" (its number and label are read as the button's
        press before this, builder.on_answer_text): the label, a yes ("ja",
        "ja graag"), or a yes that says to use it ("ja, gebruik mijn eerste bericht"). A story never
        starts so and stays that short, and the letter once read "ja, gebruik mijn eerste bericht"."""
        said = normalise(text)
        label = normalise(self.text("sys.typed_before.use"))
        tokens = re.findall(r"\w+", said)
        words = {normalise(w) for w in self.text("sys.typed_before.use_words").split(",")}
        return (said == label or " ".join(tokens) in YES
                or (len(said) <= 60 and bool(tokens) and tokens[0] in YES and bool(words & set(tokens))))

    def answer_number(self, step: AskStep, text: str) -> None:
        value = read_number(text)
        # a flow's own `invalid` text may name the bounds whatever went wrong ("tussen 5 en 480")
        bounds = {"min": _shown_number(step.min), "max": _shown_number(step.max)}
        if value is None:
            self.fail(step.invalid or "sys.invalid.number", **bounds)
        elif (step.min is not None and value < step.min) or (step.max is not None and value > step.max):
            key = ("sys.invalid.number_range" if step.min is not None and step.max is not None
                   else "sys.invalid.number_min" if step.min is not None else "sys.invalid.number_max")
            self.fail(step.invalid or key, **bounds)
        else:
            self.accept(step, value)

    def answer_yesno(self, step: AskStep, text: str) -> None:
        word = normalise(text)
        if word in YES:  # "1" and "2" are the buttons' numbers, read as their press (builder.on_answer_text)
            self.accept(step, True)
        elif word in NO or _NOT_YET.match(word):  # "no not yet, its sunday" is a no
            self.accept(step, False)
        else:
            self.fail(step.invalid or "sys.invalid.yesno")

    def answer_phone(self, step: AskStep, text: str) -> None:
        """A real phone number, saved as a desk dials it; "bel me niet" is saved as no number (None),
        so the flow can say plainly that this person is not to be called; anything else is asked again."""
        number = read_phone(text)
        if number is not None:
            self.accept(step, number)
        elif refuses_phone(text):  # the button's number and label typed: read as its press (builder.on_answer_text)
            self.accept(step, None)
        else:
            self.fail(step.invalid or "sys.invalid.phone")

    def answer_typed_option(self, step: ChooseStep, raw: str) -> bool:
        """Typed instead of pressing the option marked `typed`: its question's answer, when it reads as one.

        A threatened worker typed their phone number at "how may the desk reach you? [chat] [phone]",
        a parent "commissie zorg 14 januari" at "do you know the meeting? [yes] [no]", and were told to
        press a button first. The option is chosen and the text answers its question, read and checked
        as if typed there; a text that is no such answer ("weet ik niet") still asks for a button.
        """
        assert self.state is not None
        option = next((o for o in self.offered(step) if o.typed), None)
        target = self.fs.step(self.state.flow, option.next) if option is not None else None
        text = raw.strip()
        if option is None or not isinstance(target, AskStep) or not self.reads_as_answer(target, text):
            return False
        self.remember()
        self.state.vars.update(option.set)
        self.state.fails = 0
        self.goto(self.state.flow, option.next)
        self.answer(target, text)
        return True

    def reads_as_answer(self, step: AskStep, text: str) -> bool:
        """Is this text plainly an answer to the question, typed before it was asked?"""
        match step.type:
            case "phone":
                return read_phone(text) is not None
            case "text":
                low, high = text_bounds(step)
                said = normalise(text)
                return (low <= len(text) <= high and not text.endswith("?")
                        and said not in YES and said not in NO and said not in NOT_KNOWN)
            case "date":  # a month of more words ("volgende maand") too, not a no ("nee, pas in maart"): its day is asked
                today, words = self.ctx.today, text.split()
                return bool(read_dates(text, today, self.lang, step.when) or listed_dates(text, today, self.lang, step.when)
                            or (len(words) > 1 and normalise(words[0]) not in NO and read_month(text, today, step.when)))
            case "number":
                return read_number(text) is not None
            case "yesno" | "municipality":
                return False  # a yes is a button's; a town's name needs the did-you-mean question first
            case _:
                assert_never(step.type)

    def answer_date(self, step: AskStep, text: str) -> None:
        """A date is used only after the user saw it in words (docs/FLOWS.md, "Dates").

        One reading: "Ik lees: vrijdag 9 oktober 2026. Klopt dat?" with Ja/Nee. Two readings of
        an ambiguous number (English "09/10/2026"): one button per reading. A date without a
        year is read on the side of today the question asks for (on 5 January "28-12" is last
        December's); only a date that cannot be meant (typed with its year, or "morgen" where
        the past is asked) is refused, saying which date was read. A weekday that does not
        match the date ("woensdag 3 november" on a Tuesday) is asked about: which of the two.
        """
        assert self.state is not None
        today = self.ctx.today
        read = read_dates(text, today, self.lang, step.when)
        listed = [] if read else listed_dates(text, today, self.lang, step.when)  # "vrijdag en zaterdag": which one
        read = read or listed
        said = None if read else date_said_in(text, today, self.lang, step.when)
        if said is not None:  # "afgelopen dinsdag heb ik weer gebeld en niks": the date in it, read back as always
            text, read = said, read_dates(said, today, self.lang, step.when)
        if not read:
            month = read_month(text, today, step.when)
            detector = self.fs.crisis
            if month is not None:  # "vorige maand": a month, and the bot needs the day
                self.fail("sys.invalid.date_month",
                          read=format_month(month, self.lang, self.fs.locales.month_names(self.lang)))
            elif (missing := no_such_day(text, today)) is not None:  # "31-09-2026": read, but no such day
                day, number, days = missing
                names = self.fs.locales.month_names(self.lang) or MONTH_NAMES.get(self.lang, MONTH_NAMES["en"])
                self.fail("sys.invalid.date_no_such_day", read=f"{day} {names[number - 1]}", name=names[number - 1], max=days)
            elif day_unknown(text) or (detector is not None and detector.only_an_answer(text)):  # "ik weet het niet meer"
                self.fail(step.invalid or "sys.invalid.date_unknown")
            else:
                self.fail(step.invalid or "sys.invalid.date")
            return
        fitting = [d for d in read if not ((step.when == "past" and d > today)
                                           or (step.when == "future" and d < today))]
        kind = "week" if names_week(text) else "days" if listed else ""
        if not fitting:
            self.wrong_side(step, read, kind)
            return
        typed_day = named_weekday(text)
        if typed_day is not None and len(fitting) == 1 and fitting[0].weekday() != typed_day:
            # the day of the typed weekday in the same week (weeks start on Monday)
            other = fitting[0] + timedelta(days=typed_day - fitting[0].weekday())
            fitting = [d for d in (fitting[0], other) if not ((step.when == "past" and d > today)
                                                               or (step.when == "future" and d < today))]
            kind = "weekday"
            if len(fitting) == 1:  # the typed weekday's day lies on the wrong side: say so, then echo
                self.say_key("sys.date.weekday_differs", typed=self.weekday_names(full=True)[typed_day],
                             read=self.written_date(fitting[0]))
        elif step.confirm is False and said is None and len(fitting) == 1 and fitting == read_dates(text, today, self.lang):
            # (a year moved to fit the question is always shown: the person did not type it)
            self.accept(step, fitting[0].isoformat())
            return
        self.state.offer = [d.isoformat() for d in fitting]
        self.state.pending = SystemQuestion.DATE
        self.state.vars[DATE_KIND] = kind
        self.state.fails = 0
        self.out.append(self.date_question())

    def on_date_choice(self, step: AskStep, choice_id: str) -> None:
        assert self.state is not None
        offer = self.state.offer
        if choice_id == "yes" and len(offer) == 1:
            self.accept(step, offer[0])
        elif choice_id.startswith("d") and choice_id[1:].isdigit() and int(choice_id[1:]) < len(offer):
            self.accept(step, offer[int(choice_id[1:])])
        elif choice_id == WEEK_UNKNOWN:  # "weet ik niet" at a week's days: its first day, said in words
            self.day_not_known(step)
        elif choice_id == "no":  # read wrong: ask the date again
            self.state.offer, self.state.pending = [], None
            self.state.vars.pop(DATE_KIND, None)
            self.reshow()
        else:
            self.stale()

    def on_date_text(self, raw: str) -> None:
        """Typed at the date question: yes/no or a reading, else a corrected date ("nee, 11 maart"
        too), else ask again."""
        assert self.state is not None
        text = normalise(raw)
        pairs = self.date_buttons()
        picked = None
        correction = raw.strip()
        if self.state.vars.get(DATE_KIND) == "week" and day_unknown(raw):  # "weet ik niet welke dag": that button
            self.day_not_known(self.current(AskStep))
            return
        if text in YES or text in NO or text in DONT_KNOW:  # "weet ik niet" at "Klopt dat?": not sure, ask again
            picked = ("yes" if len(self.state.offer) == 1 else None) if text in YES else "no"
        elif text.isdigit():
            index = int(text) - 1
            picked = pairs[index][0] if 0 <= index < len(pairs) else None
        elif self.state.vars.get(DATE_KIND) == "week" and (day := self.weekday_typed(text)) is not None:
            picked = next((cid for cid, iso in zip((c for c, _ in pairs[:len(self.state.offer)]), self.state.offer, strict=True)
                           if date.fromisoformat(iso).weekday() == day), None)
        else:
            picked = next((cid for cid, label in pairs if normalise(label) == text), None)
            if picked is None and (m := _NO_AND_DATE.match(raw.strip())) and normalise(m.group(1)) in NO:
                correction = m.group(2)  # "nee, 11 maart": no, and the right date
        step = self.current(AskStep)
        if picked is not None:
            self.on_date_choice(step, picked)
        elif read_dates(correction, self.ctx.today, self.lang, step.when) or read_month(correction, self.ctx.today) \
                or listed_dates(correction, self.ctx.today, self.lang, step.when) \
                or date_said_in(correction, self.ctx.today, self.lang, step.when):  # "de zitting is over drie weken"
            self.state.offer, self.state.pending = [], None  # a correction: read it and echo it again
            self.answer_date(step, correction)
        else:
            self.say_key("sys.invalid.choice")
            self.out.append(self.date_question())

    def weekday_typed(self, text: str) -> int | None:
        """The day of the week a typed word names ("dinsdag", "di", "tuesday"), Monday 0; else None."""
        short = [normalise(name) for name in self.weekday_names()]
        return WEEKDAY_NUMBERS.get(text, short.index(text) if text in short else None)

    def answer_municipality(self, step: AskStep, text: str) -> None:
        assert self.state is not None
        matcher = self.fs.municipalities
        if matcher is None:
            self.accept(step, text[:80])
            return
        found = matcher.match(text)
        if found.kind in ("exact", "alias") and found.name:
            if found.note_key:
                self.say_key(found.note_key, name=found.name, typed=found.typed)
            self.accept(step, found.name)
            return
        candidates = list(found.candidates)[:5]
        if not candidates:
            # "hoelang mag ik praten?" is no town: say why the town comes first (try-out 2026-12-07)
            asked = text.strip().endswith("?") and self.fs.locales.has(self.lang, "sys.invalid.municipality_question")
            self.fail(step.invalid or ("sys.invalid.municipality_question" if asked else "sys.invalid.municipality"))
            return
        self.state.offer = candidates
        self.state.pending = SystemQuestion.PICK
        if found.split_note:  # "Haaren was split in 2021 ...": why we ask, before the question
            self.out.append(Send(found.split_note.get(self.lang) or next(iter(found.split_note.values()))))
        if found.split_note:  # the note named the parts: not "more municipalities have this name"
            key = "sys.municipality_split"
        elif found.kind != "ambiguous":
            key = "sys.did_you_mean"
        elif found.detail.place:
            key = "sys.municipality_place_ambiguous"
        else:
            key = "sys.municipality_ambiguous"
        self.out.append(Send(self.text(key, typed=found.typed), self.offer_buttons(), token=self.state.step))
