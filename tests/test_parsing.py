"""Tests of reading equations: syntax, values, unknowns, errors and limits."""

from __future__ import annotations

import builtins
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gdsolve.errors import InputError, LimitError, ParseError
from gdsolve.parsing import (
    FUNCTIONS,
    LIMITS,
    ParsedSystem,
    PositionedLimitError,
    natural_key,
    parse_system,
    split_equations,
)


def evaluate(parsed: ParsedSystem, index: int = 0, **values: float) -> float:
    """Return residual ``index`` at the given values of the unknowns, via NumPy."""
    function = sympy.lambdify(parsed.symbols, parsed.residuals[index], "numpy")
    with np.errstate(all="ignore"):
        return float(function(*(np.float64(values[name]) for name in parsed.names)))


def residual_at(text: str, **values: float) -> float:
    """Read one equation and return its residual at the given values."""
    return evaluate(parse_system([text]), 0, **values)


def error_of(text: str, kind: type[Exception] = ParseError, **options: object):
    """Return the error that reading ``text`` raises, checking its type."""
    with pytest.raises(kind) as caught:
        parse_system([text], **options)
    return caught.value


# Interface.


def test_parsed_system_holds_residuals_names_symbols_and_texts():
    parsed = parse_system([" x + y = 3 ;x - y = 1; "])

    assert parsed.names == ("x", "y")
    assert parsed.equations == ("x + y = 3", "x - y = 1")
    assert [str(s) for s in parsed.symbols] == ["v0", "v1"]
    assert all(s.is_real for s in parsed.symbols)
    v0, v1 = parsed.symbols
    assert parsed.residuals == (v0 + v1 - 3, v0 - v1 - 1)


def test_parsed_system_is_frozen():
    parsed = parse_system(["x = 1"])
    with pytest.raises(AttributeError):
        parsed.names = ("y",)


def test_split_equations_splits_strips_and_drops_trailing_empty_parts():
    texts = ["\ufeffx = 1; y = 2;", "  z = 3 ; ;  ", "a=1;;b=2"]
    assert split_equations(texts) == ["x = 1", "y = 2", "z = 3", "a=1", "", "b=2"]


def test_function_table_gives_arity_and_builder():
    x = sympy.Symbol("x", real=True)
    for name, (arity, build) in FUNCTIONS.items():
        expr = build(*([x + 2] * arity))
        assert isinstance(expr, sympy.Expr), name
    assert FUNCTIONS["atan2"][0] == 2
    assert FUNCTIONS["sin"][0] == 1


def test_function_whitelist_is_the_documented_one():
    assert sorted(FUNCTIONS) == sorted(
        "sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh "
        "exp log ln log10 log2 sqrt cbrt abs".split()
    )


def test_a_single_string_is_read_as_one_text():
    parsed = parse_system("x + y = 1; x = 2", variables="x y".split())
    assert parsed.names == ("x", "y")
    assert parse_system("x = 1", variables="x").names == ("x",)


def test_limits_are_the_documented_values():
    assert LIMITS.equation_chars == 10_000
    assert LIMITS.total_chars == 100_000
    assert LIMITS.depth == 80
    assert LIMITS.equations == 5_000
    assert LIMITS.unknowns == 5_000
    assert LIMITS.power == 1_000
    assert LIMITS.literal == 1e300


# Numbers, operators and precedence.


