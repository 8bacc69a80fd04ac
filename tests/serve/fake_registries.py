"""Loopback stand-ins for the Ollama registry and Hugging Face, speaking their wire formats.

The registry answers ``GET /v2/<ns>/<repo>/manifests/<tag>`` with an OCI/Docker v2 manifest
whose layers carry Ollama's media types (``application/vnd.ollama.image.model`` …), 404s in
the distribution error format, and ``GET /v2/<ns>/<repo>/blobs/<digest>`` with a 307 redirect to
a blob host that honours ``Range`` (206 + ``Content-Range``), like registry.ollama.ai and its CDN.
Hugging Face answers ``/api/models/<user>/<repo>/tree/main`` with its file listing (LFS
``oid`` = SHA-256) and ``/<user>/<repo>/resolve/main/<file>`` with a 302 to its LFS host.
``cut_after`` drops the connection after that many bytes of the next blob response (a cut);
``corrupt`` serves wrong bytes for a digest; ``ranges`` records the ``Range`` headers seen.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Blob:
    data: bytes | None = None
    path: Path | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.path.stat().st_size  # type: ignore[union-attr]

    def read(self, start: int, end: int) -> bytes:
        if self.data is not None:
            return self.data[start:end]
        with self.path.open("rb") as fh:  # type: ignore[union-attr]
            fh.seek(start)
            return fh.read(end - start)


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return "sha256:" + sha.hexdigest()


@dataclass
class FakeHub:
    """Both fakes in one server; ``url`` is its base URL."""

    manifests: dict[tuple[str, str, str], bytes] = field(default_factory=dict)
    blobs: dict[str, Blob] = field(default_factory=dict)
    hf_repos: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    hf_files: dict[tuple[str, str, str], str] = field(default_factory=dict)  # -> digest
    cut_after: int | None = None
    corrupt: set[str] = field(default_factory=set)
    ranges: list[str | None] = field(default_factory=list)
    manifest_hits: int = 0
    url: str = ""

    # -- content -------------------------------------------------------------------------------
    def add_blob(self, data: bytes | None = None, path: Path | None = None) -> dict[str, Any]:
        blob = Blob(data, path)
        digest = digest_of(data) if data is not None else file_digest(path)  # type: ignore[arg-type]
        self.blobs[digest] = blob
        return {"digest": digest, "size": blob.size}

    def add_model(
        self,
        repo: str,
        tag: str,
        model: dict[str, Any],
        extra: dict[str, bytes] | None = None,
        namespace: str = "library",
    ) -> bytes:
        """Publish ``namespace/repo:tag``; ``extra`` maps a media-type suffix to its bytes."""
        config = self.add_blob(json.dumps({"model_format": "gguf"}).encode())
        layers = [{"mediaType": "application/vnd.ollama.image.model", **model}]
        for kind, data in (extra or {}).items():
            layers.append(
                {"mediaType": f"application/vnd.ollama.image.{kind}", **self.add_blob(data)}
            )
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **config},
            "layers": layers,
        }
        body = json.dumps(manifest).encode()
        self.manifests[(namespace, repo, tag)] = body
        return body

    def add_hf_repo(self, user: str, repo: str, files: dict[str, dict[str, Any]]) -> None:
        listing: list[dict[str, Any]] = [
            {"type": "file", "oid": "0" * 40, "size": 12, "path": "README.md"},
            {"type": "directory", "oid": "1" * 40, "size": 0, "path": "docs"},
        ]
        for name, blob in files.items():
            sha = blob["digest"][7:]
            listing.append(
                {
                    "type": "file",
                    "oid": "2" * 40,
                    "size": blob["size"],
                    "lfs": {"oid": sha, "size": blob["size"], "pointerSize": 135},
                    "path": name,
                }
            )
            self.hf_files[(user, repo, name)] = blob["digest"]
        self.hf_repos[(user, repo)] = listing


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, data: Any, ctype: str = "application/json") -> None:
            body = json.dumps(data).encode() if not isinstance(data, bytes) else data
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if status == 200 and ctype == MANIFEST_TYPE:
                self.send_header("Docker-Content-Digest", digest_of(body))
            self.end_headers()
            self.wfile.write(body)

        def _redirect(self, status: int, location: str) -> None:
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _blob(self, digest: str) -> None:
            blob = hub.blobs.get(digest)
            if blob is None:
                self._json(404, {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]})
                return
            size = blob.size
            header = self.headers.get("Range")
            hub.ranges.append(header)
            start = 0
            if header:
                match = re.fullmatch(r"bytes=(\d+)-", header)
                start = int(match.group(1)) if match else 0
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            self.send_response(206 if header else 200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(size - start))
            if header:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            cut, hub.cut_after = hub.cut_after, None
            pos = start
            while pos < size:
                end = min(pos + (1 << 20), size)
                chunk = blob.read(pos, end)
                if digest in hub.corrupt:
                    chunk = bytes(b ^ 0xFF for b in chunk)
                if cut is not None and pos - start + len(chunk) > cut:
                    self.wfile.write(chunk[: cut - (pos - start)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                pos = end

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if m := re.fullmatch(r"/v2/([^/]+)/([^/]+)/manifests/([^/]+)", path):
                hub.manifest_hits += 1
                body = hub.manifests.get((m.group(1), m.group(2), m.group(3)))
                if body is None:
                    err = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
                    self._json(404, err)
                else:
                    self._json(200, body, MANIFEST_TYPE)
            elif m := re.fullmatch(r"/v2/([^/]+)/([^/]+)/blobs/(sha256:[0-9a-f]{64})", path):
                self._redirect(307, f"/cdn/{m.group(3)}")
            elif m := re.fullmatch(r"/cdn/(sha256:[0-9a-f]{64})", path):
                self._blob(m.group(1))
            elif m := re.fullmatch(r"/api/models/([^/]+)/([^/]+)/tree/main", path):
                listing = hub.hf_repos.get((m.group(1), m.group(2)))
                if listing is None:
                    self._json(404, {"error": "Repository not found"})
                else:
                    self._json(200, listing)
            elif m := re.fullmatch(r"/([^/]+)/([^/]+)/resolve/main/(.+)", path):
                digest = hub.hf_files.get((m.group(1), m.group(2), m.group(3)))
                if digest is None:
                    self._json(404, {"error": "Entry not found"})
                else:
                    self._redirect(302, f"/cdn/{digest}")
            else:
                self._json(404, {"error": "not found"})

    return Handler


class HubServer:
    """Runs a :class:`FakeHub` on 127.0.0.1 in a thread."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
        self.httpd.daemon_threads = True
        hub.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self.hub

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ForwardProxy:
    """A plain HTTP forward proxy on 127.0.0.1 (absolute-URI requests), recording each URL."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                import http.client
                import urllib.parse

                seen.append(self.path)
                url = urllib.parse.urlsplit(self.path)
                conn = http.client.HTTPConnection(url.hostname or "", url.port or 80, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
                conn.request(
                    "GET", url.path + (f"?{url.query}" if url.query else ""), headers=headers
                )
                resp = conn.getresponse()
                body = resp.read()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                conn.close()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ForwardProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
