"""Headless Chromium (Debian's package) driven over the DevTools protocol, for the page tests
and scripts/screenshot.py.

Chromium is started with the flags that keep it off the network (no background networking,
component updates, sync or QUIC: on a closed network they only fail, loudly) in a fresh
profile, with `--remote-debugging-port=0`; the port it picked is read from the profile's
`DevToolsActivePort`. One page target is driven through aiohttp's websocket client. Console
errors, uncaught exceptions, error log entries (a failed request, a CSP violation) and
JavaScript dialogs are collected as `problems`, so a test can assert there are none.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
         "--mute-audio", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0")
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """The Chromium binary on PATH (Debian's `chromium` first), or None."""
    return next((p for name in CANDIDATES if (p := shutil.which(name))), None)


def install_chromium() -> str:
    """Chromium's path, installing Debian's package first if it is missing (as
    scripts/install-tools.sh does). Raises RuntimeError saying why it cannot be had."""
    found = find_chromium()
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise RuntimeError("Chromium is not installed and there is no apt-get to install it "
                           "(Debian's package `chromium`)")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
    for steps in ([install], [[*sudo, "apt-get", "update", "-qq"], install]):
        runs = [subprocess.run(s, capture_output=True, text=True, env=env, timeout=600,
                               check=False) for s in steps]
        if runs[-1].returncode == 0 and (found := find_chromium()):
            return found
    reason = (runs[-1].stderr or runs[-1].stdout).strip().splitlines()[-1:] or ["no output"]
    raise RuntimeError(f"Chromium cannot be installed here (apt-get install chromium: "
                       f"{reason[0]})")


class Page:
    """One page target: commands, the events they cause, and the problems seen."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.problems: list[str] = []
        self._dialogs: set[asyncio.Task[dict[str, Any]]] = set()
        self._reader = asyncio.create_task(self._read(), name="cdp-reader")

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its result."""
        key = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        await self._ws.send_str(json.dumps({"id": key, "method": method, "params": params}))
        return await asyncio.wait_for(future, 30)

    def events(self, method: str) -> asyncio.Queue[dict[str, Any]]:
        return self._events.setdefault(method, asyncio.Queue())

    async def start(self) -> None:
        for domain in ("Page", "Runtime", "Log"):
            await self.send(f"{domain}.enable")

    async def navigate(self, url: str) -> None:
        """Open `url` and wait for its load event."""
        loaded = self.events("Page.loadEventFired")
        while not loaded.empty():
            loaded.get_nowait()
        result = await self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise RuntimeError(f"{url}: {result['errorText']}")
        await asyncio.wait_for(loaded.get(), 30)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited, returned by value)."""
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 15.0) -> Any:
        """Poll `expression` until it is truthy (at most `seconds`); its value."""
        async with asyncio.timeout(seconds):
            while not (value := await self.evaluate(expression)):
                await asyncio.sleep(0.1)
        return value

    async def screenshot(self, path: Path, width: int = 1280) -> Path:
        """A PNG of the whole page at `width` CSS pixels."""
        height = await self.evaluate("Math.ceil(document.documentElement.scrollHeight)")
        await self.send("Emulation.setDeviceMetricsOverride", width=width,
                        height=min(int(height), 6000), deviceScaleFactor=1, mobile=False)
        shot = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))
        return path

    async def close(self) -> None:
        await asyncio.gather(*self._dialogs, return_exceptions=True)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(RuntimeError(str(data["error"])))
                    else:
                        future.set_result(data.get("result", {}))
                continue
            self._note(data.get("method", ""), data.get("params", {}))
            self.events(data.get("method", "")).put_nowait(data.get("params", {}))

    def _note(self, method: str, params: dict[str, Any]) -> None:
        """Record what a clean page never causes."""
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.problems.append(f"console.{params['type']}: {args}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.problems.append(f"uncaught: {text}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            self.problems.append(f"log ({entry.get('source')}): {entry.get('text')} "
                                 f"{entry.get('url', '')}".strip())
        elif method == "Page.javascriptDialogOpening":
            self.problems.append(f"dialog {params.get('type')}: {params.get('message')}")
            dismiss = asyncio.get_running_loop().create_task(
                self.send("Page.handleJavaScriptDialog", accept=False), name="cdp-dialog")
            self._dialogs.add(dismiss)


@contextlib.asynccontextmanager
async def chromium(binary: str) -> AsyncIterator[Page]:
    """A headless Chromium in a fresh profile and its one page, closed on exit."""
    profile = Path(tempfile.mkdtemp(prefix="backupd-chromium-"))
    log = (profile / "chromium.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        binary, *FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1000", "about:blank",
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    session = aiohttp.ClientSession()
    page: Page | None = None
    try:
        port = await _devtools_port(profile, proc)
        async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        target = next(t for t in targets if t.get("type") == "page")
        ws = await session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        await page.start()
        yield page
    finally:
        if page is not None:
            await page.close()
        await session.close()
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


async def _devtools_port(profile: Path, proc: asyncio.subprocess.Process) -> int:
    """The port Chromium wrote to DevToolsActivePort once it listens."""
    marker = profile / "DevToolsActivePort"
    async with asyncio.timeout(30):
        while True:
            if proc.returncode is not None:
                output = (profile / "chromium.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Chromium exited {proc.returncode}:\n{output}")
            lines = marker.read_text().splitlines() if marker.exists() else []
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
            await asyncio.sleep(0.05)
