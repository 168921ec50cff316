"""pytest (nbval) does not collect the assignment notebooks.

`pytest book --nbval-lax` would run the sources as they are, and the committed student edition would fail by design
(every exercise raises NotImplementedError). Both are executed instead by tests/test_assignments.py, which runs the
instructor edition strictly (full marks) and the student edition (only NotImplementedError, score zero).
"""
collect_ignore_glob = ["*.ipynb", "student/*.ipynb"]
