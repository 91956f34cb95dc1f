"""Batch files: the reader, the records, the formats, timeouts and interrupts."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdsolve.batch import BatchRunner, read_batch, system_seed

from conftest import same_points

RUN = [sys.executable, "-c", "from gdsolve.cli import main; main()"]
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "batch_demo.txt"


def gdsolve(*args: str, input: bytes | None = None, timeout: float = 60):
    """Run the command in a fresh process; stdout and stderr come apart."""
    return subprocess.run(
        [*RUN, *args], input=input, capture_output=True, timeout=timeout
    )


def records(stdout: bytes) -> list[dict[str, Any]]:
    """Read JSON Lines output."""
    return [json.loads(line) for line in stdout.decode().splitlines()]


def values(record: dict[str, Any], name: str) -> list[float]:
    """The values of one unknown over a record's roots."""
    return [s["values"][name] for s in record["solutions"] if s["kind"] == "root"]


def read(text: str) -> list:
    """Read a batch given as text."""
    return list(read_batch(io.BytesIO(text.encode()), "t.txt"))


# ---------------------------------------------------------------------------
# Reading the format.


def test_blank_lines_and_dashes_separate_systems_and_comments_do_not():
    systems = read(
        "# header\n\nx = 1\n# inside, not a break\ny = 2\n\n\n---\nz = 3\n---\n\nw = 4"
    )
    assert [s.texts for s in systems] == [["x = 1", "y = 2"], ["z = 3"], ["w = 4"]]
    assert [(s.line, s.last_line) for s in systems] == [(3, 5), (9, 9), (12, 12)]
    assert [s.name for s in systems] == ["system-1", "system-2", "system-3"]


def test_directives_set_name_unknowns_parameters_and_search():
    (system,) = read(
        "@name orbit\n@vars y, x\n@param a=2, b=0.5\n@param c=1\n@box -3:3\n"
        "@box x=0:1\n@bounds y=0:\n@start x=0.5, y=1\n@seed 9\n@starts 12\n"
        "@max-iter 900\n@tol 1e-12\n@method adam\n@lr 0.05\n@noise 0\n"
        "@polish off\nx^2 + y^2 = a  # trailing comment\nx*y = b + c\n"
    )
    assert system.error is None and system.name == "orbit"
    assert system.variables == ["y", "x"]
    assert system.params == {"a": 2.0, "b": 0.5, "c": 1.0}
    assert system.boxes == {"x": (0.0, 1.0)} and system.bounds == {"y": (0.0, None)}
    assert system.start_points == [{"x": 0.5, "y": 1.0}]
    assert system.settings == {
        "box": (-3.0, 3.0), "seed": 9, "starts": 12, "max_iter": 900, "tol": 1e-12,
        "method": "adam", "lr": 0.05, "noise": 0.0, "polish": False,
    }
    assert system.texts == ["x^2 + y^2 = a", "x*y = b + c"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@colour red\nx = 1", "line 1: unknown directive @colour"),
        ("x = 1\n@starts many", "line 2: @starts: 'many' is not a whole number"),
        ("@box 5:1\nx = 1", "line 1: @box: LO must be below HI"),
        ("@name a\n@name b\nx = 1", "line 2: @name given twice (first on line 1)"),
        ("@method newton\nx = 1", "line 1: @method: unknown method 'newton'"),
        ("@name lonely", "line 1: the system has no equations"),
    ],
)
def test_a_bad_directive_is_an_error_of_its_system_at_its_line(text, message):
    (system,) = read(text)
    assert system.error.startswith(message)


def test_bom_crlf_and_a_long_line_are_handled_while_reading(monkeypatch):
    monkeypatch.setattr("gdsolve.batch.LINE_BYTES", 64)
    data = b"\xef\xbb\xbfx = 1\r\n\r\n" + b"y" * 500 + b" = 1\r\ny = 2\r\n\r\nz = 3\r\n"
    systems = list(read_batch(io.BytesIO(data)))
    assert systems[0].texts == ["x = 1"] and systems[0].error is None
    assert systems[1].error == "line 3 too long (more than 64 bytes)"
    assert (systems[1].error_line, systems[1].last_line) == (3, 4)
    assert systems[2].texts == ["z = 3"] and systems[2].line == 6


