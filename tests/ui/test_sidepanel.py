"""The side panel in a real browser against a real `jupyter lab` (see conftest.py). The tests share
one server and one page and run in file order, as a user would: write with %%lp, browse, query and
chart, insert into a cell, write line protocol, create a token, a cache and a trigger, switch theme.
Timings the issue asks for are printed (pytest -s) and bounded with generous margins."""

from __future__ import annotations

import re
import subprocess
import time

from ui_helpers import command, shoot

PANEL = "#jupyter-influx3-browser"
CREATED: dict[str, str] = {}  # what one test makes and a later one uses (the tests run in file order)
HOSTS = ("a", "b", "c")


def open_panel(page, lab):
    page.click('li[data-id="jupyter-influx3-browser"]')
    page.wait_for_selector(f"{PANEL} .jp-Influx3-header .jp-Influx3-health")


def refresh(page):
    page.evaluate("() => window.jupyterInflux3.browser.refresh()")


def run_all(page):
    """Runs the open notebook once its kernel is idle (a command sent earlier finds no current notebook)."""
    page.wait_for_selector("#jp-main-statusbar >> text=/Idle/", timeout=60_000)
    page.click(".jp-Notebook .jp-Cell .jp-InputPrompt")
    command(page, "notebook:run-all-cells")


def type_query(page, console, text: str):
    console.locator(".cm-content").click(force=True)  # a completion popup may cover it
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    page.keyboard.press("Escape")  # closes the completion popup, so Shift+Enter runs


def tree_item(page, kind: str, **data):
    sel = f'{PANEL} .jp-Influx3-{kind}' + "".join(f'[data-{k}="{v}"]' for k, v in data.items())
    return page.locator(sel)


def context_menu(page, item, label: str):
    item.click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$")).first.click()


def test_panel_opens_and_lists_a_database_written_with_the_lp_magic(lab, page, tmp_path):
    lab.notebook("lp.ipynb", ["%load_ext jupyter_influx3",
                              "%%lp -d lpdb --precision s\n" + "\n".join(
                                  f"cpu,host={h} usage={i + 1}.5 {1700000000 + i}" for i, h in enumerate(HOSTS))])
    start = time.monotonic()
    page.goto(f"{lab.url}/lab/tree/lp.ipynb?token={lab.token}")
    open_panel(page, lab)
    ready = time.monotonic() - start
    print(f"\npanel ready {ready:.2f} s after page load started")
    header = page.locator(f"{PANEL} .jp-Influx3-header").inner_text()
    assert "● ok" in header and "node" in header
    run_all(page)
    page.wait_for_selector(".jp-OutputArea-output:has-text('written')", timeout=60_000)
    refresh(page)
    db = tree_item(page, "database", db="lpdb")
    db.wait_for()
    db.locator(".jp-Influx3-label").click()
    table = tree_item(page, "table", db="lpdb", table="cpu")
    table.wait_for()
    table.locator(".jp-Influx3-label").click()
    cols = tree_item(page, "column", db="lpdb", table="cpu")
    cols.first.wait_for()
    assert cols.all_inner_texts() and [c.get_attribute("data-name") for c in cols.all()] == ["time", "host", "usage"]
    kinds = [b.inner_text() for b in page.locator(f'{PANEL} .jp-Influx3-column[data-db="lpdb"] .jp-Influx3-badge').all()]
    assert kinds == ["time", "tag", "float"]
    assert ready < 60


def test_the_panel_polls_at_the_interval_of_its_settings(lab, page):
    lab.write("polled", "m,host=a v=1 1700000000")
    start = time.monotonic()
    tree_item(page, "database", db="polled").wait_for(timeout=15_000)  # no refresh asked for
    assert time.monotonic() - start < 15


def test_search_filters_the_tree(lab, page):
    lab.write("other", "mem,host=a free=1 1700000000")
    refresh(page)
    tree_item(page, "database", db="other").wait_for()
    page.fill(f"{PANEL} .jp-Influx3-search", "mem")
    tree_item(page, "table", db="other", table="mem").wait_for()  # found in a database never opened
    assert tree_item(page, "database", db="lpdb").count() == 0
    assert tree_item(page, "table", db="lpdb", table="cpu").count() == 0
    page.fill(f"{PANEL} .jp-Influx3-search", "")
    tree_item(page, "database", db="lpdb").wait_for()


