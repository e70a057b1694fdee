"""The ``shophealth`` command.

Exit codes: 0 scanned (findings or not), 1 a shop could not be scanned at
all, 2 bad input (URL, sites file, options), 130 interrupted by Ctrl-C (the
report is still written, with what was gathered). Errors are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from shophealth import __version__, tune_gc
from shophealth.checks.registry import Registry, RegistryError, load_registry
from shophealth.crawler.config import (
    DEFAULT_USER_AGENT,
    RENDER_MODES,
    ConfigError,
    ScanConfig,
    SiteConfig,
    check_check_settings,
    check_config,
    check_output_file,
    load_sites_file,
)
from shophealth.crawler.evidence_store import check_evidence_folder
from shophealth.crawler.finishing import ShopFinisher
from shophealth.crawler.hooks import RunHooks
from shophealth.crawler.logs import LEVELS, configure_logging, forget_in_logs
from shophealth.crawler.phases import SiteProgress
from shophealth.crawler.scan import Run, SiteCallback, SiteFinisher, scan
from shophealth.crawler.urls import BadURLError, parse_start_url
from shophealth.reports.guidance import LANGUAGES
from shophealth.reports.renderers.html import write_html
from shophealth.reports.renderers.terminal import inert, render_summary
from shophealth.reports.report import build_report, write_json

app = typer.Typer(
    help="Health crawler for retail web shops: broken links, server errors, TLS, mobile and more.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
checks_app = typer.Typer(help="The checks shophealth runs.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")
err = Console(stderr=True, soft_wrap=True)  # an error stays one line, however narrow the terminal
out = Console()


INTERRUPTED = 130  # the shell's code for a Ctrl-C
# False while ``gate`` runs ``scan``: the gate prints the summary itself, once it has rescored the report.
SCAN_SUMMARY: contextvars.ContextVar[bool] = contextvars.ContextVar("scan_summary", default=True)


def _print_version(asked: bool) -> None:
    if asked:
        out.print(f"shophealth {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    log_level: Annotated[
        str, typer.Option(help=f"Log records at this level and above: {', '.join(LEVELS)}.")
    ] = "warning",
    log_file: Annotated[Path | None, typer.Option(help="Append the log here instead of stderr.")] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Health crawler for retail web shops: broken links, server errors, TLS, mobile and more."""
    if log_level.lower() not in LEVELS:
        raise fail(f"--log-level must be one of {', '.join(LEVELS)}, not {log_level!r}")
    try:
        configure_logging(log_level.lower(), log_file, console=err)
    except OSError as exc:
        raise fail(f"cannot write the log file {log_file}: {exc.strerror or exc}") from None


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {inert(message)}")
    return typer.Exit(code)


def base_config(**options: Any) -> ScanConfig:
    config = ScanConfig(user_agent=DEFAULT_USER_AGENT.format(version=__version__))
    return config.replace(**{k: v for k, v in options.items() if v is not None})


SCAN_EPILOG = (
    "Exit codes: 0 scanned (findings or not); 1 a shop could not be scanned (down, unreachable, "
    "refused: the others are still scanned and the report says why); 2 bad input (URL, sites file, "
    "option), said in one line before any work; 75 another run holds the --store's lock; 130 "
    "interrupted (Ctrl-C: the report holds what was gathered)."
)


def _default(field: str) -> str:
    """A ScanConfig default as ``--help`` shows it (the options default to None so
    that a sites file's ``defaults`` apply unless the option is given)."""
    return str(getattr(ScanConfig(), field))