def test_each_system_seed_comes_from_the_batch_seed_and_its_position():
    children = np.random.SeedSequence(42).spawn(5)
    spawned = [int(c.generate_state(1, np.uint32)[0]) for c in children]
    assert [system_seed(42, i) for i in range(5)] == spawned


# ---------------------------------------------------------------------------
# Records and exit codes.


def test_stdin_system_gives_the_four_roots_of_circle_and_hyperbola():
    done = gdsolve("solve", "-", "--format", "json", "--seed", "1",
                   input=b"x^2+y^2=4\nx*y=1\n")
    assert done.returncode == 0
    record = json.loads(done.stdout)
    points = [(s["values"]["x"], s["values"]["y"]) for s in record["solutions"]]
    r1, r2 = 1.9318516525781366, 0.5176380902050415
    assert same_points(points, [(r1, r2), (r2, r1), (-r1, -r2), (-r2, -r1)], 1e-12)


def test_starts_0_solves_from_the_start_points_alone_as_on_the_command_line(tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("@starts 0\n@start x=3\nx^2=4\n---\n@starts 0\nx^2=9\n")
    done = gdsolve("batch", str(path), "--format", "jsonl", "--seed", "1")
    first, second = records(done.stdout)
    assert values(first, "x") == [pytest.approx(2.0)]
    assert first["starts"]["used"] == 1
    assert second["status"] == "error"
    assert second["error"] == "line 5: starts must be at least 1, got 0"


def test_mixed_file_with_bom_and_crlf_gives_roots_an_error_and_roots(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(
        "\ufeffx^2 = 9\r\n\r\ny = = 2\r\n\r\n# a note\r\n4*z - 2 = 0\r\n".encode()
    )
    done = gdsolve("batch", str(path), "--format", "jsonl", "--seed", "5")
    assert done.returncode == 2
    first, broken, last = records(done.stdout)
    assert sorted(values(first, "x")) == pytest.approx([-3.0, 3.0], abs=1e-12)
    assert broken["status"] == "error" and broken["line"] == 3
    caret = "line 3: more than one '=' in equation\n  y = = 2\n      ^"
    assert broken["error"] == caret
    assert values(last, "z") == pytest.approx([0.5], abs=1e-12)
    assert [r["line"] for r in (first, last)] == [1, 6]
    assert "system-2" in done.stderr.decode() and "1 error" in done.stderr.decode()


BROKEN = """\
@name good
x^2 + y^2 = 4
x*y = 1

@name bad-syntax
x + y = 1
x - y = 2; 3x + = 1

@name bad-directive
@starts lots
x = 1
---
@name box-outside
@box q=0:1
x^3 = 8

@name too-few-vars
@vars x
x + y = 1

@name fine
@param k=2
exp(t) = k
"""


@pytest.fixture
def broken_file(tmp_path: Path) -> Path:
    path = tmp_path / "broken.txt"
    path.write_text(BROKEN)
    return path


def test_broken_systems_are_error_records_in_order_at_their_lines(broken_file):
    done = gdsolve("batch", str(broken_file), "-f", "jsonl", "--seed", "3", "-q")
    assert done.returncode == 2
    got = records(done.stdout)
    assert [r["name"] for r in got] == [
        "good", "bad-syntax", "bad-directive", "box-outside", "too-few-vars", "fine",
    ]
    assert [r["status"] for r in got] == [
        "solved", "error", "error", "error", "error", "solved",
    ]
    assert [r["line"] for r in got] == [1, 7, 10, 14, 18, 21]
    assert got[1]["error"].startswith("line 7: ")
    assert got[1]["error"].endswith("\n  3x + = 1\n       ^")
    assert "@starts: 'lots' is not a whole number" in got[2]["error"]
    assert "@box names 'q', which is not an unknown (x)" in got[3]["error"]
    assert "missing from @vars: y" in got[4]["error"]
    assert got[5]["solutions"][0]["values"]["t"] == pytest.approx(np.log(2))
    assert [r["lines"] for r in got[:2]] == [[1, 3], [5, 7]]
    assert all(r["file"] == str(broken_file) for r in got)
    assert done.stderr == b""


def test_two_jobs_give_the_same_records_as_one(broken_file):
    def run(jobs: str) -> list[dict[str, Any]]:
        done = gdsolve("batch", str(broken_file), "-f", "jsonl", "--seed", "11",
                       "--jobs", jobs, "-q")
        assert done.returncode == 2
        return [{k: v for k, v in r.items() if k != "seconds"}
                for r in records(done.stdout)]

    one, two = run("1"), run("2")
    assert one == two
    assert one[0]["seed"] == system_seed(11, 0)


def test_a_record_seed_reproduces_the_system_with_solve(cli, tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("x = 1\n\n@name pair\nx^2 + y^2 = 4\nx*y = 1\n")
    lines = cli("batch", str(path), "-f", "jsonl", "--seed", "9", "-q").stdout
    record = json.loads(lines.splitlines()[1])
    alone = cli("solve", "x^2 + y^2 = 4", "x*y = 1", "-f", "json",
                "--seed", str(record["seed"]))
    assert json.loads(alone.stdout)["solutions"] == record["solutions"]
    assert record["seed"] == system_seed(9, 1)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x^2 = 4\n\ny + 1 = 0\n", 0),
        ("x^2 = 4\n\n2*x + y = 1; x*y = 1\n", 1),
        ("x^2 = 4\n\n2*x + y = 1; x*y = 1\n\nx = = 1\n", 2),
        ("# no systems at all\n\n---\n", 2),
    ],
)
def test_exit_code_says_whether_every_system_has_a_root(cli, tmp_path, text, code):
    path = tmp_path / "b.txt"
    path.write_text(text)
    result = cli("batch", str(path), "--seed", "1", "-q")
    assert result.exit_code == code


def test_a_system_with_no_point_to_show_prints_its_message_not_an_empty_table(
    cli, tmp_path
):
    path = tmp_path / "b.txt"
    path.write_text("1e300*x = 1\n---\nx^2 = 9\n")
    result = cli("batch", str(path), "--seed", "1", "-q")
    assert result.exit_code == 1
    first, second = result.stdout.split("system-2")
    assert "no start could be evaluated" in first and "┏" not in first
    assert "found 2 real roots" in second and second.count(" root ") == 2


def test_huge_line_is_a_quick_clean_error(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as out:
        chunk = b"x+" * 5_000_000
        for _ in range(10):
            out.write(chunk)
        out.write(b"x = 1\n")
    began = time.perf_counter()
    done = gdsolve("batch", str(path), "-f", "jsonl")
    elapsed = time.perf_counter() - began
    assert done.returncode == 2
    (record,) = records(done.stdout)
    assert record["status"] == "error" and record["line"] == 1
    assert record["error"].startswith("line 1 too long")
    assert elapsed < 2.0
    assert b"Traceback" not in done.stderr


# ---------------------------------------------------------------------------
# Formats.


def test_csv_has_a_header_and_a_row_per_solution_over_the_union_of_unknowns(
    cli, tmp_path
):
    path = tmp_path / "b.txt"
    path.write_text("@name a\ny^2 = 1\n\n@name b\nx = 2; z = x + 1\n\n@name c\nq = = 1")
    result = cli("batch", str(path), "-f", "csv", "--seed", "2", "-q")
    assert result.exit_code == 2
    head, *rows = [line.split(",") for line in result.stdout.splitlines()]
    assert head == [
        "system", "status", "solution", "kind", "residual", "starts", "y", "x", "z"
    ]
    assert [row[:4] + row[6:] for row in rows] == [
        ["a", "solved", "1", "root", "-1.0", "", ""],
        ["a", "solved", "2", "root", "1.0", "", ""],
        ["b", "solved", "1", "root", "", "2.0", "3.0"],
        ["c", "error", "", "", "", "", ""],
    ]
    assert int(rows[0][5]) + int(rows[1][5]) == 64


def test_csv_marks_the_sample_points_of_a_curve_and_the_best_point_of_no_root(
    cli, tmp_path
):
    path = tmp_path / "b.txt"
    path.write_text("@name line\nx + y = 1\n\n@name none\nx^2 + 1 = 0")
    result = cli("batch", str(path), "-f", "csv", "--seed", "2", "-q")
    assert result.exit_code == 1
    head, *rows = [line.split(",") for line in result.stdout.splitlines()]
    assert head == ["system", "status", "solution", "kind", "residual", "starts",
                    "x", "y"]
    line = [row for row in rows if row[0] == "line"]
    assert len(line) == 8
    assert {tuple(row[1:4:2]) for row in line} == {("not-isolated", "root")}
    assert all(abs(float(row[6]) + float(row[7]) - 1) < 1e-12 for row in line)
    (none,) = [row for row in rows if row[0] == "none"]
    assert none[1:4] == ["no-root-found", "1", "local-minimum"]
    assert float(none[4]) == pytest.approx(1.0) and abs(float(none[6])) < 1e-6


def test_jsonl_and_json_hold_the_same_records(cli, tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("@name one\nx^2 = 4\n---\n\ny = 3\n")
    lines = cli("batch", str(path), "-f", "jsonl", "--seed", "4", "-q").stdout
    document = json.loads(cli("batch", str(path), "-f", "json", "--seed", "4").stdout)
    streamed = [json.loads(line) for line in lines.splitlines()]
    assert [(r["name"], r["line"], r["file"]) for r in streamed] == [
        ("one", 1, str(path)), ("system-2", 5, str(path)),
    ]
    assert document["seed"] == 4 and document["interrupted"] is False
    assert document["counts"] == {
        "systems": 2, "with_roots": 2, "without_roots": 0, "errors": 0, "timeouts": 0,
    }
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]
    assert strip(document["systems"]) == strip(streamed)


def test_table_shows_each_system_and_its_error(cli, tmp_path):
    path = tmp_path / "b.txt"
    path.write_text("@name pair\nx^2 = 4\n\n@name broken\nx = = 1\n")
    result = cli("batch", str(path), "--seed", "1")
    assert result.exit_code == 2
    assert "pair" in result.stdout and "found 2 real roots" in result.stdout
    assert "error: line 5: more than one '='" in result.stdout
    assert "gdsolve: 2 systems in" in result.stderr and "batch seed 1" in result.stderr


DEMO_ROOTS = {
    "circle-hyperbola": [(1.9318516525781366, 0.5176380902050415),
                         (0.5176380902050415, 1.9318516525781366),
                         (-1.9318516525781366, -0.5176380902050415),
                         (-0.5176380902050415, -1.9318516525781366)],
    "crossing-lines": [(2.0, 1.0)],
    "sphere-and-planes": [(0.0, 0.0, 3.0), (2.0, 2.0, -1.0)],
    "circle-and-line": [(3 / 5**0.5, 6 / 5**0.5), (-3 / 5**0.5, -6 / 5**0.5)],
    "cosine-fixed-point": [(0.7390851332151607,)],
    "cubic-positive-root": [(2.0945514815423265,)],
    "doubling-time": [(np.log(2) / 0.3,)],
    "sine-and-parabola": [(-1.9793201465562114, 1.9177082425633023),
                          (1.418310091622525, 0.011603515998295405)],
}


def test_the_demo_batch_gives_the_known_roots_of_every_system(cli):
    result = cli("batch", str(EXAMPLE), "-f", "json", "--seed", "1")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert [r["name"] for r in document["systems"]] == list(DEMO_ROOTS)
    for record in document["systems"]:
        roots = [list(s["values"].values()) for s in record["solutions"]
                 if s["kind"] == "root"]
        assert same_points(roots, DEMO_ROOTS[record["name"]], 1e-9), record["name"]


# ---------------------------------------------------------------------------
# Time limits, interrupts, pipes.

SLOW = """\
@name quick
x^2 = 4

@name runaway
@method adam
@lr 1e-9
@max-iter 100000000
@starts 4000
@noise 0
@polish off
x^2 + y^2 = 4
x*y = 1

@name after
y - 1 = 0
"""


def test_timeout_stops_a_runaway_system_and_the_batch_goes_on(tmp_path):
    path = tmp_path / "slow.txt"
    path.write_text(SLOW)
    began = time.perf_counter()
    done = gdsolve("batch", str(path), "-f", "jsonl", "--timeout", "1.5", "--seed", "1")
    assert time.perf_counter() - began < 20
    assert done.returncode == 2
    quick, runaway, after = records(done.stdout)
    assert quick["status"] == "solved" and after["status"] == "solved"
    assert runaway["status"] == "timeout" and runaway["line"] == 4
    assert "1 timed out" in done.stderr.decode()


def test_a_set_up_past_its_limit_is_stopped_and_the_batch_goes_on(tmp_path):
    chain = "\n".join(
        f"abs(sin(x{i}))*exp(x{i + 1}) + cos(x{i}*x{i + 1}) = 0.5" for i in range(600)
    )
    path = tmp_path / "big.txt"
    path.write_text(f"@name big\n{chain}\n\n@name small\nx = 1\n")
    done = gdsolve("batch", str(path), "-f", "jsonl", "--setup-timeout", "0.2", "-q")
    assert done.returncode == 2
    big, small = records(done.stdout)
    assert big["status"] == "error" and big["line"] == 1
    assert "preparing the system took longer than 0.2 s" in big["error"]
    assert small["status"] == "solved"


def long_batch(tmp_path: Path, count: int = 3000) -> Path:
    """A batch file that takes half a minute or more: a test that interrupts
    it after a few seconds finds it still running on a fast machine."""
    path = tmp_path / "long.txt"
    path.write_text("".join(
        f"@name s{i}\nx^2 + y^2 = {i % 7 + 1}\nx*y = {(i % 3 + 1) / 4}\n\n"
        for i in range(count)
    ))
    return path


def test_ctrl_c_keeps_every_finished_record_whole_and_exits_130(tmp_path):
    path = long_batch(tmp_path)
    process = subprocess.Popen(
        [*RUN, "batch", str(path), "-f", "jsonl", "--jobs", "2", "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    head = [process.stdout.readline() for _ in range(3)]
    process.send_signal(signal.SIGINT)
    rest, err = process.stdout.read(), process.stderr.read().decode()
    assert process.wait(timeout=30) == 130
    got = [json.loads(line) for line in b"".join(head + [rest]).splitlines()]
    numbers = [int(r["name"][1:]) for r in got]
    assert numbers[:3] == [0, 1, 2] and numbers == sorted(numbers)
    assert f"gdsolve: interrupted after {len(got)} systems" in err
    assert "Traceback" not in err


def test_sigterm_writes_the_finished_rows_of_a_csv_and_exits_130(tmp_path):
    path = long_batch(tmp_path)
    process = subprocess.Popen(
        [*RUN, "batch", str(path), "-f", "csv", "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    time.sleep(4)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    lines = out.decode().splitlines()
    assert lines[0] == "system,status,solution,kind,residual,starts,x,y"
    assert len(lines) > 1 and all(line.startswith("s") for line in lines[1:])
    assert "gdsolve: interrupted after" in err.decode()


def test_a_closed_pipe_ends_the_batch_quietly(tmp_path):
    path = long_batch(tmp_path, 60)
    process = subprocess.Popen(
        [*RUN, "batch", str(path), "-f", "jsonl", "--seed", "1", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    json.loads(process.stdout.readline())
    process.stdout.close()
    process.wait(timeout=30)
    assert process.stderr.read() == b""
    assert process.returncode == 0


def test_library_runner_keeps_input_order_with_workers():
    systems = read("".join(f"x = {i}\n\n" for i in range(12)))
    with BatchRunner({"starts": 4}, batch_seed=1, jobs=3) as runner:
        got = [r["solutions"][0]["values"]["x"] for r in runner.run(systems)]
    assert got == pytest.approx(list(range(12)))


def test_a_stream_without_line_ends_is_given_up_on(tmp_path):
    done = gdsolve("batch", "/dev/zero", "-f", "jsonl", "-q")
    assert done.returncode == 2
    (record,) = records(done.stdout)
    assert record["status"] == "error"
    assert "nothing after its first 268435456 bytes is read" in record["error"]
