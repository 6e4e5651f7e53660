"""``make airflow-prod``: the production profile (Postgres, Redis, CeleryExecutor, one process each).

Under one data directory (default ``$AIRFLOW_HOME/prod``; it is the profile's ``AIRFLOW_HOME``)
this starts, on 127.0.0.1 only:

* **PostgreSQL 15** (Debian's ``/usr/lib/postgresql/15/bin``, or the newest version there; as ``postgres`` through
  ``runuser`` when run as root) in ``<data>/postgres``: the Airflow metadata database ``airflow``
  (role ``airflow``) and the Celery result backend;
* **Redis** (``<data>/redis/redis.conf``: no persistence, a password): the Celery broker;
* ``airflow db migrate`` and the one-slot pool ``xborder_warehouse`` (``pipelines.airflow_setup``);
* the Airflow components, each in its own session and process group: ``api-server``,
  ``scheduler``, ``dag-processor``, ``triggerer`` and two Celery workers ``worker1@HOST`` and
  ``worker2@HOST``.

The whole configuration is one environment set (:func:`prod_environment`), written once to
``<data>/airflow.env`` (mode 0600: it holds the generated passwords, the Fernet key and the JWT
secret) and read back on every later start, so a server's services (systemd ``EnvironmentFile=``)
and the CLI use the same settings. Ports for Postgres and Redis are picked free on first start and
kept; the API port defaults to 8080.

Stopping: every Airflow group gets SIGTERM (the workers first, so that running tasks can still
report to the API server), SIGKILL after a timeout, and whatever is left in the sessions (task
processes have their own process groups) is killed; then Redis ``SHUTDOWN NOSAVE`` and
``pg_ctl stop -m fast``.

Run: ``make airflow-prod`` (foreground, Ctrl-C stops everything), or
``python -m pipelines.airflow_prod start|stop|status|run [--data-dir DIR]``. See docs/production.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.airflow_setup import DEFAULT_AIRFLOW_HOME, POOL, AirflowSetupError, environment
from pipelines.local_processes import HOST, port_in_use, say, sigterm_as_interrupt, with_venv_on_path


def _pg_bin() -> Path:
    """``XBORDER_PG_BIN``, else Debian's newest ``/usr/lib/postgresql/<version>/bin`` (15 on Debian 12)."""
    if os.environ.get("XBORDER_PG_BIN"):
        return Path(os.environ["XBORDER_PG_BIN"])
    found = sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl") if p.parent.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
    )
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
ENV_FILE = "airflow.env"
STATE_FILE = "services.json"
DEFAULT_API_PORT = 8080
WORKERS = ("worker1", "worker2")
AIRFLOW_SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer", *WORKERS)
HEALTH_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
READY_TIMEOUT_S = 300
STOP_TIMEOUT_S = 30
PASSWORDS_FILE = "simple_auth_manager_passwords.json"
ADMIN = "admin"


class ProdProfileError(AirflowSetupError):
    """The production profile could not start (or stop) cleanly."""


# --------------------------------------------------------------------------------------------
# Configuration: one environment set, one env file
# --------------------------------------------------------------------------------------------


def default_data_dir() -> Path:
    """``$AIRFLOW_HOME/prod`` (``./airflow_home/prod`` of the repository when unset)."""
    return (Path(os.environ.get("AIRFLOW_HOME") or DEFAULT_AIRFLOW_HOME) / "prod").resolve()


