"""Every user-facing text: locales/<lang>/*.yaml rendered as Jinja2 templates.

A text key such as `complaint.route.gi` names a string in every language's
files (nested YAML, dots join the levels). Placeholders are Jinja2
(`{{ name }}`, `{{ ruling_date | date }}`, `{{ d.veilig_thuis.phone }}`).
Templates run in Jinja's sandbox and produce *plain text*; adapters escape
for their platform. One directory per language, many small files, so two
moderators editing different topics never collide; a key defined twice is an
error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateSyntaxError, meta, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from bot.dates import format_date
from bot.flows.source import Where, YamlSyntaxError, load_yaml, shown_path


@pass_context
def _date_filter(context: Context, value: Any) -> str:
    if value is None or value == "":
        return ""
    return format_date(value, context.get("lang", "nl"))


def make_environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
    env.filters["date"] = _date_filter
    return env


ENV = make_environment()


#: Jinja's markers; a text without any of them renders as itself, whatever the context.
_JINJA_MARKERS = ("{{", "{%", "{#")


@dataclass(slots=True)
class LocaleText:
    source: str
    where: Where
    _compiled: Template | None = None
    #: the rendered text of a template without any Jinja syntax (most button labels and
    #: questions): rendered once, then returned as is (no context, no Jinja call)
    _constant: str | None = None

    def template(self) -> Template:
        if self._compiled is None:
            self._compiled = ENV.from_string(self.source)
            if not any(marker in self.source for marker in _JINJA_MARKERS):
                self._constant = self._compiled.render().rstrip()
        return self._compiled

    def render(self, context: Mapping[str, Any]) -> str:
        template = self._compiled or self.template()
        if self._constant is not None:
            return self._constant
        return template.render(context).rstrip()

    @property
    def constant(self) -> str | None:
        """The text when it needs no context (compiling it first), else None."""
        if self._compiled is None:
            self.template()
        return self._constant


@dataclass(slots=True)
class LocaleProblem:
    where: Where
    kind: str
    message: str


@dataclass(slots=True)
class Locales:
    """All texts of all languages, compiled lazily and cached."""

    texts: dict[str, dict[str, LocaleText]] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        return sorted(self.texts)

    def has(self, lang: str, key: str) -> bool:
        return key in self.texts.get(lang, {})

    def render(self, lang: str, key: str, context: Mapping[str, Any]) -> str:
        entry = self.texts[lang].get(key) or self.texts["nl"][key]
        return entry.render(context)

    def constant(self, lang: str, key: str) -> str | None:
        """The text of `key` when it reads no variable (no need to build a context), else None."""
        entry = self.texts[lang].get(key) or self.texts["nl"].get(key)
        return entry.constant if entry is not None else None


def _flatten(data: Any, prefix: str, out: dict[str, tuple[Any, tuple[str, ...]]],
             path: tuple[str, ...]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else key, out, (*path, key))
    else:
        out[prefix] = (data, path)


def load_locales(directory: Path, root: Path | None = None) -> tuple[Locales, list[LocaleProblem]]:
    """Read locales/<lang>/*.yaml; return what loaded plus every problem found."""
    locales = Locales()
    problems: list[LocaleProblem] = []
    if not directory.is_dir():
        problems.append(LocaleProblem(Where(str(directory), 1, 1), "missing-locales",
                                      "the locales directory does not exist"))
        return locales, problems
    for lang_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        lang = lang_dir.name
        table = locales.texts.setdefault(lang, {})
        for file in sorted(lang_dir.glob("*.yaml")):
            shown = shown_path(file, root)
            try:
                data, pos = load_yaml(file, shown)
            except YamlSyntaxError as exc:
                problems.append(LocaleProblem(exc.where, "yaml-syntax", exc.problem))
                continue
            if data is None:
                continue
            if not isinstance(data, dict):
                problems.append(LocaleProblem(pos.of(()), "locale-shape",
                                              "a locale file is a mapping of keys to texts"))
                continue
            flat: dict[str, tuple[Any, tuple[str, ...]]] = {}
            _flatten(data, "", flat, ())
            for key, (value, path) in flat.items():
                where = pos.of(path)
                if not isinstance(value, str):
                    problems.append(LocaleProblem(where, "locale-shape",
                                                  f"`{key}` must be a text, not {type(value).__name__}"))
                    continue
                if key in table:
                    problems.append(LocaleProblem(
                        where, "duplicate-text-key",
                        f"`{key}` is already defined at {table[key].where}; keep one"))
                    continue
                try:
                    ENV.parse(value)
                except TemplateSyntaxError as exc:
                    problems.append(LocaleProblem(
                        Where(where.file, where.line + max(exc.lineno - 1, 0), where.col),
                        "template-syntax", f"`{key}`: {exc.message}"))
                    continue
                table[key] = LocaleText(value, where)
    return locales, problems


def placeholders(source: str) -> set[str]:
    """Variables a template reads (for the placeholder-mismatch check)."""
    return set(meta.find_undeclared_variables(ENV.parse(source)))


def directory_refs(source: str) -> set[str]:
    """Directory ids a template names as `d.<id>`."""
    refs: set[str] = set()
    for node in ENV.parse(source).find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "d":
            refs.add(node.attr)
    return refs


def text_refs(source: str) -> set[str]:
    """Text keys a template names literally as t('a.b')."""
    refs: set[str] = set()
    for node in ENV.parse(source).find_all(nodes.Call):
        if isinstance(node.node, nodes.Name) and node.node.name == "t" and node.args:
            arg = node.args[0]
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                refs.add(arg.value)
    return refs
