# Shared by scripts/run and scripts/test (sourced, not executed).
# Expects ROOT (the repository) to be set and the current directory to be ROOT.

VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python
STAMP=$VENV/.portal-installed   # line 1: sha256 of pyproject.toml; line 2: extras installed with it

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }
can_apt() { is_root && command -v apt-get >/dev/null 2>&1; }

apt_install() {
    # apt_install PKG...: install Debian packages (root only), updating the index once per run.
    can_apt || return 1
    if [[ -z ${_APT_UPDATED:-} ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
        _APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# deb_installed PKG: true when the Debian package PKG is installed (false where there is no dpkg).
deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_venv EXTRAS: a virtualenv in $VENV with the project installed editable with these extras
# (comma list, e.g. "test"). pip runs only when pyproject.toml changed since the last install, or
# when an extra is asked for that was not installed with it.
ensure_venv() {
    local extras=$1
    command -v python3 >/dev/null 2>&1 || die "python3 is needed (Debian: apt-get install python3 python3-venv)"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "Python >= 3.11 is needed; python3 is $(python3 -V 2>&1)"
    if [[ ! -x $PY ]]; then
        say "creating $VENV"
        if ! python3 -m venv "$VENV" 2>/dev/null; then
            # Debian ships venv (ensurepip) as a separate package.
            rm -rf "$VENV"
            apt_install python3-venv || die "python3 -m venv failed; install python3-venv and run again"
            python3 -m venv "$VENV"
        fi
    fi
    local hash installed_hash="" installed_extras="" want e
    hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [[ -f $STAMP ]]; then
        { read -r installed_hash; read -r installed_extras; } <"$STAMP" || true
    fi
    want=$extras
    if [[ $installed_hash == "$hash" ]]; then
        local missing=0
        IFS=, read -ra e <<<"$extras"
        for x in "${e[@]}"; do
            [[ ,$installed_extras, == *",$x,"* ]] || missing=1
        done
        [[ $missing -eq 0 ]] && return 0
        # Keep what was installed with this pyproject, add what is asked for now.
        want=$(printf '%s\n' ${installed_extras//,/ } ${extras//,/ } | sort -u | paste -sd, -)
    fi
    say "installing the project and its dependencies into $VENV (extras: $want)"
    # vendor/wheels: what the local package index lacks (vendor/wheels/README.md), so no network is needed.
    "$PY" -m pip install --disable-pip-version-check -q --find-links "$ROOT/vendor/wheels" -e ".[$want]" >&2 \
        || die "pip install failed"
    printf '%s\n%s\n' "$hash" "$want" >"$STAMP"
}

# ensure_pdf_packages [test]: what the worker needs to print PDF documents with WeasyPrint (Pango
# with its FreeType backend, HarfBuzz's subsetter, and the Chinese fonts of fonts-noto-cjk), and with
# "test" what the tests read PDFs with (poppler-utils: pdftotext, pdftoppm; zbar-tools: zbarimg for
# the QR code). Each is installed with apt when missing and we are root on Debian; a warning
# otherwise (documents then fail with a reason, and the PDF tests fail).
ensure_pdf_packages() {
    local missing=() lib
    local -A soname=([libpango-1.0-0]=libpango-1.0.so [libpangoft2-1.0-0]=libpangoft2-1.0.so
                     [libharfbuzz-subset0]=libharfbuzz-subset.so)
    for lib in "${!soname[@]}"; do
        deb_installed "$lib" || ldconfig -p 2>/dev/null | grep -q "${soname[$lib]}" || missing+=("$lib")
    done
    deb_installed fonts-noto-cjk || fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || missing+=(fonts-noto-cjk)
    if [[ ${1:-} == test ]]; then
        { command -v pdftotext && command -v pdftoppm; } >/dev/null 2>&1 || missing+=(poppler-utils)
        command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
    fi
    if ((${#missing[@]})); then
        say "installing ${missing[*]} (PDF documents)"
        apt_install "${missing[@]}" || warn "could not install ${missing[*]}: PDF documents need them (root and apt-get)"
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# redis_ping URL: true when a Redis answers PING at URL within 2 s.
redis_ping() {
    "$PY" - "$1" <<'EOF' 2>/dev/null
import sys
import redis
try:
    ok = redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1, socket_timeout=1).ping()
except Exception:
    ok = False
sys.exit(0 if ok else 1)
EOF
}

# start_private_redis BINARY DIR: a throw-away redis-server on a free port, no persistence, its
# files in DIR. Sets PRIVATE_REDIS_PID and PRIVATE_REDIS_URL. It runs in a session of its own, so
# a Ctrl-C in the terminal reaches the script, not Redis: the script stops it last
# (stop_private_redis), after everything that uses it.
start_private_redis() {
    local bin=$1 dir=$2 port i
    mkdir -p "$dir"
    port=$(free_port)
    local -a session=()
    command -v setsid >/dev/null 2>&1 && session=(setsid)
    "${session[@]}" "$bin" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
        --logfile "$dir/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
    PRIVATE_REDIS_PID=$!
    PRIVATE_REDIS_URL="redis://127.0.0.1:$port/0"
    for i in $(seq 1 50); do
        redis_ping "$PRIVATE_REDIS_URL" && return 0
        kill -0 "$PRIVATE_REDIS_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
    die "the private redis-server ($bin) did not start"
}

stop_private_redis() {
    if [[ -n ${PRIVATE_REDIS_PID:-} ]] && kill -0 "$PRIVATE_REDIS_PID" 2>/dev/null; then
        kill -TERM "$PRIVATE_REDIS_PID" 2>/dev/null || true
        wait "$PRIVATE_REDIS_PID" 2>/dev/null || true
    fi
    PRIVATE_REDIS_PID=
}

# ---------------------------------------------------------------- demo secrets (scripts/run)
declare -gA DEMO_SOURCE=()  # NAME -> where demo_value found it: environment, file or generated

# demo_value NAME GENERATOR: $NAME from the environment, else the last NAME= line of $DEMO_ENV,
# else generated once by the Python expression GENERATOR (with `secrets` imported) and appended to
# $DEMO_ENV (mode 600), so that restarts print the same one. A value from the environment is
# used as it is and never written to the file. Exports NAME and sets DEMO_SOURCE[NAME].
demo_value() {
    local name=$1 gen=$2 value=""
    if [[ -n ${!name:-} ]]; then
        DEMO_SOURCE[$name]=environment
        export "${name?}"
        return 0
    fi
    if [[ -f $DEMO_ENV ]]; then
        value=$(sed -n "s/^$name=//p" "$DEMO_ENV" | tail -n 1)
    fi
    if [[ -n $value ]]; then
        DEMO_SOURCE[$name]=file
    else
        value=$("$PY" -c "import secrets; print($gen)")
        (umask 077 && printf '%s=%s\n' "$name" "$value" >>"$DEMO_ENV")
        DEMO_SOURCE[$name]=generated
    fi
    printf -v "$name" '%s' "$value"
    export "${name?}"
}

# demo_value_note NAME WHAT: one sentence saying where WHAT (e.g. "The API key") comes from.
demo_value_note() {
    local name=$1 what=$2 file=${DEMO_ENV#"$ROOT"/}
    if [[ ${DEMO_SOURCE[$name]:-} == environment ]]; then
        printf '%s comes from %s in the environment (not stored in %s).\n' "$what" "$name" "$file"
    else
        printf '%s is kept in %s.\n' "$what" "$file"
    fi
}

# demo_logins: one line per login `flask demo seed` creates (USERS of app/demo/data.py, read
# without importing the app): role, email and reseller.
demo_logins() {
    "$PY" - "$ROOT/app/demo/data.py" <<'PYEOF'
import ast
import sys

def enum_values(path, name):
    """Member name -> value of the StrEnum ``name`` in ``path``."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    return {a.targets[0].id: a.value.value for a in cls.body if isinstance(a, ast.Assign)}


class RoleNames(ast.NodeTransformer):  # Role.FINANCE -> "finance", so the literal can be read
    def visit_Attribute(self, node):
        if isinstance(node.value, ast.Name) and node.value.id == "Role":
            return ast.copy_location(ast.Constant(ROLES[node.attr]), node)
        return node


ROLES = enum_values(sys.argv[1].replace("demo/data.py", "domain/enums.py"), "Role")
tree = ast.parse(open(sys.argv[1], encoding="utf-8").read())
value = next(node.value for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
             and any(getattr(t, "id", "") == "USERS" for t in getattr(node, "targets", [getattr(node, "target", None)])))
users = ast.literal_eval(RoleNames().visit(value))
for email, role, reseller, _name in users:
    print(f"{role.replace('_', ' '):<18} {email:<26} {reseller or ''}".rstrip())
PYEOF
}
