"""Tab completion in magic cells and lines (IPython's matcher API v2).

* after ``-d`` / ``--database``, ``%influx3 use``, ``tables``: database names;
* in a query magic: table names after FROM / JOIN, else the columns of the tables the query
  names (and table names); in ``%%lp``: table names at the start of a line;
* ``%influx3 <TAB>``: its subcommands; ``%influx3 columns <TAB>``: table names.

Catalog look-ups are cached for a few seconds so typing stays fast against a remote server.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:  # pragma: no cover
    from .magics import Influx3Magics

SUBCOMMANDS = ["connect", "use", "databases", "tables", "columns", "create", "delete", "write-df", "explore",
               "status", "help"]
CACHE_SECONDS = 5.0
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_TABLE_KEYWORDS = {"from", "join", "into", "table"}


class CatalogCache:
    def __init__(self, magics: "Influx3Magics"):
        self.magics = magics
        self._cache: dict[tuple, tuple[float, Any]] = {}

    def _get(self, key: tuple, fetch: Callable[[], Any]) -> Any:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            value = fetch()
        except Exception:  # noqa: BLE001 - no completions rather than an error while typing
            value = []
        self._cache[key] = (now, value)
        return value

    def databases(self) -> list[str]:
        return self._get(("dbs",), lambda: self.magics.client.databases())

    def tables(self, db: Optional[str]) -> list[str]:
        if not db:
            return []
        return self._get(("tables", db), lambda: self.magics.client.tables(db))

    def columns(self, db: Optional[str], table: str) -> list[str]:
        if not db:
            return []
        return self._get(("columns", db, table), lambda: list(self.magics.client.columns(table, db)["column"]))


def _quoted(name: str, token: str) -> str:
    if _IDENT.match(name) or token.startswith('"'):
        return name
    return '"' + name.replace('"', '""') + '"'


def _db_from_line(first_line: str) -> Optional[str]:
    m = re.search(r"(?:^|\s)(?:-d|--database|--db)(?:\s+|=)(\S+)", first_line)
    return m.group(1).strip("'\"") if m else None


def _referenced_tables(text: str) -> list[str]:
    out = []
    for m in re.finditer(r'\b(?:from|join)\s+("(?:[^"]|"")+"|[A-Za-z_][\w.]*)', text, re.IGNORECASE):
        name = m.group(1)
        if name.startswith('"'):
            name = name[1:-1].replace('""', '"')
        out.append(name)
    return out


def completions_for(cache: CatalogCache, magics: "Influx3Magics", full_text: str, cursor_line: int,
                    cursor_position: int, query_magics: set[str]) -> Optional[list[str]]:
    """Candidate texts for the word before the cursor, or None when this is not our cell/line."""
    lines = full_text.split("\n")
    if not lines:
        return None
    first = lines[0].lstrip()
    line = lines[cursor_line] if cursor_line < len(lines) else ""
    before = line[:cursor_position]
    # which magic is this? a cell magic on the first line, or a line magic on this line
    cell_magic = re.match(r"%%([\w]+)", first)
    line_magic = re.match(r"\s*%([\w]+)", line) if not line.lstrip().startswith("%%") else None
    if cell_magic:
        name, on_magic_line = cell_magic.group(1), cursor_line == 0
    elif line_magic:
        name, on_magic_line = line_magic.group(1), True
    else:
        return None
    token_m = re.search(r'"?[\w.-]*$', before)
    token = token_m.group(0) if token_m else ""
    words_before = before[: len(before) - len(token)].split()
    prev = words_before[-1].lower() if words_before else ""
    bare = token.lstrip('"')

    def match(names: list[str]) -> list[str]:
        return [_quoted(n, token) for n in names if n.startswith(bare)]

    if prev in ("-d", "--database", "--db"):
        return match(cache.databases())
    if name == "influx3" and on_magic_line:
        args = words_before[1:]
        if not args:
            return [s for s in SUBCOMMANDS if s.startswith(token)]
        sub = args[0]
        if sub == "use" or (sub == "tables" and len(args) == 1) or (sub in ("create", "delete") and prev == "database"):
            return match(cache.databases())
        db = _db_from_line(line) or magics.database
        if (sub == "columns" and len(args) == 1) or (sub == "delete" and prev == "table") or \
                (sub == "explore" and prev in ("--table", "-t")):
            return match(cache.tables(db))
        return []
    db = _db_from_line(lines[0] if cell_magic else line) or magics.database
    if name == "lp":
        if on_magic_line and cell_magic:
            return []
        if not words_before:
            return match(cache.tables(db))
        return []
    if name not in query_magics:
        return None
    if cell_magic and on_magic_line and not re.search(r"(?i)\bselect\b", before):
        return []
    tables = cache.tables(db)
    if prev in _TABLE_KEYWORDS:
        return match(tables)
    text = "\n".join(lines[1:]) if cell_magic else line
    columns: list[str] = []
    for t in _referenced_tables(text):
        if t in tables:
            for c in cache.columns(db, t):
                if c not in columns:
                    columns.append(c)
    if not bare and not columns:
        return []
    return match(columns) + [c for c in match(tables) if c not in columns]


def install(ip, magics: "Influx3Magics") -> None:
    try:
        from IPython.core.completer import context_matcher
    except ImportError:  # pragma: no cover - IPython < 8.6
        return
    cache = CatalogCache(magics)

    @context_matcher(identifier="jupyter_influx3")
    def influx3_matcher(context) -> dict:
        query_magics = {n for kind, n in magics.registered_magics if kind == "cell" and n != "lp"}
        try:
            found = completions_for(cache, magics, context.full_text, context.cursor_line,
                                    context.cursor_position, query_magics)
        except Exception:  # noqa: BLE001 - completion must never raise into the editor
            found = None
        if found is None:
            return {"completions": [], "suppress": False}
        from IPython.core.completer import SimpleCompletion

        token = context.token
        m = re.search(r'"?[\w.-]*$', context.text_until_cursor)
        fragment = m.group(0) if m else token
        return {"completions": [SimpleCompletion(text=c, type="influx3") for c in found],
                "suppress": True, "matched_fragment": fragment}

    magics._matcher = influx3_matcher  # type: ignore[attr-defined]
    completer = getattr(ip, "Completer", None)
    if completer is not None:
        completer.custom_matchers.append(influx3_matcher)


def uninstall(ip, magics: "Influx3Magics") -> None:
    matcher = getattr(magics, "_matcher", None)
    completer = getattr(ip, "Completer", None)
    if matcher is not None and completer is not None and matcher in completer.custom_matchers:
        completer.custom_matchers.remove(matcher)
