"""Random InfluxQL data and queries (seeded), shared by the differential fuzzer against a live
InfluxDB 1.6.7 (tests/stress/influxql_fuzz.py) and the storage-state test
(tests/engine/test_influxql_storage_states.py): small datasets of float, integer, string and
boolean fields with gaps and a tag some points lack, and queries of the forms dashboards send
(`common_query`) or of every form (`any_query`); `answer` is ours, `close` compares two."""

from __future__ import annotations

import json
import random

from jupyter_influx3.http.influxql import json_answer

T0 = 1672531200
AGGREGATES = ["count", "sum", "mean", "median", "mode", "spread", "stddev", "min", "max", "first", "last",
              "distinct", "integral"]
TRANSFORMS = ["derivative", "non_negative_derivative", "difference", "non_negative_difference", "moving_average",
              "cumulative_sum", "elapsed"]


def dataset(rnd: random.Random) -> tuple[str, list[str]]:
    lines, hosts = [], ["a", "b", "c"][:rnd.randint(1, 3)]
    for h in hosts:
        t = T0 + rnd.randint(0, 30)
        for _ in range(rnd.randint(5, 40)):
            t += rnd.choice([1, 5, 10, 10, 10, 20, 60, 90])
            f = []
            if rnd.random() < 0.85:
                f.append(f"usage={rnd.choice([round(rnd.uniform(-50, 100), rnd.randint(0, 3)), 0, 1, -1, 0.5])}")
            if rnd.random() < 0.7:
                f.append(f"n={rnd.randint(-30, 100)}i")
            if rnd.random() < 0.4:
                f.append(f's="{rnd.choice(["x", "y", "zz"])}"')
            if rnd.random() < 0.3:
                f.append(f"b={rnd.choice(['true', 'false'])}")
            tags = f"host={h}" + (f",dc={rnd.choice(['d1', 'd2'])}" if rnd.random() < 0.5 else "")
            lines.append(f"cpu,{tags} {','.join(f or ['n=1i'])} {t}")
    return "\n".join(lines), hosts


def _where(rnd: random.Random, hosts: list[str]) -> str:
    lo = T0 + rnd.randint(-60, 200)
    hi = lo + rnd.randint(30, 3000)
    terms = [f"time >= {lo}s", f"time {rnd.choice(['<', '<='])} {hi}s"]
    if rnd.random() < 0.4:
        terms.append(f"host {rnd.choice(['=', '!='])} '{rnd.choice(hosts + ['q'])}'")
    if rnd.random() < 0.2:
        terms.append(f"host =~ /^({rnd.choice(hosts)}|q)$/")
    return " WHERE " + " AND ".join(terms)


def common_query(rnd: random.Random, hosts: list[str]) -> str:
    field = rnd.choice(["usage", "n"])
    where = _where(rnd, hosts)
    agg = rnd.choice(["mean", "max", "min", "sum", "count", "last", "first", "median", "spread", "stddev",
                      "percentile"])
    call = f"{agg}({field}, 95)" if agg == "percentile" else f"{agg}({field})"
    r = rnd.random()
    if r >= 0.75:   # raw
        q = f"SELECT {rnd.choice(['usage', 'usage, n', '*', 'n'])} FROM cpu{where}"
        if rnd.random() < 0.3:
            q += " GROUP BY " + rnd.choice(["host", "*"])
        if rnd.random() < 0.4:
            q += " ORDER BY time DESC"
        if rnd.random() < 0.5:
            q += f" LIMIT {rnd.randint(1, 10)}"
        return q
    if r >= 0.45:
        tr = rnd.choice(TRANSFORMS[:-1])
        extra = ""
        if tr.endswith("derivative") and rnd.random() < 0.6:
            extra = f", {rnd.choice(['1s', '1m'])}"
        elif tr == "moving_average":
            extra = f", {rnd.randint(1, 3)}"
        call = f"{tr}({call}{extra})"
    if rnd.random() < 0.3:
        call += f", {rnd.choice(['mean', 'max', 'count'])}({rnd.choice(['usage', 'n'])})"
    q = f"SELECT {call} FROM cpu{where} GROUP BY time({rnd.choice(['10s', '30s', '1m', '90s', '5m'])})"
    if rnd.random() < 0.4:
        q += ", " + rnd.choice(["host", "*", "dc"])
    if rnd.random() < 0.6:
        q += f" fill({rnd.choice(['null', 'none', '0', 'previous', 'linear'])})"
    if rnd.random() < 0.15:
        q += " ORDER BY time DESC"
    if rnd.random() < 0.15:
        q += f" LIMIT {rnd.randint(1, 10)}"
    return q


def any_query(rnd: random.Random, hosts: list[str]) -> str:
    where = _where(rnd, hosts)
    if rnd.random() < 0.2:
        where += f" AND usage {rnd.choice(['>', '<', '>=', '='])} {rnd.choice([0, 10, 50.5])}"
    group, fill = [], ""
    kind = rnd.random()
    if kind < 0.55:
        f = rnd.choice(AGGREGATES)
        sel = f"{f}({rnd.choice(['usage', 'usage', 'n', 's', 'b'])})"
        if rnd.random() < 0.3:
            sel += f", {rnd.choice(AGGREGATES[:11])}({rnd.choice(['usage', 'n'])})"
        if rnd.random() < 0.6:
            group.append(f"time({rnd.choice(['10s', '30s', '1m', '90s', '5m'])})")
            if rnd.random() < 0.5:
                fill = f" fill({rnd.choice(['null', 'none', '0', 'previous', 'linear', '-1'])})"
        if rnd.random() < 0.4:
            group.append(rnd.choice(["host", "*", "dc", "host, dc"]))
    elif kind < 0.7:
        sel = rnd.choice(["top({f}, {k})", "bottom({f}, {k})", "percentile({f}, {p})"]).format(
            f=rnd.choice(["usage", "n"]), k=rnd.randint(1, 4), p=rnd.choice([0, 10, 50, 90, 99.9, 100]))
        if rnd.random() < 0.4 and not sel.startswith(("top", "bottom")):
            group.append(rnd.choice(["host", "time(1m)"]))
    else:
        sel = rnd.choice(["*", "usage", "usage, n", "n, s", "usage::integer", "n::float", "usage * 2 + n",
                          "host, usage"])
        if rnd.random() < 0.3:
            group.append(rnd.choice(["host", "*"]))
    q = f"SELECT {sel} FROM cpu{where}"
    if group:
        q += " GROUP BY " + ", ".join(group)
    q += fill
    if rnd.random() < 0.2:
        q += " ORDER BY time DESC"
    if rnd.random() < 0.2:
        q += f" LIMIT {rnd.randint(1, 5)}"
    if rnd.random() < 0.1:
        q += f" OFFSET {rnd.randint(1, 3)}"
    if rnd.random() < 0.1 and group:
        q += f" SLIMIT {rnd.randint(1, 2)}"
    return q


def close(a, b) -> bool:
    """Equal JSON, floats within 1e-9 relative."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and (isinstance(a, float) or isinstance(b, float)):
        return a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return a == b


def answer(ex, db: str, q: str, now: int):
    """Our /query JSON answer to ``q`` (epoch s) through executor ``ex``, parsed; an exception is
    kept as an answer of its own (compared like one)."""
    try:
        return json.loads(json_answer(ex, ex.parse(q), db, None, now, True, "s", False))
    except Exception as err:   # noqa: BLE001 - a difference to report, not a failure of the harness
        return {"exception": repr(err)}