def test_console_runs_a_query_and_draws_a_series_per_tag_set(lab, page, tmp_path):
    lab.write("metrics", "\n".join(f"cpu,host={h} usage={i * 10 + j} {1700000000 + j * 10}"
                                   for i, h in enumerate(HOSTS) for j in range(50)))
    refresh(page)
    db = tree_item(page, "database", db="metrics")
    db.wait_for()
    db.locator(".jp-Influx3-label").click()
    table = tree_item(page, "table", db="metrics", table="cpu")
    table.wait_for()
    context_menu(page, table, "Open in Query Console")
    console = page.locator(".jp-Influx3-console").last
    console.wait_for()
    type_query(page, console, "SELECT time, host, usage FROM cpu ORDER BY time")
    page.keyboard.press("Shift+Enter")
    page.wait_for_function("() => [...document.querySelectorAll('.jp-Influx3-console')].pop().dataset.rowCount === '150'")
    chart = console.locator(".jp-Influx3-chart")
    assert chart.get_attribute("data-series-count") == "3"
    assert console.locator(".u-legend .u-series").count() == 4  # x + one per host
    painted = page.evaluate("""() => {
        const c = [...document.querySelectorAll('.jp-Influx3-chart canvas')].pop();
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n; }""")
    assert painted > 500
    assert "150 rows" in console.locator(".jp-Influx3-status").inner_text()
    shoot(page, "sidepanel-console-light", tmp_path)


def test_query_error_is_one_clear_line(lab, page):
    console = page.locator(".jp-Influx3-console").last
    type_query(page, console, "SELECT * FROM no_such_table")
    page.keyboard.press("Shift+Enter")
    status = console.locator(".jp-Influx3-status.jp-mod-error")
    status.wait_for()
    text = status.inner_text()
    assert "no_such_table" in text and "\n" not in text.strip()


def test_insert_into_cell_gives_the_same_rows_as_the_console(lab, page):
    page.click('.lm-TabBar-tab:has-text("lp.ipynb")')
    table = tree_item(page, "table", db="lpdb", table="cpu")
    context_menu(page, table, "Insert SELECT into Notebook Cell")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-Notebook .jp-Cell .cm-content')].some(e => e.textContent.startsWith('%%sql -d lpdb'))")
    command(page, "notebook:run-cell")
    out = page.locator(".jp-Notebook .jp-Cell").last.locator(".jp-OutputArea-output table")
    out.wait_for(timeout=60_000)
    cell_rows = [" ".join(r.split()) for r in out.locator("tbody tr").all_inner_texts()]
    # the same query in the console: the same rows, in the same order
    query = 'SELECT * FROM "cpu" ORDER BY time DESC LIMIT 100'
    c = page.evaluate_handle("q => window.jupyterInflux3.openConsole('lpdb', q)", query)
    page.evaluate("c => c.run()", c)
    console_rows = page.evaluate("c => c.rows", c)
    assert len(cell_rows) == len(console_rows) == 3
    for shown, row in zip(cell_rows, console_rows):
        assert shown.split()[0] == row["host"] and shown.split()[-1] == str(row["usage"])


def test_write_dialog_writes_and_shows_the_line_error(lab, page):
    db = tree_item(page, "database", db="lpdb")
    context_menu(page, db, "Write Line Protocol…")
    panel = page.locator(".jp-Influx3-write").last
    panel.wait_for()
    panel.locator(".jp-Influx3-precision").select_option("s")
    panel.locator(".jp-Influx3-lp").fill("disk,host=a used=1 1700000000\ndisk,host=b used=2 1700000000\nbroken line")
    panel.locator(".jp-Influx3-dowrite").click()
    panel.locator(".jp-Influx3-lineerror").wait_for()
    assert "2 of 3 lines written to lpdb" in panel.locator(".jp-Influx3-writesummary").inner_text()
    assert panel.locator(".jp-Influx3-lineerror").inner_text().startswith("line 3:")
    rows = lab.api("POST", "/api/v3/query_sql", json={"db": "lpdb", "q": "SELECT count(*) AS n FROM disk"}).json()
    assert rows == [{"n": 2}]


