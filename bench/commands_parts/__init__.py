"""The commands bench's parts, run by `bench/commands.py` (whose docstring
tells what is measured and lists the lines printed)."""
