from datemaker.cli.main import run

run()
