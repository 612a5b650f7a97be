#!/usr/bin/env bash
# Validates deploy/ without a cluster, a container engine or network access beyond PyPI:
#   - the Kubernetes manifests against the Kubernetes JSON schemas (kubernetes-validate, which
#     bundles them; strict: unknown fields are errors), KEDA's ScaledObject and
#     TriggerAuthentication against deploy/k8s/schemas/keda.schema.json, the references between
#     them (targets, queue names, Secret keys), and both kustomizations (rendered with
#     `kubectl kustomize` when kubectl is there, the rendered output validated again);
#   - deploy/compose.yaml with `docker compose config -q` when Docker Compose is there, else
#     against the compose-spec schema that check-jsonschema ships, plus its references
#     (depends_on, volumes, mounted files);
#   - the RabbitMQ definitions and the Grafana dashboard as JSON.
# The validators are installed from PyPI once into a virtualenv under target/ and reused.
# Quiet on success; on failure, says what is wrong and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBERNETES_VALIDATE_VERSION=1.37.0
CHECK_JSONSCHEMA_VERSION=0.39.0
# The oldest Kubernetes release the manifests must be valid for.
KUBERNETES_VERSION=1.30.0
VENV=${LEDGERHOOK_DEPLOY_VENV:-target/deploy-venv}
WORK=target/deploy-validate

fail() {
  echo "[deploy] $*" >&2
  exit 1
}

stamp="$VENV/.validators-$KUBERNETES_VALIDATE_VERSION-$CHECK_JSONSCHEMA_VERSION"
if [ ! -f "$stamp" ]; then
  command -v python3 >/dev/null 2>&1 || fail "python3 is needed to install the validators"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" >/dev/null 2>&1 ||
    fail "python3 -m venv $VENV failed (Debian: apt-get install python3-venv)"
  log=$(mktemp)
  if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    fail "installing kubernetes-validate and check-jsonschema from PyPI failed"
  fi
  rm -f "$log"
  touch "$stamp"
fi
PY="$VENV/bin/python"
rm -rf "$WORK"
mkdir -p "$WORK"

# Runs a validator, showing its output only when it fails.
run() {
  local what=$1 out
  shift
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    fail "$what"
  fi
}

# (a) Kubernetes.
manifests=(deploy/k8s/base/namespace.yaml deploy/k8s/base/configmap.yaml
  deploy/k8s/base/secret.yaml deploy/k8s/base/router.yaml
  deploy/k8s/base/accounting-worker.yaml deploy/k8s/base/crm-worker.yaml
  deploy/k8s/hpa/hpa.yaml)
run "deploy/k8s: a manifest is not valid for Kubernetes $KUBERNETES_VERSION (above)" \
  "$VENV/bin/kubernetes-validate" --strict --quiet --no-warn -k "$KUBERNETES_VERSION" "${manifests[@]}"
run "deploy/k8s: the KEDA resources or the references between manifests are wrong (above)" \
  "$PY" - <<'EOF'
import json, pathlib, sys
import jsonschema, yaml

k8s = pathlib.Path("deploy/k8s")
errors = []

def docs(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]

