"""docker-compose.yml cannot run here (no Docker engine): check it statically instead."""

import configparser
import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ADDONS = ["ecrm_segments", "ecrm_loyalty", "ecrm_marketing", "ecrm_helpdesk"]


def _odoo_conf():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "odoo.conf")
    return parser["options"]


def test_services_and_images():
    services = COMPOSE["services"]
    assert set(services) == {"db", "odoo"}
    assert services["db"]["image"] == "postgres:16"
    assert re.search(r"^FROM odoo:19\.0$", services["odoo"]["build"]["dockerfile_inline"], re.M)
    assert services["odoo"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_every_mounted_path_exists():
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: mounted path {source} does not exist"
            else:
                assert source in COMPOSE["volumes"], f"{name}: named volume {source} is not declared"


def test_inline_dockerfile_copies_existing_files_and_installs_extra_requirements():
    dockerfile = COMPOSE["services"]["odoo"]["build"]["dockerfile_inline"]
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            source = shlex.split(line)[1]
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"
    assert "--break-system-packages" in dockerfile
    requirements = (ROOT / "tests/tooling/requirements-ecrm.txt").read_text()
    for package in ("pandas", "XlsxWriter"):
        assert package in requirements


def test_odoo_conf_matches_the_compose_file():
    conf = _odoo_conf()
    db = COMPOSE["services"]["db"]["environment"]
    assert conf["db_host"] == "db"
    assert conf["db_user"] == db["POSTGRES_USER"]
    assert conf["db_password"] == db["POSTGRES_PASSWORD"]
    assert conf["db_user"] != "postgres", "Odoo refuses the postgres role"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in COMPOSE["services"]["odoo"]["volumes"]}
    assert mounts["/etc/odoo/odoo.conf"] == "./odoo.conf"
    assert "/mnt/extra-addons" in conf["addons_path"].split(",")
    assert mounts["/mnt/extra-addons"] == "./addons"
    assert conf["data_dir"] in mounts
    for addon in ADDONS:
        assert (ROOT / "addons" / addon / "__manifest__.py").exists()


def test_odoo_conf_keys_are_odoo_options():
    """Every key of odoo.conf is an option Odoo 19.0 knows (a typo would be silently ignored)."""
    from odoo.tools.config import configmanager

    known = set(configmanager().options_index) | set(configmanager().options)
    unknown = set(_odoo_conf()) - known
    assert not unknown, f"unknown odoo.conf keys: {sorted(unknown)}"


def test_database_is_not_published_and_odoo_only_on_loopback():
    db = COMPOSE["services"]["db"]
    assert "ports" not in db and "expose" not in db
    assert db.get("network_mode") != "host"
    for mapping in COMPOSE["services"]["odoo"]["ports"]:
        assert mapping.startswith("127.0.0.1:")
    assert _odoo_conf()["list_db"] == "False"


def test_no_default_master_password():
    """Without ``admin_passwd`` Odoo's master password is "admin": the key must be there, either
    empty (database manager refused) or the hash of a password, never a plain text one."""
    conf = _odoo_conf()
    assert "admin_passwd" in conf, "a missing admin_passwd means Odoo's default master password"
    value = conf["admin_passwd"]
    assert value == "" or value.startswith("$pbkdf2-sha512$"), "admin_passwd must be empty or a hash"
    from odoo.tools.config import configmanager

    config = configmanager()
    config.options["admin_passwd"] = config.parse("admin_passwd", value)
    assert not config.verify_admin_password("admin")
    assert not config.verify_admin_password("")


def test_proxy_mode_is_explicit_and_off_without_a_proxy():
    """Odoo is published on the loopback only, without a TLS proxy in the compose file: proxy_mode
    must be off (on, X-Forwarded-* headers from any client would be trusted)."""
    conf = _odoo_conf()
    assert conf["proxy_mode"] == "False"
    assert set(COMPOSE["services"]) == {"db", "odoo"}


def test_command_installs_the_four_addons():
    command = COMPOSE["services"]["odoo"]["command"]
    init = next(arg for arg in command if arg.startswith("--init="))
    assert sorted(init.split("=", 1)[1].split(",")) == sorted(ADDONS)
