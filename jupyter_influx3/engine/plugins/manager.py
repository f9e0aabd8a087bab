"""The processing engine of one node: trigger operations, and running plugins on WAL writes, on
schedules and on HTTP requests (behaviour reference §6; ARCHITECTURE "Wave 2").

Owns the plugin thread pool (plugins never run on an IOLoop; a plugin calling back into this
server over loopback finds the server free and a pool thread to serve it), the data-directory lease
under which exactly one node runs WAL and schedule triggers, the per-trigger cancellation events,
and `error_behavior` (log | retry | disable). Trigger definitions are catalog records, so every
node sees them; request triggers run on whichever node receives the request.

Does not speak HTTP (the adapters turn `PluginResponse` and dry-run dicts into answers).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path

from .. import errors as engine_errors
from .. import lineprotocol
from ..catalog import INTERNAL_DB
from . import files, packages
from .batches import parsed_table_batches, table_batches
from .cache import CacheStore, PluginCache
from .errors import InvalidPluginPath, PluginError, TriggerRunning, TriggerTypeRestricted
from .linebuilder import install_builtins
from .logs import LOGS
from .response import NOT_FOUND_BODY, PluginResponse, error_response, to_response
from .runtime import LogCollector, PluginApi, WriteSink, call_plugin
from .spec import Spec, normalize_error_behavior, parse_spec, validate_cron
from .waltail import WalTail, has_wal_triggers, wal_ends, wal_trigger_ids

log = logging.getLogger(__name__)

TRIGGER_TYPES = ("wal", "schedule", "request")
_TYPE_NAMES = {"wal": "Wal", "schedule": "Schedule", "request": "Request"}
TEST_CACHE_TTL_S = 30 * 60.0
RETRY_MAX_SLEEP_S = 5.0
#: the least time from the start of one WAL round to the next. A round has a fixed cost (~1.7 ms of
#: CPU: the catalog, the WAL listing, the saved position), so under a stream of small writes one per
#: write doubled their CPU; writes arriving meanwhile now gather for the next round. (InfluxDB 3
#: hands its WAL triggers the writes of each WAL flush, every second by default.)
WAL_ROUND_GAP_S = 0.01


def _check_arguments(arguments) -> dict | None:
    if arguments is None:
        return None
    if not isinstance(arguments, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in arguments.items()):
        raise engine_errors.InvalidConfiguration(
            "invalid configuration provided: trigger_arguments must map strings to strings")
    return dict(arguments)


def _request_path(trigger) -> str | None:
    """The path a request trigger serves (`request: a/b ` -> `a/b`), None for other triggers."""
    kind, _, rest = trigger.specification.strip().partition(":")
    return rest.strip() if kind == "request" else None


def _is_wal(trigger) -> bool:
    return trigger.specification.strip().partition(":")[0] in ("table", "all_tables")


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256 or any(ord(c) < 32 for c in name):
        raise engine_errors.InvalidConfiguration(
            "invalid configuration provided: trigger_name must be 1-256 printable characters")
    return name


class ProcessingEngine:
    """Plugins of one node. `run_triggers=False` (kernels): operations and dry runs only."""

    def __init__(self, engine, plugin_dir, *, plugin_repo: str | None = None, package_manager: str = "pip",
                 restrict_to: tuple[str, ...] | None = None, run_triggers: bool = True, workers: int = 16,
                 poll_s: float = 0.1):
        self.engine = engine
        self.loader = files.make_loader(plugin_dir, plugin_repo)
        self.package_manager = package_manager
        self.restrict_to = tuple(restrict_to) if restrict_to else None
        self.cache = CacheStore()
        self.logs = LOGS
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="influx3-plugin")
        self.poll_s = poll_s
        self._cancels: dict[tuple[str, str], threading.Event] = {}
        self._cancel_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        #: whether an enabled WAL trigger exists (as of the last WAL round or trigger change): only
        #: then does a write wake the WAL reader (see wake())
        self._wal_triggers = has_wal_triggers(engine.catalog)
        self._threads: list[threading.Thread] = []
        self.leader = False
        self._lease_fd = None
        self._saved_env: dict = {}
        self._our_env: dict = {}
        install_builtins()
        if self.loader.plugin_dir is not None:
            self._prepare_environment()
        if run_triggers:
            self._spawn(self._lease_loop, "lease")

    # ---- environment -------------------------------------------------------------------------
    def _prepare_environment(self) -> None:
        """What plugins expect of their process (plugins reference §A.3 item 11)."""
        d = str(self.loader.plugin_dir)
        self.loader.plugin_dir.mkdir(parents=True, exist_ok=True)
        wanted = {"PLUGIN_DIR": os.environ.get("PLUGIN_DIR") or d,  # an operator's own setting wins
                  "INFLUXDB3_PLUGIN_DIR": d, "VIRTUAL_ENV": str(packages.venv_dir(self.loader.plugin_dir))}
        self._saved_env = {k: os.environ.get(k) for k in wanted}  # restored by close()
        os.environ.update(wanted)
        self._our_env = wanted
        packages.make_importable(self.loader.plugin_dir)

    def _spawn(self, fn, name: str) -> None:
        t = threading.Thread(target=fn, name=f"influx3-plugins-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    def wake(self) -> None:
        """A write was acknowledged on this node: with a WAL trigger, the WAL reader looks now rather
        than at its next poll. Without one it only keeps its place, at its polls: a round per write
        (each reading the new records and saving the position) doubled the CPU of many small
        writes."""
        if self._wal_triggers:
            self._wake.set()

    def _triggers_changed(self, added: bool) -> None:
        """A trigger was created, enabled, disabled or deleted: writes wake the WAL reader while a
        WAL trigger exists, and one `added` has it look now."""
        self._wal_triggers = has_wal_triggers(self.engine.catalog)
        if added:
            self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        with self._cancel_lock:
            for ev in self._cancels.values():
                ev.set()
        for t in self._threads:
            t.join(timeout)
        self.pool.shutdown(wait=False, cancel_futures=True)
        for k, old in self._saved_env.items():
            if os.environ.get(k) == self._our_env.get(k):  # unless someone set it since
                if old is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = old
        self._saved_env = {}
        if self._lease_fd is not None:
            os.close(self._lease_fd)
            self._lease_fd = None

    # ---- trigger operations (catalog records) -----------------------------------------------
    def _database(self, db: str, *, for_write: bool = True):
        cat = self.engine.catalog
        cat.refresh()
        d = cat.db(db)
        if d is None or d.deleted:
            raise engine_errors.NotFound(f"Database not found {db}")
        if for_write and d.name == INTERNAL_DB:
            raise engine_errors.CannotModifyInternalDatabase("Cannot modify internal database")
        return d

    def create_trigger(self, db: str, trigger_name: str, plugin_filename: str, trigger_specification: str,
                       run_async: bool = False, error_behavior: str = "log", trigger_arguments=None,
                       disabled: bool = False) -> None:
        self.loader.require_dir()
        name = _check_name(trigger_name)
        spec = parse_spec(trigger_specification)
        if self.restrict_to and spec.plugin_type not in self.restrict_to:
            raise TriggerTypeRestricted(f"invalid request: server is configured to reject "
                                        f"{_TYPE_NAMES[spec.plugin_type]} plugin triggers")
        behavior = normalize_error_behavior(error_behavior)
        args = _check_arguments(trigger_arguments)
        self.loader.load(plugin_filename)  # refuses a missing file or a path outside the plugin dir
        self._database(db)
        record = {"name": name, "plugin_filename": plugin_filename, "specification": trigger_specification.strip(),
                  "run_async": bool(run_async), "error_behavior": behavior, "arguments": args,
                  "disabled": bool(disabled)}
        if spec.is_wal and not disabled:   # the writes acknowledged before now are not its own
            record["wal_from"] = wal_ends(self.engine.data_dir)

        def ops(cat):
            d = cat.db(db)
            if d is None or d.deleted:
                raise engine_errors.NotFound(f"Database not found {db}")
            if name in d.triggers:
                raise engine_errors.AlreadyExists()
            if spec.kind == "request":
                for other in cat.live_databases():
                    for t in other.triggers.values():
                        if _request_path(t) == spec.value:
                            raise engine_errors.AlreadyExists(
                                f"attempted to create a resource that already exists: request path {spec.value} "
                                f"is served by trigger {t.name} in {other.name}")
            return [{"op": "create_trigger", "db": d.id, **record}]

        self.engine.catalog.transact(ops)
        self._fresh_cancel(db, name)
        self._triggers_changed(added=True)

    def _trigger(self, cat, db: str, name: str):
        d = cat.db(db)
        if d is None or d.deleted:
            raise engine_errors.NotFound(f"Database not found {db}")
        t = d.triggers.get(name)
        if t is None:
            raise engine_errors.NotFound(f"the requested resource was not found: trigger {name} in {db}")
        return d, t

    def delete_trigger(self, db: str, trigger_name: str, force: bool = False) -> None:
        self.loader.require_dir()

        def ops(cat):
            d, t = self._trigger(cat, db, trigger_name)
            if not t.disabled and not force:
                raise TriggerRunning(trigger_name)
            return [{"op": "delete_trigger", "db": d.id, "name": trigger_name}]

        self.engine.catalog.transact(ops)
        self._cancel(db, trigger_name)
        self.cache.drop_namespace(self._namespace(db, trigger_name))
        self._triggers_changed(added=False)

    def set_trigger_disabled(self, db: str, trigger_name: str, disabled: bool) -> None:
        self.loader.require_dir()

        def ops(cat):
            d, t = self._trigger(cat, db, trigger_name)
            if t.disabled == disabled:
                return []
            op = {"op": "set_trigger_disabled", "db": d.id, "name": trigger_name, "disabled": disabled}
            if not disabled and _is_wal(t):   # enabled again: from the writes acknowledged after now
                op["wal_from"] = wal_ends(self.engine.data_dir)
            return [op]

        self.engine.catalog.transact(ops)
        if disabled:
            self._cancel(db, trigger_name)
        else:
            self._fresh_cancel(db, trigger_name)
        self._triggers_changed(added=not disabled)

    def enable_trigger(self, db: str, trigger_name: str) -> None:
        self.set_trigger_disabled(db, trigger_name, False)

    def disable_trigger(self, db: str, trigger_name: str) -> None:
        self.set_trigger_disabled(db, trigger_name, True)

    def list_triggers(self, db: str | None = None) -> list[dict]:
        """Every trigger (of `db`), as the side panel and `%influx3 triggers` show them."""
        cat = self.engine.catalog
        cat.refresh()
        out = []
        for d in cat.live_databases():
            if db is not None and d.name != db:
                continue
            for t in d.triggers.values():
                out.append({"database": d.name, "trigger_name": t.name, "plugin_filename": t.plugin_filename,
                            "trigger_specification": t.specification, "disabled": t.disabled,
                            "run_async": t.run_async, "error_behavior": t.error_behavior,
                            "trigger_arguments": t.arguments})
        return out

    # ---- cancellation ------------------------------------------------------------------------
    @staticmethod
    def _namespace(db: str, name: str) -> str:
        return f"{db}\x00{name}"

    def _fresh_cancel(self, db: str, name: str) -> threading.Event:
        with self._cancel_lock:
            ev = self._cancels.get((db, name))
            if ev is None or ev.is_set():
                ev = self._cancels[(db, name)] = threading.Event()
            return ev

    def _cancel(self, db: str, name: str) -> None:
        with self._cancel_lock:
            ev = self._cancels.pop((db, name), None)
        if ev is not None:
            ev.set()

    def _reconcile(self) -> None:
        """Cancel the runs of triggers another node disabled or deleted."""
        enabled = {(d.name, t.name) for d in self.engine.catalog.live_databases()
                   for t in d.triggers.values() if not t.disabled}
        with self._cancel_lock:
            gone = [k for k in self._cancels if k not in enabled]
        for db, name in gone:
            self._cancel(db, name)

    # ---- running one trigger -----------------------------------------------------------------
    def _execute(self, db: str, trig, entry: str, make_args, start_line: str, *, apply_behavior: bool = True):
        cancel = self._fresh_cancel(db, trig.name)
        attempt = 0
        while True:
            logs = LogCollector(trig.name, self.logs, db)
            sink = WriteSink(self.engine)
            api = PluginApi(self.engine, db, logs, sink, PluginCache(self.cache, self._namespace(db, trig.name)),
                            cancel, self.cache)

            def get_fn():
                if self.loader.plugin_dir is not None:   # what a sibling worker installed meanwhile
                    packages.make_importable(self.loader.plugin_dir)
                return self.loader.load(trig.plugin_filename).entry(entry)

            res = call_plugin(get_fn, make_args(api), logs, start_line)
            if res.ok:
                for problem in sink.flush():
                    logs.add("ERROR", problem)
                return res
            logs.add("ERROR", f"error executing plugin: {res.error}\n{res.traceback}")
            if not apply_behavior or cancel.is_set() or self._stop.is_set():
                return res
            if trig.error_behavior == "retry":
                attempt += 1
                if cancel.wait(min(RETRY_MAX_SLEEP_S, 0.05 * 2 ** attempt)):
                    return res
                logs.add("WARN", f"retrying after error (attempt {attempt + 1})")
                continue
            if trig.error_behavior == "disable":
                logs.add("WARN", f"disabling trigger {trig.name} after error (error_behavior: disable)")
                try:
                    self.set_trigger_disabled(db, trig.name, True)
                except engine_errors.EngineError:
                    log.exception("could not disable trigger %s", trig.name)
            return res

    # ---- the lease: WAL and schedule triggers run on one node -------------------------------
    def _lease_loop(self) -> None:
        lease_dir = Path(self.engine.data_dir) / "catalog" / "leases"
        lease_dir.mkdir(parents=True, exist_ok=True)
        from ..engine import _try_lock  # the same flock the maintenance lease uses

        while not self._stop.is_set():
            fd = _try_lock(lease_dir / "processing_engine.lock")
            if fd is not None:
                self._lease_fd, self.leader = fd, True
                self._spawn(self._wal_loop, "wal")
                self._spawn(self._schedule_loop, "schedule")
                return
            self._stop.wait(1.0)

    def _wal_loop(self) -> None:
        tail = WalTail(self.engine.data_dir)
        tail.start()
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            started = time.monotonic()
            try:
                self._wal_round(tail)
            except Exception:  # noqa: BLE001 - the loop must survive anything
                log.exception("processing engine: WAL round failed")
                self._stop.wait(1.0)
            self._stop.wait(WAL_ROUND_GAP_S - (time.monotonic() - started))

    def _wal_round(self, tail: WalTail) -> None:
        cat = self.engine.catalog
        cat.refresh()
        decode = has_wal_triggers(cat)
        if decode:
            # a write of ours read from the WAL before it reached the buffer would be invisible to
            # the plugin's queries; under a steady write load this waits at most a moment
            self.engine.wait_writes_buffered(0.2)
        rnd = tail.read(decode=decode)
        # The triggers are looked at after the read: one created before a record was written is
        # then known here (it gets the record now), one created later gets none of these records;
        # the records written before a trigger existed are dropped by its `wal_from`.
        cat.refresh()
        self._reconcile()
        self._wal_triggers = has_wal_triggers(cat)   # (another worker may have made one)
        if not decode and self._wal_triggers:
            return   # a WAL trigger came while the records were passed over undecoded: read them again
        futures = []
        for db_id in rnd.grouped:
            d = cat.db_by_id(db_id)
            if d is None or d.deleted:
                continue
            for trig, spec in wal_trigger_ids(d):
                grouped = rnd.for_trigger(db_id, trig.wal_from)
                batches = table_batches(d, grouped, spec.value if spec.kind == "table" else None)
                if not batches:
                    continue

                def run(db=d.name, trig=trig, batches=batches):
                    args = dict(trig.arguments) if trig.arguments else None
                    self._execute(db, trig, "process_writes", lambda api: (api, batches, args),
                                  "starting execution of wal plugin.")

                if trig.run_async:
                    futures.append(self.pool.submit(run))
                else:
                    run()
        wait(futures)
        tail.commit(rnd)

    def _schedule_loop(self) -> None:
        next_fire: dict[tuple, datetime] = {}
        running: dict[tuple, object] = {}
        while not self._stop.is_set():
            try:
                cat = self.engine.catalog
                cat.refresh()
                now = datetime.now(timezone.utc)
                live = {}
                for d in cat.live_databases():
                    for t in d.triggers.values():
                        if t.disabled:
                            continue
                        try:
                            spec = parse_spec(t.specification)
                        except PluginError:
                            continue
                        if spec.is_schedule:
                            live[(d.name, t.name, t.specification)] = (d.name, t, spec)
                for key in [k for k in next_fire if k not in live]:
                    del next_fire[key]
                for key, (db, t, spec) in live.items():
                    if key not in next_fire:
                        next_fire[key] = spec.next_fire(now)
                    fire = next_fire[key]
                    if fire > now:
                        continue
                    busy = running.get(key)
                    if t.run_async or busy is None or busy.done():
                        running[key] = self.pool.submit(self._run_schedule, db, t, fire)
                    next_fire[key] = spec.next_fire(max(fire, now))
                soonest = min(next_fire.values(), default=now.replace(year=now.year + 1))
                delay = (soonest - datetime.now(timezone.utc)).total_seconds()
                self._stop.wait(min(max(delay, 0.0), 0.25))
            except Exception:  # noqa: BLE001
                log.exception("processing engine: schedule loop failed")
                self._stop.wait(1.0)

    def _run_schedule(self, db: str, trig, fire: datetime) -> None:
        # naive local time, as the real engine passes it (plugins reference §0.9: run with TZ=UTC)
        call_time = datetime.fromtimestamp(fire.timestamp())
        args = dict(trig.arguments) if trig.arguments else None
        self._execute(db, trig, "process_scheduled_call", lambda api: (api, call_time, args),
                      f"starting execution with scheduled time {fire.strftime('%Y-%m-%d %H:%M:%S UTC')}")

    # ---- request triggers --------------------------------------------------------------------
    def find_request_trigger(self, path: str):
        cat = self.engine.catalog
        cat.refresh()
        for d in cat.live_databases():
            for t in d.triggers.values():
                if not t.disabled and _request_path(t) == path:
                    return d.name, t
        return None

    def handle_request(self, path: str, query_parameters: dict, request_headers: dict,
                       request_body: bytes) -> PluginResponse:
        """Run the request trigger serving `/api/v3/engine/<path>` (blocking: call it off the IOLoop)."""
        self.loader.require_dir()
        found = self.find_request_trigger(path)
        if found is None:
            return PluginResponse(404, {}, NOT_FOUND_BODY)
        db, trig = found
        headers = {k.lower(): v for k, v in request_headers.items() if k.lower() != "authorization"}
        args = dict(trig.arguments) if trig.arguments else None
        res = self._execute(db, trig, "process_request",
                            lambda api: (api, dict(query_parameters), headers, request_body, args),
                            "starting execution of request plugin.", apply_behavior=False)
        if not res.ok:
            self.logs.add(trig.name, "ERROR", f"error running request plugin: {res.error}", db)
            return error_response(res.error)
        try:
            return to_response(res.value)
        except (TypeError, ValueError) as exc:
            return error_response(str(exc))

    def submit(self, fn, *args, **kwargs):
        """Run a blocking call on the plugin pool (HTTP handlers await the returned future)."""
        return self.pool.submit(fn, *args, **kwargs)

    # ---- dry runs (plugin_test) --------------------------------------------------------------
    def _dry_run(self, filename: str, database: str, entry: str, make_args, start_line: str,
                 cache_name: str | None) -> tuple[list[str], dict, list[str], object]:
        if self.loader.plugin_dir is not None:
            packages.make_importable(self.loader.plugin_dir)
        plugin = self.loader.load(filename)  # a missing file is a 500, not an entry in `errors`
        logs = LogCollector("plugin_test")
        sink = WriteSink(self.engine, dry_run=True)
        cache = PluginCache(self.cache, "test\x00" + (cache_name or "_shared_test"), default_ttl=TEST_CACHE_TTL_S)
        api = PluginApi(self.engine, database, logs, sink, cache, None, self.cache)
        res = call_plugin(lambda: plugin.entry(entry), make_args(api), logs, start_line)
        problems = [] if res.ok else [f"error executing plugin: {res.error}"]
        problems += sink.validate()
        return logs.lines, sink.database_writes(), problems, res

    def test_request(self, filename: str, database: str, query_parameters: dict | None = None,
                     request_body: bytes = b"", request_headers: dict | None = None,
                     input_arguments: dict | None = None) -> dict:
        """A dry run of a request plugin (no HTTP endpoint has one; the notebook uses it)."""
        self.loader.require_dir()
        args = _check_arguments(input_arguments)
        headers = {k.lower(): v for k, v in (request_headers or {}).items() if k.lower() != "authorization"}
        lines, writes, problems, res = self._dry_run(
            filename, database, "process_request",
            lambda api: (api, dict(query_parameters or {}), headers, request_body, args),
            "starting execution of request plugin.", None)
        out = {"log_lines": lines, "database_writes": writes, "errors": problems, "traceback": res.traceback}
        if res.ok:
            try:
                resp = to_response(res.value)
            except (TypeError, ValueError) as exc:
                resp = error_response(str(exc))
        else:
            resp = error_response(res.error)
        out["response"] = {"status": resp.status, "headers": resp.headers, "body": resp.body}
        return out

    def test_wal(self, filename: str, database: str, input_lp: str, cache_name: str | None = None,
                 input_arguments: dict | None = None, with_traceback: bool = False) -> dict:
        """§6.7's dry run; `with_traceback` adds the plugin's traceback (the notebook shows it)."""
        self.loader.require_dir()
        args = _check_arguments(input_arguments)
        try:
            parsed = lineprotocol.parse(input_lp.encode("utf-8"), "ns", None)
        except UnicodeDecodeError as exc:
            raise engine_errors.InvalidBody.not_utf8(exc) from None
        if parsed.errors:
            e = parsed.errors[0]
            return {"log_lines": [], "database_writes": {},
                    "errors": [f"error parsing input_lp line {e.line_number}: {e.error_message}"]}
        batches = parsed_table_batches(parsed)
        lines, writes, problems, res = self._dry_run(filename, database, "process_writes",
                                                     lambda api: (api, batches, args),
                                                     "starting execution of wal plugin.", cache_name)
        out = {"log_lines": lines, "database_writes": writes, "errors": problems}
        if with_traceback:
            out["traceback"] = res.traceback
        return out

    def test_schedule(self, filename: str, database: str, schedule: str | None = None,
                      cache_name: str | None = None, input_arguments: dict | None = None,
                      with_traceback: bool = False, at: datetime | None = None) -> dict:
        """§6.7's dry run at the next tick of `schedule`; `at` (an aware datetime, not reachable
        over HTTP) fixes the call time instead, for tests and notebooks that replay a past tick."""
        self.loader.require_dir()
        args = _check_arguments(input_arguments)
        spec = Spec("cron", validate_cron(schedule or "* * * * * *"))
        fire = at.astimezone(timezone.utc) if at is not None else spec.next_fire(datetime.now(timezone.utc))
        out = {"trigger_time": fire.strftime("%Y-%m-%dT%H:%M:%SZ"), "log_lines": [], "database_writes": {},
               "errors": []}
        self.engine.catalog.refresh()
        d = self.engine.catalog.db(database)
        if d is None or d.deleted:
            out["errors"] = ["couldn't find db"]
            return out
        call_time = datetime.fromtimestamp(fire.timestamp())
        lines, writes, problems, res = self._dry_run(
            filename, database, "process_scheduled_call", lambda api: (api, call_time, args),
            f"starting execution with scheduled time {fire.strftime('%Y-%m-%d %H:%M:%S UTC')}", cache_name)
        out.update(log_lines=lines, database_writes=writes, errors=problems)
        if with_traceback:
            out["traceback"] = res.traceback
        return out

    # ---- files and packages ------------------------------------------------------------------
    def create_plugin_file(self, plugin_name: str, content: str | bytes) -> None:
        files.write_plugin_file(self.loader.require_dir(), plugin_name, content)

    def replace_trigger_file(self, trigger_name: str, content: str | bytes) -> None:
        """`PUT /api/v3/plugins/files`: overwrite the file of the trigger named `trigger_name`."""
        filename = self._file_of_trigger(trigger_name)
        path = self.loader.path_of(filename)
        if path.is_dir():
            raise InvalidPluginPath(f"trigger {trigger_name} runs a directory plugin: replace it with "
                                    "PUT /api/v3/plugins/directory")
        files.write_plugin_file(self.loader.require_dir(), filename, content)

    def replace_trigger_directory(self, trigger_name: str, file_list: list[dict]) -> None:
        filename = self._file_of_trigger(trigger_name)
        files.replace_directory(self.loader.require_dir(), filename, file_list)

    def _file_of_trigger(self, trigger_name: str) -> str:
        self.loader.require_dir()
        cat = self.engine.catalog
        cat.refresh()
        for d in cat.live_databases():
            t = d.triggers.get(trigger_name)
            if t is not None:
                if t.plugin_filename.startswith("gh:"):
                    raise InvalidPluginPath(f"trigger {trigger_name} runs {t.plugin_filename}, not a local file")
                return t.plugin_filename
        # no trigger of that name: the documented `?path=` upload names a file instead
        return trigger_name

    def plugin_files(self) -> list[dict]:
        return files.list_plugin_files(self.loader.plugin_dir) if self.loader.plugin_dir else []

    def install_packages(self, package_list: list[str]) -> str:
        return packages.install(self.loader.require_dir(), self.package_manager, packages=package_list)

    def install_requirements(self, requirements_location: str) -> str:
        return packages.install(self.loader.require_dir(), self.package_manager,
                                requirements=requirements_location)
