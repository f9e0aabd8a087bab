"""Query limits and cancellation in the engine itself (what kernels get too): statement text
limits, the RecursionError wall, memory sizes, and a QueryScope interrupting exactly its own query."""

from __future__ import annotations

import threading
import time

import pytest

from jupyter_influx3.engine import cancellation
from jupyter_influx3.engine.querylimits import (QueryLimits, StatementTooComplex, StatementTooLarge,
                                                check_statement, parse_memory_size, total_memory)

RUNAWAY = "SELECT count(*) FROM generate_series(1, 1000000000000)"


def test_statement_over_the_size_limit_is_refused_before_parsing(engine):
    engine.create_database("a")
    engine.query_limits = QueryLimits(max_statement_bytes=1000)
    with pytest.raises(StatementTooLarge, match=r"statement too large: 1\d\d\d bytes \(the limit is 1000 bytes\)"):
        engine.query_sql("a", "SELECT 1 WHERE " + " OR ".join(["true"] * 200))
    assert engine.sql("a", "SELECT 1 AS x").column("x").to_pylist() == [1]


LIMITS = QueryLimits(max_nesting=2, max_operators=2)


@pytest.mark.parametrize("text", [
    "SELECT * FROM cpu WHERE host = '((((a OR b OR c))))' AND \"x(((\" = 1",   # in strings and identifiers
    "SELECT value FROM cpu WHERE host =~ /a|b|c|d|(e|(f))/ -- ((( OR OR OR",     # in a regex and a comment
    "SELECT max(a), min(b), sum(c), count(d) FROM m GROUP BY time(1m) fill(none)",  # side by side
    "SELECT ((a)), [b], {c}",
])
def test_brackets_and_operators_that_do_not_nest_or_chain_are_not_counted(text):
    check_statement(text, LIMITS)


@pytest.mark.parametrize("text,message", [
    ("SELECT (((1)))", "3 levels of brackets"),
    ("SELECT max(a), ([{b}])", "3 levels of brackets"),
    ("SELECT f(g(h(1)))", "3 levels of brackets"),
    ("SELECT 1 WHERE a OR b AND c - 1 > 0", "3 AND/OR/arithmetic operators"),
])
def test_statements_past_the_structure_limits_are_refused(text, message):
    with pytest.raises(StatementTooComplex, match=message):
        check_statement(text, LIMITS)


def test_recursion_error_of_the_planner_becomes_statement_too_complex(engine):
    # with the text limits off, the planner's own recursion gives out: a clear error, not RecursionError
    engine.create_database("a")
    engine.query_limits = QueryLimits(max_nesting=0, max_operators=0)
    with pytest.raises(StatementTooComplex, match="nested too deeply for the query planner"):
        engine.query_sql("a", "SELECT " + "abs(" * 3000 + "1" + ")" * 3000)


def test_influxql_statement_limits_are_parse_errors(engine):
    engine.create_database("a")
    engine.write_lp("a", "cpu,host=a value=1 1")
    from jupyter_influx3.engine.influxql.api import InfluxqlQueryError

    q = "SELECT value FROM cpu WHERE " + " OR ".join(f"host = 'h{i}'" for i in range(600))
    with pytest.raises(InfluxqlQueryError, match="parsing error: statement is too complex: 599"):
        engine.query_influxql("a", q)


@pytest.mark.parametrize("text,expected", [
    ("4GB", 4 * 10**9), ("512MiB", 512 * 2**20), ("1073741824", 2**30), ("1.5 GiB", int(1.5 * 2**30)),
    ("2gb", 2 * 10**9),
])
def test_memory_sizes(text, expected):
    assert parse_memory_size(text) == expected


def test_memory_size_as_a_percentage_of_ram():
    assert parse_memory_size("25%") == int(total_memory() * 0.25)


@pytest.mark.parametrize("text", ["lots", "0%", "150%", "12", "4 GX", "-1GB", ""])
def test_bad_memory_sizes_are_refused(text):
    with pytest.raises(ValueError):
        parse_memory_size(text)


def test_cancelling_a_scope_interrupts_its_own_query_only(engine):
    engine.create_database("a")
    mine, other = cancellation.QueryScope(), cancellation.QueryScope()
    outcome: dict = {}

    def run(name, scope):
        try:
            with scope.active():
                outcome[name] = engine.sql("a", RUNAWAY)
        except Exception as exc:  # noqa: BLE001 - the outcome is the point
            outcome[name] = exc

    threads = [threading.Thread(target=run, args=("mine", mine)), threading.Thread(target=run, args=("other", other))]
    for t in threads:
        t.start()
    time.sleep(0.5)
    mine.cancel(cancellation.TIMEOUT)
    threads[0].join(10)
    assert not threads[0].is_alive()
    assert "Interrupted" in str(outcome["mine"])
    assert threads[1].is_alive()  # the other query runs on
    other.cancel(cancellation.SHUTDOWN)
    threads[1].join(10)
    assert not threads[1].is_alive()


