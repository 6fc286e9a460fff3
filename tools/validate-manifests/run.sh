#!/usr/bin/env bash
# Strict validation of every manifest under manifests/ (issue 4, "Proof"):
#  - prometheus-operator objects (ServiceMonitor, PodMonitor, PrometheusRule, AlertmanagerConfig): the OpenAPI
#    schemas shipped in @kubernetes-models/prometheus-operator, rejecting undeclared fields (validate-crds.mjs);
#  - core objects (Deployment, Service, Secret, PVC, …): `kubernetes-validate --strict` (PyPI), which rejects
#    unknown fields; a document of a kind it has no schema for is an error here, not a warning;
#  - kustomization.yaml: every listed resource exists.
# Installs what it needs on first use: `npm ci` (package-lock.json) into node_modules/, and the pinned
# requirements.txt into .venv/. Needs node ≥ 20, npm and python3 (with venv) on PATH.
#
# Usage: tools/validate-manifests/run.sh [DIR_OR_FILE…]   (default: the repository's manifests/)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

for tool in node npm python3 flock; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required (Debian: nodejs, npm, python3-venv)" >&2; exit 2; }
done

# 1. Tools, installed once and reinstalled when the lockfiles change; serialised, as tests run this in parallel.
exec 9>"$here/.install.lock"
flock 9
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.installed-package-lock.json"; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
  cp "$here/package-lock.json" "$here/node_modules/.installed-package-lock.json"
fi
if [ ! -x "$here/.venv/bin/kubernetes-validate" ] || ! cmp -s "$here/requirements.txt" "$here/.venv/requirements.installed"; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
  cp "$here/requirements.txt" "$here/.venv/requirements.installed"
fi
flock -u 9

# 2. The files: every *.yaml / *.yml under the given paths.
[ "$#" -gt 0 ] || set -- "$repo/manifests"
mapfile -t files < <(find "$@" -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
[ "${#files[@]}" -gt 0 ] || { echo "run.sh: no YAML file under $*" >&2; exit 2; }
# Plain Prometheus rule files and the SLO spec are not Kubernetes objects (promtool and `infermon rules`
# check those).
k8s=()
for f in "${files[@]}"; do
  case "$f" in
    */prometheus/*.rules.yml | */slo.yaml) ;;
    *) k8s+=("$f") ;;
  esac
done

status=0

# 3. prometheus-operator objects.
node "$here/validate-crds.mjs" "${k8s[@]}" || status=1

# 4. Core objects. kubernetes-validate only warns about kinds it has no schema for: that is an error unless the
#    kind is a prometheus-operator one (step 3) or a Kustomization (step 5).
out="$("$here/.venv/bin/kubernetes-validate" --strict "${k8s[@]}" 2>&1)" || status=1
printf '%s\n' "$out"
if printf '%s\n' "$out" | grep "Couldn't find schema" | grep -v -e 'api version monitoring.coreos.com/' -e 'api version kustomize.config.k8s.io/' >/dev/null; then
  echo "FAIL: a document has a kind no schema knows (typo in apiVersion or kind?)" >&2
  status=1
fi

# 5. Kustomizations: listed resources exist.
for f in "${k8s[@]}"; do
  [ "$(basename "$f")" = kustomization.yaml ] || continue
  dir="$(dirname "$f")"
  for r in $(sed -n '/^resources:/,/^[^ -]/p' "$f" | sed -n 's/^- //p'); do
    if [ -e "$dir/$r" ]; then echo "ok   $f lists $r"; else echo "FAIL $f lists $r, which does not exist"; status=1; fi
  done
done

if [ "$status" -eq 0 ]; then echo "All manifests valid."; else echo "Some manifests are invalid." >&2; fi
exit "$status"
