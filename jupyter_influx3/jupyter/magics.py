"""IPython magics: ``%%influx3_sql`` (and ``%%sql`` when no other extension owns it), ``%%lp`` and
``%influx3 …``. Loaded with ``%load_ext jupyter_influx3``.

    %%sql [-d DB] [-o VAR] [--params DICT|$var] [--format pandas|arrow|polars] [-l LIMIT]
    SELECT host, usage FROM cpu WHERE host = $host          -- $host: --params, else the variable `host`

    %%sql -d demo
    df << SELECT * FROM cpu                                 -- stores the whole result in `df`

    %%lp -d demo [--precision s] [--no-sync] [--no-accept-partial]
    cpu,host=a usage=0.5 1700000000

    %influx3 use demo | databases | tables | columns cpu | status | explore | connect URL ...
    %config Influx3Magics.displaylimit = 50

Query magics share one runner (`run_query`) keyed by language; a new language (InfluxQL) is one
entry in `QUERY_MAGICS` plus a client method. Placeholders are always sent as query parameters,
never pasted into the text, and IPython's ``$var`` expansion is turned off for these magics.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shlex
from dataclasses import dataclass
from typing import Any, Optional

from IPython.core.magic import Magics, cell_magic, line_cell_magic, line_magic, magics_class, no_var_expand
from traitlets import Enum, Float, Int, Unicode, observe

from .client import (OUTPUT_FORMATS, Client, Influx3Error, QueryInterrupted, connect, normalize_precision,
                     timed)
from .admin import HELP as ADMIN_HELP
from .display import Listing, MagicError, Message, ResultView, status_text

# ---- query magics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryMagic:
    """A query language's magics: `always` are registered unconditionally, `if_free` only when no
    other extension has taken the name (JupySQL owns ``%%sql`` in many environments)."""

    language: str
    always: tuple[str, ...]
    if_free: tuple[str, ...] = ()


QUERY_MAGICS = (
    QueryMagic("sql", always=("influx3_sql",), if_free=("sql",)),
    # InfluxQL: the clients dispatch it (Engine.query_influxql, /api/v3/query_influxql)
    QueryMagic("influxql", always=("influxql",)),
)


@dataclass
class QueryOptions:
    database: Optional[str] = None
    out: Optional[str] = None
    params: Optional[str] = None
    format: Optional[str] = None
    limit: Optional[int] = None
    help: bool = False


_OPTIONS = {
    "-d": "database", "--database": "database", "--db": "database",
    "-o": "out", "--out": "out", "--output": "out",
    "--params": "params", "-p": "params",
    "--format": "format", "-f": "format",
    "-l": "limit", "--limit": "limit",
}

QUERY_USAGE = ("usage: %%sql [-d DB] [-o VAR] [--params DICT|$var] [--format pandas|arrow|polars] [-l LIMIT]\n"
               "       then the query on the following lines; `VAR << SELECT ...` stores the result in VAR")


def _read_token(line: str, pos: int) -> tuple[str, int]:
    """A shell-like word starting at `pos` (quotes allowed); returns (word, end)."""
    lexer = shlex.shlex(line[pos:], posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        word = lexer.get_token()
    except ValueError as exc:
        raise MagicError(f"cannot read options: {exc}") from None
    if word is None:
        return "", len(line)
    # Where the word ended in `line`: shlex consumed up to (and including) one whitespace char.
    consumed = lexer.instream.tell() if hasattr(lexer.instream, "tell") else len(line) - pos
    return word, pos + consumed


def _read_braced(line: str, pos: int) -> tuple[str, int]:
    """A {...} literal (balanced, quotes respected) starting at `pos`."""
    depth, quote, i = 0, None, pos
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return line[pos:i + 1], i + 1
        i += 1
    raise MagicError("--params: unbalanced braces")


def parse_query_line(line: str) -> tuple[QueryOptions, str]:
    """Options at the start of a magic line; the rest of the line is query text."""
    opts = QueryOptions()
    pos = 0
    n = len(line)
    while True:
        while pos < n and line[pos] in " \t":
            pos += 1
        if pos >= n or line[pos] != "-":
            break
        if line.startswith("--", pos) and (pos + 2 >= n or line[pos + 2].isspace()):
            break  # an SQL comment starts the query
        end = pos
        while end < n and not line[end].isspace() and line[end] != "=":
            end += 1
        name = line[pos:end]
        if name in ("-h", "--help"):
            opts.help = True
            pos = end
            continue
        if name not in _OPTIONS:
            raise MagicError(f"unknown option {name}\n{QUERY_USAGE}")
        pos = end + 1 if end < n and line[end] == "=" else end
        while pos < n and line[pos] in " \t":
            pos += 1
        if pos >= n:
            raise MagicError(f"option {name} needs a value")
        if _OPTIONS[name] == "params" and line[pos] == "{":
            value, pos = _read_braced(line, pos)
        else:
            value, pos = _read_token(line, pos)
        key = _OPTIONS[name]
        if key == "limit":
            try:
                opts.limit = int(value)
            except ValueError:
                raise MagicError(f"{name} needs a number, got {value!r}") from None
            if opts.limit < 0:
                raise MagicError(f"{name} needs a number >= 0")
        elif key == "format":
            if value not in OUTPUT_FORMATS:
                raise MagicError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, got {value!r}")
            opts.format = value
        else:
            setattr(opts, key, value)
    return opts, line[pos:]


_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*<<\s*")


def split_assignment(body: str) -> tuple[Optional[str], str]:
    m = _ASSIGN.match(body)
    if m:
        return m.group(1), body[m.end():]
    return None, body


def placeholders(query: str) -> list[str]:
    """``$name`` placeholders outside string literals, quoted identifiers and comments."""
    names: list[str] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch == "'" or ch == '"':
            j = i + 1
            while j < n:
                if query[j] == ch:
                    if j + 1 < n and query[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif query.startswith("--", i):
            j = query.find("\n", i)
            i = n if j < 0 else j + 1
        elif query.startswith("/*", i):
            j = query.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif ch == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", query[i:])
            if m:
                if m.group(1) not in names:
                    names.append(m.group(1))
                i += m.end()
            else:
                i += 1
        else:
            i += 1
    return names


def parse_params_value(text: str, user_ns: dict) -> dict:
    """--params: a dict literal (Python or JSON), or `$var` / `var` naming a dict variable."""
    text = text.strip()
    if text.startswith("{"):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            try:
                value = json.loads(text)
            except ValueError:
                raise MagicError(f"--params: cannot read {text!r} as a dict") from None
    else:
        name = text[1:] if text.startswith("$") else text
        if name not in user_ns:
            raise MagicError(f"--params: no variable named {name!r}")
        value = user_ns[name]
    if not isinstance(value, dict):
        raise MagicError(f"--params must be a dict, got {type(value).__name__}")
    return value


# ---- %influx3 ---------------------------------------------------------------------------------


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise _ArgError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: Optional[str] = None):  # type: ignore[override]
        raise _ArgError(message or "")


def _influx3_parser() -> _Parser:
    p = _Parser(prog="%influx3", add_help=False)
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    c = sub.add_parser("connect", add_help=False)
    c.add_argument("url", nargs="?")
    c.add_argument("--token")
    c.add_argument("--data-dir")
    c.add_argument("-d", "--database")
    u = sub.add_parser("use", add_help=False)
    u.add_argument("database")
    sub.add_parser("databases", add_help=False)
    t = sub.add_parser("tables", add_help=False)
    t.add_argument("database", nargs="?")
    col = sub.add_parser("columns", add_help=False)
    col.add_argument("table")
    col.add_argument("-d", "--database")
    cr = sub.add_parser("create", add_help=False)
    cr.add_argument("kind", choices=["database", "table", "last_cache", "distinct_cache", "trigger"])
    cr.add_argument("name")
    cr.add_argument("-d", "--database")
    cr.add_argument("--retention-period")
    cr.add_argument("--tags", default="")
    cr.add_argument("--fields", default="")
    cr.add_argument("--name", dest="cache_name")                 # caches: name (default generated)
    cr.add_argument("--key-columns")
    cr.add_argument("--value-columns")
    cr.add_argument("--count", type=int)
    cr.add_argument("--ttl")
    cr.add_argument("--columns")
    cr.add_argument("--max-cardinality", type=int)
    cr.add_argument("--max-age")
    cr.add_argument("--plugin")                                  # triggers (jupyter/plugins.py)
    cr.add_argument("--spec")
    cr.add_argument("--args")
    cr.add_argument("--error-behavior", default="log")
    cr.add_argument("--run-async", action="store_true")
    cr.add_argument("--disabled", action="store_true")
    de = sub.add_parser("delete", add_help=False)
    de.add_argument("kind", choices=["database", "table", "last_cache", "distinct_cache", "trigger"])
    de.add_argument("name")
    de.add_argument("cache_name", nargs="?")
    de.add_argument("-d", "--database")
    de.add_argument("--force", action="store_true")
    tr = sub.add_parser("triggers", add_help=False)
    tr.add_argument("database", nargs="?")
    lg = sub.add_parser("logs", add_help=False)
    lg.add_argument("trigger", nargs="?")
    lg.add_argument("-d", "--database")
    for action in ("enable", "disable"):
        en = sub.add_parser(action, add_help=False)
        en.add_argument("kind", choices=["trigger"])
        en.add_argument("name")
        en.add_argument("-d", "--database")
    ca = sub.add_parser("caches", add_help=False)
    ca.add_argument("database", nargs="?")
    w = sub.add_parser("write-df", add_help=False)
    w.add_argument("var")
    w.add_argument("--table", "-t", required=True)
    w.add_argument("--tags", default="")
    w.add_argument("--time-column")
    w.add_argument("--precision")
    w.add_argument("-d", "--database")
    e = sub.add_parser("explore", add_help=False)
    e.add_argument("-d", "--database")
    e.add_argument("--table", "-t")
    sub.add_parser("status", add_help=False)
    tk = sub.add_parser("token", add_help=False)
    tk.add_argument("--regenerate", action="store_true")
    tk.add_argument("-o", "--output", dest="var")
    sub.add_parser("help", add_help=False)
    from .admin import add_parsers as add_admin_parsers   # backup, restore, import, export

    add_admin_parsers(sub)
    return p


INFLUX3_HELP = """%influx3 subcommands:
  connect [URL] [--token T|$var] [--data-dir DIR] [-d DB]   the engine of DIR in this kernel, or a server at URL
  use DB                                  default database for the magics
  databases                               list databases
  tables [DB]                             list tables
  columns TABLE [-d DB]                   columns of a table (tag / field / time, with types)
  create database DB [--retention-period 30d]
  create table T --tags a,b --fields x:float64,y:int64 [-d DB]
  delete database DB | delete table T [-d DB]
  caches [DB]                             last-value and distinct-value caches of a database
  create last_cache T [--key-columns a,b] [--value-columns x,y] [--count N] [--ttl 4h] [--name N] [-d DB]
  create distinct_cache T --columns a,b [--max-cardinality N] [--max-age 24h] [--name N] [-d DB]
  delete last_cache T NAME [-d DB] | delete distinct_cache T NAME [-d DB]
  write-df VAR --table T [--tags a,b] [--time-column C] [--precision P] [-d DB]
  triggers [DB]                           processing-engine triggers of a database
  create trigger NAME --plugin FILE.py --spec table:T|all_tables|every:10s|cron:…|request:PATH
                 [--args k=v,…] [--error-behavior log|retry|disable] [--run-async] [--disabled] [-d DB]
  enable|disable trigger NAME [-d DB] | delete trigger NAME [--force] [-d DB]
  logs [TRIGGER] [-d DB]                  plugin log lines, tracebacks included
  (%%influx3_plugin NAME --wal|--schedule|--request …: write and dry-run a plugin in a cell)
  explore [-d DB] [--table T]             interactive chart and table
  status                                  connection, default database, settings
  token [--regenerate] [-o VAR]           the operator token of this kernel's data directory (the one
                                          way to get it for the Jupyter server's port; shown once)
{admin}
Settings: %config Influx3Magics.database / displaylimit / output / data_dir / url"""
INFLUX3_HELP = INFLUX3_HELP.replace("{admin}", ADMIN_HELP)


@magics_class
class Influx3Magics(Magics):
    """The magics of jupyter-influx3 (settings: ``%config Influx3Magics``)."""

    database = Unicode("", help="Default database of the magics (`%influx3 use DB` sets it).").tag(config=True)
    displaylimit = Int(20, help="Rows a query magic shows (the whole result is kept with -o / <<).").tag(config=True)
    output = Enum(list(OUTPUT_FORMATS), default_value="pandas",
                  help="What -o / << store: pandas, arrow or polars.").tag(config=True)
    data_dir = Unicode("", help="Data directory of the engine in this kernel (default: $INFLUX3_DATA_DIR, "
                                "else Jupyter's data dir/influx3).").tag(config=True)
    url = Unicode("", help="Query a server over HTTP instead of the engine in this kernel "
                           "(token from `%influx3 connect URL --token ...` or $INFLUX3_TOKEN).").tag(config=True)
    plugin_dir = Unicode("", help="Where %%influx3_plugin saves plugins and kernel-side trigger calls look "
                                  "(default: $INFLUXDB3_PLUGIN_DIR, else a directory of this kernel's own)."
                         ).tag(config=True)
    show_elapsed_after = Float(1.0, help="Show a query's elapsed time when it took this many seconds or more."
                               ).tag(config=True)

    def __init__(self, shell=None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)
        self._client: Optional[Client] = None
        self._token: Optional[str] = os.environ.get("INFLUX3_TOKEN") or None
        self._parser = _influx3_parser()
        self.registered_magics: list[tuple[str, str]] = []  # (kind, name) we registered
        self.sql_owner: Optional[str] = None  # who owns %%sql when it is not us

    # -- connection ------------------------------------------------------------------------------
    @observe("data_dir", "url")
    def _connection_changed(self, change) -> None:
        self._drop_client()

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> Client:
        if self._client is None:
            try:
                if self.url:
                    self._client = connect(url=self.url, token=self._token)
                else:
                    self._client = connect(data_dir=self.data_dir or None)
            except Influx3Error as exc:
                raise MagicError(exc.message) from None
        return self._client

    def close(self) -> None:
        self._drop_client()

    # -- query magics ----------------------------------------------------------------------------
    def run_query(self, language: str, line: str, cell: Optional[str] = None) -> Any:
        opts, rest = parse_query_line(line)
        if opts.help:
            return Message(QUERY_USAGE)
        body = rest if cell is None else (rest + "\n" + cell if rest.strip() else cell)
        assign, query = split_assignment(body)
        if not query.strip():
            raise MagicError(f"no query to run\n{QUERY_USAGE}")
        db = opts.database or self.database
        if not db:
            raise MagicError("no database: add -d DB, or set a default with %influx3 use DB")
        params = self._bind_params(query, opts.params)
        fmt = opts.format or self.output
        client = self.client
        try:
            table, elapsed = timed(lambda: client.query_arrow(query, db, params, language=language))
        except QueryInterrupted:
            raise MagicError("query interrupted") from None
        except Influx3Error as exc:
            raise MagicError(exc.message) from None
        limit = self.displaylimit if opts.limit is None else opts.limit
        view = ResultView(table, limit=limit, elapsed=elapsed, show_elapsed_after=self.show_elapsed_after,
                          fmt=fmt, database=db, query=query)
        ns = self.shell.user_ns if self.shell is not None else {}
        if assign:
            ns[assign] = view.data
            return None
        if opts.out:
            ns[opts.out] = view.data
        return view

    def _bind_params(self, query: str, params_text: Optional[str]) -> Optional[dict]:
        ns = self.shell.user_ns if self.shell is not None else {}
        explicit = parse_params_value(params_text, ns) if params_text else {}
        explicit = {str(k).lstrip("$"): v for k, v in explicit.items()}
        values = dict(explicit)
        for name in placeholders(query):
            if name in values:
                continue
            if name in ns:
                values[name] = ns[name]
            else:
                raise MagicError(f"no value for ${name}: pass it with --params or define a variable {name!r}")
        return values or None

    # -- %%lp ------------------------------------------------------------------------------------
    @no_var_expand
    @line_cell_magic
    def lp(self, line: str, cell: Optional[str] = None) -> Any:
        """Write line protocol: ``%%lp [-d DB] [--precision P] [--no-sync] [--no-accept-partial]``."""
        try:
            args = shlex.split(line)
        except ValueError as exc:
            raise MagicError(f"cannot read options: {exc}") from None
        p = _Parser(prog="%%lp", add_help=False)
        p.add_argument("-d", "--database", "--db")
        p.add_argument("--precision", default="auto")
        p.add_argument("--no-sync", action="store_true")
        p.add_argument("--no-accept-partial", action="store_true")
        p.add_argument("-h", "--help", action="store_true")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        try:
            ns = p.parse_args(args)
        except _ArgError as exc:
            raise MagicError(str(exc).strip()) from None
        if ns.help:
            return Message("usage: %%lp [-d DB] [--precision auto|ns|us|ms|s] [--no-sync] [--no-accept-partial]\n"
                           "       then line protocol on the following lines")
        body = (" ".join(ns.rest) + "\n" if ns.rest else "") + (cell or "")
        db = ns.database or self.database
        if not db:
            raise MagicError("no database: add -d DB, or set a default with %influx3 use DB")
        if not body.strip():
            raise MagicError("no line protocol to write")
        try:
            precision = normalize_precision(ns.precision)
            report = self.client.write(body, db, precision=precision, accept_partial=not ns.no_accept_partial,
                                       no_sync=ns.no_sync)
            if report.rejected and report.lines_written == 0:
                raise MagicError(self._nothing_written(report))
            return report
        except Influx3Error as exc:
            raise MagicError(exc.message) from None

    def _nothing_written(self, report) -> str:
        """Why a write whose every line was rejected fails the cell (and whether it left a database)."""
        from .display import write_report_text

        text = write_report_text(report)
        if report.database not in self.client.databases():
            first, _, rest = text.partition("\n")
            text = f"{first}; the database {report.database} was not created" + ("\n" + rest if rest else "")
        return text

    # -- %influx3 --------------------------------------------------------------------------------
    @no_var_expand
    @line_magic
    def influx3(self, line: str) -> Any:
        """``%influx3 connect|use|databases|tables|columns|create|delete|write-df|explore|status|help``."""
        try:
            args = shlex.split(line)
        except ValueError as exc:
            raise MagicError(f"cannot read the command: {exc}") from None
        if not args or args[0] in ("help", "-h", "--help"):
            return Message(INFLUX3_HELP)
        try:
            ns = self._parser.parse_args(args)
        except _ArgError as exc:
            raise MagicError(f"{str(exc).strip()}\n{INFLUX3_HELP}") from None
        try:
            return getattr(self, "_cmd_" + ns.command.replace("-", "_"))(ns)
        except Influx3Error as exc:
            raise MagicError(exc.message) from None

    def _var(self, text: Optional[str]) -> Optional[str]:
        """`$name` -> the notebook variable's value (so secrets need not be typed into a cell)."""
        if text and text.startswith("$") and self.shell is not None:
            name = text[1:]
            if name not in self.shell.user_ns:
                raise MagicError(f"no variable named {name!r}")
            return str(self.shell.user_ns[name])
        return text

    def _cmd_connect(self, ns) -> Any:
        if ns.url and ns.data_dir:
            raise MagicError("give a URL or --data-dir, not both")
        token = self._var(ns.token)
        self._drop_client()
        with self.hold_trait_notifications():
            if ns.url:
                self._token = token or os.environ.get("INFLUX3_TOKEN") or None
                self.url = ns.url
            else:
                self.url = ""
                self.data_dir = ns.data_dir or ""
        self._drop_client()
        if ns.database:
            self.database = ns.database
        client = self.client
        if isinstance(client, Client) and ns.url:
            client.databases()  # fail now, not at the first query, when the URL or token is wrong
        return Message(f"connected: {client.description}")

    def _cmd_use(self, ns) -> Any:
        self.database = ns.database
        return Message(f"default database: {ns.database}")

    def _cmd_databases(self, ns) -> Any:
        return Listing("databases", self.client.databases())

    def _need_db(self, db: Optional[str]) -> str:
        db = db or self.database
        if not db:
            raise MagicError("no database: add -d DB, or set a default with %influx3 use DB")
        return db

    def _cmd_tables(self, ns) -> Any:
        db = self._need_db(ns.database)
        return Listing(f"tables in {db}", self.client.tables(db))

    def _cmd_columns(self, ns) -> Any:
        return self.client.columns(ns.table, self._need_db(ns.database))

    def _cmd_caches(self, ns) -> Any:
        return self.client.caches(self._need_db(ns.database))

    def _cmd_backup(self, ns) -> Any:
        from .admin import admin_command   # backup, restore, import, export (jupyter/admin.py)

        return admin_command(self, ns)

    _cmd_restore = _cmd_import = _cmd_export = _cmd_backup

    def _cmd_triggers(self, ns) -> Any:
        from .plugins import trigger_command  # triggers, logs, enable/disable/create/delete trigger

        return trigger_command(self, ns)

    _cmd_logs = _cmd_enable = _cmd_disable = _cmd_triggers

    @cell_magic
    @no_var_expand
    def influx3_plugin(self, line: str, cell: str) -> Any:
        """Write a plugin in a cell and dry-run it (`%%influx3_plugin --help`)."""
        from .plugins import plugin_magic

        return plugin_magic(self, line, cell)

    def _cmd_create(self, ns) -> Any:
        if ns.kind == "trigger":
            return self._cmd_triggers(ns)
        if ns.kind in ("last_cache", "distinct_cache"):
            return self._create_cache(ns)
        if ns.kind == "database":
            self.client.create_database(ns.name, retention_period=ns.retention_period)
            return Message(f"database {ns.name} created")
        db = self._need_db(ns.database)
        tags = [t.strip() for t in ns.tags.split(",") if t.strip()]
        fields = [f.strip() for f in ns.fields.split(",") if f.strip()]
        self.client.create_table(ns.name, tags, fields, database=db, retention_period=ns.retention_period)
        return Message(f"table {ns.name} created in {db}")

    def _create_cache(self, ns) -> Any:
        db = self._need_db(ns.database)

        def names(text: Optional[str]) -> Optional[list[str]]:
            return None if text is None else [c.strip() for c in text.split(",") if c.strip()]

        if ns.kind == "last_cache":
            made = self.client.create_last_cache(ns.name, db, name=ns.cache_name, key_columns=names(ns.key_columns),
                                                 value_columns=names(ns.value_columns), count=ns.count, ttl=ns.ttl)
        else:
            if not ns.columns:
                raise MagicError("create distinct_cache needs --columns a,b")
            made = self.client.create_distinct_cache(ns.name, names(ns.columns), db, name=ns.cache_name,
                                                     max_cardinality=ns.max_cardinality, max_age=ns.max_age)
        kind = ns.kind.replace("_", " ")
        return Message(f"{kind} {made.get('name') or ns.cache_name or ''} created on {db}.{ns.name}".replace("  ", " "))

    def _cmd_delete(self, ns) -> Any:
        if ns.kind == "trigger":
            return self._cmd_triggers(ns)
        if ns.kind in ("last_cache", "distinct_cache"):
            if not ns.cache_name:
                raise MagicError(f"delete {ns.kind} needs the table and the cache name")
            db = self._need_db(ns.database)
            delete = self.client.delete_last_cache if ns.kind == "last_cache" else self.client.delete_distinct_cache
            delete(ns.name, ns.cache_name, db)
            return Message(f"{ns.kind.replace('_', ' ')} {ns.cache_name} deleted from {db}.{ns.name}")
        if ns.kind == "database":
            self.client.delete_database(ns.name)
            if self.database == ns.name:
                self.database = ""
            return Message(f"database {ns.name} deleted")
        db = self._need_db(ns.database)
        self.client.delete_table(ns.name, database=db)
        return Message(f"table {ns.name} deleted from {db}")

    def _cmd_write_df(self, ns) -> Any:
        user_ns = self.shell.user_ns if self.shell is not None else {}
        name = ns.var.lstrip("$")
        if name not in user_ns:
            raise MagicError(f"no variable named {name!r}")
        tags = [t.strip() for t in ns.tags.split(",") if t.strip()] or None
        return self.client.write(user_ns[name], self._need_db(ns.database), table=ns.table, tags=tags,
                                 time_column=ns.time_column, precision=ns.precision)

    def _cmd_explore(self, ns) -> Any:
        from .widgets import Explorer

        return Explorer(self.client, database=ns.database or self.database or None, table=ns.table)

    def _cmd_token(self, ns) -> Any:
        """Create (or, with --regenerate, renew) the operator token ``_admin`` of the data directory
        this kernel opened: whoever can run code in the kernel can read those files anyway, so this
        is where the Jupyter server's port hands out its token (see docs/security.md)."""
        from ..engine import tokens as tokenlib
        from .client import EngineClient

        client = self.client
        if not isinstance(client, EngineClient):
            raise MagicError("%influx3 token works on the data directory of this kernel; for a server at a URL, "
                             "use its operator token (influx3 create token --admin --host URL)")
        if ns.var and (self.shell is None or not ns.var.isidentifier()):
            raise MagicError(f"cannot store the token in {ns.var!r}")  # before a token is made and lost
        try:
            if ns.regenerate:
                issued = tokenlib.regenerate_admin_token(client.engine.catalog)
            else:
                issued = tokenlib.create_admin_token(client.engine.catalog)
        except tokenlib.TokenNameExists:
            raise MagicError("the operator token exists already (it is shown only once): "
                             "`%influx3 token --regenerate` gives it a new value, and the old one stops working") from None
        except tokenlib.MissingAdminToken:
            raise MagicError("there is no operator token yet: `%influx3 token` creates it") from None
        verb = "regenerated" if ns.regenerate else "created"
        if ns.var:
            self.shell.user_ns[ns.var] = issued.token
            return Message(f"operator token {verb}, stored in {ns.var} (use it as: Authorization: Bearer <token>)")
        return Message(f"operator token {verb} (shown once; use it as: Authorization: Bearer <token>): {issued.token}")

    def _cmd_status(self, ns) -> Any:
        client = self.client
        from .. import __version__

        rows: list[tuple[str, Optional[str]]] = [("version", f"jupyter-influx3 {__version__}")]
        if self.url:
            rows.append(("server", self.url))
            rows.append(("token", "set" if self._token else "none"))
        else:
            engine = getattr(client, "engine", None)
            rows.append(("data dir", str(getattr(client, "data_dir", ""))))
            rows.append(("node id", getattr(engine, "node_id", None)))
            from .server_info import flight_location

            rows.append(("flight", flight_location()))  # the Jupyter server's Arrow Flight port
        rows.append(("database", self.database or None))
        try:
            dbs = client.databases()
            rows.append(("databases", str(len(dbs))))
        except Influx3Error as exc:
            rows.append(("databases", f"error: {exc.message}"))
        sql_magics = ", ".join(f"%%{n}" for kind, n in self.registered_magics if kind == "cell" and n != "lp")
        rows.append(("query magics", sql_magics))
        if self.sql_owner:
            rows.append(("%%sql", f"owned by {self.sql_owner}; use %%influx3_sql"))
        rows.append(("displaylimit", str(self.displaylimit)))
        rows.append(("output", self.output))
        return Message(status_text(rows))


