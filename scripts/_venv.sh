# Sourced by the other scripts: make sure .venv exists with the project installed.
# Dependencies come from requirements.lock (the pinned versions CI tested), the project
# itself is installed on top. Re-installs only when pyproject.toml or the
# lock changed since the last install. PYTHON=/path/to/python3.x picks the interpreter.
set -euo pipefail

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "toutiao needs Python 3.11, 3.12 or 3.13 (set PYTHON=/path/to/python3.x)" >&2
  return 1
}

ensure_venv() {
  local extras="$1" venv="${VENV:-.venv}"
  local stamp="$venv/.installed-$extras"
  if [ ! -x "$venv/bin/python" ]; then
    "$(find_python)" -m venv "$venv"
  fi
  local want
  want="$(cat pyproject.toml requirements.lock | "$venv/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
    # Resolves only what the lock lacks (a dependency added without scripts/lock.sh; the lock
    # test in tests/test_lock.py then fails until the lock is refreshed).
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
    echo "$want" > "$stamp"
  fi
}
