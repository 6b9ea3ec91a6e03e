"""Real local servers for tests, started and stopped by the tests themselves, on 127.0.0.1."""
from __future__ import annotations

import socket
import threading


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CuttingProxy:
    """An HTTP/1.1 proxy in front of a real server that, while `cut` is set, sends only half the
    body of responses to GET requests whose path contains `cut` (after letting the first `after`
    of them through), then drops the connection: a server failing mid-download. Everything else
    passes through unchanged."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = free_port()
        self.cut: str | None = None
        self.after = 0
        self.cuts = 0
        self._matched = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._stop = True
        self._server.close()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read_message(sock, buf: bytes, with_body: bool) -> tuple[bytes, bytes, bytes] | None:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not with_body:
            return head, b"", rest
        if chunked:  # enough for test servers: the body ends with the zero-size chunk
            while not rest.endswith(b"0\r\n\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            return head, rest, b"" 
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return head, rest[:length], rest[length:]

    def _serve(self, client):
        upstream = socket.create_connection(self.upstream)
        pending = b""
        try:
            while True:
                request = self._read_message(client, pending, with_body=True)
                if request is None:
                    return
                head, body, pending = request
                upstream.sendall(head + b"\r\n\r\n" + body)
                method, path = head.split(b" ")[:2]
                response = self._read_message(upstream, b"", with_body=method != b"HEAD")
                if response is None:
                    return
                rhead, rbody, _ = response
                matched = bool(self.cut) and method == b"GET" and self.cut.encode() in path and len(rbody) > 1
                self._matched += matched
                if matched and self._matched > self.after:
                    self.cuts += 1
                    client.sendall(rhead + b"\r\n\r\n" + rbody[: len(rbody) // 2])
                    return  # drop the connection mid-body
                client.sendall(rhead + b"\r\n\r\n" + rbody)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()


class CuttingTcpProxy:
    """A TCP proxy in front of a real server (here BigQuery's Storage Read API, gRPC over one
    HTTP/2 connection) that, once `cut_after` bytes have come back from the server on a
    connection, drops it (once); with `stay_down`, it then drops every new connection at once
    until `down` is cleared: a server failing mid-download and staying away. `cuts` counts the
    connections cut mid-stream."""

    def __init__(self, upstream_port: int, cut_after: int | None = None, stay_down: bool = False):
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = free_port()
        self.cut_after = cut_after
        self.stay_down = stay_down
        self.down = False
        self.cuts = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._server.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            if self.down:
                conn.close()
                continue
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(conn, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, conn, True), daemon=True).start()

    def _pipe(self, src, dst, from_server: bool):
        sent = 0
        try:
            while data := src.recv(65536):
                if from_server and self.cut_after is not None and sent + len(data) > self.cut_after:
                    dst.sendall(data[: self.cut_after - sent])
                    self.cuts += 1
                    self.cut_after, self.down = None, self.stay_down
                    raise OSError("cut")
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


class ServerProcess:
    """A server process this test session starts, waits for, and stops by its own PID."""

    def __init__(self, name: str, argv: list[str], ready, timeout: float):
        import subprocess
        import time
        self.name = name
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                ready()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {self.proc.returncode}")
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{name} was not ready within {timeout:.0f} s")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except Exception:
            self.proc.kill()


class BigQueryEmulator(ServerProcess):
    """PyPI's bqemulator in its own venv (scripts/make-bqemulator-venv.sh), on free ports of 127.0.0.1."""

    def __init__(self, venv, project: str):
        import urllib.request
        self.rest_port, self.grpc_port = free_port(), free_port()
        self.endpoint = f"http://127.0.0.1:{self.rest_port}"
        super().__init__(
            "bqemulator",
            [str(venv / "bin" / "bqemulator"), "start", "--rest-host", "127.0.0.1", "--rest-port", str(self.rest_port),
             "--grpc-host", "127.0.0.1", "--grpc-port", str(self.grpc_port), "--project", project],
            lambda: urllib.request.urlopen(f"{self.endpoint}/bigquery/v2/projects/{project}/datasets", timeout=2),
            timeout=90)


class Azurite(ServerProcess):
    """Azurite's Blob service from the npm registry (scripts/make-azurite.sh), in memory, on a
    free port of 127.0.0.1, always with --disableTelemetry (without it, it calls out)."""
    # Azurite's documented development account and key: public, not a secret.
    ACCOUNT = "devstoreaccount1"
    KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

    def __init__(self, root):
        self.port = free_port()
        exe = root / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
        super().__init__(
            "azurite",
            [str(exe), "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--inMemoryPersistence",
             "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
            lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close(),
            timeout=60)

    def connection_string(self, port: int | None = None) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.ACCOUNT};AccountKey={self.KEY};"
                f"BlobEndpoint=http://127.0.0.1:{port or self.port}/{self.ACCOUNT};")