def _query_magic(magics: Influx3Magics, language: str):
    def magic(line: str, cell: Optional[str] = None) -> Any:
        return magics.run_query(language, line, cell)

    magic.__doc__ = f"Run an InfluxDB 3 {language.upper()} query.\n\n{QUERY_USAGE}"
    setattr(magic, "_ipython_magic_no_var_expand", True)  # $name is a query parameter, not text
    return magic


def _owner_of(fn: Any) -> str:
    owner = getattr(fn, "__self__", None)
    mod = type(owner).__module__ if owner is not None else getattr(fn, "__module__", "")
    return (mod or "another extension").split(".")[0]


def load(ip) -> Influx3Magics:
    """Register the magics, the settings (`%config Influx3Magics`) and completion on shell `ip`."""
    magics = Influx3Magics(shell=ip)
    ip.register_magics(magics)
    magics.registered_magics += [("line", "lp"), ("cell", "lp"), ("line", "influx3"), ("cell", "influx3_plugin")]
    mm = ip.magics_manager
    for qm in QUERY_MAGICS:
        fn = _query_magic(magics, qm.language)
        for name in qm.always:
            mm.register_function(fn, magic_kind="line_cell", magic_name=name)
            magics.registered_magics += [("line", name), ("cell", name)]
        for name in qm.if_free:
            taken = mm.magics["cell"].get(name) or mm.magics["line"].get(name)
            if taken is not None:
                magics.sql_owner = _owner_of(taken)
                continue
            mm.register_function(fn, magic_kind="line_cell", magic_name=name)
            magics.registered_magics += [("line", name), ("cell", name)]
    if magics not in ip.configurables:
        ip.configurables.append(magics)
    from .completion import install

    install(ip, magics)
    return magics


def unload(ip, magics: Influx3Magics) -> None:
    mm = ip.magics_manager
    for kind, name in magics.registered_magics:
        mm.magics[kind].pop(name, None)
    if magics in ip.configurables:
        ip.configurables.remove(magics)
    from .completion import uninstall

    uninstall(ip, magics)
    magics.close()
