#!/bin/sh
# `dspcc --help`, each command's `--help` and the man page (docs/dspcc.1)
# agree with the options each command accepts:
#   - every option a command's --help names is accepted by the command;
#   - the man page names it too (in the command's SYNOPSIS line, its entry
#     under COMMANDS, or COMMON OPTIONS);
#   - every option the man page's entry for a command names is accepted;
#   - every option in a command's table (its cmd_*.c: struct option
#     entries, the client's shared CLI_OPT_*_ENTRY ones and the short
#     options it gives cli_opts_init) is in its --help;
#   - every command `dspcc --help` lists has a man entry and a --help.
# "Accepted" means the command does not answer `unknown option`. Prints TAP.
set -u
: "${BUILD:=build}"
dspcc="$BUILD/dspcc"
man=docs/dspcc.1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# The man page with roff's escapes and font requests taken out.
sed -e 's/\\-/-/g' -e 's/\\(-[>]//g' -e 's/\\f[BIRP]//g' -e 's/^\.[A-Z][A-Z]* *//' "$man" >"$tmp/man.txt"

# Options in a text: --long-names and the short ones dspcc has. Text that
# quotes another command (`dspcc eval --state ...`, `$(pkg-config --libs
# dsprt)`, ".B eval --batch") names that command's options, not these.
options() {
    sed -E -e 's/`[^`]*`//g' -e 's/\$\(pkg-config[^)]*\)//g' -e '/dspcc (check|dump-ir|eval|prompt|optimize|build|fmt|init)/d' \
        -e '/^\.B (check|dump-ir|eval|prompt|optimize|build|fmt|init) -/d' "$1" |
        grep -oE '(^|[^A-Za-z0-9_-])(--[a-z][a-z0-9-]*[a-z0-9]|-j|-o|-q|-MD|-MF)' |
        sed -E 's/^[^-]*//' | sort -u
}

# A command's part of the man page: its SYNOPSIS line (from `dspcc CMD` to
# the next .br) and its entry under COMMANDS (from `.B CMD` after .TP to the
# next .TP or section).
man_part() {
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$man" | awk -v cmd="$1" '
        /^\.SH/ { section = $2; on = 0 }
        section == "SYNOPSIS" { if ($0 == ".B dspcc " cmd) on = 1; else if ($0 == ".br") on = 0 }
        section == "COMMANDS" { if ($0 == ".TP") on = 0; else if (prev == ".TP" && $0 == ".B " cmd) on = 1 }
        on { print }
        { prev = $0 }
    '
}

# Options COMMON OPTIONS lists (each command that takes them says so in
# its --help, which the first check holds it to).
awk '/^\.SH/ { s = $0 } s ~ /COMMON OPTIONS/' "$man" | sed 's/\\-/-/g' >"$tmp/common.man"
options "$tmp/common.man" >"$tmp/common.opts"

accepted() { # command, option: 0 unless the command says `unknown option`
    "$dspcc" "$1" "$2" >/dev/null 2>"$tmp/acc.err" </dev/null
    ! grep -q "unknown option" "$tmp/acc.err"
}

commands=$("$dspcc" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
[ -n "$commands" ] || notok "dspcc --help lists its commands"

for cmd in $commands; do
    if ! "$dspcc" "$cmd" --help >"$tmp/$cmd.help" 2>&1; then
        notok "dspcc $cmd --help exits 0" "$(head -n 3 "$tmp/$cmd.help")"
        continue
    fi
    man_part "$cmd" >"$tmp/$cmd.man"
    if grep -q "^\.B $cmd\$" "$tmp/$cmd.man" && grep -q "^\.B dspcc $cmd\$" "$tmp/$cmd.man"; then
        ok "$cmd has a man page entry"
    else
        notok "$cmd has a man page entry" "docs/dspcc.1 has no \`.B $cmd\` under COMMANDS or no SYNOPSIS line"
    fi
    options "$tmp/$cmd.help" | grep -vx -- '--help' >"$tmp/$cmd.hopts"
    options "$tmp/$cmd.man" >"$tmp/$cmd.mopts"

    missing=""
    for o in $(cat "$tmp/$cmd.hopts"); do accepted "$cmd" "$o" || missing="$missing $o"; done
    if [ -z "$missing" ]; then ok "$cmd accepts every option its --help names"
    else notok "$cmd accepts every option its --help names" "refused:$missing"; fi

    missing=""
    for o in $(cat "$tmp/$cmd.hopts"); do
        grep -qx -- "$o" "$tmp/$cmd.mopts" || grep -qx -- "$o" "$tmp/common.opts" || missing="$missing $o"
    done
    if [ -z "$missing" ]; then ok "the man page names every option of dspcc $cmd --help"
    else notok "the man page names every option of dspcc $cmd --help" "missing from $cmd's entry in docs/dspcc.1:$missing"; fi

    missing=""
    for o in $(cat "$tmp/$cmd.mopts"); do accepted "$cmd" "$o" || missing="$missing $o"; done
    if [ -z "$missing" ]; then ok "$cmd accepts every option its man page entry names"
    else notok "$cmd accepts every option its man page entry names" "refused:$missing"; fi

    # The options in the command's table (cli_options.h).
    src=$(ls compiler/cmd_"$(echo "$cmd" | tr - _)"*.c 2>/dev/null)
    if [ -n "$src" ]; then
        {
            grep -hoE '\{ "[a-z][a-z0-9-]*", (no|required)_argument' $src | sed -E 's/\{ "([^"]*)".*/--\1/'
            grep -hoE 'CLI_OPT_[A-Z_]+_ENTRY' $src | sed -E 's/CLI_OPT_([A-Z_]+)_ENTRY/--\1/' | tr 'A-Z_' 'a-z-'
            # Short options; build's -M is GCC's -MD and -MF.
            grep -hoE 'cli_opts_init\([^"]*"[A-Za-z:]*"' $src | sed -E 's/.*"([^"]*)"$/\1/' | tr -d ':' |
                grep -o . | sed -e 's/^M$/MD\nMF/' | sed 's/^/-/'
        } | sort -u >"$tmp/$cmd.sopts"
        [ -s "$tmp/$cmd.sopts" ] || [ "$cmd" = dump-ir ] || notok "dspcc $cmd: its option table is found" "in $src"
        missing=""
        for o in $(cat "$tmp/$cmd.sopts"); do
            grep -q -- "$o\([^a-z-]\|$\)" "$tmp/$cmd.help" || missing="$missing $o"
        done
        if [ -z "$missing" ]; then ok "dspcc $cmd --help names every option its parser takes"
        else notok "dspcc $cmd --help names every option its parser takes" "not in --help:$missing"; fi
    fi
done

# The man page itself renders without a warning (where groff is installed).
if command -v groff >/dev/null 2>&1; then
    warnings=$(groff -man -ww -z "$man" 2>&1)
    if [ -z "$warnings" ]; then ok "docs/dspcc.1 renders without warnings"
    else notok "docs/dspcc.1 renders without warnings" "$(echo "$warnings" | head -n 3)"; fi
else
    echo "ok - docs/dspcc.1 renders without warnings # SKIP groff is not installed"
fi