def test_a_scope_holds_cursors_only_once_a_query_read_through_duckdb(engine):
    # (an HTTP request whose inline run opened none has nothing for its deadline to interrupt)
    engine.write_lp("a", "cpu v=1 1\n", precision="nanosecond")
    from jupyter_influx3.engine.influxql.executor import Executor

    ex = Executor(engine)
    cached, through_duckdb = cancellation.QueryScope(), cancellation.QueryScope()
    with cached.active():
        list(ex.execute("SHOW DATABASES"))
    with through_duckdb.active():
        result = engine.query_sql("a", "SELECT v FROM cpu")
        result.to_table()
    assert not cached.holds_cursors()
    assert through_duckdb.holds_cursors()


def test_a_scope_cancelled_before_its_query_starts_refuses_to_run(engine):
    scope = cancellation.QueryScope()
    scope.cancel(cancellation.SHUTDOWN)
    with pytest.raises(cancellation.QueryCancelled, match="server is shutting down") as info:
        with scope.active():
            engine.sql("a", "SELECT 1")
    assert info.value.status == 503


def test_a_scope_past_its_deadline_reports_the_timeout():
    scope = cancellation.QueryScope(timeout_s=0.01)
    time.sleep(0.05)
    with pytest.raises(cancellation.QueryCancelled) as info:
        scope.check()
    assert str(info.value) == "query-timeout limit exceeded (0.01 s)"
    assert info.value.status == 504


def test_influxql_answer_of_more_points_than_max_select_point_is_refused(engine):
    from jupyter_influx3.engine.influxql.api import InfluxqlQueryError

    engine.write_lp("a", "\n".join(f"cpu,host=h{i % 3} value={i} {i + 1}" for i in range(20)))
    engine.query_limits = QueryLimits(max_select_points=10)
    with pytest.raises(InfluxqlQueryError, match=r"^max-select-point limit exceeed: \(20/10\)$"):
        engine.query_influxql("a", "SELECT value FROM cpu")
    assert engine.query_influxql("a", "SELECT value FROM cpu LIMIT 3").to_table().num_rows == 3
    engine.query_limits = QueryLimits(max_select_points=0)  # off
    assert engine.query_influxql("a", "SELECT value FROM cpu").to_table().num_rows == 20


def test_influxql_fill_grid_is_counted_before_it_is_built(engine):
    from jupyter_influx3.engine.influxql.api import InfluxqlQueryError

    engine.write_lp("a", "cpu,host=a value=1 1000000000\ncpu,host=b value=2 2000000000", "ns")
    engine.query_limits = QueryLimits(max_select_points=1000)
    q = ("SELECT mean(value) FROM cpu WHERE time >= '1970-01-01T00:00:00Z' AND time < '1970-01-01T00:10:00Z' "
         "GROUP BY time(1s), host fill(0)")
    with pytest.raises(InfluxqlQueryError, match=r"^max-select-point limit exceeed: \(1202/1000\)$"):
        engine.query_influxql("a", q)
    engine.query_limits = QueryLimits(max_select_points=2000)
    assert engine.query_influxql("a", q).to_table().num_rows == 1200


def test_a_statement_started_just_after_the_cancel_is_interrupted_too():
    import duckdb

    scope = cancellation.QueryScope()
    cursor = duckdb.connect().cursor()
    scope.attach(cursor)
    scope.cancel(cancellation.DISCONNECT)  # the cursor is idle: this interrupt alone would be lost
    t0 = time.monotonic()
    with pytest.raises(duckdb.InterruptException):
        cursor.execute(RUNAWAY).fetchall()
    assert time.monotonic() - t0 < 5


def test_a_cursor_opened_for_a_cancelled_query_refuses_to_start(engine):
    engine.create_database("a")
    scope = cancellation.QueryScope()
    with scope.active():
        scope.cancel(cancellation.DISCONNECT)  # e.g. the client left while the query was planned
        with pytest.raises(cancellation.QueryCancelled, match="client closed the connection"):
            engine.sql("a", RUNAWAY)
    log = [q for q in engine.query_log if q.query_text == RUNAWAY]
    assert [(q.phase, q.cancelled) for q in log] == [("cancel", True)]


def test_a_stopped_influxql_query_runs_no_further_statement(engine):
    from jupyter_influx3.engine.influxql.executor import Executor

    engine.write_lp("a", "cpu,host=a value=1 1")
    scope = cancellation.QueryScope()
    with scope.active():
        results = Executor(engine).execute("SELECT value FROM cpu; SELECT value FROM cpu", database="a")
        assert next(results).error is None
        scope.cancel(cancellation.TIMEOUT)
        with pytest.raises(cancellation.QueryCancelled, match="query-timeout limit exceeded"):
            next(results)