@pytest.mark.parametrize(
    ("text", "x", "expected"),
    [
        ("12 + x", 0.0, 12.0),
        ("1.5 x", 2.0, 3.0),
        (".5 x", 2.0, 1.0),
        ("1. + x", 0.0, 1.0),
        ("1e-3 x", 1000.0, 1.0),
        ("2.5E+4 + x", 0.0, 25_000.0),
        ("2e3x", 1.0, 2000.0),
        ("2^3*x", 2.0, 16.0),
        ("2**3*x", 2.0, 16.0),
        ("-x^2", 3.0, -9.0),
        ("-x**2", 3.0, -9.0),
        ("2^-1 + x", 0.0, 0.5),
        ("x^-2", 2.0, 0.25),
        ("2^3^2 + x", 0.0, 512.0),
        ("x^2^3", 2.0, 256.0),
        ("-2^2 + x", 0.0, -4.0),
        ("x - -1", 1.0, 2.0),
        ("x * -2", 3.0, -6.0),
        ("+x", 5.0, 5.0),
        ("x/2/4", 16.0, 2.0),
        ("1/2x", 4.0, 2.0),
        ("x - 1 - 2", 10.0, 7.0),
        ("2x^2", 3.0, 18.0),
        ("(1 - x)^30", 2.0, 1.0),
        ("x^(1/2)", 9.0, 3.0),
    ],
)
def test_operators_and_precedence(text, x, expected):
    assert residual_at(text + " = 0", x=x) == pytest.approx(expected)


def test_caret_is_power_not_xor():
    parsed = parse_system(["2^3*x = 16"])
    assert parsed.residuals[0] == 8 * parsed.symbols[0] - 16


def test_integer_exponent_stays_exact_so_the_derivative_is_exact():
    parsed = parse_system(["x^2 = 4"])
    v0 = parsed.symbols[0]
    assert parsed.residuals[0] == v0**2 - 4
    assert sympy.diff(parsed.residuals[0], v0) == 2 * v0


def test_double_equals_is_the_same_as_equals():
    assert parse_system(["x**2 == 4"]).residuals == parse_system(["x^2 = 4"]).residuals


def test_equation_without_equals_means_equal_to_zero():
    parsed = parse_system(["x^2 - 4"])
    assert parsed.residuals[0] == parsed.symbols[0] ** 2 - 4


def test_constants_are_folded_in_float64():
    parsed = parse_system(["sqrt(2)/3 * x = 2^10"])
    v0 = parsed.symbols[0]
    coefficient, rest = parsed.residuals[0].coeff(v0), parsed.residuals[0].subs(v0, 0)
    assert isinstance(coefficient, sympy.Float)
    assert float(coefficient) == math.sqrt(2) / 3
    assert rest == -1024 and isinstance(rest, sympy.Integer)


def test_fractional_power_is_not_a_real_root_for_negative_base():
    parsed = parse_system(["x^(1/3) = -2"])
    assert math.isnan(evaluate(parsed, x=-8.0))
    assert not parsed.residuals[0].has(sympy.I)


# Implicit multiplication and names.


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("2x", {"x": 3.0}, 6.0),
        ("3(x+1)", {"x": 1.0}, 6.0),
        ("(x+1)(x-1)", {"x": 3.0}, 8.0),
        ("2 pi r", {"r": 1.0}, 2 * math.pi),
        ("x y", {"x": 2.0, "y": 5.0}, 10.0),
        ("2sin(x)", {"x": 0.5}, 2 * math.sin(0.5)),
        ("(x)y", {"x": 2.0, "y": 3.0}, 6.0),
        ("x² y", {"x": 2.0, "y": 3.0}, 12.0),
        ("x^2y", {"x": 2.0, "y": 3.0}, 12.0),
        ("2 e x", {"x": 1.0}, 2 * math.e),
        ("2πr", {"r": 1.0}, 2 * math.pi),
        ("x\t\u00a0y", {"x": 2.0, "y": 3.0}, 6.0),
    ],
)
def test_implicit_multiplication(text, values, expected):
    assert residual_at(text + " = 0", **values) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("xy = 1", ("xy",)),
        ("sinx = 1", ("sinx",)),
        ("alpha1 = 1", ("alpha1",)),
        ("x_1 + x_2 = 1", ("x_1", "x_2")),
        ("α + Δt = 1", ("α", "Δt")),
        ("x2y = 1", ("x2y",)),
    ],
)
def test_a_name_is_never_split(text, names):
    assert parse_system([text]).names == names


def test_unknowns_sort_with_numbers_compared_by_value():
    parsed = parse_system(["x10 + x2 + x1 + b + a = 0"])
    assert parsed.names == ("a", "b", "x1", "x2", "x10")


