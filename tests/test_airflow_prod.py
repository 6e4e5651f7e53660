"""The production profile's configuration and process bookkeeping, without starting any service.

The services themselves are started, used and stopped in ``tests/e2e/test_production.py``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import airflow_prod
from pipelines.airflow_prod import (
    ENV_FILE,
    PASSWORDS_FILE,
    ProdProfileError,
    configure,
    read_env_file,
    session_members,
    write_env_file,
)
from pipelines.airflow_setup import DAGS_FOLDER


def test_first_start_writes_one_private_env_file_that_later_starts_reuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XBORDER_HOME", str(tmp_path / "home"))
    profile = configure(tmp_path / "prod", api_port=18123, dags_paused=True)
    env_file = tmp_path / "prod" / ENV_FILE
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "prod" / PASSWORDS_FILE).stat().st_mode) == 0o600
    assert read_env_file(env_file) == profile.env
    env = profile.env
    assert env["AIRFLOW_HOME"] == str(tmp_path / "prod")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS_FOLDER)
    assert env["XBORDER_HOME"] == str(tmp_path / "home")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18123/execution/"
    assert (env["AIRFLOW__API__HOST"], env["AIRFLOW__API__PORT"]) == ("127.0.0.1", "18123")
    pg, redis = profile.postgres_port, profile.redis_port
    assert pg != redis and 1024 <= pg < 65536 and 1024 <= redis < 65536
    db = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert db.startswith("postgresql+psycopg2://airflow:") and db.endswith(f"@127.0.0.1:{pg}/airflow")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+" + db
    assert env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{env['XBORDER_PROD_REDIS_PASSWORD']}@127.0.0.1:{redis}/0"
    assert profile.db_url == db.replace("postgresql+psycopg2://", "postgresql://")
    for secret in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert len(env[secret]) >= 32, secret
    # a Fernet key is 32 url-safe base64 bytes
    from cryptography.fernet import Fernet

    assert (
        Fernet(env["AIRFLOW__CORE__FERNET_KEY"].encode()).decrypt(
            Fernet(env["AIRFLOW__CORE__FERNET_KEY"].encode()).encrypt(b"x")
        )
        == b"x"
    )
    # a later start reads the file: same ports and secrets, whatever it is asked
    again = configure(tmp_path / "prod", api_port=9999, dags_paused=False)
    assert again.env == env
    assert configure(tmp_path / "other").env["AIRFLOW__CORE__FERNET_KEY"] != env["AIRFLOW__CORE__FERNET_KEY"]


def test_the_env_file_reads_as_shell_and_as_the_parser_reads_it(tmp_path: Path) -> None:
    env = {"A": "x y", "B": '{"result_extended": true}', "C": "redis://:p@127.0.0.1:1/0", "D": ""}
    write_env_file(tmp_path / "f.env", env)
    assert read_env_file(tmp_path / "f.env") == env
    shell = subprocess.run(
        ["bash", "-c", f'set -a; . {tmp_path / "f.env"}; printf \'%s\\n\' "$A" "$B" "$C" "[$D]"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.splitlines() == ["x y", '{"result_extended": true}', "redis://:p@127.0.0.1:1/0", "[]"]
    with pytest.raises(ProdProfileError, match="quote"):
        write_env_file(tmp_path / "g.env", {"X": "it's"})
    (tmp_path / "h.env").write_text('# comment\nexport K="v"\n\nbroken line\n')
    with pytest.raises(ProdProfileError, match="h.env:4"):
        read_env_file(tmp_path / "h.env")


def test_components_get_the_profile_not_the_callers_airflow_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = configure(tmp_path / "prod")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    monkeypatch.setenv("AIRFLOW__WEBSERVER__STRAY", "1")
    monkeypatch.setenv("AIRFLOW_HOME", "/somewhere/else")
    monkeypatch.setenv("AIRFLOW_CONN_XBORDER_SMTP", "smtp://relay")
    monkeypatch.setenv("XBORDER_ALERT_TO", "team@example.com")
    env = profile.child_env()
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert "AIRFLOW__WEBSERVER__STRAY" not in env
    assert env["AIRFLOW_HOME"] == str(tmp_path / "prod")
    assert (env["AIRFLOW_CONN_XBORDER_SMTP"], env["XBORDER_ALERT_TO"]) == ("smtp://relay", "team@example.com")
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_every_component_has_its_command_on_loopback(tmp_path: Path) -> None:
    profile = configure(tmp_path / "prod", api_port=18124)
    commands = airflow_prod.airflow_commands(profile)
    assert list(commands) == list(airflow_prod.AIRFLOW_SERVICES)
    args = {name: cmd[3:] for name, cmd in commands.items()}
    assert all(cmd[:3] == [sys.executable, "-m", "airflow"] for cmd in commands.values())
    assert args["api-server"] == ["api-server", "--host", "127.0.0.1", "--port", "18124"]
    assert args["worker1"][:4] == ["celery", "worker", "--celery-hostname", "worker1@%h"]
    assert args["worker2"][:4] == ["celery", "worker", "--celery-hostname", "worker2@%h"]
    assert "--skip-serve-logs" in args["worker1"] and "--skip-serve-logs" in args["triggerer"]
    redis = airflow_prod.redis_command(profile)
    conf = Path(redis[1]).read_text()
    assert redis[0] == "redis-server" and stat.S_IMODE(Path(redis[1]).stat().st_mode) == 0o600
    for line in (f"port {profile.redis_port}", "bind 127.0.0.1", 'save ""', "appendonly no", "requirepass "):
        assert line in conf


def test_stopping_a_session_kills_processes_in_their_own_process_groups(tmp_path: Path) -> None:
    """What a Celery worker's task processes look like: another process group, the same session."""
    script = (
        "import os, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'], process_group=0)\n"  # setpgid, as the task supervisor
        "print(child.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    service = airflow_prod._spawn("fake", [sys.executable, "-c", script], os.environ, tmp_path / "a" / "b" / "f.log")
    deadline = time.monotonic() + 30
    while len(session_members(service.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    members = session_members(service.pid)
    assert service.pid in members and len(members) == 2
    grandchild = next(p for p in members if p != service.pid)
    assert os.getpgid(grandchild) == grandchild != service.pid  # not in the service's process group
    airflow_prod._stop_services([service], timeout=5)
    assert session_members(service.pid) == []
    assert not service.alive()
