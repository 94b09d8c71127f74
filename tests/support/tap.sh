# tests/support/tap.sh — sourced by shell tests that print TAP lines.

check() { # name, command...: "ok - name" if the command succeeds, else "not ok - name"
    name=$1
    shift
    if "$@"; then echo "ok - $name"; else echo "not ok - $name"; fi
}

# json_key FILE KEY: the number after "KEY": in a JSON file printed one key
# a line (cJSON's layout), the first if there are several.
json_key() {
    sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\\([-0-9.eE+]*\\),*\$/\\1/p" "$1" | head -n 1
}
