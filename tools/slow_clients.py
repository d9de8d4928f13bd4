#!/usr/bin/env python3
"""A slow-client attack on a server, for the load test: N connections that send a request's
headers one byte every few seconds and never finish them (slowloris), reopened whenever the
server closes them, for DURATION seconds. Prints how many connections the server closed.

    python3 tools/slow_clients.py PORT [N=200] [DURATION=10]
"""
import socket
import sys
import time

port = int(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
duration = float(sys.argv[3]) if len(sys.argv) > 3 else 10
HEAD = b"POST /v1/models/fashion:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def connect():
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return [s, 0]


conns = [connect() for _ in range(count)]
closed = 0
end = time.time() + duration
while time.time() < end:
    for c in conns:
        s, sent = c
        try:
            # One byte more of headers that never end.
            s.send(HEAD[sent % len(HEAD):sent % len(HEAD) + 1] if sent < len(HEAD) else b"X")
            c[1] += 1
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                raise ConnectionError
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            closed += 1
            s.close()
            c[:] = connect()
    time.sleep(1.0)
print(f"slow clients: {count} held open, {closed} closed by the server")
