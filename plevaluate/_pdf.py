"""Print HTML reports to PDF with one long-lived headless Chromium per worker.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: commands on
file descriptor 3, replies on 4, JSON messages ended by a NUL byte), so no websocket library and no
network port are needed. Starting Chromium costs about a second; printing a report in an already
running browser costs a fraction of that: one long-lived browser per worker.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ._outputs import die_with_parent

__all__ = ["BrowserExited", "Printer"]


class BrowserExited(RuntimeError):
    """The browser process is gone (it crashed, or was killed): the page may well print in a new one."""


_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-extensions",
    "--remote-debugging-pipe",
]


_OPEN_DETAILS = "document.querySelectorAll('details').forEach(d => { d.open = true; })"
# the page's size and every chart image's box as shown, and its PNG's own size
_MEASURE = """({
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  charts: Array.from(document.querySelectorAll('img.pl-chart-image')).map(i => {
    const box = i.getBoundingClientRect();
    return {alt: i.alt, shown_width: box.width, shown_height: box.height,
            width: i.naturalWidth, height: i.naturalHeight, left: box.left, right: box.right};
  })
})"""


class Printer:
    """A running headless Chromium that prints pages to PDF; close it with `close` (or use ``with``)."""

    def __init__(self, browser: str, timeout: float = 60.0):
        self.browser, self.timeout = browser, timeout
        self._profile = tempfile.mkdtemp(prefix=f"plevaluate-chromium-{os.getpid()}-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire() -> None:  # in the child: the protocol's fixed descriptors 3 (commands) and 4 (replies)
            die_with_parent()  # a stopped run leaves no browser behind
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4 first
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)  # os.dup2 makes the copies inheritable
            os.dup2(high_w, 4)

        self._process = subprocess.Popen(
            [browser, *_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            close_fds=False,  # our pipes are not inheritable (PEP 446); 3 and 4 are set in wire()
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(
        self, method: str, params: dict | None = None, session: str | None = None, timeout: float | None = None
    ) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserExited("Chromium exited") from None
        return self._wait(lambda m: m.get("id") == self._next_id, timeout)

    def _for(self, page: Path) -> float:
        """Seconds to allow for loading or printing ``page``: the base timeout, and a minute more per MB of page (a
        district report of 2,000 schools is many MB, and took longer than a minute to print on a busy machine)."""
        try:
            size_mb = Path(page).stat().st_size / 1e6
        except OSError:
            size_mb = 0.0
        return self.timeout + 60.0 * size_mb

    def _wait(self, match, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if match(message):
                    if "error" in message:
                        raise RuntimeError(f"Chromium: {message['error'].get('message')}")
                    return message
            left = deadline - time.monotonic()
            # wait for a reply only until the deadline: a browser that hangs without exiting must not hang the run
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserExited("Chromium exited")
            self._buffer += chunk

    def print_pdf(self, page: Path, pdf: Path) -> None:
        """Load ``page`` (a local HTML file), wait for it to finish loading, write its PDF to ``pdf``."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        allowed = self._for(page)
        try:
            self._send("Page.enable", session=session)
            self._send("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=session, timeout=allowed)
            self._wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session, allowed)
            # on paper nothing can be clicked open: every chart's table of numbers is printed open
            self._send("Runtime.evaluate", {"expression": _OPEN_DETAILS}, session=session, timeout=allowed)
            result = self._send(
                "Page.printToPDF",
                {
                    "generateTaggedPDF": True,  # a structure tree, for screen readers (WCAG 2.1 AA)
                    "printBackground": True,
                    "displayHeaderFooter": False,
                    "preferCSSPageSize": False,
                    "paperWidth": 8.5,
                    "paperHeight": 11,
                },
                session=session,
                timeout=allowed,
            )
            Path(pdf).write_bytes(base64.b64decode(result["result"]["data"]))
        finally:
            self._send("Target.closeTarget", {"targetId": target})

    def screenshot(self, page: Path, png: Path, width: int = 1200, longest: int = 16000) -> dict:
        """Load ``page`` in a window ``width`` CSS pixels wide and write a picture of the whole page (its first
        ``longest`` pixels) to ``png``; returns the page's size and each chart image's displayed and natural
        size, for checking that a report reads at that width (issue #19)."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        try:
            metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}
            self._send("Emulation.setDeviceMetricsOverride", metrics, session=session)
            self._send("Page.enable", session=session)
            self._send("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=session)
            self._wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session)
            measured = self._send("Runtime.evaluate", {"expression": _MEASURE, "returnByValue": True}, session=session)[
                "result"
            ]["result"]["value"]
            height = min(int(measured["height"]), longest)
            clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
            shot = self._send(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True, "clip": clip},
                session=session,
            )
            Path(png).write_bytes(base64.b64decode(shot["result"]["data"]))
            return measured
        finally:
            self._send("Target.closeTarget", {"targetId": target})

    def close(self) -> None:
        try:
            self._send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self._process.wait(timeout=min(10.0, self.timeout))
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()  # reaped: no zombie left behind
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)
