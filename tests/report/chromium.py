"""Drive headless Chromium over the DevTools protocol (a websocket): console errors, network
requests, the rendered DOM and a full-page screenshot. Needs only `/usr/bin/chromium`
(`make browser`) and the `websockets` package."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]
LOCAL = ("file:", "data:", "about:", "chrome:", "devtools:")


@dataclass
class Page:
    """What a page did while loading, and handles to look at it."""

    url: str
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions, log errors
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    _session: Browser | None = None

    @property
    def remote_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL)]

    def evaluate(self, expression: str) -> Any:
        assert self._session is not None
        result = self._session.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, width: int = 1280) -> Path:
        """A PNG of the whole page (not just the viewport)."""
        assert self._session is not None
        metrics = self._session.call("Page.getLayoutMetrics", {})
        height = int(metrics["cssContentSize"]["height"])
        shot = self._session.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Browser:
    """One headless Chromium process and one page target, driven over CDP."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900) -> None:
        if CHROMIUM is None:
            raise RuntimeError("chromium not installed (make browser)")
        profile.mkdir(parents=True, exist_ok=True)
        self.log = profile / "chromium.log"  # a file, not a pipe: a full pipe would stall chromium
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        ws_url = self._devtools_url()
        self.ws = connect(ws_url, max_size=None, open_timeout=30)
        self._id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
            "sessionId"
        ]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", {})

    def _devtools_url(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            match = re.search(r"DevTools listening on (ws://\S+)", self.log.read_text(errors="replace"))
            if match:
                return match.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"chromium did not start its DevTools endpoint; see {self.log}")

    def call(self, method: str, params: dict, session: bool = True, timeout: float = 60) -> dict:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while time.monotonic() < deadline:
            event = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if event.get("method") == method:
                return event
            self.events.append(event)
        raise TimeoutError(method)

    def open(self, url: str, settle_s: float = 0.5) -> Page:
        """Navigate, wait for the load event, and collect errors and requests."""
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        time.sleep(settle_s)  # late console messages
        self.call("Runtime.evaluate", {"expression": "1"})  # drain pending events
        page = Page(url=url, _session=self)
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                page.errors.append(
                    "console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
            elif method == "Runtime.exceptionThrown":
                page.errors.append("exception: " + params["exceptionDetails"].get("text", ""))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                page.errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent":
                page.requests.append(params["request"]["url"])
        return page

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser may go before it answers
            self.call("Browser.close", {}, session=False, timeout=10)
        self.ws.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