def test_unknowns_sort_ignoring_case_with_exact_spelling_breaking_ties():
    parsed = parse_system(["b + B + a + A = 0"])
    assert parsed.names == ("A", "a", "B", "b")


def test_natural_key_compares_digit_runs_as_numbers():
    names = ["x10", "x9", "x1", "x", "y2z10", "y2z9", "x01"]
    assert sorted(names, key=natural_key) == [
        "x", "x1", "x01", "x9", "x10", "y2z9", "y2z10"
    ]


def test_natural_key_copes_with_very_long_digit_runs():
    names = ["x" + "9" * 5000, "x" + "1" + "0" * 5000]
    assert sorted(names, key=natural_key) == names


# Unicode.


def test_unicode_times_and_minus():
    parsed = parse_system(["2×x − 1 = 3"])
    assert parsed.residuals[0] == 2 * parsed.symbols[0] - 4


def test_superscripts_and_middle_dot_match_the_ascii_form():
    fancy = parse_system(["x²+y²=4; x·y=1"])
    plain = parse_system(["x**2+y**2=4; x*y=1"])
    assert fancy.residuals == plain.residuals
    assert fancy.names == plain.names == ("x", "y")


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("x¹⁰ = 1", "x^10 = 1"),
        ("x⁻¹ = 1", "x^-1 = 1"),
        ("x³ = 1", "x^3 = 1"),
        ("(x+1)² = 1", "(x+1)^2 = 1"),
        ("x ÷ 2 = 1", "x / 2 = 1"),
        ("x – 2 = 1", "x - 2 = 1"),
        ("x ⋅ 2 = 1", "x * 2 = 1"),
        ("x ∗ 2 = 1", "x * 2 = 1"),
        ("π x = 1", "pi x = 1"),
        ("\ufeffx = 1", "x = 1"),
        ("2² x = 1", "4x = 1"),
    ],
)
def test_unicode_forms_read_like_their_ascii_forms(text, plain):
    assert parse_system([text]).residuals == parse_system([plain]).residuals


# Constants, plain names and parameters.


def test_e_is_euler_number():
    parsed = parse_system(["e^x = 2"])
    assert parsed.names == ("x",)
    assert evaluate(parsed, x=math.log(2)) == pytest.approx(0.0, abs=1e-15)


def test_pi_is_a_constant():
    assert residual_at("pi x = 1", x=1 / math.pi) == pytest.approx(0.0, abs=1e-15)


def test_listing_e_or_pi_makes_it_an_unknown():
    parsed = parse_system(["e + pi = x"], variables=["e", "pi", "x"])
    assert parsed.names == ("e", "pi", "x")
    assert evaluate(parsed, e=1.0, pi=2.0, x=3.0) == 0.0


def test_greek_and_sympy_like_names_are_plain_unknowns():
    parsed = parse_system(["beta + gamma + lambda = 6"])
    assert parsed.names == ("beta", "gamma", "lambda")
    assert evaluate(parsed, beta=1.0, gamma=2.0, **{"lambda": 3.0}) == 0.0
    names = "E I S N O Q zeta lambda_ Lambda Chi"
    parsed = parse_system([" + ".join(names.split()) + " = 1"])
    assert sorted(parsed.names) == sorted(names.split())


def test_parameter_value_is_substituted():
    parsed = parse_system(["a x = 4"], params={"a": 2.0})
    assert parsed.names == ("x",)
    assert parsed.residuals[0] == 2 * parsed.symbols[0] - 4


def test_parameter_in_an_exponent_keeps_the_power_exact():
    parsed = parse_system(["x^n = 8"], params={"n": 3})
    assert parsed.residuals[0] == parsed.symbols[0] ** 3 - 8


def test_parameter_named_e_replaces_the_constant():
    parsed = parse_system(["e x = 6"], params={"e": 3.0})
    assert parsed.residuals[0] == 3 * parsed.symbols[0] - 6


