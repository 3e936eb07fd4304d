"""What the tests share: clocks, databases, harnesses and fakes. No tests
here; fixtures stay in the conftest.py files, which import from here."""
