# ensure_chromium: make sure `chromium` is on PATH for the dashboard's browser tests.
# Sourced by scripts/test.sh. As root with apt-get (Debian, and so CI) it installs Debian's
# chromium; elsewhere (no root, macOS) it cannot, so it says how to and returns 1, before
# any time is spent on the virtual environment. Playwright's own browser download is never used.

ensure_chromium() {
    command -v chromium >/dev/null && return 0
    if [ "${EUID:-1}" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        command -v chromium >/dev/null && return 0
        printf '%s\n' "error: apt-get could not install chromium (see its messages above); the dashboard's browser tests need it" >&2
        return 1
    fi
    printf '%s\n' \
        "error: the dashboard's browser tests need Chromium, as 'chromium' on PATH, and this script" \
        "can install it only as root with apt-get. Install it, then run 'bash scripts/test.sh' again:" \
        "  Debian, Ubuntu:  sudo apt-get install chromium" \
        "  macOS:           brew install --cask chromium, then put it on PATH:" \
        "                   ln -s /Applications/Chromium.app/Contents/MacOS/Chromium /usr/local/bin/chromium" \
        "  elsewhere:       put a Chromium binary named 'chromium' on PATH" >&2
    return 1
}
