"""A small DOM of a page or fragment, built with the standard library's HTML parser, to find elements
by ``data-testid`` (``one``/``all``) and read their attributes and text; and the check of a form
refused for one field."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def all(self, testid: str | None = None, tag: str | None = None, **attrs) -> list[Node]:
        found = []
        for n in self.iter():
            if n is self:
                continue
            if testid is not None and n.attrs.get("data-testid") != testid:
                continue
            if tag is not None and n.tag != tag:
                continue
            if all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                found.append(n)
        return found

    def one(self, testid: str | None = None, tag: str | None = None, **attrs) -> Node:
        found = self.all(testid, tag, **attrs)
        assert len(found) == 1, (testid, tag, attrs, len(found))
        return found[0]

    @property
    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child.text if isinstance(child, Node) else child)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def __getitem__(self, key: str) -> str | None:
        return self.attrs.get(key)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: (v if v is not None else "") for k, v in attrs},
                                            self.stack[-1]))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def dom(response_or_html) -> Node:
    html = response_or_html if isinstance(response_or_html, str) else response_or_html.get_data(as_text=True)
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def refused_field(response, field: str, words: str | None) -> Node:
    """The DOM of a 422 answer whose one field error is ``field``'s, saying ``words`` (when given)."""
    assert response.status_code == 422
    tree = dom(response)
    errors = {e["data-field"]: e.text for e in tree.all("field-error")}
    assert list(errors) == [field], errors
    if words:
        assert words in errors[field], errors
    return tree
