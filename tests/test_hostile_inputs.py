"""Hostile and malformed equations at the level of the parser.

The shared cases in ``shared/cases/hostile_inputs.json`` (beside the checkout) are read here and
checked for what the parser alone decides: code is never run, oversized input
is refused quickly, and the syntax cases read to the right residual. The whole
command line is tested elsewhere.
"""

from __future__ import annotations

import glob
import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdsolve.errors import InputError, LimitError, ParseError
from gdsolve.parsing import ParsedSystem, parse_system

CASES_FILE = Path(__file__).resolve().parents[2] / "shared/cases/hostile_inputs.json"
MARKERS = "/tmp/gdsolve_pwned_*"


def _argv_cases() -> list[dict]:
    if not CASES_FILE.exists():
        return []
    cases = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    return [case for case in cases if case.get("channel") == "argv"]


ARGV_CASES = _argv_cases()
needs_cases = pytest.mark.skipif(not ARGV_CASES, reason="shared cases not present")


def _of_kind(prefix: str) -> list[dict]:
    chosen = [case for case in ARGV_CASES if case["kind"].startswith(prefix)]
    return [pytest.param(case, id=case["id"]) for case in chosen]


def _timed_parse(text: str) -> tuple[ParsedSystem | InputError, float]:
    """Parse one text; return the result or the error, and the seconds taken."""
    began = time.perf_counter()
    try:
        outcome: ParsedSystem | InputError = parse_system([text])
    except InputError as error:
        outcome = error
    return outcome, time.perf_counter() - began


def _residual_at(parsed: ParsedSystem, **values: float) -> float:
    function = sympy.lambdify(parsed.symbols, parsed.residuals[0], "numpy")
    with np.errstate(all="ignore"):
        return float(function(*(np.float64(values[n]) for n in parsed.names)))


# Shared cases.


@needs_cases
def test_shared_file_has_parser_level_cases():
    kinds = {case["kind"] for case in ARGV_CASES}
    assert {"code-execution", "syntax"} <= kinds


@needs_cases
@pytest.mark.parametrize("case", _of_kind("code-execution"))
def test_code_execution_case_is_refused_at_its_first_bad_token(case):
    before = set(glob.glob(MARKERS))
    outcome, seconds = _timed_parse(case["input"])

    assert isinstance(outcome, ParseError)
    assert outcome.position is not None
    offending = case["input"][outcome.position :]
    word = re.match(r"\w+|.", offending).group()
    assert word in outcome.message or offending[0] in outcome.message
    assert set(glob.glob(MARKERS)) == before
    assert "gdsolve_pwned" not in outcome.message
    assert seconds < 2.0


@needs_cases
@pytest.mark.parametrize("case", _of_kind("dos"))
def test_denial_of_service_case_is_refused_or_read_quickly(case):
    outcome, seconds = _timed_parse(case["input"])

    assert seconds < 2.0
    if isinstance(outcome, ParsedSystem):
        assert case["id"] == "dos-flat-sum"
        v0 = outcome.symbols[0]
        assert outcome.residuals == (3000 * v0 - 1,)
    else:
        assert isinstance(outcome, (LimitError, ParseError))


@needs_cases
@pytest.mark.parametrize("case", _of_kind("syntax"))
def test_syntax_case_reads_as_documented(case):
    outcome, _ = _timed_parse(case["input"])

    if case.get("expect_exit") == 0:
        assert isinstance(outcome, ParsedSystem), str(outcome)
    else:
        assert isinstance(outcome, ParseError)


@needs_cases
@pytest.mark.parametrize("case", _of_kind("numeric"))
def test_numeric_case_reads_to_a_real_residual(case):
    outcome, _ = _timed_parse(case["input"])

    assert isinstance(outcome, ParsedSystem)
    assert not outcome.residuals[0].has(sympy.I)


# The syntax cases, with values of our own.


def test_caret_is_a_power():
    parsed = parse_system(["2^3*x = 16"])
    assert _residual_at(parsed, x=2.0) == 0.0
    assert _residual_at(parsed, x=1.0) == -8.0


def test_implicit_multiplication_after_a_number():
    parsed = parse_system(["2x + 1 = 0"])
    assert parsed.names == ("x",)
    assert _residual_at(parsed, x=-0.5) == 0.0


def test_double_equals_has_both_roots():
    parsed = parse_system(["x**2 == 4"])
    assert _residual_at(parsed, x=2.0) == 0.0
    assert _residual_at(parsed, x=-2.0) == 0.0


def test_second_equals_is_pointed_at():
    with pytest.raises(ParseError) as caught:
        parse_system(["x = 1 = 2"])
    assert caught.value.message == "more than one '=' in equation"
    assert caught.value.position == 6
    assert str(caught.value).splitlines()[-1] == "        ^"


