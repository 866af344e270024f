"""`newsfeed models`: which spaCy model tags which language, and where each model comes from."""

from __future__ import annotations

import typer

from .common import cli, console, settings_or_exit

COLUMNS = ("language", "model", "version", "provenance", "license", "installed from", "chosen by")


@cli.command()
def models() -> None:
    """List language -> spaCy NER model with its provenance, tab-separated. Languages not listed get
    `ner: no_model`. The choice: the best installed package per language (official lg, md, sm, then
    PyPI copies); NEWSFEED_NER_MODELS entries (`en=en_core_web_lg`, `de=none`) replace it. Exit code 1
    when a model named in NEWSFEED_NER_MODELS is not installed."""
    from pipeline.stages.entities.models import describe

    settings = settings_or_exit()
    infos = describe(settings.ner_model_overrides())
    print("\t".join(COLUMNS))
    for info in infos:
        print("\t".join([info.lang, info.package, info.version or "-", info.provenance, info.license or "-",
                         info.source, info.chosen_by]))
    missing = [i for i in infos if not i.installed]
    if not infos:
        console.print("[yellow]no spaCy model installed: every article gets ner: no_model[/yellow]")
    if missing:
        console.print(f"[red]not installed:[/red] {', '.join(f'{i.lang}={i.package}' for i in missing)} "
                      "(NEWSFEED_NER_MODELS) — those languages get ner: no_model")
        raise typer.Exit(1)
