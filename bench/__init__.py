"""caseledger benchmarks: `python -m bench` (or `make bench`) writes docs/BENCHMARKS.md.

Each benchmark is a module with `NAME`, `TITLE` and `run(env) -> str`, the Markdown body of
its own section of the report (see report.py), or `run(quick: bool) -> dict` (see
__main__.py). Benchmarks measure and report; nothing here asserts a time.
"""
