"""Run Odoo browser tours in headless Chromium over the DevTools protocol.

Odoo's own ``HttpCase.start_tour`` only works inside Odoo's test runner; this runner drives
a real server started by the harness: it logs in, opens ``/odoo?debug=tests`` (which loads
the ``web.assets_tests`` bundle holding the tours), starts the tour and waits for Odoo's
"tour succeeded" signal. Any ``console.error`` or uncaught exception fails the tour, and a
screenshot of the page is saved next to the server log.
"""

import base64
import json
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests
import websocket

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--window-size=1366,768",
    "--remote-allow-origins=*",
]


class TourFailed(AssertionError):
    pass


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("Chromium is not installed (Debian: apt-get install chromium); browser tours cannot run")


class Browser:
    """One headless Chromium with one page, driven through the DevTools websocket."""

    def __init__(self, port, artifacts_dir):
        self.artifacts_dir = Path(artifacts_dir)
        self.profile = Path(tempfile.mkdtemp(prefix="ecrm-chromium-"))
        self.proc = subprocess.Popen(
            [
                chromium_binary(),
                *CHROMIUM_FLAGS,
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ws_url = self._page_websocket(port)
        self.ws = websocket.create_connection(ws_url, suppress_origin=True, timeout=30)
        self._ids = iter(range(1, 1 << 30))
        self._responses = {}
        self._events = queue.Queue()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        for method in ("Runtime.enable", "Page.enable", "Network.enable"):
            self.send(method)

    def _page_websocket(self, port):
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except (requests.ConnectionError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError("Chromium did not open its DevTools endpoint")

    def _read(self):
        while True:
            try:
                message = json.loads(self.ws.recv())
            except (websocket.WebSocketException, OSError, ValueError):
                self._events.put({"method": "_closed"})
                return
            if "id" in message:
                with self._lock:
                    slot = self._responses.get(message["id"])
                if slot is not None:
                    slot.put(message)
            else:
                self._events.put(message)

    def send(self, method, timeout=30, **params):
        msg_id = next(self._ids)
        slot = queue.Queue()
        with self._lock:
            self._responses[msg_id] = slot
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        try:
            reply = slot.get(timeout=timeout)
        finally:
            with self._lock:
                self._responses.pop(msg_id, None)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if result.get("exceptionDetails"):
            raise RuntimeError(result["exceptionDetails"].get("text", "evaluation failed"))
        return result.get("result", {}).get("value")

    def screenshot(self, name):
        try:
            data = self.send("Page.captureScreenshot", format="png")["data"]
        except (RuntimeError, queue.Empty):
            return None
        path = self.artifacts_dir / f"{name}.png"
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.ws.close()
        except websocket.WebSocketException:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def login_session(base_url, db, login, password):
    """Log in through Odoo's web session endpoint and return the session id cookie."""
    response = requests.post(
        f"{base_url}/web/session/authenticate",
        json={"jsonrpc": "2.0", "method": "call", "params": {"db": db, "login": login, "password": password}},
        timeout=60,
    )
    response.raise_for_status()
    if response.json().get("error"):
        raise RuntimeError(f"login {login!r} refused: {response.json()['error']}")
    return response.cookies["session_id"]


def run_tour(server, tour_name, login="admin", password="admin", url_path="/odoo", timeout=120):
    """Run ``tour_name`` as ``login`` on ``server`` (a harness OdooServer); raise TourFailed on failure."""
    from .server import free_port

    session_id = login_session(server.url, server.db, login, password)
    browser = Browser(free_port(), server.workdir)
    console = []
    try:
        browser.send(
            "Network.setCookie", name="session_id", value=session_id, domain="127.0.0.1", path="/", httpOnly=True
        )
        separator = "&" if "?" in url_path else "?"
        browser.send("Page.navigate", url=f"{server.url}{url_path}{separator}debug=tests")
        ready = f"!!(window.odoo && odoo.isTourReady && odoo.isTourReady({json.dumps(tour_name)}))"
        # the first visit of a fresh database compiles the asset bundles, which is slow on a busy machine
        deadline = time.time() + 240
        while not _safe_eval(browser, ready):
            _drain_console(browser, console)
            if time.time() > deadline:
                raise TourFailed(
                    f"tour {tour_name!r} never became ready (is it in web.assets_tests?); console:\n"
                    + "\n".join(console[-30:])
                )
            time.sleep(0.25)
        options = {
            "stepDelay": 0,
            "keepWatchBrowser": False,
            "debug": False,
            "startUrl": url_path,
            "delayToCheckUndeterminisms": 0,
        }
        browser.send("Runtime.evaluate", expression=f"odoo.startTour({json.dumps(tour_name)}, {json.dumps(options)})")
        deadline = time.time() + timeout
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise TourFailed(
                    f"tour {tour_name!r} timed out after {timeout}s; console:\n" + "\n".join(console[-30:])
                )
            try:
                event = browser._events.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            method = event.get("method")
            if method == "_closed":
                raise TourFailed("the browser closed during the tour")
            if method == "Runtime.consoleAPICalled":
                params = event["params"]
                text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
                console.append(f"{params['type']}: {text}")
                if params["type"] == "log" and "tour succeeded" in text:
                    return console
                if params["type"] == "error":
                    raise TourFailed(f"tour {tour_name!r} failed: {text}")
            elif method == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                description = (details.get("exception") or {}).get("description") or details.get("text")
                raise TourFailed(f"tour {tour_name!r}: uncaught exception {description}")
    except TourFailed:
        shot = browser.screenshot(f"tour-{tour_name}-failed")
        if shot:
            console.append(f"screenshot: {shot}")
        raise
    finally:
        browser.close()


def _drain_console(browser, console):
    """Record what the page logged while it loaded (kept for the failure message)."""
    while True:
        try:
            event = browser._events.get_nowait()
        except queue.Empty:
            return
        if event.get("method") == "Runtime.consoleAPICalled":
            params = event["params"]
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
            console.append(f"{params['type']}: {text}")
        elif event.get("method") == "Runtime.exceptionThrown":
            details = event["params"]["exceptionDetails"]
            console.append(f"exception: {(details.get('exception') or {}).get('description') or details.get('text')}")


def _safe_eval(browser, expression):
    try:
        return browser.evaluate(expression)
    except RuntimeError:
        return False
