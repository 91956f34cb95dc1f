"""Benchmarks of gdsolve: standard test problems (``standard.py``) and speed (``speed.py``).

Run them from the repository root, e.g. ``python -m benchmarks.standard --quick``.
SciPy is needed only here (``pip install -e ".[bench]"``).
"""