def prod_environment(
    data_dir: Path,
    *,
    postgres_port: int,
    redis_port: int,
    api_port: int,
    postgres_password: str,
    db_password: str,
    redis_password: str,
    fernet_key: str,
    jwt_secret: str,
    api_secret_key: str,
    dags_paused: bool = False,
    api_workers: int = 2,
    worker_concurrency: int = 4,
) -> dict[str, str]:
    """The whole configuration of the profile: ``airflow_setup.environment`` plus ``AIRFLOW__*``.

    Every Airflow component and the CLI run with exactly this set (it is what ``airflow.env``
    holds). The JWT secret, the Fernet key and the API secret key must be the same in every
    component: the scheduler signs the task identity tokens that the API server checks, and
    connections and variables encrypted by one are read by the others.
    """
    data_dir = data_dir.resolve()
    db = f"airflow:{db_password}@{HOST}:{postgres_port}/airflow"
    return {
        **environment(data_dir),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(dags_paused),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__FERNET_KEY": fernet_key,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOST}:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(data_dir / PASSWORDS_FILE),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://{HOST}:{api_port}",
        "AIRFLOW__API__WORKERS": str(api_workers),
        "AIRFLOW__API__SECRET_KEY": api_secret_key,
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://:{redis_password}@{HOST}:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{db}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
        # the result backend records which worker ran each task (celery_taskmeta.worker)
        "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": '{"result_extended": true}',
        "XBORDER_PROD_POSTGRES_PORT": str(postgres_port),
        "XBORDER_PROD_POSTGRES_PASSWORD": postgres_password,  # the superuser `postgres` (psql, upgrades)
        "XBORDER_PROD_REDIS_PORT": str(redis_port),
        "XBORDER_PROD_REDIS_PASSWORD": redis_password,
    }


@dataclass(frozen=True)
class Profile:
    """One data directory and its configuration (the contents of its ``airflow.env``)."""

    data_dir: Path
    env: dict[str, str]

    @property
    def env_file(self) -> Path:
        return self.data_dir / ENV_FILE

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs" / "services"

    @property
    def postgres_port(self) -> int:
        return int(self.env["XBORDER_PROD_POSTGRES_PORT"])

    @property
    def redis_port(self) -> int:
        return int(self.env["XBORDER_PROD_REDIS_PORT"])

    @property
    def api_port(self) -> int:
        return int(self.env["AIRFLOW__API__PORT"])

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def db_url(self) -> str:
        """The metadata database as a libpq URL (``psql``, ``psycopg2.connect``)."""
        return self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://", 1)

    def admin_password(self) -> str:
        return str(json.loads((self.data_dir / PASSWORDS_FILE).read_text())[ADMIN])

    def child_env(self) -> dict[str, str]:
        """The environment of every process: this one's, minus inherited Airflow settings, plus the profile.

        ``AIRFLOW__*`` settings come from the env file only (so all components agree);
        ``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*`` and ``XBORDER_*`` pass through. The interpreter's
        bin folder goes first on PATH.
        """
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AIRFLOW__") and k not in {"AIRFLOW_HOME", "AIRFLOW_CONFIG"}
        }
        return with_venv_on_path({**inherited, **self.env})


def configure(
    data_dir: Path | str | None = None,
    *,
    api_port: int | None = None,
    dags_paused: bool = False,
    api_workers: int = 2,
    worker_concurrency: int = 4,
) -> Profile:
    """The profile of ``data_dir``: read from its ``airflow.env``, or created and written there.

    On first use the ports are chosen (Postgres and Redis: free ports; the API: ``api_port``,
    else 8080) and the secrets generated; later calls return what the file says (edit it to
    change a setting; the keyword arguments only apply when it is created).
    """
    root = Path(data_dir).resolve() if data_dir else default_data_dir()
    env_file = root / ENV_FILE
    if env_file.exists():
        return Profile(root, read_env_file(env_file))
    root.mkdir(parents=True, exist_ok=True)
    port = api_port or DEFAULT_API_PORT
    env = prod_environment(
        root,
        postgres_port=free_port(),
        redis_port=free_port(),
        api_port=port,
        postgres_password=secrets.token_hex(16),
        db_password=secrets.token_hex(16),
        redis_password=secrets.token_hex(16),
        fernet_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        jwt_secret=secrets.token_urlsafe(48),
        api_secret_key=secrets.token_urlsafe(32),
        dags_paused=dags_paused,
        api_workers=api_workers,
        worker_concurrency=worker_concurrency,
    )
    passwords = root / PASSWORDS_FILE
    if not passwords.exists():  # the API server keeps it; we know the login without reading logs
        _write_private(passwords, json.dumps({ADMIN: secrets.token_urlsafe(12)}) + "\n")
    write_env_file(env_file, env)
    return Profile(root, env)


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    """``KEY='value'`` lines: readable by ``set -a; . FILE`` and by systemd's ``EnvironmentFile=``."""
    lines = ["# xborder production profile (pipelines/airflow_prod.py); secrets inside: keep it 0600"]
    for key, value in env.items():
        if "'" in value or "\n" in value:
            raise ProdProfileError(f"{key}: a value with a quote or a newline cannot go in {path}")
        lines.append(f"{key}='{value}'")
    _write_private(path, "\n".join(lines) + "\n")


