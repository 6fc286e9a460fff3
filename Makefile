# infermon — the two commands of the README: `make demo` and `make test`.
# `make test` installs what it needs (Debian packages, npm dependencies) and runs fmt, clippy and every test.

SHELL := /bin/bash
DEBIAN_PACKAGES := prometheus prometheus-alertmanager victoria-metrics tmux
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: plugin plugin-package-check docs docs-screenshots generated test deps debian-deps fmt clippy cargo-test frontend-deps frontend-test demo plugin golden

test: deps fmt clippy generated cargo-test frontend-test plugin-package-check

deps: debian-deps frontend-deps

# Real Prometheus 2.42, promtool, Alertmanager 0.25 and VictoriaMetrics for the tests.
debian-deps:
	@missing=""; \
	for bin in prometheus promtool prometheus-alertmanager victoria-metrics tmux; do \
	  command -v $$bin >/dev/null || missing=1; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $(DEBIAN_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	fi
	@# Debian starts the services on install; the tests start their own on free ports.
	@-systemctl stop prometheus prometheus-alertmanager victoria-metrics 2>/dev/null || true

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# Generated files (rules, manifests) must match what the code generates.
generated:
	$(CARGO) run -q --locked -p infermon-cli -- rules --check
	$(CARGO) run -q --locked -p infermon-cli -- dashboards --check

cargo-test:
	$(CARGO) test --workspace --locked

frontend-deps:
	@if [ -f frontend/package-lock.json ]; then cd frontend && npm ci --no-audit --no-fund --loglevel=error; fi

frontend-test:
	@if [ -f frontend/package-lock.json ]; then \
	  cd frontend && npm run typecheck && npm run lint && npm run format:check && npm test -- --ci && npm run build; \
	fi

# Package layout check with the debug binary (files, plugin.json, handshake, zip); fast.
plugin-package-check: cargo-test frontend-test
	$(CARGO) build -q -p infermon-plugin --locked
	scripts/package-plugin.sh --no-cargo --no-frontend-build --binary target/debug/gpx_infermon --out "$$(mktemp -d)"

# The Grafana plugin package: dist/infermon-inference-datasource/ and a zip (release build).
plugin:
	scripts/package-plugin.sh

# The README's dashboard images (docs/img/dashboards/*.svg), drawn from real query results: a backfilled day of
# the simulated fleet in a temporary Prometheus, every panel answered as the plugin answers it. Reproducible.
docs: debian-deps
	$(CARGO) build --locked -p infermon-cli
	./target/debug/infermon render --out docs/img/dashboards

# Screenshots of the editors rendered by the real components (needs Debian chromium).
docs-screenshots:
	frontend/screenshot/shoot.sh

# The live demo: simulated fleet, Prometheus with infermon's rules, Alertmanager, the webhook, then `infermon top`.
demo: debian-deps
	$(CARGO) build --locked -p infermon-cli
	./target/debug/infermon demo

# Rewrite golden files after an intended change (review the diff!).
golden:
	UPDATE_GOLDEN=1 $(CARGO) test --workspace
