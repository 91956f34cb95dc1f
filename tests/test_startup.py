"""Start-up of the command line: what it loads, and option values it converts."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdsolve.cli.options import Format, MethodName
from gdsolve.cli.quick import UNSURE, quick_value

typer_coercion = pytest.importorskip("typer._coercion")
typer_models = pytest.importorskip("typer.models")


def typer_value(value, annotation):
    """Convert ``value`` with Typer's own converter; an error becomes 'error'."""
    descriptor = typer_coercion.resolve_type_descriptor(
        annotation, typer_models.OptionInfo()
    )
    conversion = typer_coercion.build_runtime_param(descriptor)
    try:
        return conversion._coerce_value(value, param=None, ctx=None)
    except Exception:  # noqa: BLE001 - any refusal counts
        return "error"


def same_as_typer(text, annotation):
    quick = quick_value(text, annotation)
    if quick is UNSURE:
        return True
    expected = typer_value(text, annotation)
    return type(quick) is type(expected) and (
        quick == expected or (math.isnan(quick) and math.isnan(expected))
    )


NUMBER_TEXT = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1e6, 1e6).map(lambda x: f"{x:.6e}"),
    st.text("0123456789+-.eE_ ", max_size=10),
)


@settings(max_examples=400, deadline=None)
@given(NUMBER_TEXT)
def test_quick_numbers_are_the_numbers_typer_reads(text):
    assert same_as_typer(text, int)
    assert same_as_typer(text, float)


@pytest.mark.parametrize(
    "value, annotation",
    [
        ("adam", MethodName),
        ("Adam", MethodName),
        ("ADAM ", MethodName),
        (MethodName.sgd, MethodName),
        ("json", Format),
        ("x^2 = 4", str),
        (("x = 1", "y = 2"), list[str]),
        ((), list[str]),
        (64, int),
        (1e-10, float),
        ("007", int),
        ("+5", int),
        ("1.", float),
        ("-.5e-3", float),
        ("1e400", float),
    ],
)
def test_quick_values_are_the_values_typer_gives(value, annotation):
    quick = quick_value(value, annotation)
    assert quick is UNSURE or quick == typer_value(value, annotation)


def test_values_that_are_not_plain_are_left_to_typer():
    for text in ("1_000", " 7", "nan", "inf", "0x10", "１２", "1e5"):
        assert quick_value(text, int) is UNSURE
    assert quick_value("Adam", MethodName) is UNSURE
    assert quick_value("5", bool) is UNSURE


def run_in_process(*args: str) -> str:
    code = (
        "import gc, sys\nfrom gdsolve.cli import main\n"
        f"sys.argv = ['gdsolve', *{list(args)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'pydantic' in sys.modules, 'COLLECTING', gc.isenabled())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    return done.stdout


def test_plain_option_values_need_no_pydantic_and_collection_resumes():
    out = run_in_process("solve", "x = 1", "--starts", "8", "-m", "adam", "-q")
    assert "LOADED False COLLECTING True" in out


def test_an_unusual_option_value_still_converts_as_typer_converts_it():
    out = run_in_process("solve", "x = 1", "--starts", "1_0", "-f", "json", "-q")
    assert '"used": 10' in out