def read_env_file(path: Path) -> dict[str, str]:
    """The ``KEY=value`` lines of an env file (values optionally in single or double quotes)."""
    env: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)", line)
        if not match:
            raise ProdProfileError(f"{path}:{number}: not a KEY=value line: {raw!r}")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------
# PostgreSQL and Redis
# --------------------------------------------------------------------------------------------


def binaries_missing() -> list[str]:
    """The PostgreSQL and Redis programs the profile needs that are not installed (``make services``)."""
    needed = [PG_BIN / "initdb", PG_BIN / "pg_ctl", PG_BIN / "psql"]
    missing = [str(p) for p in needed if not os.access(p, os.X_OK)]
    missing += [name for name in ("redis-server", "redis-cli") if shutil.which(name) is None]
    return missing


def _as_postgres(cmd: Sequence[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


def _run(cmd: Sequence[str], *, env: Mapping[str, str] | None = None, what: str = "") -> str:
    proc = subprocess.run(list(cmd), env=dict(env) if env else None, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ProdProfileError(f"{what or shlex.join(cmd)} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def _chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def start_postgres(profile: Profile) -> None:
    """initdb (first time), ``pg_ctl start`` on 127.0.0.1 (TCP only), then the role and database."""
    pgdata, log = profile.pgdata, profile.logs / "postgres.log"
    superuser_password = profile.env["XBORDER_PROD_POSTGRES_PASSWORD"]
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(parents=True, exist_ok=True)
        pgdata.chmod(0o700)
        _chown_postgres(pgdata)
        if (
            os.geteuid() == 0
            and subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(pgdata)]).returncode
        ):
            raise ProdProfileError(
                f"user postgres cannot reach {pgdata}: every folder above it must be searchable by others (chmod o+x)"
            )
        pwfile = profile.data_dir / "initdb.pw"
        _write_private(pwfile, superuser_password + "\n")
        _chown_postgres(pwfile)
        try:
            _run(
                _as_postgres(
                    [
                        str(PG_BIN / "initdb"),
                        "-D",
                        str(pgdata),
                        "-U",
                        "postgres",
                        "--auth=scram-sha-256",
                        f"--pwfile={pwfile}",
                        "--encoding=UTF8",
                        "--locale=C",
                    ]
                ),
                what="initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
    if _postgres_running(profile):
        return
    if port_in_use(profile.postgres_port):
        raise ProdProfileError(f"port {profile.postgres_port} (Postgres, {profile.env_file}) is in use")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    _chown_postgres(log)
    options = (
        f"-c listen_addresses={HOST} -c port={profile.postgres_port} -c unix_socket_directories='' "
        "-c max_connections=200"
    )
    _run(
        _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-l", str(log), "-w", "-t", "60", "-o", options, "start"]
        ),
        what="pg_ctl start",
    )
    psql_env = {**os.environ, "PGPASSWORD": superuser_password}
    psql = [str(PG_BIN / "psql"), "-h", HOST, "-p", str(profile.postgres_port), "-U", "postgres", "-d", "postgres"]
    password = urllib.parse.urlsplit(profile.db_url).password
    if not _run([*psql, "-tAc", "SELECT 1 FROM pg_roles WHERE rolname = 'airflow'"], env=psql_env).strip():
        _run([*psql, "-c", f"CREATE ROLE airflow LOGIN PASSWORD '{password}'"], env=psql_env, what="CREATE ROLE")
    if not _run([*psql, "-tAc", "SELECT 1 FROM pg_database WHERE datname = 'airflow'"], env=psql_env).strip():
        _run([*psql, "-c", "CREATE DATABASE airflow OWNER airflow"], env=psql_env, what="CREATE DATABASE")


def _postgres_running(profile: Profile) -> bool:
    if not (profile.pgdata / "PG_VERSION").exists():
        return False
    return (
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(profile.pgdata), "status"]), capture_output=True
        ).returncode
        == 0
    )