def test_a_token_created_in_the_panel_works_with_curl(lab, page):
    refresh(page)
    tokens = tree_item(page, "tokens")
    context_menu(page, tokens, "New Token…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select[name=kind]").select_option("resource")
    dialog.locator("input[name=name]").fill("reader")
    dialog.locator('input[type=checkbox][data-db="lpdb"][data-action="read"]').check()
    dialog.locator(".jp-mod-accept").click()
    token = page.locator(".jp-Influx3-tokenvalue").inner_text().strip()
    assert token.startswith("apiv3_")
    CREATED["reader"] = token
    page.locator(".jp-Dialog .jp-mod-accept").click()
    assert token not in page.evaluate("() => JSON.stringify(localStorage)")
    url = f"{lab.url}/api/v3/query_sql?db=lpdb&q=SELECT%20count(*)%20AS%20n%20FROM%20cpu&format=json"
    out = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {token}", url], capture_output=True, text=True,
                         timeout=30)
    assert '"n":3' in out.stdout.replace(" ", ""), out.stdout
    denied = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-XPOST", "-H",
                             f"Authorization: Bearer {token}", "--data-binary", "x f=1",
                             f"{lab.url}/api/v3/write_lp?db=lpdb"], capture_output=True, text=True, timeout=30)
    assert denied.stdout == "403"
    tokens.locator(".jp-Influx3-label").click()
    tree_item(page, "token", name="reader").wait_for()


def test_a_token_deleted_in_the_panel_stops_working(lab, page):
    token_item = tree_item(page, "token", name="reader")
    context_menu(page, token_item, "Delete Token…")
    page.locator(".jp-Dialog .jp-mod-warn").click()
    page.wait_for_function("() => !document.querySelector('[data-kind=token][data-name=reader]')")
    url = f"{lab.url}/api/v3/query_sql?db=lpdb&q=SELECT%201"
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                          f"Authorization: Bearer {CREATED['reader']}", url], capture_output=True, text=True, timeout=30)
    assert out.stdout == "401"


