"""Article HTML from the rich-text editor, made safe; covers normalised (mp.md §6.3).

nh3 (the Rust ``ammonia`` sanitiser) keeps only the editor's markup: no scripts, no event
handler attributes, no ``javascript:`` (or any non-http) URLs, no inline style but a colour.
Inline images must come from this platform's storage (a foreign ``src`` is dropped with its
``<img>``), so an article cannot carry tracking pixels.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import nh3

from toutiao.kit.errors import BadRequest
from toutiao.models.enums import CoverType

ALLOWED_TAGS = {
    "p", "h3", "strong", "b", "em", "i", "u", "s", "strike", "ul", "ol", "li", "hr", "pre",
    "code", "img", "span", "br", "div", "input", "label",
}  # fmt: skip
# The todo list of the editor: <ul data-type="todo_list"><li data-type="todo_item"
# data-done="true"><span class="todo-checkbox"></span><div class="todo-content">...</div></li>
ALLOWED_ATTRIBUTES = {
    "img": {"src", "alt"},
    "span": {"style", "class"},
    "ul": {"data-type"},
    "li": {"data-type", "data-done"},
    "div": {"class"},
    "input": {"type", "checked", "disabled"},
}
CLASSES = {"todo-checkbox", "todo-content"}
TEXTLESS = {"img", "hr", "input"}  # elements that are content without any text

_IMG_SRC = re.compile(r"<img\b[^>]*?\bsrc=\"([^\"]*)\"", re.IGNORECASE)
_BARE_IMG = re.compile(r"<img(?:\s+alt=\"[^\"]*\")?\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Cover:
    type: int
    images: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"type": self.type, "images": list(self.images)}


def _attribute_filter(media_prefix: str):  # type: ignore[no-untyped-def]
    def check(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return value if value.startswith(media_prefix) else None
        if attribute == "class":
            kept = [c for c in value.split() if c in CLASSES]
            return " ".join(kept) or None
        if tag == "input" and attribute == "type":
            return value if value == "checkbox" else None
        return value

    return check


def clean_html(raw: str, media_prefix: str) -> str:
    """The editor's markup only; empty ``<img>`` (foreign source dropped) removed."""
    cleaned = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter(media_prefix),
        url_schemes={"http", "https"},
        filter_style_properties={"color"},
        link_rel=None,
        strip_comments=True,
    )
    return _BARE_IMG.sub("", cleaned).strip()


def plain_text(content: str) -> str:
    """The visible text of sanitised HTML, whitespace collapsed (search, sensitive words)."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", content))).strip()


def image_sources(content: str) -> list[str]:
    return [html.unescape(src) for src in _IMG_SRC.findall(content)]


def is_empty(content: str) -> bool:
    """No text and no image or rule: ``<p></p>``, ``<p><br></p>``, whitespace."""
    if plain_text(content):
        return False
    return not re.search(r"<(img|hr)\b", content, re.IGNORECASE)


def normalise_cover(
    cover_type: int, images: list[str | None], content: str, media_prefix: str, *, publish: bool
) -> Cover:
    """``null`` holes and empty strings removed, surplus entries dropped, ``-1`` resolved from
    the content's images (3+ -> three, 1-2 -> one, none -> no cover). Publishing with fewer
    images than the type needs is a 400; a draft may be incomplete. Foreign URLs: 400."""
    kept = [url for url in images if isinstance(url, str) and url.strip()]
    for url in kept:
        if not url.startswith(media_prefix):
            raise BadRequest("cover: images must be uploaded to this platform")
    if cover_type == CoverType.AUTO:
        found = image_sources(content)
        if len(found) >= 3:
            return Cover(int(CoverType.THREE), found[:3])
        if found:
            return Cover(int(CoverType.ONE), found[:1])
        return Cover(int(CoverType.NONE), [])
    if cover_type == CoverType.NONE:
        return Cover(int(CoverType.NONE), [])
    wanted = 1 if cover_type == CoverType.ONE else 3
    if publish and len(kept) < wanted:
        raise BadRequest(f"cover: type {cover_type} needs {wanted} image(s)")
    return Cover(int(cover_type), kept[:wanted])