def test_parameter_that_does_not_occur_is_refused():
    error = error_of("x = 1", InputError, params={"a": 2.0})
    assert str(error) == "parameter does not occur in the equations: a"


@pytest.mark.parametrize("value", [math.nan, math.inf, "two"])
def test_parameter_must_be_a_finite_number(value):
    error_of("a x = 1", InputError, params={"a": value})


def test_parameter_cannot_also_be_an_unknown():
    error_of("a x = 1", InputError, params={"a": 1.0}, variables=["a", "x"])


# Functions.


@pytest.mark.parametrize(
    ("call", "x", "expected"),
    [
        ("sin(x)", 0.3, math.sin(0.3)),
        ("cos(x)", 0.3, math.cos(0.3)),
        ("tan(x)", 0.3, math.tan(0.3)),
        ("asin(x)", 0.3, math.asin(0.3)),
        ("acos(x)", 0.3, math.acos(0.3)),
        ("atan(x)", 0.3, math.atan(0.3)),
        ("atan2(x, 2)", 0.3, math.atan2(0.3, 2)),
        ("sinh(x)", 0.3, math.sinh(0.3)),
        ("cosh(x)", 0.3, math.cosh(0.3)),
        ("tanh(x)", 0.3, math.tanh(0.3)),
        ("asinh(x)", 0.3, math.asinh(0.3)),
        ("acosh(x)", 1.3, math.acosh(1.3)),
        ("atanh(x)", 0.3, math.atanh(0.3)),
        ("exp(x)", 0.3, math.exp(0.3)),
        ("log(x)", 0.3, math.log(0.3)),
        ("ln(x)", 0.3, math.log(0.3)),
        ("log10(x)", 0.3, math.log10(0.3)),
        ("log2(x)", 0.3, math.log2(0.3)),
        ("sqrt(x)", 0.3, math.sqrt(0.3)),
        ("sqrt(4x)", 0.3, math.sqrt(1.2)),
        ("cbrt(x)", -8.0, -2.0),
        ("cbrt(x)", 27.0, 3.0),
        ("abs(x)", -0.3, 0.3),
    ],
)
def test_function_values(call, x, expected):
    assert residual_at(f"{call} = 0", x=x) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("sin(1)", math.sin(1)),
        ("log(10)", math.log(10)),
        ("cbrt(-27)", -3.0),
        ("atan2(1, -1)", math.atan2(1, -1)),
        ("abs(-2.5)", 2.5),
    ],
)
def test_function_of_constants_is_folded(call, expected):
    parsed = parse_system([f"{call} + x = 0"])
    assert parsed.residuals[0] - parsed.symbols[0] == pytest.approx(expected)


def test_cbrt_is_the_real_cube_root_when_substituted_and_differentiated():
    parsed = parse_system(["cbrt(x) = y"])
    v0, v1 = parsed.symbols
    residual = parsed.residuals[0]
    assert float(residual.subs({v0: -8, v1: 0})) == -2.0
    derivative = sympy.lambdify([v0], sympy.diff(residual, v0), "numpy")
    assert derivative(-8.0) == pytest.approx(1 / 12)
    assert str(residual) == "-v1 + cbrt(v0)"


def test_cbrt_compiles_for_numpy_arrays():
    parsed = parse_system(["cbrt(x) = 0"])
    function = sympy.lambdify(parsed.symbols, parsed.residuals[0], "numpy")
    assert function(np.array([-8.0, 0.0, 64.0])).tolist() == [-2.0, 0.0, 4.0]


@pytest.mark.parametrize(
    ("text", "position"), [("x + sqrt(-x^2) = 0", 4), ("x + (-exp(x))^0.5 = 0", 13)]
)
def test_a_power_that_sympy_turns_complex_is_refused(text, position):
    error = error_of(text)
    assert "not a real number" in error.message
    assert error.position == position


def test_a_root_of_a_negative_expression_stays_real_valued():
    parsed = parse_system(["sqrt(-x^2 - 1) = 0"])
    assert not parsed.residuals[0].has(sympy.I)
    assert math.isnan(evaluate(parsed, x=0.0))


