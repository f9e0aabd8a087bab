"""`%influx3 token` (issue 10): in a kernel, the operator token of the kernel's own data directory --
the way a notebook user gets the token the Jupyter server's port no longer hands to strangers."""

from __future__ import annotations

from jupyter_helpers import ok, run

from jupyter_influx3.engine import Engine
from jupyter_influx3.engine import tokens as tokenlib
from jupyter_influx3.jupyter.display import MagicError


def _valid(data_dir, token: str) -> bool:
    eng = Engine(str(data_dir), node_id="token-check")
    try:
        record = tokenlib.lookup(eng.catalog, token)
        return record is not None and tokenlib.is_admin(record)
    finally:
        eng.close()


def test_token_is_created_once_stored_in_a_variable_and_regenerated(ip, data_dir):
    msg = ok(ip, "%influx3 token -o tok")
    token = ip.user_ns["tok"]
    assert token.startswith("apiv3_") and token not in repr(msg) and "stored in tok" in repr(msg)
    assert _valid(data_dir, token)

    res = run(ip, "%influx3 token")  # shown once only: a second call does not reveal it again
    assert isinstance(res.error_in_exec, MagicError) and "--regenerate" in str(res.error_in_exec)

    msg = ok(ip, "%influx3 token --regenerate")
    new = repr(msg).rsplit(" ", 1)[-1]
    assert new.startswith("apiv3_") and new != token
    assert _valid(data_dir, new) and not _valid(data_dir, token)


def test_token_refuses_a_server_connection_and_bad_variables(ip):
    res = run(ip, "%influx3 token -o not-a-name")
    assert isinstance(res.error_in_exec, MagicError) and "cannot store" in str(res.error_in_exec)
    res = run(ip, "%influx3 token --regenerate")  # the refused call made no token it could not show
    assert isinstance(res.error_in_exec, MagicError) and "no operator token yet" in str(res.error_in_exec)
    ok(ip, "%config Influx3Magics.url = 'http://127.0.0.1:9'")
    res = run(ip, "%influx3 token")
    assert isinstance(res.error_in_exec, MagicError) and "data directory of this kernel" in str(res.error_in_exec)