schema = json.loads((k8s / "schemas/keda.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
keda = docs(k8s / "keda.yaml")
for doc in keda:
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in e.absolute_path) or "(top)"
        errors.append(f"keda.yaml {name}: {where}: {e.message}")

base = {}
for path in sorted((k8s / "base").glob("*.yaml")):
    if path.name == "kustomization.yaml":
        continue
    for doc in docs(path):
        base[(doc["kind"], doc["metadata"]["name"])] = doc
secret = base.get(("Secret", "ledgerhook-secrets"), {}).get("stringData", {})
for doc in keda:
    if doc.get("kind") == "ScaledObject":
        spec = doc.get("spec", {})
        target = spec.get("scaleTargetRef", {}).get("name")
        if ("Deployment", target) not in base:
            errors.append(f"keda.yaml: {doc['metadata']['name']} scales {target}, no such Deployment")
        want = "ledgerhook." + str(target).removeprefix("ledgerhook-").removesuffix("-worker")
        for trigger in spec.get("triggers", []):
            queue = trigger.get("metadata", {}).get("queueName")
            if queue != want:
                errors.append(f"keda.yaml: {target} scales on queue {queue}, its queue is {want}")
            auth = trigger.get("authenticationRef", {}).get("name")
            if auth and not any(d.get("kind") == "TriggerAuthentication" and d["metadata"]["name"] == auth for d in keda):
                errors.append(f"keda.yaml: no TriggerAuthentication {auth}")
    if doc.get("kind") == "TriggerAuthentication":
        for ref in doc.get("spec", {}).get("secretTargetRef", []):
            if ref.get("name") != "ledgerhook-secrets" or ref.get("key") not in secret:
                errors.append(f"keda.yaml: secretTargetRef {ref} names no key of the ledgerhook-secrets Secret")
for doc in docs(k8s / "hpa/hpa.yaml"):
    target = doc["spec"]["scaleTargetRef"]["name"]
    if ("Deployment", target) not in base:
        errors.append(f"hpa/hpa.yaml: {doc['metadata']['name']} scales {target}, no such Deployment")

for (kind, name), doc in base.items():
    if kind != "Deployment":
        continue
    pod = doc["spec"]["template"]["spec"]
    for c in pod["containers"]:
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for probe in ("livenessProbe", "readinessProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if port not in ports:
                errors.append(f"{name}: {probe} probes port {port}, not a named container port")
        for ref in c.get("envFrom", []):
            if ("Secret", ref.get("secretRef", {}).get("name")) not in base:
                errors.append(f"{name}: envFrom names a Secret that base/ does not define")
        security = c.get("securityContext", {})
        if not (security.get("runAsNonRoot") and security.get("readOnlyRootFilesystem")
                and security.get("capabilities", {}).get("drop") == ["ALL"]
                and security.get("allowPrivilegeEscalation") is False):
            errors.append(f"{name}: the container must run as non-root, read-only, with no capabilities")
        if not c.get("resources", {}).get("requests"):
            errors.append(f"{name}: no resource requests")
    for v in pod.get("volumes", []):
        if "configMap" in v and ("ConfigMap", v["configMap"]["name"]) not in base:
            errors.append(f"{name}: volume {v['name']} names a ConfigMap base/ does not define")
    pdbs = [d for (k, _), d in base.items() if k == "PodDisruptionBudget"
            and d["spec"]["selector"]["matchLabels"] == doc["spec"]["selector"]["matchLabels"]]
    if not pdbs:
        errors.append(f"{name}: no PodDisruptionBudget selects its pods")

for kustomization in (k8s / "kustomization.yaml", k8s / "base/kustomization.yaml", k8s / "hpa/kustomization.yaml"):
    for resource in yaml.safe_load(kustomization.read_text()).get("resources", []):
        if not (kustomization.parent / resource).exists():
            errors.append(f"{kustomization}: resource {resource} does not exist")

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
  run "kubectl kustomize deploy/k8s failed (above)" kubectl kustomize deploy/k8s -o "$WORK/keda.yaml"
  run "kubectl kustomize deploy/k8s/hpa failed (above)" kubectl kustomize deploy/k8s/hpa -o "$WORK/hpa.yaml"
  run "the rendered kustomizations are not valid for Kubernetes $KUBERNETES_VERSION (above)" \
    "$VENV/bin/kubernetes-validate" --strict --quiet --no-warn -k "$KUBERNETES_VERSION" \
    "$WORK/keda.yaml" "$WORK/hpa.yaml"
fi

# (b) Compose.
if docker compose version >/dev/null 2>&1; then
  run "deploy/compose.yaml: docker compose config failed (above)" \
    docker compose -f deploy/compose.yaml config -q
else
  run "deploy/compose.yaml does not match the compose-spec schema (above)" \
    "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
fi
run "deploy/compose.yaml: a reference is wrong (above)" "$PY" - <<'EOF'
import pathlib, sys
import yaml

root = pathlib.Path("deploy")
compose = yaml.safe_load((root / "compose.yaml").read_text())
services = compose["services"]
volumes = compose.get("volumes") or {}
errors = []
for name, service in services.items():
    depends = service.get("depends_on", {})
    for other in depends:
        if other not in services:
            errors.append(f"{name}: depends_on {other}, no such service")
        elif isinstance(depends, dict) and depends[other].get("condition") == "service_healthy" \
                and "healthcheck" not in services[other]:
            errors.append(f"{name}: waits for {other} to be healthy, which has no healthcheck")
    if "image" not in service and "build" not in service:
        errors.append(f"{name}: neither image nor build")
    for mount in service.get("volumes", []):
        source = mount.split(":", 1)[0]
        if source.startswith((".", "/")):
            if not (root / source).exists():
                errors.append(f"{name}: mounts {source}, which does not exist")
        elif source not in volumes:
            errors.append(f"{name}: named volume {source} is not declared")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF

# (c) JSON documents.
for file in deploy/rabbitmq/definitions.json deploy/grafana/ledgerhook.json \
  deploy/k8s/schemas/keda.schema.json; do
  run "$file is not valid JSON (above)" "$PY" -m json.tool "$file" /dev/null
done
run "deploy/grafana/ledgerhook.json is not a dashboard with panels and queries (above)" \
  "$PY" - <<'EOF'
import json, sys

dash = json.load(open("deploy/grafana/ledgerhook.json"))
errors = []
if not dash.get("title") or not dash.get("uid"):
    errors.append("the dashboard needs a title and a uid")
ids = set()
for panel in dash.get("panels", []):
    if panel["id"] in ids:
        errors.append(f"panel id {panel['id']} is used twice")
    ids.add(panel["id"])
    if panel["type"] != "row" and not all(t.get("expr") for t in panel.get("targets", [])):
        errors.append(f"panel {panel['title']!r} has a target without a query")
if not ids:
    errors.append("no panels")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