def stop_postgres(profile: Profile, timeout: int = STOP_TIMEOUT_S) -> None:
    """``pg_ctl stop -m fast`` (rolls back open transactions, then a clean shutdown)."""
    if _postgres_running(profile):
        _run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(profile.pgdata), "-m", "fast", "-w", "-t", str(timeout), "stop"]
            ),
            what="pg_ctl stop",
        )


def redis_command(profile: Profile) -> list[str]:
    """``redis-server <data>/redis/redis.conf`` (written here: the password stays out of ``ps``)."""
    folder = profile.data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "redis.conf"
    _write_private(
        conf,
        "\n".join(
            [
                f"port {profile.redis_port}",
                f"bind {HOST}",
                "protected-mode yes",
                'save ""',
                "appendonly no",
                f"dir {folder}",
                f"requirepass {profile.env['XBORDER_PROD_REDIS_PASSWORD']}",
                "",
            ]
        ),
    )
    return ["redis-server", str(conf)]


def _redis_cli(profile: Profile, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDISCLI_AUTH": profile.env["XBORDER_PROD_REDIS_PASSWORD"]}
    return subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(profile.redis_port), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )


def redis_ready(profile: Profile) -> bool:
    return _redis_cli(profile, "ping").stdout.strip() == "PONG"


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


def airflow_commands(profile: Profile) -> dict[str, list[str]]:
    """The Airflow components, each one ``airflow ...`` command of this interpreter.

    Task logs are written under ``<data>/logs`` and read from there by the API server (one
    machine), so neither the workers nor the triggerer serve logs over HTTP (their log servers
    would listen on every interface).
    """
    airflow = [sys.executable, "-m", "airflow"]
    commands = {
        "api-server": [*airflow, "api-server", "--host", HOST, "--port", str(profile.api_port)],
        "scheduler": [*airflow, "scheduler"],
        "dag-processor": [*airflow, "dag-processor"],
        "triggerer": [*airflow, "triggerer", "--skip-serve-logs"],
    }
    for name in WORKERS:
        commands[name] = [*airflow, "celery", "worker", "--celery-hostname", f"{name}@%h", "--skip-serve-logs"]
    return commands


@dataclass
class Service:
    """A process the profile started: its own session and process group (pid = sid = pgid)."""

    name: str
    pid: int
    started: float  # the process's start time (so a reused pid is not taken for it)
    cmd: list[str]
    log: str

    def alive(self) -> bool:
        return _start_time(self.pid) == self.started


def _start_time(pid: int) -> float | None:
    """Start time of a process in clock ticks since boot (/proc/PID/stat field 22); None if gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return None if fields[0] == "Z" else float(fields[19])


def session_members(sid: int) -> list[int]:
    """Live processes of session ``sid`` (task processes have process groups of their own in it)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members


def _spawn(name: str, cmd: list[str], env: Mapping[str, str], log_path: Path) -> Service:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            start_new_session=True,  # setsid: its own session and process group, stopped as a whole
            cwd=str(log_path.parents[2]),  # the data directory
        )
    started = None
    for _ in range(50):
        started = _start_time(proc.pid)
        if started is not None:
            break
        time.sleep(0.01)
    return Service(name, proc.pid, started or 0.0, cmd, str(log_path))


def _save_state(profile: Profile, services: Sequence[Service]) -> None:
    state = [vars(s) for s in services]
    (profile.data_dir / STATE_FILE).write_text(json.dumps(state, indent=1) + "\n")


def load_services(profile: Profile) -> list[Service]:
    """The processes the last start recorded in ``<data>/services.json``."""
    path = profile.data_dir / STATE_FILE
    if not path.exists():
        return []
    return [Service(**s) for s in json.loads(path.read_text())]