# Unknowns given by the caller.


def test_variables_fix_the_order():
    parsed = parse_system(["x + 2y = 3"], variables=["y", "x"])
    assert parsed.names == ("y", "x")
    assert parsed.residuals[0] == parsed.symbols[1] + 2 * parsed.symbols[0] - 3


def test_variable_that_does_not_occur_is_refused():
    error = error_of("x + y = 1", InputError, variables=["x", "y", "z"])
    assert str(error) == "unknown in --vars does not occur in the equations: z"


def test_several_variables_that_do_not_occur_are_named():
    error = error_of("x = 1", InputError, variables=["x", "y", "z"])
    assert str(error) == "unknowns in --vars do not occur in the equations: y, z"


def test_duplicate_variable_is_refused():
    error = error_of("x + y = 1", InputError, variables=["x", "y", "x"])
    assert "more than once" in str(error) and "x" in str(error)


def test_name_missing_from_variables_is_refused():
    error = error_of("x + y + a = 1", InputError, variables=["x", "y"])
    assert "missing from --vars: a" in str(error)


def test_function_name_cannot_be_a_variable():
    error_of("x = 1", InputError, variables=["sin"])


def test_system_without_unknowns_is_refused():
    error = error_of("a + pi = e", InputError, params={"a": 1.0})
    assert str(error) == "no unknowns: every name is a constant or a parameter"


def test_no_equations_is_refused():
    with pytest.raises(InputError):
        parse_system(["  ;  ", ""])


# Errors: message and place.


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("x**2 + = 3", "unexpected '=': expected a number, a name or '('", 7),
        ("x = 1 = 2", "more than one '=' in equation", 6),
        ("x = = 1", "more than one '=' in equation", 4),
        ("sin(x", "unclosed '(': expected ')'", 3),
        ("sin(x, y) = 1", "sin takes 1 argument, got 2", 0),
        ("atan2(x) = 1", "atan2 takes 2 arguments, got 1", 0),
        ("sin() = 1", "sin takes 1 argument, got 0", 0),
        ("foo(x) = 1", "unknown function 'foo'", 0),
        ("coss(x)=1", "unknown function 'coss' (did you mean 'cos'?)", 0),
        ("2 + arcsin(x) = 1", "unknown function 'arcsin' (did you mean 'asin'?)", 4),
        ("x(y + 1) = 1", "unknown function 'x' (to multiply, write 'x*(')", 0),
        ("sin x = 1", "function 'sin' needs its argument in parentheses", 0),
        ("x = ", "unexpected end of equation: expected a number, a name or '('", 3),
        ("= 3", "unexpected '=': expected a number, a name or '('", 0),
        ("x) = 1", "unmatched ')'", 1),
        ("(x, y) = 1", "unexpected ',': expected ')'", 2),
        ("x 2 = 1", "unexpected number '2'", 2),
        ("2 3 = x", "unexpected number '3'", 2),
        ("x_1 + _y = 1", "unexpected character '_'", 6),
        ("x + 'a' = 1", "unexpected character \"'\"", 4),
        ("x.real = 1", "unexpected character '.'", 1),
        ("x ! = 1", "unexpected character '!'", 2),
        ("x\u200b = 1", "unexpected character U+200B (zero width space)", 1),
        ("x⁻ = 1", "superscript minus must be followed by superscript digits", 1),
        ("² = x", "unexpected '²'", 0),
        ("log(-1) + x = 0", "log(-1) is undefined", 0),
        ("sqrt(-4) + x = 0", "sqrt(-4) is undefined", 0),
        ("x / 0 = 1", "division by zero", 2),
        ("x / (2 - 2) = 1", "division by zero", 2),
        ("x + 0^-1 = 1", "division by zero", 5),
        ("x + (-8)^(1/3) = 1", "is not a real number", 8),
    ],
)
def test_error_message_and_position(text, message, position):
    error = error_of(text)
    assert message in error.message
    assert error.position == position
    assert error.equation == 1
    assert error.text == text.strip()
    assert error.message[0].islower() or error.message[0] in "'("