def test_unicode_operators():
    parsed = parse_system(["2×x − 1 = 3"])
    assert parsed.residuals[0] == 2 * parsed.symbols[0] - 4
    assert _residual_at(parsed, x=2.0) == 0.0


def test_e_is_euler_number_and_not_an_unknown():
    parsed = parse_system(["e^x = 2"])
    assert parsed.names == ("x",)
    assert _residual_at(parsed, x=math.log(2)) == pytest.approx(0.0, abs=1e-15)


# More hostile text, in the same spirit.


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('exec("import os") = 0', 5),
        ("x.__class__ = 1", 1),
        ("[x for x in y] = 1", 0),
        ("lambda: 1 = x", 6),
        ("x = os.system", 6),
        ("open('/etc/passwd') = x", 5),
        ("y = `id`", 4),
        ("x = ${HOME}", 4),
        ("x = 1 # comment", 6),
        ("x @ y = 1", 2),
        ("x = 0x1f", 4),
        ("x = 0b101", 4),
        ("x = 1_000", 5),
        ("_ = x", 0),
    ],
)
def test_python_and_shell_syntax_is_refused_at_the_first_bad_character(text, position):
    before = set(glob.glob(MARKERS))
    with pytest.raises(ParseError) as caught:
        parse_system([text])
    assert caught.value.position == position
    assert set(glob.glob(MARKERS)) == before


def test_python_looking_words_are_only_names():
    parsed = parse_system(["import os = system"])
    assert parsed.names == ("import", "os", "system")
    assert _residual_at(parsed, **{"import": 2.0, "os": 3.0, "system": 6.0}) == 0.0


@pytest.mark.parametrize(
    "name", ["factorial", "binomial", "integrate", "loadtxt", "eval", "Symbol", "S"]
)
def test_calls_of_anything_outside_the_whitelist_are_refused(name):
    with pytest.raises(ParseError) as caught:
        parse_system([f"{name}(10**9) = x"])
    assert f"unknown function '{name}'" in caught.value.message
    assert caught.value.position == 0


@pytest.mark.parametrize(
    "text",
    [
        "9" * 400 + " = x",
        "x^" + "9" * 400 + " = 1",
        "2^2^2^2^2^2 = x",
        "exp(exp(exp(10))) = x",
        "x^(10^9) = 1",
        "(2x)^(10^4) = 1",
        "1e308 * 10 = x",
        "x¹⁰⁰⁰⁰⁰⁰⁰⁰⁰ = 1",
    ],
)
def test_huge_numbers_are_refused_quickly(text):
    outcome, seconds = _timed_parse(text)
    assert isinstance(outcome, LimitError), outcome
    assert seconds < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "(" * 5000 + "x" + ")" * 5000 + " = 1",
        "-" * 9000 + "x = 1",
        "x" + "^x" * 3000 + " = 1",
        "sin(" * 2000 + "x" + ")" * 2000,
        "abs(" * 1000 + "x" + ")" * 1000,
        "x*(y+" * 1500 + "1" + ")" * 1500,
        "+".join(f"abs({'+'.join(f'x{j}' for j in range(40))})" for _ in range(30)),
    ],
)
def test_deep_or_long_input_is_answered_quickly(text):
    outcome, seconds = _timed_parse(text)
    assert isinstance(outcome, (ParsedSystem, LimitError)), outcome
    assert seconds < 1.0


# Random text never escapes as anything but a clean error.

_PIECES = (
    list("xyzae0123456789.+-*/^()=,;_ \t'\"[]{}!#$@<>|&%~`\\:")
    + list("−–×·⋅∗÷²³⁰¹⁴⁵⁶⁷⁸⁹⁻πλΔ\u00a0\u200b\ufeff\u202e")
    + ["**", "==", "sin(", "sqrt(", "cbrt(", "atan2(", "log(", "e^", "1e308"]
)
_OPERATOR_HEAVY = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)


def _check_random_text(texts: list[str]) -> None:
    began = time.perf_counter()
    try:
        parsed = parse_system(texts)
    except InputError as error:
        assert str(error)
    else:
        assert len(parsed.symbols) == len(parsed.names) > 0
        assert len(parsed.residuals) == len(parsed.equations)
    assert time.perf_counter() - began < 1.0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPERATOR_HEAVY)
def test_operator_heavy_text_gives_a_system_or_an_input_error(text):
    _check_random_text([text])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=60), min_size=1, max_size=3))
def test_any_unicode_text_gives_a_system_or_an_input_error(texts):
    _check_random_text(texts)