def start(profile: Profile, *, timeout: float = READY_TIMEOUT_S, say: Callable[[str], None] = print) -> list[Service]:
    """Start everything and wait until the API reports every component healthy and both workers answer.

    On any failure, whatever was started is stopped again and the error names the log to read.
    """
    missing = binaries_missing()
    if missing:
        raise ProdProfileError(f"not installed: {', '.join(missing)} (run `make services`)")
    if any(s.alive() for s in load_services(profile)):
        raise ProdProfileError(f"the profile in {profile.data_dir} is already running (stop it first)")
    if port_in_use(profile.api_port):
        raise ProdProfileError(f"port {profile.api_port} (API server, {profile.env_file}) is in use")
    env = profile.child_env()
    services: list[Service] = []
    try:
        say(f"PostgreSQL on {HOST}:{profile.postgres_port} ({profile.pgdata})...")
        start_postgres(profile)
        say(f"Redis on {HOST}:{profile.redis_port}...")
        if port_in_use(profile.redis_port):
            raise ProdProfileError(f"port {profile.redis_port} (Redis, {profile.env_file}) is in use")
        services.append(_spawn("redis", redis_command(profile), env, profile.logs / "redis.log"))
        _save_state(profile, services)
        _wait(lambda: redis_ready(profile), 30, "Redis did not answer PING", services)
        say(f"airflow db migrate and the pool {POOL}...")
        _run([sys.executable, "-m", "pipelines.airflow_setup"], env=env, what="airflow db migrate / pool")
        say(f"Airflow: {', '.join(AIRFLOW_SERVICES)} (logs in {profile.logs})...")
        commands = airflow_commands(profile)
        for name, cmd in commands.items():
            if name != "scheduler":
                services.append(_spawn(name, cmd, env, profile.logs / f"{name}.log"))
                _save_state(profile, services)
        # The scheduler sends tasks to the workers, whose tasks report to the API server: start it
        # once the API answers, so that no task of a DAG unpaused at start fails for want of it.
        _wait(lambda: bool(health(profile)), timeout, "the API server did not answer", services)
        services.append(_spawn("scheduler", commands["scheduler"], env, profile.logs / "scheduler.log"))
        _save_state(profile, services)
        _wait(lambda: ready(profile), timeout, "Airflow did not become healthy", services)
    except BaseException:
        with contextlib.suppress(Exception):
            stop(profile, say=lambda _text: None)
        raise
    return services


