# Sourced by scripts/run and scripts/test: make .venv and install pidflow (editable, with test extras) into it.
# Re-installs only when pyproject.toml changed, so repeated runs start at once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON_BIN="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON_BIN" -m venv .venv
fi
stamp=".venv/.pidflow-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log=".venv/install.log"
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[test]'; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "pidflow: installing into .venv failed (log above, also in $log)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
