"""Start the app's server: `regie app [--port N] [--lang nl|en] [--workers N]`.

Solara runs in this process on uvicorn (as `solara run` starts it), the page is
``sim.app.page:Page``. Set before Solara is imported: production mode, no telemetry
(Solara would report usage to mixpanel.com), no banner. The JavaScript comes from the
``solara-assets`` package, so the page fetches nothing from the internet.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys

HOST = "127.0.0.1"   # the workshop's own machine; a shared server is a choice made with --host
DEFAULT_PORT = 8765  # assumption: a port free on most machines (Solara's own default 8765)


def _solara_environment(lang: str) -> None:
    """Solara's settings, as environment variables: Solara reads them once, when it is first
    imported (so this must run before any ``import solara``; ``offline_settings`` checks)."""
    os.environ["SOLARA_APP"] = "sim.app.page:Page"
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("SOLARA_THEME_TITLE", "Regie")
    # the page's JavaScript and CSS come from solara-assets; anything missing there the server would
    # fetch from this CDN: an address that answers nothing keeps the server off the internet
    os.environ["SOLARA_ASSETS_CDN"] = "http://127.0.0.1:9/npm/"
    os.environ["REGIE_APP_LANG"] = lang


def offline_settings() -> dict[str, object]:
    """The settings Solara took (import it after ``_solara_environment``): no telemetry, no
    banner, no CDN on the internet. Raises RuntimeError when Solara was imported too early."""
    import solara.server.settings
    import solara.settings

    taken = {"telemetry": solara.server.settings.telemetry.mixpanel_enable,
             "banner": solara.server.settings.theme.show_banner,
             "cdn": str(solara.settings.assets.cdn)}
    if taken["telemetry"] or taken["banner"] or not taken["cdn"].startswith("http://127.0.0.1"):
        raise RuntimeError(f"Solara was imported before its settings were made: {taken}")
    return taken


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn binds it
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def serve(port: int = DEFAULT_PORT, lang: str = "nl", workers: int | None = None, host: str = HOST) -> int:
    """Start the warm process pool, then serve the page until Ctrl-C. Returns an exit status."""
    # not imported yet: Solara reads its settings (telemetry, banner, CDN) at its first import
    if importlib.util.find_spec("solara") is None or importlib.util.find_spec("uvicorn") is None:
        print("regie app needs the app extra: pip install -e \".[app]\" (or `make app`)", file=sys.stderr)
        return 2
    if not port_free(host, port):
        print(f"regie app: port {port} is in use; choose another with --port", file=sys.stderr)
        return 2
    _solara_environment(lang)
    import uvicorn

    offline_settings()
    from sim.app import page, runner

    page.DEFAULT_LANG = lang
    runner.start_pool(workers)   # workers start and compile their kernels while the server starts
    url = f"http://{'localhost' if host == HOST else host}:{port}/"
    print(f"Regie app: open {url} in a browser (Ctrl-C stops it); {runner.pool_workers()} worker processes",
          flush=True)
    config = uvicorn.Config("solara.server.starlette:app", host=host, port=port, log_level="warning")
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:   # a second Ctrl-C while uvicorn waits for open pages to close
        pass
    finally:
        runner.shutdown_pool()
    print("Regie app stopped", file=sys.stderr)
    return 0
