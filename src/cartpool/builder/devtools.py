"""A small asynchronous client of Chromium's DevTools protocol, over ``--remote-debugging-pipe``.

The build prints its pages with the system Chromium. Playwright could drive it, but it is 170 MB
installed and `scripts/bench_printers.py` measured it slower for this one job (docs/performance.md).
What the printer needs is five protocol commands, which a pipe carries without a websocket:
Chromium reads JSON commands on its file descriptor 3 and writes replies and events on 4, each
message ended by a NUL byte. Written by hand because no small, kept library offers this (the
protocol's Python clients either wrap Playwright or Selenium, or speak only the websocket).

Several pages print at once (`make -j`): each has its own tab and session, and one reader task
hands every reply to the command that waits for it, and every event to its session's queue.

References
----------
.. [1] Chrome DevTools Protocol: Target, Page domains. https://chromedevtools.github.io/devtools-protocol/
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import json
import os
from collections.abc import Callable

# NUL-terminated messages can be large: a printed PDF arrives base64-encoded in one reply
_MESSAGE_LIMIT = 1 << 30


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


class DevToolsError(RuntimeError):
    """Chromium answered a command with an error, or went away."""


class Chromium:
    """One headless Chromium and its DevTools pipe.

    Use `await Chromium.start(...)`, then `print_pdf` from any number of tasks, then `close`.
    """

    def __init__(self, process: asyncio.subprocess.Process, reader: asyncio.StreamReader,
                 writer: asyncio.WriteTransport):
        self.process = process
        self._reader = reader
        self._writer = writer
        self._next_id = 0
        self._replies: dict[int, asyncio.Future] = {}
        self._events: dict[str, asyncio.Queue] = {}
        self._closed: Exception | None = None
        self._reading = asyncio.ensure_future(self._read_messages())

    @classmethod
    async def start(cls, browser: str, flags: tuple[str, ...], *, env: dict[str, str] | None = None,
                    preexec: Callable[[], None] | None = None) -> Chromium:
        """Start `browser` with `flags` and the DevTools pipe on its descriptors 3 and 4."""
        commands_r, commands_w = os.pipe()  # we write, Chromium reads on its fd 3
        replies_r, replies_w = os.pipe()  # Chromium writes on its fd 4, we read

        def in_child() -> None:
            # move the two ends out of the way first: one of them may already be 3 or 4
            high_in = fcntl.fcntl(commands_r, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(replies_w, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)
            if preexec is not None:
                preexec()

        # subprocess's own error pipe must not land on 3 or 4, where the child puts ours
        placeholders = [os.dup2(commands_r, fd, inheritable=False) for fd in (3, 4) if not _is_open(fd)]
        try:
            process = await asyncio.create_subprocess_exec(
                browser, *flags, "--remote-debugging-pipe", "about:blank",
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, env=env, preexec_fn=in_child, pass_fds=(3, 4))
        finally:
            for fd in (commands_r, replies_w, *placeholders):
                os.close(fd)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_MESSAGE_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(replies_r, "rb", 0))
        writer, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(commands_w, "wb", 0))
        return cls(process, reader, writer)

    @property
    def closed(self) -> bool:
        """True once Chromium has gone (or the client was closed): no command can be sent."""
        return self._closed is not None

    async def _read_messages(self) -> None:
        try:
            while True:
                message = json.loads((await self._reader.readuntil(b"\0"))[:-1])
                if "id" in message:
                    future = self._replies.pop(message["id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif message.get("sessionId") in self._events:
                    self._events[message["sessionId"]].put_nowait(message)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as e:
            self._closed = DevToolsError(f"Chromium closed its DevTools pipe ({type(e).__name__})")
        except asyncio.CancelledError:
            self._closed = DevToolsError("the DevTools client was closed")
            raise
        finally:
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(self._closed or DevToolsError("Chromium went away"))
            self._replies.clear()

    async def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result; a protocol error raises `DevToolsError`."""
        if self._closed is not None:
            raise self._closed
        self._next_id += 1
        message: dict = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._replies[self._next_id] = future
        self._writer.write(json.dumps(message).encode() + b"\0")
        reply = await future
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result", {})

    async def print_pdf(self, url: str, options: dict) -> bytes:
        """Open `url` in a new tab, wait for its load event, print it with `Page.printToPDF`'s
        `options`, close the tab, and return the PDF."""
        target = (await self.call("Target.createTarget", {"url": "about:blank"}))["targetId"]
        try:
            session = (await self.call("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
            events = self._events[session] = asyncio.Queue()
            try:
                await self.call("Page.enable", session=session)
                await self.call("Page.setLifecycleEventsEnabled", {"enabled": True}, session)
                navigation = await self.call("Page.navigate", {"url": url}, session)
                if navigation.get("errorText"):
                    raise DevToolsError(f"could not open {url}: {navigation['errorText']}")
                # the load event of this navigation, not of the blank tab before it
                while True:
                    event = await events.get()
                    params = event.get("params", {})
                    if (event.get("method") == "Page.lifecycleEvent" and params.get("name") == "load"
                            and params.get("loaderId") == navigation.get("loaderId")):
                        break
                printed = await self.call("Page.printToPDF", options, session)
            finally:
                self._events.pop(session, None)
        finally:
            with contextlib.suppress(DevToolsError):
                await self.call("Target.closeTarget", {"targetId": target})
        return base64.b64decode(printed["data"])

    async def close(self, timeout: float = 5) -> None:
        """Ask Chromium to close (it then removes its own temporary folders); kill it if it does not."""
        if self._closed is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.call("Browser.close"), timeout)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), timeout)
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        self._reading.cancel()
        with contextlib.suppress(BaseException):
            await self._reading
        self._writer.close()