def test_a_database_is_created_given_a_retention_and_deleted_after_confirmation(lab, page):
    page.locator(f'{PANEL} .jp-ToolbarButtonComponent[title="New database"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input[name=db]").fill("bad/name")
    dialog.locator(".jp-mod-accept").click()
    page.locator(".jp-Dialog", has_text="invalid database name").wait_for()
    page.locator(".jp-Dialog .jp-mod-accept, .jp-Dialog .jp-mod-reject").last.click()
    page.locator(f'{PANEL} .jp-ToolbarButtonComponent[title="New database"]').click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input[name=db]").fill("scratch")
    dialog.locator("input[name=retention]").fill("30d")
    dialog.locator(".jp-mod-accept").click()
    db = tree_item(page, "database", db="scratch")
    db.wait_for()
    assert db.locator(".jp-Influx3-retention").inner_text() == "30d"
    context_menu(page, db, "Set Retention Period…")
    page.locator(".jp-Dialog input[name=r]").fill("12h")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(f'{PANEL} .jp-Influx3-database[data-db="scratch"] .jp-Influx3-retention', has_text="12h").wait_for()
    context_menu(page, db, "Delete Database…")
    page.locator(".jp-Dialog .jp-mod-reject").click()  # cancelled: still there
    refresh(page)
    assert tree_item(page, "database", db="scratch").count() == 1
    context_menu(page, db, "Delete Database…")
    page.locator(".jp-Dialog .jp-mod-warn").click()
    page.wait_for_function("() => !document.querySelector('[data-kind=database][data-db=scratch]')")
    names = [r["iox::database"] for r in lab.api("GET", "/api/v3/configure/database?format=json").json()]
    assert "scratch" not in names


def test_the_console_completes_table_names(lab, page):
    c = page.evaluate_handle("() => window.jupyterInflux3.openConsole('lpdb', '')")
    console = page.locator(".jp-Influx3-console").last
    console.locator(".cm-content").click(force=True)
    page.keyboard.type("SELECT * FROM di")
    page.keyboard.press("Control+Space")
    page.locator(".cm-tooltip-autocomplete li", has_text="disk").first.wait_for()
    page.keyboard.press("Escape")
    assert page.evaluate("c => c.database", c) == "lpdb"


def test_a_cache_created_in_the_panel_is_listed_with_a_badge(lab, page):
    table = tree_item(page, "table", db="lpdb", table="cpu")
    context_menu(page, table, "New Cache…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select[name=kind]").select_option("last")
    dialog.locator("input[name=name]").fill("cpu_last")
    dialog.locator("input[name=columns]").fill("host")
    dialog.locator(".jp-mod-accept").click()
    page.locator(f'{PANEL} .jp-Influx3-table[data-table="cpu"][data-db="lpdb"] .jp-Influx3-lvc').wait_for()
    tree_item(page, "cache", db="lpdb", table="cpu", name="cpu_last").wait_for()


def test_a_trigger_created_in_the_panel_is_listed_and_logs_its_runs(lab, page):
    db = tree_item(page, "database", db="lpdb")
    context_menu(page, db, "New Trigger…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input[name=trigger_name]").fill("saw")
    dialog.locator("input[name=plugin_filename]").fill("saw_rows.py")
    dialog.locator("input[name=trigger_specification]").fill("all_tables")
    dialog.locator("textarea[name=arguments]").fill('{"threshold": "5", "nested": {"a": 1}}')
    dialog.locator(".jp-mod-accept").click()
    trig = tree_item(page, "trigger", db="lpdb", name="saw")
    trig.wait_for()
    assert "jp-mod-enabled" in trig.get_attribute("class")
    lab.write("lpdb", "cpu,host=z usage=9 1700000100")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        logs = lab.api("POST", "/api/v3/query_sql", json={
            "db": "lpdb", "q": "SELECT log_text FROM system.processing_engine_logs WHERE trigger_name = 'saw'"}).json()
        if logs:
            break
        time.sleep(0.5)
    context_menu(page, trig, "Show Trigger Logs")
    page.locator(".jp-Influx3-logs pre", has_text="saw 1 rows of cpu").wait_for()
    context_menu(page, trig, "Disable Trigger")
    page.locator(f'{PANEL} .jp-Influx3-trigger.jp-mod-disabled[data-name="saw"]').wait_for()


def test_a_trigger_form_is_generated_from_the_plugin_docstring(lab, page):
    plugins = tree_item(page, "plugins")
    plugins.locator(".jp-Influx3-label").click()
    plugin = tree_item(page, "plugin", name="threshold.py")
    plugin.wait_for()
    context_menu(page, plugin, "New Trigger from This Plugin…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select[name=db]").select_option("lpdb")
    assert dialog.locator("input[name=trigger_specification]").input_value() == "all_tables"
    assert "the field to watch" in dialog.inner_text()
    assert dialog.locator('input[name="arg:field"]').get_attribute("placeholder") == "usage"
    dialog.locator(".jp-mod-accept").click()  # the required argument is empty: refused, nothing created
    page.locator(".jp-Dialog", has_text="required argument missing: field").wait_for()
    page.locator(".jp-Dialog .jp-mod-accept, .jp-Dialog .jp-mod-reject").last.click()
    context_menu(page, plugin, "New Trigger from This Plugin…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select[name=db]").select_option("lpdb")
    dialog.locator('input[name="arg:field"]').fill("usage")
    dialog.locator('input[name="arg:limit"]').fill("5")
    dialog.locator(".jp-mod-accept").click()
    tree_item(page, "trigger", db="lpdb", name="threshold").wait_for()
    args = lab.api("POST", "/api/v3/query_sql", json={
        "db": "lpdb", "q": "SELECT argument_key, argument_value FROM system.processing_engine_trigger_arguments "
                           "WHERE trigger_name = 'threshold' ORDER BY argument_key"}).json()
    assert args == [{"argument_key": "field", "argument_value": "usage"},
                    {"argument_key": "limit", "argument_value": "5"}]
    context_menu(page, plugin, "Open Plugin File")
    page.locator(".lm-TabBar-tab", has_text="threshold.py").wait_for()
    page.locator(".jp-FileEditor .cm-content", has_text="onwrite_args_config").wait_for()


def test_a_plugin_dry_run_shows_its_log_lines(lab, page):
    plugin = tree_item(page, "plugin", name="threshold.py")
    context_menu(page, plugin, "Test Plugin on Lines (dry run)…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("select[name=db]").select_option("lpdb")
    dialog.locator("textarea[name=lp]").fill("cpu,host=a usage=99 1700000000000000000")
    dialog.locator("textarea[name=args]").fill('{"field": "usage", "limit": 5}')
    dialog.locator(".jp-mod-accept").click()
    page.locator(".jp-Influx3-testrun pre", has_text="usage over the limit in cpu").wait_for()


def test_cache_query_export_and_history_survive_a_reload(lab, page):
    cache = tree_item(page, "cache", db="lpdb", table="cpu", name="cpu_last")
    context_menu(page, cache, "Query Cache")
    console = page.locator(".jp-Influx3-console").last
    console.wait_for()
    assert "last_cache('cpu', 'cpu_last')" in console.locator(".cm-content").inner_text()
    console.locator(".jp-Influx3-run").click()
    page.wait_for_function("() => Number([...document.querySelectorAll('.jp-Influx3-console')].pop().dataset.rowCount) >= 3")
    with page.expect_download() as download:
        console.locator(".jp-Influx3-csv").click()
    text = open(download.value.path()).read()
    assert text.splitlines()[0].split(",")[:1] and "host" in text.splitlines()[0] and len(text.splitlines()) >= 4
    history = page.evaluate("() => JSON.parse(localStorage.getItem('jupyter-influx3:history'))")
    assert "last_cache('cpu', 'cpu_last')" in history[0]["query"]


def test_a_backup_started_in_the_panel_is_listed_with_its_state(lab, page):
    admin = tree_item(page, "admin")
    context_menu(page, admin, "New Backup…")
    page.locator(".jp-Dialog input[name=name]").fill("nightly")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    admin.locator(".jp-Influx3-label").click()
    job = tree_item(page, "job", name="nightly")
    job.wait_for()
    deadline = time.monotonic() + 30
    while "completed" not in job.inner_text() and time.monotonic() < deadline:
        refresh(page)
        page.wait_for_timeout(300)
    assert "completed" in job.inner_text()


def test_light_and_dark_themes(lab, page, tmp_path):
    def panel_background():
        return page.evaluate(f"() => getComputedStyle(document.querySelector('{PANEL} .jp-Influx3-browser')).backgroundColor")

    def luminance(rgb: str) -> float:
        r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    page.click('.lm-TabBar-tab:has-text("Query metrics")')
    assert luminance(panel_background()) > 0.6
    shoot(page, "sidepanel-light", tmp_path)
    command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    assert luminance(panel_background()) < 0.4
    shoot(page, "sidepanel-dark", tmp_path)
    command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === 'true'")


def test_a_remote_server_is_added_browsed_and_queried_without_its_token_in_the_browser(lab, page, start_influx3):
    import requests

    far = start_influx3(auth=True)
    token = requests.post(far.url + "/api/v3/configure/token/admin", timeout=30).json()["token"]
    r = requests.post(far.url + "/api/v3/write_lp?db=faraway&precision=s", data="temp,room=x c=21.5 1700000000",
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 204
    page.locator(f"{PANEL} .jp-Influx3-connection").select_option("#add")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input[name=name]").fill("far")
    dialog.locator("input[name=url]").fill(far.url)
    dialog.locator("input[name=token]").fill(token)
    dialog.locator(".jp-mod-accept").click()
    db = tree_item(page, "database", db="faraway")
    db.wait_for()
    assert tree_item(page, "database", db="lpdb").count() == 0
    assert far.url in page.locator(f"{PANEL} .jp-Influx3-header").inner_text()
    db.locator(".jp-Influx3-label").click()
    table = tree_item(page, "table", db="faraway", table="temp")
    table.wait_for()
    context_menu(page, table, "Open in Query Console")
    console = page.locator(".jp-Influx3-console").last
    console.wait_for()
    console.locator(".jp-Influx3-run").click()
    page.wait_for_function("() => [...document.querySelectorAll('.jp-Influx3-console')].pop().dataset.rowCount === '1'")
    seen = page.evaluate("() => JSON.stringify(localStorage) + document.body.innerHTML")
    assert token not in seen
    page.locator(f"{PANEL} .jp-Influx3-connection").select_option("")
    tree_item(page, "database", db="lpdb").wait_for()
    assert tree_item(page, "database", db="faraway").count() == 0


def test_a_tree_of_200_tables_and_a_100k_row_result(lab, page):
    lab.write("wide", "\n".join(f"t{i:03d},host=a v={i} 1700000000" for i in range(200)))
    lab.write("big", "\n".join(f"m,host={HOSTS[i % 3]} v={i % 997} {1700000000000 + i}" for i in range(100_000)),
              precision="ms")
    refresh(page)
    db = tree_item(page, "database", db="wide")
    db.wait_for()
    clicked = page.evaluate("() => performance.now()")
    db.locator(".jp-Influx3-label").click()
    tree_item(page, "table", db="wide", table="t199").wait_for()
    shown_ms = page.evaluate("() => performance.now()") - clicked
    render_ms = float(page.locator(f"{PANEL} .jp-Influx3-browser").get_attribute("data-render-ms"))
    print(f"\ntree of 200 tables rendered in {render_ms:.1f} ms; {shown_ms:.0f} ms from the click to the last "
          "table shown (its schema, caches and triggers fetched)")
    c = page.evaluate_handle("() => window.jupyterInflux3.openConsole('big', 'SELECT time, host, v FROM m')")
    page.evaluate("c => c.run()", c)
    run_ms = float(page.evaluate("c => c.lastRunMs", c))
    assert page.evaluate("c => c.rows.length", c) == 100_000
    series = page.evaluate("c => c.node.querySelector('.jp-Influx3-chart').dataset.seriesCount", c)
    assert series == "3"
    start = time.monotonic()
    page.evaluate("() => 1")  # the page answers at once: the work is done, nothing still blocks it
    responsive_s = time.monotonic() - start
    print(f"100K-row result in grid and chart in {run_ms:.0f} ms (query + transfer + draw); page answered in "
          f"{responsive_s * 1000:.0f} ms after")
    assert render_ms < 2000 and run_ms < 20_000 and responsive_s < 2


def test_a_sql_cell_without_an_open_notebook_goes_into_a_new_one_that_runs(lab, page):
    command(page, "application:close-all")
    discard = page.locator(".jp-Dialog button", has_text="Discard")
    discard.wait_for()
    discard.click()
    page.wait_for_function("() => !document.querySelector('.jp-Notebook')")
    table = tree_item(page, "table", db="lpdb", table="disk")
    if not table.count():
        tree_item(page, "database", db="lpdb").locator(".jp-Influx3-label").click()
    context_menu(page, table, "New %%sql Cell with SELECT")
    page.wait_for_selector(".jp-Notebook")
    sources = page.locator(".jp-Notebook .jp-Cell .cm-content")
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 2")
    assert sources.nth(0).inner_text() == "%load_ext jupyter_influx3"
    assert sources.nth(1).inner_text().startswith('%%sql -d lpdb\nSELECT * FROM "disk"')
    run_all(page)
    out = page.locator(".jp-Notebook .jp-Cell").last.locator(".jp-OutputArea-output table")
    out.wait_for(timeout=60_000)
    assert out.locator("tbody tr").count() == 2
