"""``kinetic emulator ...``: run the local org emulator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kinetic_core.emulator.org import OrgSettings
from kinetic_core.emulator.server import DEFAULT_DATA_DIR, EmulatorRunningError, serve_foreground
from kinetic_core.emulator.store.custom import SchemaError

emulator_app = typer.Typer(help="Run the local Salesforce org emulator.", no_args_is_help=True)


@emulator_app.command("start")
def start(
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback unless told otherwise).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8555,
    tls: Annotated[bool, typer.Option("--tls", help="Serve HTTPS with a generated local CA.")] = False,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the org's SQLite files, keys and emulator.json live.")
    ] = DEFAULT_DATA_DIR,
    schema: Annotated[Path | None, typer.Option(help="YAML file of custom objects and fields.")] = None,
    bulk_rate: Annotated[
        float | None,
        typer.Option("--bulk-rate", help="Bulk records processed per second (default: unlimited)."),
    ] = None,
    bulk_job_delay: Annotated[
        float, typer.Option("--bulk-job-delay", help="Seconds a bulk job waits before processing starts.")
    ] = 0.0,
    shuffle_results: Annotated[
        bool, typer.Option("--shuffle-results", help="Return bulk result rows in a shuffled order.")
    ] = False,
    token_ttl: Annotated[
        float, typer.Option("--token-ttl", help="Access token lifetime in seconds.")
    ] = 7200.0,
    callback_url: Annotated[
        list[str] | None,
        typer.Option(
            "--callback-url",
            help="The connected app's OAuth callback URL (repeatable); /services/oauth2/authorize "
            "redirects only to these. Default: http://localhost:1717/OauthRedirect.",
        ),
    ] = None,
) -> None:
    """Start the emulator in the foreground; prints its URL and writes DATA_DIR/emulator.json.

    One emulator per data dir: a second one on the same DATA_DIR is refused (exit 2), naming the
    running one's pid and URL.

    Example:
        $ kinetic emulator start --port 0 --data-dir /tmp/org --tls
    """
    if schema is not None and not schema.is_file():
        typer.echo(f"schema file not found: {schema}", err=True)
        raise typer.Exit(2)
    settings = OrgSettings(
        data_dir=data_dir.expanduser(),
        host=host,
        port=port,
        tls=tls,
        schema_file=schema,
        bulk_rate=bulk_rate,
        bulk_job_delay_seconds=bulk_job_delay,
        shuffle_results=shuffle_results,
        token_ttl_seconds=token_ttl,
        callback_urls=tuple(callback_url) if callback_url else OrgSettings.callback_urls,
    )

    def announce(url: str) -> None:
        typer.echo(url)
        sys.stdout.flush()
        typer.echo(
            f"emulator data dir: {settings.data_dir} (credentials and admin token in emulator.json)", err=True
        )

    try:
        serve_foreground(settings, announce=announce)
    except EmulatorRunningError as exc:
        typer.echo(f"error: cannot start the emulator: {exc}", err=True)
        raise typer.Exit(2) from None
    except SchemaError as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(2) from None
    except (OSError, OverflowError) as exc:
        typer.echo(f"error: cannot start the emulator: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(1) from None