@app.command("scan", epilog=SCAN_EPILOG)
def scan_command(
    urls: Annotated[list[str] | None, typer.Argument(help="Shop URLs to scan.")] = None,
    sites: Annotated[Path | None, typer.Option(help="YAML file listing shops and their options.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    max_pages: Annotated[
        int | None, typer.Option(min=1, help="Pages to crawl per shop.", show_default=_default("max_pages"))
    ] = None,
    max_depth: Annotated[
        int | None,
        typer.Option(min=0, help="Link depth from the start page.", show_default=_default("max_depth")),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            min=1,
            help="Wall-clock seconds per shop, every phase included (crawl, TLS, browser, Lighthouse).",
            show_default=_default("budget_s"),
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Requests in flight.", show_default=_default("concurrency"))
    ] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Regex of URLs not to crawl.")] = None,
    per_host: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Requests in flight to one of the shop's hosts, at first.",
            show_default=_default("per_host"),
        ),
    ] = None,
    per_host_max: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="At most this many to one of the shop's hosts while it answers as fast.",
            show_default=_default("per_host_max"),
        ),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(help="CA bundle (PEM) to trust.", show_default="SSL_CERT_FILE, else certifi"),
    ] = None,
    credentials_env: Annotated[
        str | None, typer.Option(help="Env var holding user:password for the shop (HTTP Basic auth).")
    ] = None,
    render: Annotated[
        str | None,
        typer.Option(help="Browser rendering: off, sample or all.", show_default=_default("render")),
    ] = None,
    browser: Annotated[Path | None, typer.Option(help="Chromium executable (found automatically).")] = None,
    lighthouse_pages: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Page templates Lighthouse runs on (0 = off).",
            show_default=_default("lighthouse_pages"),
        ),
    ] = None,
    lighthouse_runs: Annotated[
        int | None,
        typer.Option(
            min=1, help="Lighthouse runs per page (median).", show_default=_default("lighthouse_runs")
        ),
    ] = None,
    artifacts: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the phone screenshots (the HTML report shows the home page's).",
            show_default="none taken; the --save-evidence folder's",
        ),
    ] = None,
    parallel: Annotated[int, typer.Option(min=1, help="Shops scanned at the same time.")] = 2,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Processes that fetch and parse, per shop (0 = none; default: cores - 1, big shops).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
    store: Annotated[
        str | None, typer.Option(help="Store the run in this history database.", envvar="SHOPHEALTH_STORE")
    ] = None,
    webhook: Annotated[str | None, typer.Option(help="POST the diff here on regressions.")] = None,
    mail_to: Annotated[list[str] | None, typer.Option(help="E-mail the diff here on regressions.")] = None,
    smtp: Annotated[str, typer.Option(help="SMTP server: smtp://[user@]host[:port].")] = "smtp://localhost",
    link_cache_days: Annotated[
        float, typer.Option(min=0, help="With --store: keep external-link verdicts this long (0 = off).")
    ] = 3,
    resume: Annotated[
        bool, typer.Option(help="With --store: go on with the last run if it did not finish.")
    ] = False,
    distributed: Annotated[
        bool, typer.Option(help="Enqueue one job per shop for `shophealth worker`s.")
    ] = False,
    broker: Annotated[
        str | None, typer.Option(help="Celery broker URL (redis://…).", envvar="SHOPHEALTH_BROKER")
    ] = None,
    detach: Annotated[bool, typer.Option(help="With --distributed: print the run id, do not wait.")] = False,
    html: Annotated[
        Path | None, typer.Option(help="Write the HTML report (index.html + a page per shop) here.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the HTML report: en or zh-HK.")] = "en",
    save_evidence: Annotated[
        Path | None, typer.Option(help="Also write what was gathered here, for `shophealth judge`.")
    ] = None,
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private",
            help="Let a public shop's links reach private/loopback addresses (implied for a private shop).",
        ),
    ] = False,
) -> None:
    """Crawl shops, check them and report what is wrong."""
    if render is not None and render not in RENDER_MODES:
        raise fail(f"--render must be one of {', '.join(RENDER_MODES)}, not {render!r}")
    if lang not in LANGUAGES:
        raise fail(f"--lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    try:
        if html is not None:
            html.mkdir(parents=True, exist_ok=True)  # a folder that cannot be made is said before scanning
    except OSError as exc:
        raise fail(f"cannot make the HTML report folder {html}: {exc.strerror or exc}") from None
    given = {
        "per_host": per_host,
        "per_host_max": per_host_max,
        "render": render,
        "browser_path": str(browser) if browser else None,
        "lighthouse_pages": lighthouse_pages,
        "lighthouse_runs": lighthouse_runs,
        "artifacts_dir": _screenshot_folder(artifacts, save_evidence),
        "max_pages": max_pages,
        "max_depth": max_depth,
        "budget_s": budget,
        "concurrency": concurrency,
        "exclude": tuple(exclude) if exclude else None,
        "ca_bundle": str(ca_bundle) if ca_bundle else None,
        "credentials_env": credentials_env,
        "workers": workers,
        "allow_private": True if allow_private else None,
    }
    overrides = {key: value for key, value in given.items() if value is not None}
    if save_evidence is not None:  # before the settings, which check the screenshot folder inside it
        _checked(check_evidence_folder, save_evidence)
    registry = _registry()
    targets = _sites(urls or [], sites, overrides, registry)
    to_stdout = json_path is not None and str(json_path) == "-"
    if json_path is not None and not to_stdout:
        _checked(check_output_file, str(json_path), "--json")
    notify = cli_history.Notify(webhook, mail_to or (), smtp)
    if distributed:
        cli_distributed.scan_distributed(targets, store, broker, detach, json_path, quiet, notify)
        return
    nightly = cli_history.start_nightly(store, quiet, notify, link_cache_days, resume)
    finisher = ShopFinisher(save_evidence, nightly, None if quiet else _announce_done)  # as each shop ends
    run = _run_scan(targets, registry, quiet, parallel, nightly.hooks if nightly else None, finisher)
    finisher.write_manifest(run)
    for problem in finisher.evidence_errors:
        err.print(f"[bold red]error:[/] {inert(problem)}")  # the report is still written
    report = build_report(run)
    if nightly is not None:
        nightly.finish(run, report, history=html is not None)
    _write_report(report, json_path, quiet or not SCAN_SUMMARY.get())
    if html is not None:
        write_html(report, html, lang, history=nightly.history if nightly else None)
    unreachable = [s for s in report["sites"] if s.get("error")]
    for site in unreachable:
        err.print(f"[bold red]error:[/] could not scan {inert(site['site'])}: {inert(site['error'])}")
    if run.interrupted:
        raise typer.Exit(INTERRUPTED)
    if unreachable:
        raise typer.Exit(1)


def _announce_done(site: Mapping[str, Any]) -> None:
    """One line on standard error as each shop is reported (the summary comes at the end)."""
    overall = (site.get("scores") or {}).get("overall")
    result = f"not scanned: {site['error']}" if site.get("error") else f"{len(site['findings'])} findings"
    score = f", score {overall:.1f}" if isinstance(overall, int | float) else ""
    err.print(f"Done: {inert(site['site'])}: {inert(result)}{score}")


def _write_report(report: dict[str, Any], json_path: Path | None, quiet: bool) -> None:
    """The JSON report to its file (or standard output for ``-``), then the summary
    (on standard error when standard output carries the report)."""
    to_stdout = json_path is not None and str(json_path) == "-"
    if to_stdout:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    elif json_path is not None:
        write_json(report, json_path)
    if quiet:
        return
    console = err if to_stdout else out
    render_summary(report, console)
    if json_path is not None and not to_stdout:
        console.print(f"Report written to {inert(str(json_path))}")


def _checked(validate: Callable[..., None], *args: Any) -> None:
    try:
        validate(*args)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def _registry() -> Registry:
    try:
        return load_registry()
    except RegistryError as exc:
        raise fail(str(exc)) from None


def _sites(
    urls: list[str], sites_file: Path | None, overrides: dict[str, Any], registry: Registry
) -> list[SiteConfig]:
    """The shops to scan, every one's settings checked before any work: options
    given here win over the sites file's ``defaults``, a site's own win over both."""
    if not urls and sites_file is None:
        raise fail("give at least one shop URL or --sites FILE")
    config = base_config(**overrides)
    check_defaults = {cid: check.defaults for cid, check in registry.checks.items()}
    targets: list[SiteConfig] = []
    try:
        check_config(config, "options")
        targets.extend(SiteConfig(url=parse_start_url(u), config=config) for u in urls)
        if sites_file is not None:
            targets.extend(load_sites_file(sites_file, base_config(), overrides))
        for target in targets:
            where = target.name or target.url
            check_check_settings(target.config.checks, check_defaults, where)
            target.config.shop_headers()  # a missing variable is bad input, said before scanning
            forget_in_logs([*target.config.headers_env.values(), target.config.credentials_env or ""])
    except (BadURLError, ConfigError) as exc:
        raise fail(str(exc)) from None
    return targets


def _run_scan(
    targets: list[SiteConfig],
    registry: Registry,
    quiet: bool,
    parallel: int,
    hooks: RunHooks | None = None,
    finish: SiteFinisher | None = None,
) -> Run:
    tune_gc()
    if quiet or not sys.stderr.isatty():
        on_site = None if quiet else _plain_progress
        return asyncio.run(_scan_until_interrupted(targets, registry, on_site, parallel, hooks, finish))
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as progress:

        def on_site(site: SiteConfig) -> SiteProgress:
            task = progress.add_task(f"Scanning {inert(site.url)}")

            current = ["crawling"]

            def update(pages: int, queued: int, judged: int) -> None:
                counts = f"{pages} pages, {judged} links judged, {queued} queued"
                progress.update(task, description=f"{inert(site.url)}: {current[0]}: {counts}")

            def phase(name: str, done: int, total: int | None) -> None:
                current[0] = name
                counts = f" {done}/{total}" if total else ""
                progress.update(task, description=f"{inert(site.url)}: {name}{counts}")

            return SiteProgress(update, phase)

        return asyncio.run(_scan_until_interrupted(targets, registry, on_site, parallel, hooks, finish))


async def _scan_until_interrupted(
    targets: list[SiteConfig],
    registry: Registry,
    on_site: SiteCallback | None,
    parallel: int,
    hooks: RunHooks | None = None,
    finish: SiteFinisher | None = None,
) -> Run:
    """The scan; a first Ctrl-C ends it with what was gathered (report written, exit
    130), a second one quits at once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def interrupted() -> None:
        err.print("Interrupted: finishing the report with what was gathered (Ctrl-C again to quit now)")
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)  # the next Ctrl-C raises KeyboardInterrupt

    with contextlib.suppress(NotImplementedError, RuntimeError):  # no signal handlers here
        loop.add_signal_handler(signal.SIGINT, interrupted)
    try:
        return await scan(
            targets,
            registry=registry,
            on_site=on_site,
            parallel=parallel,
            stop=stop,
            hooks=hooks,
            finish=finish,
        )
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


def _plain_progress(site: SiteConfig) -> SiteProgress:
    """Progress for logs (no terminal): one line per 100 pages, one per phase."""
    err.print(f"Scanning {inert(site.url)} …")
    last = [0]

    def update(pages: int, queued: int, judged: int) -> None:
        if pages >= last[0] + 100:
            last[0] = pages
            err.print(f"  {inert(site.url)}: {pages} pages, {judged} links judged, {queued} queued")

    def phase(name: str, done: int, total: int | None) -> None:
        if done == 0:
            err.print(f"  {inert(site.url)}: {name}" + (f" ({total})" if total else ""))

    return SiteProgress(update, phase)


@checks_app.command("list")
def checks_list() -> None:
    """List every registered check with its severities."""
    try:
        registry = load_registry()
    except RegistryError as exc:
        raise fail(str(exc)) from None
    for check in sorted(registry.checks.values(), key=lambda c: c.id):
        out.print(f"[bold]{inert(check.id)}[/]  {inert(check.title)}")
        out.print(f"    needs: {', '.join(check.requires)}; severity: {inert(check.severities)}")


@app.command("demo")
def demo_command(
    json_path: Annotated[Path, typer.Option("--json", help="Where to write the report.")] = Path(
        "shophealth-demo-report.json"
    ),
) -> None:
    """Serve the bundled demo shops on 127.0.0.1 (one plain, eight HTTPS), scan them and write the report."""
    from shophealth.demo.run import run_demo

    _checked(check_output_file, str(json_path), "--json")
    report = run_demo(json_path)
    render_summary(report, out)
    out.print(f"Demo report written to {inert(str(json_path.resolve()))}")


def _screenshot_folder(artifacts: Path | None, evidence: Path | None) -> str | None:
    """Screenshots are taken only into a folder that is kept: --artifacts, else the saved evidence's.
    Absolute, as the report names the screenshots by it and may be rendered from another folder."""
    folder = artifacts or (evidence / "screenshots" if evidence else None)
    return str(folder.resolve()) if folder else None


@app.command("version")
def version_command() -> None:
    """Print the version."""
    out.print(__version__)


from shophealth.crawler import cli_gate, cli_report  # noqa: E402, F401, I001  (register `gate`, `report`)
import shophealth.crawler.cli_judge  # noqa: E402, F401  (registers `judge`)
from shophealth.crawler import cli_distributed, cli_history  # noqa: E402  (history, diff, worker; used by scan)
