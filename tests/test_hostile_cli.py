"""Hostile and malformed input through the whole command line.

Every rejected input gets exit code 2, one error line naming the problem with a
marker under it, no traceback, and no code run; nothing hangs.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time

import pytest

RUN = [sys.executable, "-c", "from gdsolve.cli import main; main()"]
MARKER = "/tmp/gdsolve_hostile_marker_*"

#: input -> words the error must contain
REJECTED = {
    "__import__('os').system('touch /tmp/gdsolve_hostile_marker_1') = 0": "unexpected character",
    "(lambda: __import__('os').system('touch /tmp/gdsolve_hostile_marker_2'))()"
    " = 0": "unexpected character",
    "loadtxt(x) + fromfile(y) = 1": "unknown function 'loadtxt'",
    "10**10**10 = x": "too large",
    "factorial(10**9) + binomial(10**9, 5*10**8) = y": "unknown function 'factorial'",
    "(" * 300 + "x" + ")" * 300 + " = 1": "nested too deeply",
    "x = 1 = 2": "more than one '='",
    "x**2 + = 3": "unexpected '='",
    "sin(x": "expected ')'",
    "sin(x, y) = 1": "sin takes 1 argument",
    "coss(x) = 1": "did you mean 'cos'",
    "x.__class__ = 1": "unexpected character",
    "x[0] = 1": "unexpected character",
    "'x' = 1": "unexpected character",
    "2 = 3": "no unknowns",
    "": "no equations given",
    "x = 1; ; y = 2": "empty equation",
}


@pytest.fixture(autouse=True)
def no_markers():
    for path in glob.glob(MARKER):
        os.remove(path)
    yield
    assert glob.glob(MARKER) == []


@pytest.mark.parametrize("text, words", list(REJECTED.items()))
def test_rejected_input_gets_exit_two_and_a_marked_message(cli, text, words):
    began = time.perf_counter()
    result = cli("solve", text)
    assert time.perf_counter() - began < 2.0
    assert result.exit_code == 2
    assert words in result.stderr
    assert result.stderr.startswith("gdsolve: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    if words not in ("no unknowns", "no equations given", "empty equation"):
        assert result.stderr.rstrip().endswith("^")


@pytest.mark.parametrize("text", list(REJECTED)[:4])
def test_rejected_input_under_json_is_an_error_object(cli, text):
    result = cli("solve", text, "--format", "json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["status"] == "error"


def test_hostile_input_in_a_real_process_runs_no_code():
    text = "__import__('os').system('touch /tmp/gdsolve_hostile_marker_3') = 0"
    done = subprocess.run(
        RUN + ["solve", text], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert glob.glob(MARKER) == []


def test_vars_naming_an_absent_unknown(cli):
    result = cli("solve", "x^2 = 4", "--vars", "x,q")
    assert result.exit_code == 2
    assert "q" in result.stderr and "does not occur" in result.stderr


#: input -> the one root it must give
ACCEPTED = {
    "2^3*x = 16": 2.0,
    "2x + 1 = 0": -0.5,
    "2×x − 1 = 3": 2.0,
    "e^x = 2": 0.6931471805599453,
    "3(x - 1) == 6": 3.0,
    "x·2 = 5": 2.5,
    "x ÷ 4 = 2": 8.0,
}


@pytest.mark.parametrize("text, root", list(ACCEPTED.items()))
def test_what_people_type_is_understood(cli, text, root):
    result = cli("solve", text, "-f", "json", "--seed", "1")
    assert result.exit_code == 0
    values = [s["values"]["x"] for s in json.loads(result.stdout)["solutions"]]
    assert values == [pytest.approx(root, rel=1e-12)]


def test_double_equals_gives_both_roots(cli):
    result = cli("solve", "x**2 == 4", "-f", "json", "--seed", "1")
    values = [s["values"]["x"] for s in json.loads(result.stdout)["solutions"]]
    assert values == [pytest.approx(-2.0), pytest.approx(2.0)]


def test_superscripts_and_semicolons_match_the_plain_form(cli):
    plain = cli("solve", "x**2 + y**2 = 4", "x*y = 1", "-f", "json", "--seed", "1")
    typed = cli("solve", "x²+y²=4; x·y=1;", "-f", "json", "--seed", "1")
    spaced = cli("solve", "x^2 + y^2 = 4", "x y = 1", "-f", "json", "--seed", "1")
    roots = [json.loads(r.stdout)["solutions"] for r in (plain, typed, spaced)]
    assert len(roots[0]) == 4 and roots[0] == roots[1] == roots[2]


def test_names_are_never_split(cli):
    result = cli(
        "solve",
        "xy + sinx + alpha1 = 3",
        "xy = 1",
        "sinx = 1",
        "-f",
        "json",
        "--seed",
        "1",
    )
    assert json.loads(result.stdout)["variables"] == ["alpha1", "sinx", "xy"]


def test_a_flat_sum_of_three_thousand_terms(cli):
    began = time.perf_counter()
    result = cli("solve", "+".join(["x"] * 3000) + " = 1", "-f", "json", "--seed", "1")
    assert time.perf_counter() - began < 5.0
    assert result.exit_code == 0
    assert json.loads(result.stdout)["solutions"][0]["values"]["x"] == pytest.approx(
        1 / 3000
    )


def test_cube_root_of_a_negative_is_undefined_for_a_fractional_power(cli):
    result = cli("solve", "x^(1/3) = -2", "--start", "x=1", "-f", "json", "--seed", "1")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "no-root-found"


def test_cbrt_is_the_real_cube_root(cli):
    result = cli("solve", "cbrt(x) = -2", "-f", "json", "--seed", "1")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["solutions"][0]["values"]["x"] == pytest.approx(
        -8.0
    )


def test_no_real_root_from_a_given_start(cli):
    result = cli("solve", "x^2 + 1 = 0", "--start", "x=3", "--seed", "1")
    assert result.exit_code == 1
    assert "no real root found" in result.stdout
    assert "Traceback" not in result.stderr


def test_log_started_far_away_still_finds_e_squared(cli):
    result = cli(
        "solve",
        "log(x) = 2",
        "--start",
        "x=50",
        "--starts",
        "1",
        "-f",
        "json",
        "--seed",
        "1",
    )
    assert result.exit_code == 0
    values = [s["values"]["x"] for s in json.loads(result.stdout)["solutions"]]
    assert values == [pytest.approx(7.38905609893065)]


def test_no_runtime_warnings_reach_the_terminal(cli):
    result = cli("solve", "log(x) + sqrt(y) = 1", "1/x = y", "--seed", "1")
    assert "RuntimeWarning" not in result.stderr
