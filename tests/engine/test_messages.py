"""engine/messages.py: the short line people see for a query error, from the API's exact text
(the same text an engine exception and the HTTP body of the same error carry)."""

from __future__ import annotations

import json

import pytest

from jupyter_influx3.engine import Engine, errors
from jupyter_influx3.engine.messages import body_message, error_line


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = Engine(tmp_path_factory.mktemp("msg"), node_id="n1", background=False)
    assert not eng.write_lp("demo", "cpu,host=a usage=1 1").errors
    yield eng
    eng.close()


def _engine_error(engine, query: str, db: str = "demo") -> str:
    with pytest.raises(errors.EngineError) as err:
        engine.sql(db, query)
    return err.value.message


def test_an_unknown_table_is_named_as_typed_with_its_database(engine):
    text = _engine_error(engine, "SELECT * FROM nosuchtable")
    assert text == "Error during planning: table 'public.iox.nosuchtable' not found"  # the API's words, kept
    assert error_line(text, database="demo") == 'table "nosuchtable" not found in database "demo"'
    assert error_line(text) == 'table "nosuchtable" not found'


def test_a_system_table_keeps_its_schema(engine):
    text = _engine_error(engine, "SELECT * FROM system.nosuch")
    assert error_line(text, database="demo") == 'table "system.nosuch" not found'


def test_a_syntax_error_shows_the_line_and_a_caret(engine):
    query = "SELECT host\nFROM cpu\nWHERE usage >"
    line = error_line(_engine_error(engine, query), database="demo", query=query)
    assert line.splitlines() == ["syntax error at line 3, column 13", "  WHERE usage >", "              ^"]


def test_the_caret_stays_within_the_line_and_tabs_count_one():
    text = 'SQL error: ParserError("Expecting ) at Line: 1, Column: 99")'
    assert error_line(text, query="SELECT\t(1").splitlines() == [
        "syntax error at line 1, column 99: Expecting )", "  SELECT (1", "           ^"]
    assert error_line(text) == "syntax error at line 1, column 99: Expecting )"  # no query, no caret


def test_an_unknown_database_reads_the_same_from_the_engine_and_the_http_body(engine):
    engine_text = _engine_error(engine, "SELECT 1", db="nodb")
    http_body = json.dumps({"error": f"query error: {engine_text}"}).encode()
    assert error_line(engine_text) == error_line(body_message(http_body)) == 'database "nodb" not found'


def test_other_errors_lose_their_prefixes_and_extra_lines():
    assert error_line("Schema error: No field named nope.") == 'column "nope" not found'
    assert error_line("error while executing plan: Out of Memory") == "query failed: Out of Memory"
    assert error_line("Error during planning: Could not choose a function.\n\tCandidate functions:\n\tabs(x)") \
        == "Could not choose a function."
    assert error_line("error in InfluxQL statement: parsing error: found SELEC, expected SELECT at line 1, char 1",
                      query="SELEC 1").splitlines() == [
        "syntax error at line 1, column 1: found SELEC, expected SELECT", "  SELEC 1", "  ^"]


@pytest.mark.parametrize("body,text", [
    (b'{"error":"query error: database not found: x"}', "query error: database not found: x"),
    (b'{"code":"invalid","message":"bad request"}', "bad request"),
    (b"Error during planning: oops", "Error during planning: oops"),
    (b"[1, 2]", "[1, 2]"),
])
def test_body_message_takes_the_text_out_of_every_error_shape(body, text):
    assert body_message(body) == text
