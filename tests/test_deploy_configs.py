"""The example deployment files under ``deploy/`` say what the code does: every ``ASSISTANT_*`` name is a
real settings field and its value validates, commands parse with the real command lines, and the hosts
and ports that one file names are the ones another file serves."""

from __future__ import annotations

import configparser
import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import BaseModel

import serve
from assistant.cli import _parser as cli_parser
from assistant.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PREFIX = "ASSISTANT_"


def settings_env_names(model: type[BaseModel] = Settings, prefix: str = PREFIX) -> set[str]:
    """Every env name ``Settings`` reads: top-level fields and, through ``__``, the nested groups' fields."""
    names: set[str] = set()
    for field_name, field in model.model_fields.items():
        name = prefix + field_name.upper()
        names.add(name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= settings_env_names(annotation, name + "__")
    return names


def test_the_walk_finds_nested_and_top_level_names() -> None:
    names = settings_env_names()
    assert {"ASSISTANT_INDEX_DIR", "ASSISTANT_REDIS_URL", "ASSISTANT_API__RATE_LIMIT_PER_MINUTE"} <= names
    assert "ASSISTANT_LLM__BASE_URL" in names and "ASSISTANT_API__NO_SUCH_THING" not in names


def settings_from_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``Settings()`` as a process with exactly ``env``'s ASSISTANT_* variables would build it."""
    for name in [n for n in os.environ if n.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


# --- the env file ---------------------------------------------------------------------------------

ASSIGNMENT = re.compile(r"^\s*(#\s*)?(ASSISTANT_[A-Z0-9_]+)=(.*)$")


def env_file(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(active, commented-out) ``NAME=value`` assignments of a systemd EnvironmentFile."""
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = ASSIGNMENT.match(line)
        if m:
            (commented if m.group(1) else active)[m.group(2)] = m.group(3)
        else:
            assert not line.strip() or line.lstrip().startswith("#"), f"not KEY=VALUE: {line!r}"
    return active, commented


def test_env_file_names_are_settings_and_values_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    active, commented = env_file(DEPLOY / "zhengwu.env")
    unknown = sorted((set(active) | set(commented)) - settings_env_names())
    assert not unknown, f"not settings fields: {unknown}"
    settings = settings_from_env(active, monkeypatch)
    assert settings.redis_url and settings.api.admin_keys and settings.api.trusted_proxies
    enabled = settings_from_env({**active, **commented}, monkeypatch)  # the optional block validates too
    assert enabled.answer.answerer == "llm"


# --- systemd units --------------------------------------------------------------------------------


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(DEPLOY / "systemd" / name, encoding="utf-8")
    assert parser.sections(), name
    return parser


def exec_argv(parser: configparser.ConfigParser, workdir: str) -> list[str]:
    argv = shlex.split(parser["Service"]["ExecStart"])
    assert argv[0] == f"{workdir}/.venv/bin/python", argv  # the checkout's own virtualenv
    return argv[1:]


def test_api_unit_runs_serve_py_with_the_env_file() -> None:
    api = unit("zhengwu-api.service")
    service = api["Service"]
    argv = exec_argv(api, service["WorkingDirectory"])
    assert argv[0] == "serve.py"
    args = serve.build_parser(Settings().api).parse_args(argv[1:])
    assert args.host == "0.0.0.0" and args.workers >= 2
    assert Path(service["EnvironmentFile"]).name == "zhengwu.env"
    active, _ = env_file(DEPLOY / "zhengwu.env")
    assert active["ASSISTANT_INDEX_DIR"] in service["ReadWritePaths"].split()
    assert api["Install"]["WantedBy"] == "multi-user.target"


def test_ingest_timer_starts_a_real_ingest_command() -> None:
    timer = unit("zhengwu-ingest.timer")
    target = timer["Timer"]["Unit"]
    assert (DEPLOY / "systemd" / target).is_file() and timer["Timer"]["OnCalendar"]
    ingest = unit(target)
    assert ingest["Service"]["Type"] == "oneshot"
    argv = exec_argv(ingest, ingest["Service"]["WorkingDirectory"])
    assert argv[:2] == ["-m", "assistant"]
    assert cli_parser().parse_args(argv[2:]).command == "ingest"
    assert ingest["Service"]["EnvironmentFile"] == unit("zhengwu-api.service")["Service"]["EnvironmentFile"]
    active, _ = env_file(DEPLOY / "zhengwu.env")
    assert active["ASSISTANT_INDEX_DIR"] in ingest["Service"]["ReadWritePaths"].split()


# --- nginx ----------------------------------------------------------------------------------------


def upstream_servers(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    block = re.search(r"upstream\s+(\w+)\s*\{(.*?)\}", text, re.S)
    assert block, path
    assert f"proxy_pass http://{block.group(1)};" in text
    assert "proxy_set_header X-Forwarded-For" in text and "proxy_buffering off" in text
    return re.findall(r"^\s*server\s+(\S+?)[\s;]", block.group(2), re.M)


def test_nginx_upstream_is_the_api_port_and_its_address_is_a_trusted_proxy() -> None:
    servers = upstream_servers(DEPLOY / "nginx" / "zhengwu.conf")
    port = (
        serve.build_parser(Settings().api)
        .parse_args(exec_argv(unit("zhengwu-api.service"), "/opt/zhengwu")[1:])
        .port
    )
    assert len(servers) >= 2 and {s.rsplit(":", 1)[1] for s in servers} == {str(port)}
    active, _ = env_file(DEPLOY / "zhengwu.env")
    balancer = re.search(
        r"on the load balancer \(([\d.]+)\)", (DEPLOY / "nginx" / "zhengwu.conf").read_text()
    )
    assert balancer and f'"{balancer.group(1)}"' in active["ASSISTANT_API__TRUSTED_PROXIES"]


# --- docker compose -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def api_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in compose["services"].items()
        if svc.get("command", [None, None])[1] == "serve.py"
    }


def test_compose_runs_two_api_replicas_with_valid_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    apis = api_services(compose)
    assert len(apis) == 2
    for name, svc in apis.items():
        env = {k: str(v) for k, v in svc["environment"].items()}
        unknown = sorted(set(env) - settings_env_names())
        assert not unknown, (name, unknown)
        settings = settings_from_env(env, monkeypatch)
        assert settings.database_url and settings.redis_url  # shared state, not per-replica files
        assert svc["command"][0] == "python"
        serve.build_parser(settings.api).parse_args(svc["command"][2:])
    envs = [svc["environment"] for svc in apis.values()]
    assert envs[0] == envs[1], "replicas must be configured alike"


def _service_port(svc: dict[str, Any], default: int) -> int:
    command = svc.get("command") or []
    if "--port" in command:
        return int(command[command.index("--port") + 1])
    return default


def test_compose_urls_point_at_its_own_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for svc in api_services(compose).values():
        env = svc["environment"]
        db = urlsplit(env["ASSISTANT_DATABASE_URL"])
        pg = services[db.hostname]["environment"]
        assert db.scheme.startswith("postgresql") and db.port == 5432
        assert (db.username, db.password, db.path.lstrip("/")) == (
            pg["POSTGRES_USER"],
            pg["POSTGRES_PASSWORD"],
            pg["POSTGRES_DB"],
        )
        redis = urlsplit(env["ASSISTANT_REDIS_URL"])
        assert redis.port == _service_port(services[redis.hostname], 6379)
        milvus = urlsplit(env["ASSISTANT_INDEX__MILVUS_URI"])
        assert env["ASSISTANT_INDEX__BACKEND"] == "milvus" and milvus.port == 19530
        assert services[milvus.hostname]["command"][-1] == "standalone"
        needs = {db.hostname, redis.hostname, milvus.hostname}
        assert needs <= set(svc["depends_on"]), "an API replica must start after the servers it uses"


def test_compose_replicas_share_one_index_volume(compose: dict[str, Any]) -> None:
    writers = [svc for svc in compose["services"].values() if svc.get("command", [None])[-1:] == ["--quiet"]]
    users = list(api_services(compose).values()) + writers
    assert writers, "an ingest service writes the index"
    mounts = {
        tuple(v for v in svc["volumes"] if v.endswith(":" + svc["environment"]["ASSISTANT_INDEX_DIR"]))
        for svc in users
    }
    assert len(mounts) == 1 and len(next(iter(mounts))) == 1, mounts
    volume = next(iter(mounts))[0].split(":")[0]
    assert volume in compose["volumes"]


def test_compose_nginx_balances_exactly_the_replicas(compose: dict[str, Any]) -> None:
    apis = api_services(compose)
    expected = {f"{name}:{_service_port(svc, 8000)}" for name, svc in apis.items()}
    nginx = compose["services"]["nginx"]
    (mount,) = [v for v in nginx["volumes"] if "/etc/nginx/" in v]
    conf = (DEPLOY / mount.split(":")[0]).resolve()
    assert conf.is_file() and set(upstream_servers(conf)) == expected
    assert set(apis) <= set(nginx["depends_on"])
    trusted = apis[next(iter(apis))]["environment"]["ASSISTANT_API__TRUSTED_PROXIES"]
    subnets = [c["subnet"] for c in compose["networks"]["zhengwu"]["ipam"]["config"]]
    assert any(s in trusted for s in subnets), "nginx's network must be a trusted proxy"
