# Shared by scripts/try and scripts/test: a Python 3.11 virtualenv in .venv with the locked dependencies.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AGENTPM_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"

find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "agentpm: Python 3.11 is required (python3.11 not found on PATH)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(find_python)"
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.agentpm-installed$EXTRAS"
if [ ! -f "$STAMP" ] || [ "$ROOT/requirements.lock" -nt "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "agentpm: installing dependencies into $VENV (first run only; log: $VENV/install.log)" >&2
  if ! { "$VENV/bin/python" -m pip install --upgrade pip &&
         "$VENV/bin/python" -m pip install -c "$ROOT/requirements.lock" -e "$ROOT$EXTRAS"; } >"$VENV/install.log" 2>&1; then
    tail -n 30 "$VENV/install.log" >&2
    echo "agentpm: installing failed; see $VENV/install.log" >&2
    exit 1
  fi
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
