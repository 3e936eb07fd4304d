"""`datemaker privacy reseal|rewrap|new-master-key`: the personal data sealed
per person (README, Privacy): sealing histories recorded before sealing
existed, and rotating the master key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

BATCH = click.IntRange(min=1)


@click.group()
def privacy() -> None:
    """Personal data: seal old histories, rotate the master key."""


@privacy.command("reseal")
@click.option("--dry-run", is_flag=True, help="count what would change, change nothing")
@click.option("--batch", type=BATCH, default=500, show_default=True, help="events per transaction")
@click.pass_obj
def reseal(lazy: Any, dry_run: bool, batch: int) -> None:
    """Seal the personal fields of events recorded before sealing existed,
    drop snapshots that hold them in clear, and note whose data each event
    holds. Safe to run again, and beside the service."""
    from datemaker.adapters.privacy.resealing import Resealer

    container = lazy.get()
    app = container.app
    if app.snapshots is None:
        raise click.ClickException("this store keeps no snapshots: nothing to reseal them in")
    if container.settings.uses_postgres:
        from datemaker.adapters.postgres.resealing import PostgresResealing

        store: Any = PostgresResealing(app.recorder, app.snapshots.recorder)
    else:
        from datemaker.adapters.sqlite.resealing import SqliteResealing

        store = SqliteResealing(app.recorder, app.snapshots.recorder)
    counts = Resealer(app.mapper, store, batch=batch).run(dry_run=dry_run)
    click.echo(counts.line(dry_run))


@privacy.command("rewrap")
@click.option("--batch", type=BATCH, default=500, show_default=True, help="keys per transaction")
@click.pass_obj
def rewrap_(lazy: Any, batch: int) -> None:
    """Wrap every live person key again with the current master key
    (DATEMAKER_MASTER_KEY or DATEMAKER_MASTER_KEY_FILE); keys the previous one
    wrapped open with DATEMAKER_PREVIOUS_MASTER_KEY_FILE meanwhile."""
    from datemaker.adapters.privacy.rewrapping import rewrap

    keyring = lazy.get().app.recorder.keyring
    done = rewrap(keyring, keyring.store, batch)
    click.echo(done.line(keyring.masters.current.name))
    if done.left:
        raise SystemExit(1)


@privacy.command("new-master-key")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the file to write (mode 0600); never overwritten")
def new_master_key(out: Path) -> None:
    """Write a fresh master key to a file only its owner can read; point
    DATEMAKER_MASTER_KEY_FILE at it (README, Privacy: rotating the master key)."""
    from datemaker.adapters.privacy.master_key import write_key_file

    try:
        key = write_key_file(out)
    except FileExistsError:
        raise click.ClickException(f"{out} exists already: not overwritten") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"wrote master key {key.name} to {out}; keep a copy somewhere safe")
