#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An HTTP proxy on 127.0.0.1 that passes S3 requests to a server and, for
a fraction of them, misbehaves: answers 503 SlowDown, resets the
connection, stalls the response, cuts the response short, or trickles its
body out at two bytes a second.

A stalled response is the server's answer held back after the server
has acted on the request, as a slow server would: holding the request
instead would replay it seconds later, after the client's retry and
whatever the client did next.

  faultproxy.py UPSTREAM_PORT PORT_FILE SEED SLOWDOWN RESET STALL TRUNCATE
               [TRICKLE [FAIL_RANGE]]

The rates are fractions of requests (0.1 = 10%).  With FAIL_RANGE (say
bytes=0-8388607), the first GET asking for exactly that range is answered
500 InternalError, and every ranged GET goes to stderr as "range R: 500"
or "range R: pass".  The port it listens on is written to PORT_FILE.
Counts of each fault go to stderr at exit."""

import asyncio
import random
import signal
import socket
import struct
import sys

UP_PORT = int(sys.argv[1])
PORT_FILE = sys.argv[2]
RNG = random.Random(int(sys.argv[3]))
RATES = {"slowdown": float(sys.argv[4]), "reset": float(sys.argv[5]),
         "stall": float(sys.argv[6]), "truncate": float(sys.argv[7]),
         "trickle": float(sys.argv[8]) if len(sys.argv) > 8 else 0.0}
FAIL_RANGE = sys.argv[9] if len(sys.argv) > 9 else None
STALL_SECONDS = 4
counts = {k: 0 for k in list(RATES) + ["fail", "pass"]}

SLOWDOWN = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown"
            b"</Code><Message>Please reduce your request rate.</Message></Error>")
INTERNAL = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
            b"InternalError</Code><Message>We encountered an internal error."
            b"</Message></Error>")


def choose():
    x = RNG.random()
    for name, rate in RATES.items():
        if x < rate:
            return name
        x -= rate
    return "pass"


def header(head, want):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == want:
            return value.strip()
    return None


def content_length(head):
    return int(header(head, b"content-length") or 0)


def range_fault(head):
    """With FAIL_RANGE: fail its first GET, log every ranged one."""
    global FAIL_RANGE
    rng = header(head, b"range")
    if FAIL_RANGE is None or rng is None or not head.startswith(b"GET "):
        return False
    fail = rng.decode() == FAIL_RANGE
    if fail:
        FAIL_RANGE = ""     # once
    print(f"range {rng.decode()}: {'500' if fail else 'pass'}",
          file=sys.stderr, flush=True)
    return fail


def reset(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    writer.close()


async def forward(head, body):
    """One request upstream on its own connection; the whole response."""
    r, w = await asyncio.open_connection("127.0.0.1", UP_PORT)
    lines = [l for l in head.split(b"\r\n")
             if not l.lower().startswith(b"connection:")]
    w.write(b"\r\n".join(lines[:-2]) + b"\r\nConnection: close\r\n\r\n" + body)
    await w.drain()
    data = await r.read()
    w.close()
    return data


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            body = await reader.readexactly(content_length(head))
            fault = "fail" if range_fault(head) else choose()
            counts[fault] += 1
            if fault == "fail":
                writer.write(b"HTTP/1.1 500 Internal Server Error\r\n"
                             b"Content-Type: application/xml\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(INTERNAL)
                             + INTERNAL)
                await writer.drain()
                continue
            if fault == "reset":
                reset(writer)
                return
            if fault == "slowdown":
                writer.write(b"HTTP/1.1 503 Slow Down\r\nContent-Type: "
                             b"application/xml\r\nContent-Length: %d\r\n\r\n"
                             % len(SLOWDOWN) + SLOWDOWN)
                await writer.drain()
                continue
            data = await forward(head, body)
            if fault == "stall":
                await asyncio.sleep(STALL_SECONDS)
            if fault == "trickle":
                # The head at once, the body above curl's old floor of
                # 1 byte/s: only a total deadline ends it.
                end = data.find(b"\r\n\r\n") + 4
                writer.write(data[:end])
                for i in range(end, len(data)):
                    writer.write(data[i:i + 1])
                    await writer.drain()
                    await asyncio.sleep(0.5)
                writer.close()
                return
            if fault == "truncate":
                end = data.find(b"\r\n\r\n") + 4
                writer.write(data[:end + max(0, (len(data) - end) // 2)])
                await writer.drain()
                reset(writer)
                return
            writer.write(data)
            await writer.drain()
            if b"\r\nConnection: close" in data.split(b"\r\n\r\n")[0]:
                writer.close()
                return
    except (asyncio.IncompleteReadError, asyncio.CancelledError,
            ConnectionError, OSError):
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(PORT_FILE, "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    print("faultproxy:", " ".join(f"{k}={v}" for k, v in counts.items()),
          file=sys.stderr)


asyncio.run(main())
