#!/usr/bin/env bash
# Set-up for `make run` / `make test` on a fresh Debian machine: Debian packages the
# project needs (installed when missing and run as root), then .venv/ with the project.
set -euo pipefail
cd "$(dirname "$0")/.."

# fonts-noto-cjk: Noto Serif CJK SC for certificates; libharfbuzz-subset0: without it
# WeasyPrint embeds whole CJK fonts (~60x slower); poppler-utils: tests read PDFs back.
# chromium: the dashboard test renders the page in headless Chromium.
# sqlite3: SECURITY.md's SQLite backup commands (tests run them as written; pg_dump comes
# with PostgreSQL itself).
DEBIAN_PACKAGES=(fonts-noto-cjk libharfbuzz-subset0 poppler-utils libpango-1.0-0 libpangoft2-1.0-0 chromium wrk sqlite3)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

python=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [[ -z $python ]]; then
  echo "setup: Python 3.11 or newer is needed (python3.11 -m venv must work)" >&2
  exit 1
fi

stamp=.venv/.installed
wanted=$(sha256sum pyproject.toml | cut -c1-64)
if [[ -f $stamp && $(cat "$stamp") == "$wanted" && -x .venv/bin/skills-registry ]]; then
  exit 0
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv with $python"
  "$python" -m venv .venv
fi
echo "setup: installing the project into .venv"
# This machine's pip config names local mirrors that may be absent: drop those warnings.
quiet() { { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2; }
.venv/bin/python -m pip install -q --upgrade pip 2> >(quiet) >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]' 2> >(quiet)
echo "$wanted" > "$stamp"