def test_error_names_the_equation_it_is_in():
    error = error_of("x = 1; y = 2 +")
    assert error.equation == 2
    assert error.text == "y = 2 +"
    assert str(error).startswith("equation 2: unexpected end of equation")


def test_empty_equation_between_others_is_refused():
    error = error_of("x = 1;; y = 2")
    assert error.message == "empty equation"
    assert error.equation == 2


# Limits.


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("10**10**10 = x", "constant 10^10000000000 is too large", 2),
        ("exp(1000) = x", "constant exp(1000) is too large", 0),
        ("1e301 = x", "number 1e301 is too large", 0),
        ("x^1001 = 1", "exponent 1001 is too large", 1),
        ("x^-1001 = 1", "exponent -1001 is too large", 1),
        ("x¹⁰⁰¹ = 1", "exponent 1001 is too large", 1),
        ("1e300 * 1e300 = x", "too large", 6),
        # constants below float64's normal range would round to 0 or lose
        # their digits, and the equation with them
        ("x = 1e-400", "number 1e-400 is too small (below 2.2e-308", 4),
        ("x = 0.5e-310", "number 0.5e-310 is too small", 4),
        ("(x/3)^1000 = 1", "constant 0.3333333333333333^1000 is too small", 5),
        ("2^(-1100)*x = 1", "constant 2^(-1100) is too small", 1),
        ("x = exp(-1000)", "constant exp(-1000) is too small", 4),
        ("1e-200 * 1e-200 * x = 1", "constant 1e-200*1e-200 is too small", 7),
    ],
)
def test_value_limits_raise_a_positioned_limit_error(text, message, position):
    error = error_of(text, PositionedLimitError)
    assert isinstance(error, LimitError) and isinstance(error, ParseError)
    assert message in error.message
    assert error.position == position


def test_largest_accepted_values():
    parse_system(["x^1000 + x^-1000 + 1e300 = 0"])
    parse_system(["cos(x^z)^1000 = 1"])


def test_smallest_accepted_values_and_exact_zeros():
    parse_system(["x = 1e-300 + 2^-1000 + (x/2)^1000"])
    parse_system(["x = 0*5 + 0e-400 + log(1) + sin(0) + 0^3"])


def test_equation_too_long():
    error = error_of("x + " * 2500 + "x = 1", LimitError)
    assert str(error) == "equation 1 is too long (more than 10000 characters)"


def test_total_text_too_long():
    error = error_of("x = 1;" * 20_000, LimitError)
    assert "more than 100000 characters" in str(error)


def test_too_many_equations():
    with pytest.raises(LimitError, match="too many equations"):
        parse_system(["x=1;" * 5001])


def test_too_many_unknowns():
    sums = (" + ".join(f"x{i}" for i in range(k, k + 10)) for k in range(0, 5010, 10))
    texts = [f"{terms} = 0" for terms in sums]
    with pytest.raises(LimitError, match="too many unknowns"):
        parse_system(texts)


def test_nesting_up_to_the_limit_is_accepted():
    depth = LIMITS.depth
    parsed = parse_system(["(" * depth + "x" + ")" * depth + " = 1"])
    assert parsed.residuals[0] == parsed.symbols[0] - 1


@pytest.mark.parametrize(
    "text",
    [
        "(" * 81 + "x" + ")" * 81 + " = 1",
        "sin(" * 81 + "x" + ")" * 81 + " = 1",
        "x" + "^x" * 81 + " = 1",
        "x" + "^-x" * 81 + " = 1",
        "sin(1 + 2x " * 30 + ")" * 30 + " = 1",
        "tanh(2*" * 45 + "x" + ")" * 45 + " = 1",
    ],
)
def test_too_deep_nesting_is_refused_quickly(text):
    began = time.perf_counter()
    with pytest.raises(LimitError, match="nested too deeply"):
        parse_system([text])
    assert time.perf_counter() - began < 1.0


