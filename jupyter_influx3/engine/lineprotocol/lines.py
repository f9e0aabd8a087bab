"""Where the lines of a body start and end, exactly as InfluxDB 3 splits them.

Owns InfluxDB 3's ``split_lines`` (a newline ends a line unless it is escaped by a backslash or
inside a quoted string field value), its ``trim_leading`` (leading whitespace and whole comment
lines are skipped), and :func:`counted_lines`, the numbering of lines clients see.  Must not look
at what a line says beyond what decides where it ends.
"""

from __future__ import annotations

import re


def counted_lines(body: str | bytes) -> list[str]:
    """The lines line protocol numbers (not blank, not comments), without line endings; a
    rejected line's `line_number` indexes this list from 1."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    return [line.rstrip("\r") for line in body.split("\n") if line.strip() and not line.lstrip().startswith("#")]


_SPLIT_EVENTS = re.compile(r'[\\ ="\n,]')


def _logical_lines(text: str):
    """Yield (start, end) of each logical line of ``text``, following InfluxDB 3's (Go-derived)
    ``split_lines``: a newline ends a line unless escaped by a backslash or inside a quoted
    field value, where a double quote toggles quoting only after the first unescaped space and
    only while more ``=`` than ``,`` have been seen there outside quotes."""
    n = len(text)
    pos = 0
    find = text.find
    while pos <= n:
        nl = find("\n", pos)
        end = n if nl < 0 else nl
        if find('"', pos, end) < 0:
            # No quote on this physical line: it ends here unless its newline is escaped.
            k = end
            while k > pos and text[k - 1] == "\\":
                k -= 1
            if (end - k) % 2 == 0 or nl < 0:
                yield pos, end
                pos = end + 1
                continue
        elif find("\\", pos, end) < 0:
            # Quotes but no backslash (string fields): count with str.count between quotes.
            e = _quoted_line_end(text, pos)
            if e is not None:
                yield pos, e
                pos = e + 1
                continue
        e = _escaped_line_end(text, pos)
        yield pos, e
        pos = e + 1


def _quoted_line_end(text: str, start: int):
    """End of the logical line starting at ``start`` when its physical lines have no
    backslash (None when one that matters does): the split_lines state machine, jumping from
    quote to quote."""
    n = len(text)
    find = text.find
    count = text.count
    quoted = fields = False
    equals = commas = 0
    pos = start
    while True:
        nl = find("\n", pos)
        end = n if nl < 0 else nl
        if find("\\", pos, end) >= 0:
            return None
        if not fields:
            sp = find(" ", pos, end)
            if sp >= 0:
                fields = True
                pos = sp + 1
            else:
                pos = end
        if fields:
            while True:
                q = find('"', pos, end)
                if q < 0:
                    break
                if not quoted:
                    equals += count("=", pos, q)
                    commas += count(",", pos, q)
                if equals > commas:
                    quoted = not quoted
                pos = q + 1
            if not quoted:
                equals += count("=", pos, end)
                commas += count(",", pos, end)
        if not quoted or nl < 0:
            return end
        pos = nl + 1


def _escaped_line_end(text: str, start: int) -> int:
    """End of the logical line starting at ``start``: the full split_lines state machine."""
    quoted = fields = False
    equals = commas = 0
    skip = -1
    for m in _SPLIT_EVENTS.finditer(text, start):
        p = m.start()
        if p == skip:
            continue
        c = text[p]
        if c == "\\":
            skip = p + 1
            continue
        if c == " ":
            fields = True
            continue
        if fields:
            if not quoted and c == "=":
                equals += 1
                continue
            if not quoted and c == ",":
                commas += 1
                continue
            if c == '"':
                if equals > commas:
                    quoted = not quoted
                continue
        if c == "\n" and not quoted:
            return p
    return len(text)


def _trim_leading(text: str, start: int, end: int) -> int:
    """InfluxDB 3's trim_leading: skip space/tab/newline and whole comment lines."""
    p = start
    while True:
        while p < end and text[p] in " \t\n":
            p += 1
        if p < end and text[p] == "#":
            nl = text.find("\n", p, end)
            p = end if nl < 0 else nl
            continue
        return p
