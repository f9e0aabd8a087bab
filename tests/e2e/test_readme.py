"""README's "A short tour" runs as printed (as datasette tests its documentation): its ```sh blocks,
in order, in one bash in an empty directory, on a free port instead of 8181; every command must
succeed, and the output the README shows (comment lines right under a command) must be printed.
Then its ```python blocks run, in order, in the same directory with the environment the shell
exported (`INFLUX3_TOKEN`)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## A short tour"
PORT = "127.0.0.1:8181"


def tour_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block of the tour section, in order."""
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end >= 0 else len(text)]
    return re.findall(r"^```(\w+)\n(.*?)^```", section, re.S | re.M)


def expected_outputs(block: str) -> list[str]:
    """The outputs the README shows: runs of `# ...` lines right under a command line (a comment
    after a blank line is prose)."""
    out, run, previous = [], [], ""
    for line in block.splitlines():
        if line.startswith("#") and (run or (previous.strip() and not previous.startswith("#"))):
            run.append(line[2:] if line.startswith("# ") else line[1:])
        else:
            if run:
                out.append("\n".join(run))
            run = []
        previous = line
    if run:
        out.append("\n".join(run))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_tour_has_the_blocks_this_test_expects():
    blocks = tour_blocks(README.read_text())
    assert [lang for lang, _ in blocks] == ["sh", "sh", "python", "python", "sh", "python"]
    assert "influx3 serve" in blocks[0][1] and blocks[0][1].splitlines()[0].endswith("&")
    assert len([o for _, code in blocks for o in expected_outputs(code)]) == 6


@pytest.mark.timeout(300)
def test_every_tour_command_runs_as_printed(tmp_path):
    port = f"127.0.0.1:{_free_port()}"
    blocks = [(lang, code.replace(PORT, port)) for lang, code in tour_blocks(README.read_text())]
    sh = [code for lang, code in blocks if lang == "sh"]
    # Every failing command stops the run and names itself; each block's output is marked.
    script = ["set -o errtrace", "trap 'echo \"@@FAILED: $BASH_COMMAND (exit $?)\" >&2; exit 99' ERR"]
    for i, code in enumerate(sh):
        script += [code, f"echo '@@END {i}'"]
        if i == 0:
            script.append('echo "@@SERVER $!"')  # the server the first block started in the background
    script.append('echo "@@TOKEN ${INFLUX3_TOKEN:-}"')
    work = tmp_path / "fresh"
    work.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("INFLUX3_TOKEN", None)
    out_path, err_path = tmp_path / "stdout", tmp_path / "stderr"
    server_pid = None
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, stdout=out, stderr=err,
                                  stdin=subprocess.DEVNULL, timeout=240)
        stdout = out_path.read_text().replace("\r\n", "\n")
        stderr = err_path.read_text()
        m = re.search(r"^@@SERVER (\d+)$", stdout, re.M)
        server_pid = int(m.group(1)) if m else None
        assert done.returncode == 0, f"{stderr[-3000:]}\n--- stdout ---\n{stdout[-3000:]}"
        token = re.search(r"^@@TOKEN (.*)$", stdout, re.M).group(1)
        assert token.startswith("apiv3_")
        parts = re.split(r"^@@END \d+$", stdout, flags=re.M)
        assert len(parts) == len(sh) + 1
        for code, output in zip(sh, parts):
            position = 0
            for want in expected_outputs(code):
                found = output.find(want, position)
                assert found >= 0, f"README shows\n{want}\nbut the commands printed\n{output}"
                position = found + len(want)
        assert "@@FAILED" not in stderr
        for lang, code in blocks:
            if lang == "python":
                ran = subprocess.run([sys.executable, "-c", code], cwd=work, env={**env, "INFLUX3_TOKEN": token},
                                     capture_output=True, text=True, timeout=120)
                assert ran.returncode == 0, f"{code}\n{ran.stderr}"
                assert "print(" not in code or "usage" in ran.stdout
    finally:
        if server_pid is not None:
            _stop(server_pid)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