@pytest.mark.parametrize("frames", [0, 300, 700])
def test_deep_caller_stack_gives_a_result_or_a_clean_error(frames):
    def nest(level: int):
        if level:
            return nest(level - 1)
        try:
            return parse_system(["sin(" * 70 + "x" + ")" * 70 + " = 1"])
        except InputError as error:
            return error

    limit = sys.getrecursionlimit()
    outcome = nest(min(frames, limit - 150))
    assert isinstance(outcome, (ParsedSystem, LimitError))


def test_flat_sum_is_built_quickly():
    began = time.perf_counter()
    parsed = parse_system(["+".join(["x"] * 3000) + " = 1"])
    assert time.perf_counter() - began < 1.0
    assert parsed.residuals[0] == 3000 * parsed.symbols[0] - 1


def test_a_thousand_small_equations_are_read_within_a_second():
    text = ";".join(f"x{i} + 2 x{i + 1} = {i}" for i in range(1000))
    began = time.perf_counter()
    parsed = parse_system([text])
    assert time.perf_counter() - began < 1.0
    assert len(parsed.residuals) == 1000 and len(parsed.names) == 1001
    assert parsed.residuals[999] == parsed.symbols[999] + 2 * parsed.symbols[1000] - 999


# The systems users reported, read with their listed unknowns.

_PUBLIC_CASES = Path(__file__).resolve().parents[2] / "shared/cases/public_cases.json"


def _public_cases() -> list:
    if not _PUBLIC_CASES.exists():
        return []
    cases = json.loads(_PUBLIC_CASES.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["id"]) for case in cases]


@pytest.mark.parametrize("case", _public_cases())
def test_reported_systems_vanish_at_their_known_solutions(case):
    parsed = parse_system(case["equations"], variables=case["variables"])
    assert parsed.names == tuple(case["variables"])
    for solution in case["expected"]["solutions"]:
        values = dict(zip(parsed.names, solution))
        for index in range(len(parsed.residuals)):
            assert evaluate(parsed, index, **values) == pytest.approx(0.0, abs=1e-12)


# Nothing the user writes is evaluated by Python.


def test_reading_never_calls_eval_exec_or_the_sympy_parser(monkeypatch):
    def refuse(*args: object, **kwargs: object):
        raise AssertionError("evaluated user text")

    import sympy.parsing.sympy_parser as sympy_parser

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(sympy_parser, "parse_expr", refuse)
    monkeypatch.setattr(sympy, "sympify", refuse)
    parsed = parse_system(["x^2 + 2 sin(y) - cbrt(x y) = 3; e^x = log10(y)"])
    assert parsed.names == ("x", "y")
    with pytest.raises(ParseError):
        parse_system(["__import__('os') = 1"])


# Random well-formed expressions agree with a direct float evaluation.

_POINT = {"x": 0.7, "y": -1.3}


class _Undefined(Exception):
    """The expression has no real value at the point."""


def _leaf() -> st.SearchStrategy:
    numbers = st.sampled_from(["0", "1", "2", "3", "7", "2.5", "0.125", "1e2"])
    names = st.sampled_from(["x", "y", "pi", "e"])
    values = {"pi": math.pi, "e": math.e, **_POINT}
    return st.one_of(
        numbers.map(lambda n: (n, float(n), abs(float(n)))),
        names.map(lambda n: (n, values[n], abs(values[n]))),
    )


def _apply(op: str, a: tuple, b: tuple | None = None) -> tuple[float, float]:
    """Return the value of an operation on rendered operands, and its scale."""
    try:
        if op == "neg":
            value = -a[1]
        elif op in ("sin", "cos", "atan", "exp", "cbrt"):
            value = getattr(math, op)(a[1])
        elif op == "sqrt":
            value = math.sqrt(a[1])
        elif op == "+":
            value = a[1] + b[1]
        elif op == "-":
            value = a[1] - b[1]
        elif op == "*":
            value = a[1] * b[1]
        elif op == "/":
            value = a[1] / b[1]
        else:
            value = math.pow(a[1], b)
    except (ArithmeticError, ValueError):
        raise _Undefined from None
    if not math.isfinite(value) or abs(value) > 1e12:
        raise _Undefined
    return value, max(a[2], abs(value), b[2] if isinstance(b, tuple) else 0.0)


