#!/bin/sh
# Dependencies of the real-browser tests (tests/browser) and benchmarks/bench_browser.py.
# Runs as root on a fresh Debian machine (CI); idempotent. Never runs `playwright install`:
# Playwright (python, from pip) drives Debian's /usr/bin/chromium through executable_path.
# Usage: scripts/browser_deps.sh [path/to/venv]   (default: .venv)
set -eu
VENV="${1:-.venv}"
if [ ! -x /usr/bin/chromium ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi
/usr/bin/chromium --version 2>/dev/null
"$VENV/bin/python" -c "import playwright" 2>/dev/null || "$VENV/bin/pip" install "playwright>=1.44"
"$VENV/bin/python" -c "import jupyterlab, anywidget" 2>/dev/null || "$VENV/bin/pip" install "jupyterlab>=4.1" "anywidget>=0.9.13"
# anywidget's lab extension comes with the pip package; check that JupyterLab sees it
"$VENV/bin/jupyter" labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^\s*anywidget v[0-9.]+ enabled OK' \
    || { echo "anywidget lab extension missing or disabled" >&2; exit 1; }