def _wait(check: Callable[[], bool], timeout: float, what: str, services: Sequence[Service]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [s for s in services if not s.alive()]
        if dead:
            raise ProdProfileError(f"{dead[0].name} exited; the end of {dead[0].log}:\n{_tail(Path(dead[0].log))}")
        if check():
            return
        time.sleep(1)
    raise ProdProfileError(f"{what} within {timeout:.0f}s; logs in {Path(services[0].log).parent}")


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def health(profile: Profile) -> dict[str, str]:
    """Component -> status from the API server's ``/api/v2/monitor/health`` (empty when it does not answer)."""
    try:
        with urllib.request.urlopen(f"{profile.api_url}/api/v2/monitor/health", timeout=5) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return {}
    return {name: str((body.get(name) or {}).get("status")) for name in HEALTH_COMPONENTS}


def workers_answering(profile: Profile, timeout: float = 2.0) -> list[str]:
    """Celery workers that answer a ping on the broker (``worker1@HOST``, ...)."""
    from celery import Celery

    app = Celery(broker=profile.env["AIRFLOW__CELERY__BROKER_URL"])
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception:  # the broker is down: nobody answers
        return []
    finally:
        app.close()
    return sorted(name for reply in replies for name in reply)


def ready(profile: Profile) -> bool:
    status = health(profile)
    if not status or any(status[name] != "healthy" for name in HEALTH_COMPONENTS):
        return False
    return len(workers_answering(profile)) == len(WORKERS)


def stop(profile: Profile, *, timeout: float = STOP_TIMEOUT_S, say: Callable[[str], None] = print) -> None:
    """Stop the Airflow processes (workers first), then Redis and PostgreSQL; nothing is left behind."""
    services = load_services(profile)
    by_name = {s.name: s for s in services}
    workers = [by_name[n] for n in WORKERS if n in by_name]
    others = [by_name[n] for n in AIRFLOW_SERVICES if n in by_name and n not in WORKERS]
    if any(s.alive() for s in services):
        say("stopping Airflow...")
    _stop_services(workers, timeout)  # running tasks still report to the API server meanwhile
    _stop_services(others, timeout)
    redis = by_name.get("redis")
    if redis and redis.alive():
        say("stopping Redis...")
        with contextlib.suppress(subprocess.TimeoutExpired):
            _redis_cli(profile, "shutdown", "nosave")
        _stop_services([redis], timeout)
    if _postgres_running(profile):
        say("stopping PostgreSQL...")
        stop_postgres(profile)
    (profile.data_dir / STATE_FILE).unlink(missing_ok=True)
    if services:
        say("stopped.")


def _stop_services(services: Sequence[Service], timeout: float) -> None:
    """SIGTERM each group; SIGKILL every process left in their sessions after ``timeout``."""
    live = [s for s in services if s.alive()]
    for s in live:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(s.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(s.alive() for s in live):
        time.sleep(0.3)
    for s in live:
        for _ in range(20):  # task processes run in process groups of their own inside the session
            members = session_members(s.pid)
            if not members:
                break
            for pid in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)


def status(profile: Profile) -> dict[str, Any]:
    """Each recorded process alive or not, the API's health report and the workers answering."""
    services = load_services(profile)
    return {
        "data_dir": str(profile.data_dir),
        "env_file": str(profile.env_file),
        "api": profile.api_url,
        "postgres": f"{HOST}:{profile.postgres_port} {'running' if _postgres_running(profile) else 'stopped'}",
        "processes": {s.name: {"pid": s.pid, "alive": s.alive(), "log": s.log} for s in services},
        "health": health(profile),
        "workers": workers_answering(profile) if services else [],
    }


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _banner(profile: Profile) -> str:
    return (
        f"\nAirflow (production profile) is up: {profile.api_url}\n"
        f"login:    {ADMIN} / {profile.admin_password()}\n"
        f"config:   {profile.env_file} (all components: set -a; . {profile.env_file})\n"
        f"logs:     {profile.logs}\n"
        f"services: PostgreSQL {HOST}:{profile.postgres_port}, Redis {HOST}:{profile.redis_port}, "
        f"{', '.join(AIRFLOW_SERVICES)}; pool {POOL} (1 slot)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.airflow_prod", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["run", "start", "stop", "status", "env"], nargs="?", default="run")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $AIRFLOW_HOME/prod")
    parser.add_argument("--api-port", type=int, default=None, help="first start only (default 8080)")
    parser.add_argument("--paused", action="store_true", help="first start only: new DAGs start paused")
    args = parser.parse_args(argv)
    profile = configure(args.data_dir, api_port=args.api_port, dags_paused=args.paused)
    try:
        if args.command == "env":
            print(profile.env_file)
        elif args.command == "status":
            print(json.dumps(status(profile), indent=2))
        elif args.command == "stop":
            stop(profile, say=say)
        elif args.command == "start":
            start(profile, say=say)
            say(_banner(profile) + f"\nstop:     python -m pipelines.airflow_prod stop --data-dir {profile.data_dir}")
        else:
            return _run_foreground(profile)
    except ProdProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_foreground(profile: Profile) -> int:
    """Start, print the URL and the login, then wait; Ctrl-C, SIGTERM or a dying process stops it all."""
    with sigterm_as_interrupt():
        try:
            services = start(profile, say=say)
            say(_banner(profile) + "\nCtrl-C stops everything.")
            while True:
                dead = [s for s in services if not s.alive()]
                if dead:
                    say(f"{dead[0].name} exited; the end of {dead[0].log}:\n{_tail(Path(dead[0].log))}")
                    return 1
                time.sleep(2)
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
            stop(profile, say=say)


if __name__ == "__main__":
    sys.exit(main())