def _combine(children: st.SearchStrategy) -> st.SearchStrategy:
    times = st.sampled_from(["*", "×", "·", " ", ""])
    minus = st.sampled_from(["-", "−"])
    power = st.sampled_from([(-1, "⁻¹"), (0, "⁰"), (1, "¹"), (2, "²"), (3, "³")])

    def binary(data):
        op, a, b, t, m = data
        if op == "+":
            text = f"({a[0]}) + ({b[0]})"
        elif op == "-":
            text = f"({a[0]}) {m} ({b[0]})"
        elif op == "*":
            text = f"({a[0]}){t}({b[0]})"
        else:
            text = f"({a[0]}) / ({b[0]})"
        return (text, *_safe(op, a, b))

    def unary(data):
        op, a, m = data
        text = f"{m}({a[0]})" if op == "neg" else f"{op}({a[0]})"
        return (text, *_safe(op, a))

    def raised(data):
        a, (k, superscript), style = data
        text = [f"({a[0]})^{k}", f"({a[0]})**({k})", f"({a[0]}){superscript}"][style]
        return (text, *_safe("^", a, float(k)))

    ops2 = st.sampled_from(["+", "-", "*", "/"])
    ops1 = st.sampled_from(["neg", "sin", "cos", "atan", "exp", "sqrt", "cbrt"])
    return st.one_of(
        st.tuples(ops2, children, children, times, minus).map(binary),
        st.tuples(ops1, children, minus).map(unary),
        st.tuples(children, power, st.integers(0, 2)).map(raised),
    )


def _safe(op: str, a: tuple, b: object = None) -> tuple[float, float]:
    """Apply, recording an undefined result as NaN so it spreads."""
    if math.isnan(a[1]) or (isinstance(b, tuple) and math.isnan(b[1])):
        return math.nan, math.inf
    try:
        return _apply(op, a, b)
    except _Undefined:
        return math.nan, math.inf


_EXPRESSIONS = st.recursive(_leaf(), _combine, max_leaves=12)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_EXPRESSIONS)
def test_random_expressions_read_to_their_value(expression):
    text, expected, scale = expression
    began = time.perf_counter()
    try:
        parsed = parse_system([f"{text} = z"])
    except InputError as error:
        # only an undefined constant may fail, or one below float64's normal
        # range (which a part of the expression may be, exp(-1e4), even where
        # the whole is not)
        assert math.isnan(expected) or "is too small (below" in str(error), text
        return
    finally:
        assert time.perf_counter() - began < 1.0
    if math.isnan(expected):
        return
    values = {"z": 0.0, **_POINT}
    got = evaluate(parsed, 0, **{name: values[name] for name in parsed.names})
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9 * max(scale, 1.0)), text


@pytest.mark.parametrize("text, at", [("1e = x", 1), ("x = 2E", 5), ("2.5e+x = 1", 3)])
def test_a_number_whose_exponent_lost_its_digits_is_refused(text, at):
    error = error_of(text)
    assert "malformed number" in str(error) and "an exponent needs digits" in str(error)
    assert error.position == at


@pytest.mark.parametrize("text, x", [("3exp(x) = 3", 0.0), ("2 e = x", 2 * math.e)])
def test_a_number_before_a_name_starting_with_e_is_still_a_product(text, x):
    assert residual_at(text, x=x) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("text, at", [("x = 2ⁿ", 5), ("xⁿ = 2", 1), ("ᵃ + x = 1", 0)])
def test_a_raised_letter_is_refused_not_read_as_a_name(text, at):
    error = error_of(text)
    assert "is a raised or lowered letter" in str(error) and "x^n" in str(error)
    assert error.position == at
