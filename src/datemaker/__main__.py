from datemaker.cli import run

run()
