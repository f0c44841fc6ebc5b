"""What the tests (and the benchmarks and scripts/demo.py) are made of, apart from the tests.

Test modules import from here and never from each other; the shared fixtures are in
tests/conftest.py. tests/test_layout.py keeps it so.
"""
