"""`agentgraph model prepare|info`: the base model of the configured profile."""

from __future__ import annotations

import typer

model_app = typer.Typer(help="Prepare and inspect the base model.", no_args_is_help=True)


@model_app.command("prepare")
def prepare(
    force: bool = typer.Option(False, "--force", help="Rebuild even if an intact model is cached."),
    verify: bool = typer.Option(False, "--verify", help="Check every file's sha256, not only that it exists."),
) -> None:
    """Build the profile's base model as a Hugging Face folder in the cache (offline, once)."""
    from agentgraph.serving.prepare import prepare_model
    from agentgraph.serving.profile import get_profile
    from agentgraph.settings import get_settings

    settings = get_settings()
    prepared = prepare_model(settings, get_profile(settings.model.profile), force=force, verify=verify)
    typer.echo(f"base model ready: {prepared.path} (hash {prepared.base_model_hash})")


@model_app.command("info")
def info() -> None:
    """Show the profile, its tool-call format and the prepared model folder."""
    from agentgraph.serving.prepare import model_dir, read_manifest
    from agentgraph.serving.profile import get_profile
    from agentgraph.settings import get_settings

    settings = get_settings()
    profile = get_profile(settings.model.profile)
    folder = model_dir(settings, profile)
    prepared = read_manifest(folder)
    typer.echo(f"profile:          {profile.name} ({profile.base_model})")
    typer.echo(f"tool-call parser: {profile.tool_call_parser}; ms-swift template: {profile.swift_template}")
    typer.echo(f"model folder:     {folder} ({'ready, hash ' + prepared.base_model_hash if prepared else 'not prepared'})")


def register(app: typer.Typer) -> None:
    """Add the `model` command group."""
    app.add_typer(model_app, name="model")
