#!/usr/bin/env bash
# The compose files validate (`docker-compose config -q`) in every supported
# combination, and keep the properties docs/DEPLOY.md promises: healthchecks,
# health-conditioned dependencies, restart policies, volumes, one account per
# service, no MongoDB in the embedded variant, TLS wired through, the HTTP
# API's accounts made from the broker's people accounts. Needs only
# docker-compose (v1 or v2) and /usr/bin/python3 with python3-yaml; no engine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
if command -v docker-compose >/dev/null 2>&1; then
  DC=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  DC=(docker compose)
else
  echo "SKIP: docker-compose is not installed (scripts/deps.sh installs it)" >&2
  exit 77
fi
$PY -c 'import yaml' 2>/dev/null || {
  echo "SKIP: python3-yaml is not installed" >&2
  exit 77
}

TMP=$(mktemp -d /tmp/hs-compose-config-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

bash "$ROOT/docker/gen-env.sh" >"$TMP/env"
dc() { (cd "$ROOT" && "${DC[@]}" --env-file "$TMP/env" "$@"); }

# 1. Every variant validates.
variants=(
  "compose.yaml"
  "compose.yaml compose.embedded.yaml"
  "compose.yaml compose.tls.yaml"
  "compose.yaml compose.embedded.yaml compose.tls.yaml"
  "compose.yaml tests/compose/compose.mongo-emulator.yaml"
)
for v in "${variants[@]}"; do
  args=()
  for f in $v; do args+=(-f "$ROOT/$f"); done
  dc "${args[@]}" config -q || fail "docker-compose config rejects: $v"
  dc "${args[@]}" config >"$TMP/$(echo "$v" | tr ' /' '+_').yaml"
  echo "ok: $v"
done

# 2. Without passwords the configuration is refused (nothing runs with an
#    empty password).
grep -v '^HS_TOOL_PASSWORD=' "$TMP/env" >"$TMP/env.partial"
if (cd "$ROOT" && "${DC[@]}" --env-file "$TMP/env.partial" config -q) 2>"$TMP/err"; then
  fail "compose.yaml accepted a missing HS_TOOL_PASSWORD"
fi
grep -q 'passwords' "$TMP/err" || fail "the missing-password error does not say what to do: $(cat "$TMP/err")"
echo "ok: a missing password is refused"

# 3. Properties of the resolved configurations.
$PY - "$TMP" <<'PY'
import sys, yaml
d = sys.argv[1]
def load(name):
    return yaml.safe_load(open(f"{d}/{name}.yaml"))["services"]

hs = ["writer", "ingest", "scheduler", "tool", "api"]
accounts = {"writer": "hs-writer", "ingest": "hs-ingest", "scheduler": "hs-scheduler",
            "tool": "hs-tool", "api": "hs-api", "hsctl": "hs-admin"}
base = load("compose.yaml")
builders = {}
for name, s in base.items():
    assert s.get("network_mode") == "host", f"{name}: network_mode host"
    if "build" in s:
        assert s["build"].get("network") == "host", f"{name}: build network host"
        assert s["image"].startswith("localhost/"), f"{name}: image localhost/..."
        assert s["build"].get("args", {}).get("BASE"), f"{name}: BASE build argument"
        builders.setdefault(s["image"], []).append(name)
# One build per image: the services sharing an image do not rebuild it.
for name in hs + ["hsctl"]:
    assert builders.get(base[name]["image"]) == ["writer"], f"{name}: image built by writer"
for name in hs + ["mosquitto", "mongo"]:
    s = base[name]
    assert s.get("restart") == "unless-stopped", f"{name}: restart policy"
    assert s.get("healthcheck", {}).get("test"), f"{name}: healthcheck"
for name in hs:
    s = base[name]
    deps = s.get("depends_on", {})
    assert deps.get("mosquitto", {}).get("condition") == "service_healthy", f"{name}: broker dep"
    if name != "writer":
        assert deps.get("writer", {}).get("condition") == "service_healthy", f"{name}: writer dep"
assert "container_name" not in base["tool"], "tool must be scalable"
assert "{unique}" in base["tool"]["environment"]["HS_SERVICE_ID"], "tool replicas need own ids"
ids = set()
for name, user in accounts.items():
    env = base[name]["environment"]
    assert env["HS_MQTT_USERNAME"] == user, f"{name}: account {env['HS_MQTT_USERNAME']}"
    assert env["HS_MQTT_PASSWORD"], f"{name}: password"
    assert env["HS_STORE_URL"].startswith("mongodb://"), f"{name}: MongoDB store"
    if name in hs:
        ids.add(env["HS_SERVICE_ID"])
assert len(ids) == len(hs), "service ids must differ"
passwords = [base[n]["environment"]["HS_MQTT_PASSWORD"] for n in hs]
assert len(set(passwords)) == len(hs), "each service has its own password"
vols = {v.split(":")[1] if isinstance(v, str) else v["target"]
        for v in base["mosquitto"].get("volumes", [])}
assert "/var/lib/mosquitto" in vols, "broker persistence volume"
assert any("/data/db" in str(v) for v in base["mongo"]["volumes"]), "MongoDB volume"
assert "workflows" not in base, "the scheduler loads the workflows directory itself"
assert any("/etc/hs/workflows" in str(v) for v in base["scheduler"]["volumes"]), "workflows dir"
assert base["scheduler"]["environment"]["HS_WORKFLOWS_DIR"] == "/etc/hs/workflows"
# hs-api: on all addresses, so accounts are required; they are the broker's
# people accounts with the broker's passwords (written by hs-entrypoint).
api = base["api"]["environment"]
assert api["HS_SERVICE_ID"] == "api" and base["api"]["command"] == ["hs-api"]
assert api["HS_HTTP_BIND"] == "0.0.0.0" and str(api["HS_HTTP_PORT"]) == "8180", api
assert api["HS_ACCOUNTS_FILE"], "api: accounts file"
specs = [x.split(":") for x in api["HS_ACCOUNTS_ENV"].split()]
assert sorted((n, r) for n, r, _ in specs) == [("device", "device"), ("hs-admin", "admin"),
                                               ("reader", "reader")], specs
broker = base["mosquitto"]["environment"]
for name, role, var in specs:
    assert api[var] and api[var] == broker[var], f"api: {name}'s password is the broker's {var}"
assert api["HS_MQTT_PASSWORD"] == broker["HS_API_PASSWORD"], "api: its broker account"
assert api["HS_WEB_DIR"] == "/usr/local/share/hyperstream/web"

emb = load("compose.yaml+compose.embedded.yaml")
assert "mongo" in emb["mongo"].get("profiles", []), "embedded: MongoDB must not start"
for name in hs + ["hsctl"]:
    env = emb[name]["environment"]
    assert env["HS_STORE_URL"] == "sqlite:///var/lib/hs/hs.db", f"{name}: embedded store"
    assert any("/var/lib/hs" in str(v) for v in emb[name]["volumes"]), f"{name}: store volume"

tls = load("compose.yaml+compose.embedded.yaml+compose.tls.yaml")
assert tls["mosquitto"]["environment"]["HS_BROKER_TLS_PORT"], "TLS listener"
assert tls["mosquitto"]["environment"]["HS_BROKER_BIND"] == "127.0.0.1"
assert any("/etc/hs-mosquitto/tls" in str(v) for v in tls["mosquitto"]["volumes"])
# The overrides add to the scheduler's volumes; the workflows directory stays.
assert any("/etc/hs/workflows" in str(v) for v in tls["scheduler"]["volumes"]), "workflows dir"
for name in hs + ["hsctl"]:
    env = tls[name]["environment"]
    assert env["HS_BROKER_URL"].startswith("mqtts://"), f"{name}: TLS URL"
    assert env["HS_MQTT_CA_FILE"], f"{name}: CA file"
    assert env["HS_STORE_URL"].startswith("sqlite://"), f"{name}: overrides combine"
env = tls["api"]["environment"]
assert env["HS_TLS_CERT_FILE"] and env["HS_TLS_KEY_FILE"], "api: HTTPS"
assert env["HS_ACCOUNTS_ENV"] and env["HS_HTTP_BIND"], "api: overrides combine"
mounted = {str(v).split(":")[1] if isinstance(v, str) else v["target"]
           for v in tls["api"]["volumes"]}
assert {env["HS_TLS_CERT_FILE"], env["HS_TLS_KEY_FILE"], env["HS_MQTT_CA_FILE"]} <= mounted, mounted
print("ok: properties of the resolved configurations")
PY

# 4. The broker's access rules give devices and readers only their topics.
acl=$ROOT/docker/mosquitto/acl
$PY - "$acl" <<'PY'
import sys
rules, user = {}, None
for line in open(sys.argv[1]):
    w = line.split()
    if not w or w[0].startswith("#"):
        continue
    if w[0] == "user":
        user = w[1]
        rules[user] = []
    elif w[0] == "topic":
        assert user is not None, "a rule before any user applies to anonymous clients"
        access, topic = (w[1], w[2]) if len(w) == 3 else ("readwrite", w[1])
        rules[user].append((access, topic))
assert rules["device"] == [("write", "hs/raw/#")], rules["device"]
assert rules["reader"] == [("read", "hs/s/#"), ("read", "hs/c/#")], rules["reader"]
for svc in ["hs-writer", "hs-ingest", "hs-scheduler", "hs-tool", "hs-api"]:
    assert svc in rules, svc
    assert not any(t.startswith("hs/#") for _, t in rules[svc]), f"{svc}: too broad"
# Workflows' input schemas: the scheduler publishes them, ingest reads them.
assert ("readwrite", "hs/schemas/+") in rules["hs-scheduler"], "scheduler: hs/schemas/+ (it clears stale ones)"
assert ("read", "hs/schemas/+") in rules["hs-ingest"], "ingest: hs/schemas/+"
api = set(rules["hs-api"])
for need in [("write", "hs/api/scheduler"), ("read", "hs/reply/+"), ("write", "hs/w/api"),
             ("read", "hs/ack/api"), ("read", "hs/dead/#"), ("write", "hs/dead/api"),
             ("readwrite", "hs/status/api"), ("read", "hs/status/+"), ("write", "hs/metrics/api"),
             ("write", "hs/mon"), ("read", "hs/ctl/api"), ("write", "hs/reply/#"),
             ("read", "hs/schemas/+")]:
    assert need in api, f"hs-api: {need}"
assert not any(a != "read" for a, t in api if t.startswith(("hs/s/", "hs/c/", "hs/raw/"))), \
    "hs-api must not publish results or raw data"
print("ok: access rules")
PY
grep -q '^max_queued_messages 0' "$ROOT/docker/mosquitto/mosquitto.conf" ||
  fail "the broker must not drop queued messages (max_queued_messages 0)"
grep -q '^max_packet_size ' "$ROOT/docker/mosquitto/mosquitto.conf" ||
  fail "the broker must refuse oversized packets visibly (max_packet_size)"
grep -q '^allow_anonymous false' "$ROOT/docker/mosquitto/mosquitto.conf" ||
  fail "the broker must refuse anonymous clients"

# 5. The helper scripts parse, and no image copies secrets in.
for f in "$ROOT"/docker/*.sh "$ROOT"/docker/mosquitto/*.sh "$ROOT"/docker/tls/*.sh \
  "$ROOT"/tests/compose/*.sh; do
  bash -n "$f" || fail "$f does not parse"
done
if grep -nE '^(COPY|ADD).*(\.env|passwd|\.key|\.crt)' "$ROOT"/docker/Dockerfile \
  "$ROOT"/docker/mosquitto/Dockerfile; then
  fail "an image must not contain passwords or keys"
fi
grep -qx '\.env' "$ROOT/.dockerignore" 2>/dev/null || grep -qx '\*' "$ROOT/.dockerignore" ||
  fail ".dockerignore must keep .env out of the build context"
echo "config test OK"
