"""The web app's edges: a cap on request bodies (413 with a message a person reads, never a reset connection)
and one access-log line per request."""

from __future__ import annotations

import json
import time
from typing import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN = 512 * 1024 * 1024  # bytes of an over-limit body read and dropped so the client hears the 413


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes, declared or streamed, is answered 413 with ``message``.
    The rest of the body is read and dropped first (up to DRAIN bytes): a server that answers mid-upload and
    closes leaves the browser with a reset connection instead of the message. Bodies within the limit are read
    whole and handed to the app."""

    def __init__(self, app: ASGIApp, limit: int, message: str | None = None) -> None:
        self.app, self.limit = app, limit
        self.message = message or f"the request is over {limit / 2**20:.0f} MB"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await _reply(send, 400, "Content-Length is not a number")
            return
        over = declared is not None and int(declared) > self.limit
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body = message.get("body", b"")
            size, more = size + len(body), message.get("more_body", False)
            over = over or size > self.limit
            if over:
                chunks = []  # read to the end, dropped
                if size >= DRAIN:
                    break
            else:
                chunks.append(body)
        if over:
            await _reply(send, 413, self.message)
            return
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


class AccessLog:
    """ASGI middleware: ``log("METHOD /path STATUS 12 ms")`` once per request (the query string and body never)."""

    def __init__(self, app: ASGIApp, log: Callable[[str], None]) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.log(f"{scope['method']} {scope['path']} {status[0] or 500} {1000 * (time.perf_counter() - started):.0f} ms")


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
