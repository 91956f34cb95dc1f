"""The command line: exit codes first, then stdout and stderr apart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gdsolve.cli import protect_equations

from conftest import same_points

R1, R2 = 1.9318516525781366, 0.5176380902050415
RUN = [sys.executable, "-c", "from gdsolve.cli import main; main()"]
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_solve_prints_the_four_roots_in_a_table(cli):
    result = cli("solve", "x**2+y**2=4", "x*y=1", "--seed", "1")
    assert result.exit_code == 0
    assert "found 4 real roots" in result.stdout
    assert result.stdout.count(" root ") == 4
    assert "1.93185165258" in result.stdout and "0.517638090205" in result.stdout
    assert "method gd, seed 1" in result.stderr


def test_json_output_has_the_roots_and_exit_code_zero(cli):
    result = cli("solve", "x^2+y^2=4", "x*y=1", "--seed", "1", "--format", "json")
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    points = [(s["values"]["x"], s["values"]["y"]) for s in record["solutions"]]
    assert same_points(points, [(R1, R2), (R2, R1), (-R1, -R2), (-R2, -R1)], 1e-12)
    assert record["seed"] == 1 and record["status"] == "solved"
    assert result.stderr == ""


def test_no_real_solution_exits_one_with_the_least_squares_point(cli):
    result = cli("solve", "2*x+y=1", "x*y=1", "--seed", "1")
    assert result.exit_code == 1
    assert "no real root found" in result.stdout
    assert "0.312908" in result.stdout and "0.625817" in result.stdout
    assert "local-minimum" in result.stdout


def test_a_system_undefined_at_every_start_prints_its_message_not_an_empty_table(cli):
    # 1e300*x overflows once squared wherever a start can be drawn: there is
    # no point to list, so a table would have a header and no rows.
    result = cli("solve", "1e300*x = 1", "--seed", "1")
    assert result.exit_code == 1
    assert result.stdout.strip() == (
        "no real root found: no start could be evaluated (the equations are "
        "undefined or overflow at every start)"
    )
    assert "64 of 64 starts were dropped" in result.stderr


def test_csv_output_has_a_header_and_a_row_per_solution(cli):
    result = cli("solve", "x^2 = 9", "--seed", "1", "--format", "csv")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "system,status,solution,kind,residual,starts,x"
    assert [line.split(",")[1] for line in lines[1:]] == ["solved", "solved"]
    assert [line.split(",")[-1] for line in lines[1:]] == ["-3.0", "3.0"]


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adam", "sgd"])
def test_every_method_from_the_command_line(cli, method):
    result = cli(
        "solve", "x^2+y^2=4", "x*y=1", "-m", method, "--seed", "2", "-f", "json"
    )
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["solutions"]) == 4


def test_method_options_reach_the_settings(cli):
    result = cli(
        "solve",
        "x^2 = 2",
        "-m",
        "adam",
        "--lr",
        "0.2",
        "--beta1",
        "0.8",
        "--beta2",
        "0.99",
        "--eps",
        "1e-6",
        "--seed",
        "1",
        "-f",
        "json",
    )
    settings = json.loads(result.stdout)["settings"]
    assert (settings["lr"], settings["beta1"], settings["beta2"], settings["eps"]) == (
        0.2,
        0.8,
        0.99,
        1e-6,
    )


def test_vars_sets_the_order_of_unknowns(cli):
    result = cli(
        "solve", "x + y = 3", "x - y = 1", "--vars", "y,x", "-f", "json", "--seed", "1"
    )
    record = json.loads(result.stdout)
    assert record["variables"] == ["y", "x"]
    assert list(record["solutions"][0]["values"]) == ["y", "x"]
    assert list(record["solutions"][0]["values"].values()) == pytest.approx([1.0, 2.0])


def test_unknowns_are_ordered_with_numbers_compared_as_numbers(cli):
    result = cli("solve", "x10 = 1", "x2 = 2", "x1 = 3", "-f", "json", "--seed", "1")
    assert json.loads(result.stdout)["variables"] == ["x1", "x2", "x10"]


def test_box_start_and_bounds_options(cli):
    result = cli(
        "solve",
        "x^2 = 4",
        "--bounds",
        "x=0:",
        "--box",
        "x=-1:5",
        "--start",
        "x=3",
        "-f",
        "json",
        "--seed",
        "1",
    )
    record = json.loads(result.stdout)
    assert [s["values"]["x"] for s in record["solutions"]] == [2.0]
    assert record["settings"]["start_points"] == [{"x": 3.0}]


def test_param_substitutes_a_value(cli):
    result = cli("solve", "x^2 = a", "--param", "a=9", "-f", "json", "--seed", "1")
    assert [s["values"]["x"] for s in json.loads(result.stdout)["solutions"]] == [
        -3.0,
        3.0,
    ]


def test_an_equation_starting_with_minus_is_not_an_option(cli):
    result = cli("solve", "-x + y = 1", "x + y = 3", "-f", "json", "--seed", "1")
    assert result.exit_code == 0
    values = json.loads(result.stdout)["solutions"][0]["values"]
    assert (values["x"], values["y"]) == (pytest.approx(1.0), pytest.approx(2.0))


def test_protect_equations_leaves_options_alone():
    args = [
        "solve",
        "-x+1=0",
        "-m",
        "gd",
        "--lr",
        "-0.5",
        "--box",
        "-5:5",
        "-q",
        "−x = 2",
        "-x-1",
        "--max-iter",
    ]
    assert protect_equations(args) == [
        "solve",
        " -x+1=0",
        "-m",
        "gd",
        "--lr",
        "-0.5",
        "--box",
        "-5:5",
        "-q",
        "−x = 2",
        " -x-1",
        "--max-iter",
    ]


def test_an_equation_of_minus_signs_alone_and_a_box_of_negative_ends(cli):
    result = cli("solve", "-x-1", "--box", "-10:-1", "-f", "json", "--seed", "1")
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert [s["values"]["x"] for s in record["solutions"]] == [-1.0]
    assert record["settings"]["box"] == [-10.0, -1.0]


def test_bad_equation_gets_a_marker_and_exit_two(cli):
    result = cli("solve", "x**2 + = 3")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("gdsolve: error: equation 1:")
    assert lines[1] == "  x**2 + = 3"
    assert lines[2] == "         ^"


def test_bad_equation_under_json_is_a_json_error_object(cli):
    result = cli("solve", "x = 1 = 2", "-f", "json")
    assert result.exit_code == 2
    record = json.loads(result.stdout)
    assert record["status"] == "error"
    assert "more than one '='" in record["error"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["x = 1", "--box", "5"], "--box: expected LO:HI, got '5'"),
        (["x = 1", "--box", "3:1"], "LO < HI"),
        (["x = 1", "--start", "x"], "--start: expected NAME=VALUE"),
        (["x = 1", "--start", "y=2"], "--start names 'y', which is not an unknown"),
        (
            ["x = 1", "--lr", "-1", "-m", "momentum"],
            "learning rate must be positive, got -1.0",
        ),
        (["x = 1", "--starts", "0"], "starts must be at least 1, got 0"),
        (["x = 1", "--param", "a=b"], "--param: 'b' is not a number"),
        (["x = 1", "--vars", "x,z"], "z"),
    ],
)
def test_bad_options_name_the_problem(cli, args, message):
    result = cli("solve", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_unknown_method_is_a_usage_error(cli):
    result = cli("solve", "x = 1", "--method", "newton")
    assert result.exit_code == 2


def test_methods_lists_every_method_with_its_defaults(cli):
    result = cli("methods")
    assert result.exit_code == 0
    for name in ("gd", "momentum", "nesterov", "adam", "sgd"):
        assert any(line.startswith(name + " ") for line in result.stdout.splitlines())
    assert "--beta2 0.999" in result.stdout and "--momentum 0.5" in result.stdout


def test_stdin_dash_reads_one_equation_per_line(cli):
    text = "# a circle and a hyperbola\nx^2+y^2=4\n\nx*y=1  # the hyperbola\n"
    result = cli("solve", "-", "-f", "json", "--seed", "1", input=text)
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["solutions"]) == 4


def test_empty_stdin_is_an_error(cli):
    result = cli("solve", "-", input="# nothing here\n")
    assert result.exit_code == 2
    assert "no equations on stdin" in result.stderr


def test_trace_prints_iterations_and_a_sparkline(cli):
    result = cli("solve", "x^2 = 2", "--trace", "1", "--seed", "1", "--starts", "2")
    assert result.exit_code == 0
    assert "start 1" in result.stderr and "iteration" in result.stderr
    assert "best objective" in result.stderr
    assert any(ch in result.stderr for ch in "▁▂▃▄▅▆▇█")


def test_all_prints_how_complete_the_search_is(cli):
    result = cli("solve", "z^2 = 2^z", "--all", "--starts", "8", "--seed", "1")
    assert result.exit_code == 0
    assert "found 3 real roots" in result.stdout
    assert "rounds" in result.stderr and "no new root" in result.stderr


def test_an_all_search_without_roots_makes_no_estimate(cli):
    result = cli("solve", "x^2 + 1 = 0", "--all", "--starts", "8", "--seed", "1")
    assert result.exit_code == 1
    assert "no start reached a root, so nothing tells how many may be unseen" in (
        result.stderr)
    assert "nan" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [(["--param", "a=1", "--param", "a=2"], "--param gives a twice"),
     (["--param", "a=1,a=1"], "--param gives a twice"),
     (["--box", "x=0:1", "--box", "x=2:3"], "--box gives x twice"),
     (["--bounds", "x=0:", "--bounds", "x=:1"], "--bounds gives x twice"),
     (["--start", "x=1,x=2"], "--start gives x twice")],
)
def test_an_option_that_names_one_unknown_twice_is_refused(cli, args, message):
    result = cli("solve", "x = a", *args)
    assert result.exit_code == 2
    assert f"gdsolve: error: {message}" in result.stderr


def test_quiet_prints_nothing_on_stderr(cli):
    result = cli("solve", "x^2 = 2", "-q", "--seed", "1")
    assert result.exit_code == 0 and result.stderr == ""


def test_console_script_runs_as_a_process():
    done = subprocess.run(
        RUN + ["solve", "-x + 2 = 0", "-f", "json", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["solutions"][0]["values"]["x"] == pytest.approx(2.0)


def test_help_and_methods_do_not_import_sympy_or_numpy():
    code = (
        "import sys\nfrom gdsolve.cli import main\nsys.argv = ['gdsolve', '{}']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'sympy' in sys.modules, 'numpy' in sys.modules)"
    )
    for command in ("--help", "methods"):
        done = subprocess.run(
            [sys.executable, "-c", code.format(command)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "LOADED False False" in done.stdout


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("gdsolve ")


@pytest.mark.parametrize(
    "args", ['solve "x^2=4" -f csv --seed 1', 'solve "x^2=4" --seed 1', "methods"]
)
def test_broken_pipe_ends_quietly(args):
    # the reader went away: nothing more to say, and not an error (exit 0),
    # whether the output is a table or a data format
    shell = subprocess.run(
        " ".join(RUN[:2]) + ' "from gdsolve.cli import main; main()" ' + args
        + " | head -c 0; exit ${PIPESTATUS[0]}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in shell.stderr
    assert shell.returncode == 0


def test_stdin_that_is_not_utf8_is_named(cli):
    result = cli("solve", "-", input=b"x\xff = 1\n")
    assert result.exit_code == 2
    assert "stdin is not UTF-8 text (byte 2 is not valid)" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "-1"], "seed must be between 0 and 2**63 - 1, got -1"),
        (["--setup-timeout", "nan"], "setup timeout must be a positive number, got nan"),
        (["--setup-timeout", "0"], "setup timeout must be a positive number, got 0.0"),
        (["--starts", "2000000"], "starts must be at most 1000000"),
        (["--box", "-1e300:1e300"], "within ±1e+100"),
        (["--tol", "nan"], "tol and noise must be finite numbers"),
        (["--trace", "-1"], "--trace must be 0 or more, got -1"),
    ],
)
def test_out_of_range_settings_are_refused_without_a_traceback(cli, args, message):
    result = cli("solve", "x^2 = 4", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_too_many_starts_for_a_large_system_is_refused(cli):
    equations = "; ".join(f"x{i} = {i}" for i in range(200))
    result = cli("solve", equations, "--starts", "900000")
    assert result.exit_code == 2
    assert "starts need more than 2 GiB" in result.stderr


def test_an_equation_starting_with_two_minus_signs(cli):
    result = cli("solve", "--x = 3", "-f", "json", "--seed", "1")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["solutions"][0]["values"]["x"] == pytest.approx(3.0)


def test_csv_without_a_root_carries_the_best_point(cli):
    result = cli("solve", "x^2 + 1 = 0", "-f", "csv", "--seed", "1")
    assert result.exit_code == 1
    row = result.stdout.strip().splitlines()[1].split(",")
    assert row[1:4] == ["no-root-found", "1", "local-minimum"]
    assert float(row[4]) == pytest.approx(1.0) and abs(float(row[6])) < 1e-6


@pytest.mark.parametrize(
    "args",
    [["solve", "x^2 = 4", "--seed", "1"], ["methods"], ["--help"], ["--version"],
     ["solve", "--help"], ["solve", "x =", "-f", "json"]],
)
def test_unwritable_output_is_an_error_not_a_traceback(args):
    done = subprocess.run(RUN + args,
                          stdout=open("/dev/full", "w"), stderr=subprocess.PIPE,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "cannot write the output" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [["solve", "x^2 = 4", "--seed", "1"], ["solve", "x^2 = 4", "-f", "json"],
     ["batch", str(EXAMPLES / "batch_demo.txt"), "-f", "jsonl"], ["methods"]],
)
def test_a_closed_standard_output_is_an_error_not_silence(args):
    done = subprocess.run(RUN + args, stderr=subprocess.PIPE, text=True, timeout=120,
                          preexec_fn=lambda: os.close(1))
    assert done.returncode == 2
    assert "cannot write the output: standard output is closed" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [["--starts", "abc", "-f", "json"], ["--format=jsonl", "-m", "foo"],
     ["-fjson", "--bogus"]],
)
def test_a_refused_command_line_still_gives_a_json_error_object(args):
    done = subprocess.run(RUN + ["solve", "x = 1", *args], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert json.loads(done.stdout) == {
        "status": "error",
        "error": "the command line is not valid: see the message on standard error",
    }
    assert done.stderr.strip()


def test_sigterm_stops_a_solve_like_ctrl_c():
    process = subprocess.Popen(
        RUN + ["solve", "x^2 + y^2 = 4", "x*y = 1", "--method", "adam", "--lr",
               "1e-9", "--max-iter", "100000000", "--starts", "2000", "--no-polish"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "gdsolve: interrupted" in err and "Traceback" not in err


def test_warnings_of_overflowing_powers_stay_silent(cli):
    result = cli("solve", "x^1000 = 2", "-q", "--seed", "1")
    assert result.exit_code == 0
    assert "Warning" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--momentum", "0.5"], "--momentum does not apply to method gd"),
        (["-m", "sgd", "--beta1", "0.8"], "--beta1 does not apply to method sgd"),
        (["-m", "adam", "--fixed-step"], "--line-search applies to gd, not adam"),
        (["--line-search", "--lr", "0.1"], "--lr sets a fixed step"),
    ],
)
def test_options_the_method_does_not_use_are_refused(cli, args, message):
    result = cli("solve", "x^2 = 4", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_errors_in_equations_from_stdin_name_the_line(cli):
    result = cli("solve", "-", input="# a system\nx^2 = 4; z = 1\n\ny + = 2\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("gdsolve: error: line 4: unexpected '='")


def test_a_hard_memory_limit_below_the_set_up_cap_is_respected():
    limited = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{limited}; from gdsolve.cli import main; main()",
         "solve", "x^2 = 4", "-f", "csv", "--seed", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    roots = [line.split(",")[-1] for line in done.stdout.splitlines()[1:]]
    assert roots == ["-2.0", "2.0"]


def test_a_table_wider_than_the_terminal_says_how_to_see_every_value():
    equations = [f"x{k} = {k}.123456789" for k in range(1, 13)]
    done = subprocess.run(RUN + ["solve", *equations, "--seed", "1"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0
    assert ("note: the table is wider than the 80 columns it was given, so values "
            "were wrapped; -f csv or -f json shows each in full") in done.stderr
    narrow = subprocess.run(RUN + ["solve", "x^2 = 4", "--seed", "1"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "80"})
    assert "wider than" not in narrow.stderr


def test_a_closed_standard_output_says_so_whatever_is_asked_of_it():
    # writing and asking for its descriptor fail alike, so every path that
    # touches the missing output ends in the same message
    from gdsolve.cli import _ClosedOutput

    closed = _ClosedOutput()
    for use in (lambda: closed.write("x"), closed.fileno):
        with pytest.raises(OSError, match="standard output is closed"):
            use()


@pytest.mark.parametrize("polish, words", [([], "after polishing"), (["--no-polish"], "judged")])
def test_the_summary_says_how_unreported_starts_were_judged(cli, polish, words):
    # exp(-x²) only fades as x grows: every start is still moving, which is
    # found after polishing only when there was any
    result = cli("solve", "exp(-x^2) = 0", "--seed", "1", *polish)
    assert f"; {words}, not reported: " in result.stderr


@pytest.mark.parametrize("command", [["solve"], ["solve", "-f", "json"], ["compare"]])
def test_no_equations_at_a_terminal_prints_the_usage_and_exits_2(command):
    import pty

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([*RUN, *command], stdin=follower, capture_output=True,
                              text=True, timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 2
    assert done.stderr.startswith('usage: gdsolve solve "x^2 + y^2 = 4" "x*y = 1"')
    assert "internal error" not in done.stderr + done.stdout
