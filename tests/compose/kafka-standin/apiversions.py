"""Healthcheck of the Kafka stand-in: a real ApiVersions request (v0), healthy when the broker answers
error_code 0 with the Metadata API in its list. Standard library only: the image has no Kafka client."""

import socket
import struct
import sys

host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "localhost:9092").partition(":")
client = b"healthcheck"
# header: api_key 18 (ApiVersions), api_version 0, correlation id 1, client id (int16 length + bytes)
request = struct.pack(">hhih", 18, 0, 1, len(client)) + client
with socket.create_connection((host, int(port or 9092)), timeout=5) as sock:
    sock.sendall(struct.pack(">i", len(request)) + request)
    size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
    body = sock.recv(size, socket.MSG_WAITALL)
correlation, error, count = struct.unpack(">ihi", body[:10])
apis = {struct.unpack(">h", body[10 + 6 * i:12 + 6 * i])[0] for i in range(count)}
sys.exit(0 if correlation == 1 and error == 0 and 3 in apis else 1)
