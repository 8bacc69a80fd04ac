"""The lexer of Go's ``text/template``: the same items, trim markers and error texts."""

from __future__ import annotations

from dataclasses import dataclass

from llmapps.serve.gotmpl.errors import ParseError

LEFT, RIGHT = "{{", "}}"
KEYWORDS = {
    ".": "dot",
    "block": "block",
    "break": "break",
    "continue": "continue",
    "define": "define",
    "else": "else",
    "end": "end",
    "if": "if",
    "range": "range",
    "nil": "nil",
    "template": "template",
    "with": "with",
}
_SPACE = " \t\r\n"


@dataclass
class Item:
    """One lexed item: ``typ`` as in Go (``text``, ``field``, ``if`` …), its text and place."""

    typ: str
    val: str
    pos: int
    line: int

    def __str__(self) -> str:
        if self.typ == "eof":
            return "EOF"
        if self.typ == "error":
            return self.val
        if self.typ in KEYWORDS.values() and self.typ != "dot":
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def go_quote(text: str) -> str:
    """A string as Go's %q prints it (used for token names in errors and by printf)."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def _left_trim(text: str) -> int:
    return len(text) - len(text.lstrip(_SPACE))


def _right_trim(text: str) -> int:
    return len(text) - len(text.rstrip(_SPACE))


def _has_left_trim(text: str) -> bool:
    return len(text) >= 2 and text[0] == "-" and text[1] in _SPACE


def _has_right_trim(text: str) -> bool:
    return len(text) >= 2 and text[0] in _SPACE and text[1] == "-"


class Lexer:
    """Turn template text into :class:`Item` s (Go's state machine, written as loops)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.items: list[Item] = []
        self.pos = 0
        self.line = 1
        self.start_line = 1

    def error(self, message: str) -> ParseError:
        return ParseError(f"template: {self.name}:{self.line}: {message}")

    def _emit(self, typ: str, start: int, end: int, line: int) -> None:
        self.items.append(Item(typ, self.text[start:end], start, line))

    def run(self) -> list[Item]:
        text = self.text
        while True:
            x = text.find(LEFT, self.pos)
            if x < 0:
                if self.pos < len(text):
                    self._emit("text", self.pos, len(text), self.line)
                    self.line += text.count("\n", self.pos)
                self.items.append(Item("eof", "", len(text), self.line))
                return self.items
            end = x
            if _has_left_trim(text[x + 2 :]):
                end -= _right_trim(text[self.pos : x])
            if end > self.pos:
                self._emit("text", self.pos, end, self.line)
            self.line += text.count("\n", self.pos, x)
            self.pos = x
            self._action()

    def _at_right(self) -> tuple[bool, bool]:
        rest = self.text[self.pos :]
        if _has_right_trim(rest) and rest[2:].startswith(RIGHT):
            return True, True
        return rest.startswith(RIGHT), False

    def _action(self) -> None:
        text = self.text
        trim = _has_left_trim(text[self.pos + 2 :])
        after = 2 if trim else 0
        start = self.pos
        self.pos += 2
        if text.startswith("/*", self.pos + after):
            self._comment(after)
            return
        self.items.append(Item("leftDelim", LEFT, start, self.line))
        self.pos += after
        depth = 0
        while True:
            delim, trim_right = self._at_right()
            if delim:
                if depth:
                    raise self.error("unclosed left paren")
                if trim_right:
                    self.pos += 2
                self.items.append(Item("rightDelim", RIGHT, self.pos, self.line))
                self.pos += 2
                if trim_right:
                    skip = _left_trim(text[self.pos :])
                    self.line += text.count("\n", self.pos, self.pos + skip)
                    self.pos += skip
                return
            if self.pos >= len(text):
                raise self.error("unclosed action")
            ch = text[self.pos]
            begin, line = self.pos, self.line
            if ch in _SPACE:
                while self.pos < len(text) and text[self.pos] in _SPACE:
                    if _has_right_trim(text[self.pos :]) and text[self.pos + 2 :].startswith(RIGHT):
                        break
                    if text[self.pos] == "\n":
                        self.line += 1
                    self.pos += 1
                self._emit("space", begin, self.pos, line)  # never empty: see _at_right
                continue
            self.pos += 1
            if ch == "=":
                self._emit("assign", begin, self.pos, line)
            elif ch == ":":
                if self.pos >= len(text) or text[self.pos] != "=":
                    raise self.error("expected :=")
                self.pos += 1
                self._emit("declare", begin, self.pos, line)
            elif ch == "|":
                self._emit("pipe", begin, self.pos, line)
            elif ch == '"':
                self._quoted('"', "unterminated quoted string", "string")
            elif ch == "`":
                close = text.find("`", self.pos)
                if close < 0:
                    raise self.error("unterminated raw quoted string")
                self.line += text.count("\n", self.pos, close)
                self.pos = close + 1
                self._emit("rawString", begin, self.pos, line)
            elif ch == "$":
                self._word("variable", begin)
            elif ch == "'":
                self._quoted("'", "unterminated character constant", "charConstant")
            elif ch == "." and not (self.pos < len(text) and text[self.pos].isdigit()):
                self._word("field", begin)
            elif ch in "+-." or ch.isdigit():
                self._number(begin)
            elif _is_alnum(ch):
                self._identifier(begin)
            elif ch == "(":
                depth += 1
                self._emit("leftParen", begin, self.pos, line)
            elif ch == ")":
                depth -= 1
                if depth < 0:
                    raise self.error("unexpected right paren")
                self._emit("rightParen", begin, self.pos, line)
            elif ord(ch) < 128 and ch.isprintable():
                self._emit("char", begin, self.pos, line)
            else:
                raise self.error(f"unrecognized character in action: U+{ord(ch):04X} '{ch}'")

    def _comment(self, after: int) -> None:
        text = self.text
        self.pos += after + 2
        close = text.find("*/", self.pos)
        if close < 0:
            raise self.error("unclosed comment")
        self.line += text.count("\n", self.pos, close)
        self.pos = close + 2
        delim, trim = self._at_right()
        if not delim:
            raise self.error("comment ends before closing delimiter")
        if trim:
            self.pos += 2
        self.pos += 2
        if trim:
            skip = _left_trim(text[self.pos :])
            self.line += text.count("\n", self.pos, self.pos + skip)
            self.pos += skip

    def _at_terminator(self) -> bool:
        if self.pos >= len(self.text):
            return True
        ch = self.text[self.pos]
        if ch in _SPACE or ch in ".,|:()":
            return True
        return self.text.startswith(RIGHT, self.pos)

    def _word(self, typ: str, begin: int) -> None:
        if self._at_terminator():
            self._emit("variable" if typ == "variable" else "dot", begin, self.pos, self.line)
            return
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self._at_terminator():
            raise self.error(
                f"bad character U+{ord(self.text[self.pos]):04X} '{self.text[self.pos]}'"
            )
        self._emit(typ, begin, self.pos, self.line)

    def _identifier(self, begin: int) -> None:
        while self.pos < len(self.text) and _is_alnum(self.text[self.pos]):
            self.pos += 1
        if not self._at_terminator():
            raise self.error(
                f"bad character U+{ord(self.text[self.pos]):04X} '{self.text[self.pos]}'"
            )
        word = self.text[begin : self.pos]
        if word in KEYWORDS:
            typ = KEYWORDS[word]
        elif word in ("true", "false"):
            typ = "bool"
        else:
            typ = "identifier"
        self._emit(typ, begin, self.pos, self.line)

    def _number(self, begin: int) -> None:
        text = self.text
        self.pos = begin
        if self.pos < len(text) and text[self.pos] in "+-":
            self.pos += 1
        digits = "0123456789_"
        if text.startswith(("0x", "0X"), self.pos):
            self.pos += 2
            digits = "0123456789abcdefABCDEF_"
        elif text.startswith(("0o", "0O"), self.pos):
            self.pos += 2
            digits = "01234567_"
        elif text.startswith(("0b", "0B"), self.pos):
            self.pos += 2
            digits = "01_"
        while self.pos < len(text) and text[self.pos] in digits:
            self.pos += 1
        if self.pos < len(text) and text[self.pos] == ".":
            self.pos += 1
            while self.pos < len(text) and text[self.pos] in digits:
                self.pos += 1
        exp = "pP" if digits.startswith("0123456789a") else "eE"
        if self.pos < len(text) and text[self.pos] in exp:
            self.pos += 1
            if self.pos < len(text) and text[self.pos] in "+-":
                self.pos += 1
            while self.pos < len(text) and text[self.pos] in "0123456789_":
                self.pos += 1
        if self.pos < len(text) and text[self.pos] == "i":
            self.pos += 1
        if self.pos < len(text) and _is_alnum(text[self.pos]):
            self.pos += 1
            raise self.error(f"bad number syntax: {go_quote(text[begin : self.pos])}")
        self._emit("number", begin, self.pos, self.line)

    def _quoted(self, quote: str, unterminated: str, typ: str) -> None:
        text = self.text
        begin = self.pos - 1
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise self.error(unterminated)
            ch = text[self.pos]
            self.pos += 1
            if ch == "\\":
                if self.pos >= len(text) or text[self.pos] == "\n":
                    raise self.error(unterminated)
                self.pos += 1
            elif ch == quote:
                break
        self._emit(typ, begin, self.pos, self.line)


def lex(name: str, text: str) -> list[Item]:
    """All items of ``text`` (ends with an ``eof`` item); :class:`ParseError` on bad input."""
    return Lexer(name, text).run()