def _deadline_thread() -> threading.Thread:
    """The thread that rings alarms and enforces deadlines, started if it was not."""
    cancellation.start_timer()
    return next(t for t in threading.enumerate() if t.name == "influx3-query-deadlines")


def test_the_deadline_thread_wakes_for_a_batch_of_alarms_not_for_each(voluntary_switches):
    """A busy server arms an alarm per request run on the IOLoop; the thread acts on the ones due
    together (WAKE_SLACK_S), so 200 alarms due 1 ms apart cost it a few dozen wake-ups, not 200
    or more (one per alarm, and one more for the lock the arming thread held)."""
    thread = _deadline_thread()
    scopes = [cancellation.QueryScope() for _ in range(200)]
    time.sleep(0.05)
    before = voluntary_switches(thread.native_id)
    alarms = [cancellation.alarm(scope, 0.02 + i * 0.001) for i, scope in enumerate(scopes)]   # 1 ms apart
    time.sleep(0.02 + 0.2 + cancellation.WAKE_SLACK_S + 0.1)
    woke = voluntary_switches(thread.native_id) - before
    assert all(a.disarm() for a in alarms)   # every alarm rang
    assert woke < 100, woke


def _deadline_thread_wakes(voluntary_switches, one_request) -> tuple[int, int]:
    """(the deadline thread's wake-ups, requests) over a second of `one_request()` calls."""
    thread = _deadline_thread()
    time.sleep(0.1)
    before = voluntary_switches(thread.native_id)
    requests = 0
    t_end = time.monotonic() + 1.0
    while time.monotonic() < t_end:
        one_request()
        requests += 1
    return voluntary_switches(thread.native_id) - before, requests


def test_quick_alarms_armed_and_disarmed_one_after_another_seldom_wake_the_thread(voluntary_switches):
    """What a busy server does: each query run on the IOLoop arms an alarm and disarms it ~1 ms
    later. Alarms are armed without the thread's lock and without waking it; when it wakes it
    drops the ones already disarmed. So a second of that costs the thread a few dozen wake-ups,
    not one per WAKE_SLACK_S (100, each then fighting the arming thread for the lock)."""
    def one_request():
        ring = cancellation.alarm(cancellation.QueryScope(), 0.05)
        time.sleep(0.001)
        assert not ring.disarm()

    woke, requests = _deadline_thread_wakes(voluntary_switches, one_request)
    assert requests > 300
    assert woke < 60, woke


def test_alarms_disarmed_before_the_thread_can_look_do_not_wake_it_per_request(voluntary_switches):
    """What the IOLoop does: arm, hold the GIL while the query runs, disarm, then wait for the next
    request. The thread cannot look until the loop waits, and by then the alarm is disarmed. It
    keeps looking every BUSY_TICK_S while alarms come, so a second of requests costs it a few
    dozen wake-ups, not one per request (the next alarm woke a thread that slept with no time-out)."""
    def one_request():
        ring = cancellation.alarm(cancellation.QueryScope(), 0.05)
        busy_until = time.perf_counter() + 0.0003
        while time.perf_counter() < busy_until:   # the query: Python work, the GIL held
            pass
        assert not ring.disarm()
        time.sleep(0.0005)   # the loop waits for the next request

    woke, requests = _deadline_thread_wakes(voluntary_switches, one_request)
    assert requests > 300
    assert woke < 80, (woke, requests)


def test_an_alarm_rings_on_time_while_the_thread_sleeps_until_a_far_deadline():
    far = cancellation.QueryScope(timeout_s=300)
    cancellation.watch(far)   # the thread now sleeps until this deadline...
    time.sleep(0.05)
    t0 = time.monotonic()
    ring = cancellation.alarm(cancellation.QueryScope(), 0.05)   # ...and this one is due long before
    while ring.armed and time.monotonic() - t0 < 5:
        time.sleep(0.005)
    rang_after = time.monotonic() - t0
    assert ring.disarm()   # it rang
    assert rang_after < 0.05 + cancellation.WAKE_SLACK_S + 0.1, rang_after
    assert not far.cancelled


def test_the_operator_patterns_lookahead_changes_no_count():
    """The operator pattern's lookahead (characters that start no operator fail at once) counts
    exactly what the alternatives alone count, on random texts of the characters that matter."""
    import random
    import re

    from jupyter_influx3.engine import querylimits
    pattern = querylimits._OPERATOR.pattern
    plain = re.compile(pattern[pattern.index("(?:") + 3:-1], re.I)
    rnd = random.Random(3)
    words = ["AND", "and", "Or", "OR", "ORDER", "band", "x", " ", "|", "||", "-", "+", "%", "&", "^", "(", "_", "1"]
    for _ in range(3000):
        text = "".join(rnd.choice(words) for _ in range(rnd.randint(0, 12)))
        assert querylimits._OPERATOR.findall(text) == plain.findall(text), text
