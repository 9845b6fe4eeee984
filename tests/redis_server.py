"""A real ``redis-server`` for the tests, on a free loopback port, with no persistence.

Tests that exercise shared state (cache, rate budget, breaker across replicas) use a real
Redis (Debian's ``redis-server``; ``.ci/run`` installs it), never a fake. Each server lives
in a temporary directory, listens on 127.0.0.1 only, saves nothing, and can be stopped and
started again on the same port to test outages.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_test_ca(folder: Path) -> Path:
    """A throwaway CA (``ca.pem``) and a server certificate for 127.0.0.1 it signed, made with ``openssl``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is not installed (it comes with Debian's base system)")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=folder, check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=jiraplug test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "san.cnf")
    return folder / "ca.pem"


def _userinfo(password: str | None) -> str:
    return f":{password}@" if password else ""


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1; ``url`` is what jiraplug's settings take."""

    def __init__(self, port: int | None = None, password: str | None = None, extra_args: list[str] | None = None,
                 tls: bool = False) -> None:
        self.port = port or _free_port()
        self.password = password
        self.extra_args = extra_args or []
        self._dir = Path(tempfile.mkdtemp(prefix="jiraplug-redis-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.ca = make_test_ca(self._dir) if tls else None  # TLS only: no plain port at all

    @property
    def url(self) -> str:
        if self.ca is not None:
            return f"rediss://{_userinfo(self.password)}127.0.0.1:{self.port}/0?ssl_ca_certs={self.ca}"
        return f"redis://{_userinfo(self.password)}127.0.0.1:{self.port}/0"

    def _listen_args(self) -> list[str]:
        if self.ca is None:
            return ["--port", str(self.port)]
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self._dir / "server.pem"),
                "--tls-key-file", str(self._dir / "server.key"), "--tls-ca-cert-file", str(self.ca),
                "--tls-auth-clients", "no"]

    def start(self, timeout: float = 10.0) -> RedisServer:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server; .ci/run does it)")
        args = [REDIS_SERVER, "--bind", "127.0.0.1", *self._listen_args(), "--save", "", "--appendonly", "no",
                "--dir", str(self._dir), "--protected-mode", "yes", "--loglevel", "warning"]
        if self.password:
            args += ["--requirepass", self.password]
        args += self.extra_args
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self._process.stderr.read().decode(errors='replace')}")
            if self.ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{self.port} within {timeout} s")

    def ping(self) -> bool:
        """Whether the server answers PING (a raw RESP exchange; no client library needed)."""
        return self.command("PING").startswith(b"+PONG")

    def command(self, line: str) -> bytes:
        """One inline command's raw answer (empty if the server does not answer)."""
        try:
            with self._connect() as sock:
                if self.password:
                    sock.sendall(f"AUTH {self.password}\r\n".encode())
                    sock.recv(64)
                sock.sendall(f"{line}\r\n".encode())
                return sock.recv(4096)
        except OSError:
            return b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
        if self.ca is None:
            return sock
        return ssl.create_default_context(cafile=str(self.ca)).wrap_socket(sock, server_hostname="127.0.0.1")

    def stop(self) -> None:
        """Kill the server (an outage: no shutdown save, clients see dropped connections)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> RedisServer:
        """Start again on the same port, empty (nothing was persisted)."""
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Processes:
    """A group of Redis processes: ``with`` starts them, and stops them (also when starting fails)."""

    def start(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()


class RedisCluster(_Processes):
    """A Redis Cluster of ``size`` primaries (no replicas) on 127.0.0.1, made by ``redis-cli --cluster create``."""

    def __init__(self, size: int = 3) -> None:
        # Each node's cluster bus gets a free port of its own (by default port + 10000, maybe taken or > 65535).
        self.nodes = [RedisServer(extra_args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                              "--cluster-node-timeout", "2000", "--cluster-port", str(_free_port())])
                      for _ in range(size)]

    @property
    def url(self) -> str:
        """A URL of one node: what jiraplug's settings take (the client finds the others)."""
        return self.nodes[0].url

    def start(self, timeout: float = 30.0) -> RedisCluster:
        cli = shutil.which("redis-cli")
        if cli is None:
            raise RuntimeError("redis-cli is not installed (it comes with Debian's redis-server)")
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run([cli, "--cluster", "create", *addresses, "--cluster-yes"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # every node must see every slot served
            if all(b"cluster_state:ok" in node.command("CLUSTER INFO") for node in self.nodes):
                return self
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f"the Redis Cluster on {addresses} did not reach cluster_state:ok within {timeout} s")

    def close(self) -> None:
        for node in self.nodes:
            node.close()


class RedisSentinelSet(_Processes):
    """A primary, one replica and one sentinel watching them as ``mymaster`` (quorum 1), on 127.0.0.1.

    The sentinel calls the primary down after 500 ms without an answer and promotes the replica:
    kill the primary (:attr:`primary`) to make it fail over.
    """

    SERVICE = "mymaster"

    def __init__(self, password: str | None = None, sentinel_password: str | None = None) -> None:
        auth = ["--masterauth", password] if password else []  # either may become the other's replica
        self.password = password
        self.sentinel_password = sentinel_password
        self.primary = RedisServer(password=password, extra_args=auth)
        self.replica = RedisServer(password=password,
                                   extra_args=["--replicaof", "127.0.0.1", str(self.primary.port), *auth])
        self.sentinel_port = _free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="jiraplug-sentinel-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """What jiraplug's settings take: the sentinel, the service and the database."""
        return f"redis+sentinel://{_userinfo(self.password)}127.0.0.1:{self.sentinel_port}/{self.SERVICE}/0"

    def start(self, timeout: float = 20.0) -> RedisSentinelSet:
        self.primary.start()
        self.replica.start()
        config = self._dir / "sentinel.conf"  # the sentinel rewrites it: a file of its own
        config.write_text("\n".join([
            "bind 127.0.0.1", f"port {self.sentinel_port}", f"dir {self._dir}",
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary.port} 1",
            f"sentinel down-after-milliseconds {self.SERVICE} 500",
            f"sentinel failover-timeout {self.SERVICE} 2000",
            *([f"sentinel auth-pass {self.SERVICE} {self.password}"] if self.password else []),
            *([f"requirepass {self.sentinel_password}"] if self.sentinel_password else []), "",
        ]))
        assert REDIS_SERVER is not None
        self._process = subprocess.Popen([REDIS_SERVER, str(config), "--sentinel"], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
        sentinel = self._sentinel()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # the replica in sync and known to the sentinel
            if (b"master_link_status:up" in self.replica.command("INFO replication")
                    and b"slaves=1" in sentinel.command("INFO sentinel")):
                return self
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f"the sentinel on 127.0.0.1:{self.sentinel_port} did not see the replica in sync")

    def current_primary_port(self) -> int:
        """The port of the primary the sentinel names now."""
        answer = self._sentinel().command(f"SENTINEL get-master-addr-by-name {self.SERVICE}")
        return int(answer.split(b"\r\n")[-2])

    def _sentinel(self) -> RedisServer:
        """The sentinel, for :meth:`RedisServer.command` only."""
        return RedisServer(port=self.sentinel_port, password=self.sentinel_password)

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None
        self.primary.close()
        self.replica.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def skip_without_redis() -> None:
    """Skip on a machine without redis-server, except under CI, which must have it."""
    if REDIS_SERVER is None and not __import__("os").environ.get("CI"):
        pytest.skip("redis-server is not installed; .ci/run installs it (apt-get install -y redis-server)")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh Redis for one test (it may kill and restart it)."""
    skip_without_redis()
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_cluster() -> Iterator[RedisCluster]:
    """A fresh three-node Redis Cluster for one test."""
    skip_without_redis()
    with RedisCluster() as cluster:
        yield cluster


@pytest.fixture
def redis_sentinel() -> Iterator[RedisSentinelSet]:
    """A fresh primary, replica and sentinel for one test."""
    skip_without_redis()
    with RedisSentinelSet() as found:
        yield found
