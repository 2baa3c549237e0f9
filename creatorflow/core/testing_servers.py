# ruff: noqa: S603 - test support: every command line here is built from our own constants
"""Servers a test or a chaos scenario starts for itself, so it can stop, freeze or empty them.

Fault tests never touch the shared PostgreSQL (5432) or Redis (6379): they start their own on a
free port, break those, and remove them afterwards.

- `OwnRedis`: a redis-server keeping nothing on disk; `freeze()` (SIGSTOP: connections stay open
  and nothing answers, the nastiest broker fault), `thaw()`, `client()`.
- `OwnPostgres`: a throwaway cluster (initdb in a temporary folder, fsync off); `stop()` and
  `start()` it to take the database away and bring it back.
- `AppProcess` / `app_env()`: our own processes (gunicorn, Celery workers, the relay) started as
  production runs them, with the settings a test chooses.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, message: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {message}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class OwnRedis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cf-redis-")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"redis://127.0.0.1:{self.port}/0"
        wait_until(self._answers, timeout=10, message="our own redis-server to start")

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2)

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    raise RuntimeError(f"PostgreSQL's {name} is not installed")


class OwnPostgres:
    """A throwaway PostgreSQL cluster. PostgreSQL refuses to run as root, so as root it runs as
    the `postgres` system user (present wherever the PostgreSQL packages are)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cf-pg-")
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.dir, user="postgres")
        self.data = os.path.join(self.dir, "data")
        subprocess.run(
            [*self._as, _pg_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        )
        subprocess.run(
            [*self._as, _pg_bin("pg_ctl"), "-D", self.data, "-o", options, "-l", os.path.join(self.dir, "log"),
             "-w", "start"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            [*self._as, _pg_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def app_env(**overrides: str) -> dict[str, str]:
    """The environment of our processes under production settings (DEBUG off), plus `overrides`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "creatorflow.settings",
        "DEBUG": "false",
        "SECRET_KEY": "chaos-and-fault-tests-only-0123456789-abcdefghijklmnopqrstuvwxyz",
        "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZpZWxkLWtleS0wMTIzNDU2Nzg5YWI=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SENTRY_DSN": "",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


class AppProcess:
    """One of our processes, its output kept in a file for the test to read."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]):
        self.name = name
        self.log_path = os.path.join(tempfile.mkdtemp(prefix=f"cf-{name}-"), "out.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @classmethod
    def gunicorn(cls, env: dict[str, str], *, port: int, workers: int = 2, threads: int = 4) -> AppProcess:
        app = cls("web", [sys.executable, "-m", "gunicorn", "creatorflow.wsgi", "-b", f"127.0.0.1:{port}",
                          "-w", str(workers), "-k", "gthread", "--threads", str(threads), "--log-level",
                          "warning"], env)  # fmt: skip
        wait_until(lambda: app.alive() and port_open(port), timeout=60, message="gunicorn to listen")
        return app

    @classmethod
    def worker(cls, env: dict[str, str], *, queues: str, name: str, concurrency: int = 1) -> AppProcess:
        return cls(name, [sys.executable, "-m", "celery", "-A", "creatorflow", "worker", "-Q", queues,
                          "-n", f"{name}@%h", "--concurrency", str(concurrency), "--loglevel", "INFO",
                          "--without-gossip", "--without-mingle", "--without-heartbeat"], env)  # fmt: skip

    @classmethod
    def relay(cls, env: dict[str, str]) -> AppProcess:
        return cls("relay", [sys.executable, "manage.py", "run_relay", "--poll", "0.5"], env)

    @classmethod
    def manage(cls, env: dict[str, str], *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        self._log.flush()
        return Path(self.log_path).read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the process and its children (a worker's pool processes): a crash, not a shutdown."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            children = ""
        for pid in [int(p) for p in children.split()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 30) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
