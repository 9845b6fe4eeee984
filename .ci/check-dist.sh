#!/usr/bin/env bash
# Release check: build the sdist and wheel, `twine check` them, then run the wheel (not an
# editable install) the ways a user would: in a clean venv, with and without the optional
# extras, and as an isolated tool (`pipx run`). Usage: bash .ci/check-dist.sh [PYTHON]
# PYTHON (default .venv/bin/python) needs the `release` extra: build, twine, pipx.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
py="${1:-.venv/bin/python}"
[[ "$py" == /* ]] || py="$repo/$py"  # absolute: later steps run in a scratch folder
work="$(mktemp -d)"
trap 'rm -rf "$work" "$repo/build"' EXIT
step() { printf -- '-- %s\n' "$*"; }
# pip install, quietly: this machine's pip config names local index folders that may not exist.
pip_install() { "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }; return "${PIPESTATUS[0]}"; }

step "python -m build (sdist, then the wheel from the sdist)"
"$py" -m build -q --outdir "$work/dist" . >/dev/null
wheel=("$work"/dist/jiraplug-*.whl)
ls -l "$work/dist" | tail -n +2
version="$("$py" -c 'import jiraplug; print(jiraplug.__version__)')"
[[ "$(basename "${wheel[0]}")" == "jiraplug-$version-py3-none-any.whl" ]] || { echo "wheel is not version $version" >&2; exit 1; }

step "twine check --strict"
"$py" -m twine check --strict "$work"/dist/*

step "clean venv: pip install the wheel, no extras"
python3 -m venv "$work/venv"
pip_install "$work/venv/bin/python" -m pip install -q "${wheel[0]}"
# (Not `tee /dev/stderr`: opening it truncates a log file that stderr is redirected to.)
shown="$("$work/venv/bin/jiraplug" --version)"
echo "$shown"
[[ "$shown" == "jiraplug $version" ]] || { echo "jiraplug --version says '$shown', not 'jiraplug $version'" >&2; exit 1; }
(cd "$work" && "$work/venv/bin/jiraplug" demo >"$work/demo.txt") || { cat "$work/demo.txt"; exit 1; }
tail -n 3 "$work/demo.txt"
(cd "$work" && "$work/venv/bin/python" "$repo/.ci/check_wheel.py" --extras missing)

step "clean venv: the extras installed"
pip_install "$work/venv/bin/python" -m pip install -q "${wheel[0]}[profiling,http2,redis]"
(cd "$work" && "$work/venv/bin/python" "$repo/.ci/check_wheel.py" --extras installed)

step "pipx run --spec WHEEL jiraplug demo (an isolated tool install, as uvx would do)"
(cd "$work" && PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/pipx/bin" \
    "$py" -m pipx run --spec "${wheel[0]}" jiraplug demo >"$work/pipx-demo.txt" 2>"$work/pipx-err.txt") \
    || { cat "$work/pipx-demo.txt" "$work/pipx-err.txt"; exit 1; }
tail -n 3 "$work/pipx-demo.txt"
step "dist check passed"
