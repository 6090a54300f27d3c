#!/usr/bin/env bash
# Prints the path of a nats-server 2.10 binary (the auth callout needs 2.10+; Debian bookworm ships 2.9).
# Uses $SNOWGATE_NATS_SERVER_210 when set; else fetches Debian trixie's nats-server package into a
# private cache with a private apt state, so the system's apt sources and packages stay as they are.
set -euo pipefail

if [[ -n "${SNOWGATE_NATS_SERVER_210:-}" ]]; then
  [[ -x "$SNOWGATE_NATS_SERVER_210" ]] || { echo "SNOWGATE_NATS_SERVER_210 is not executable: $SNOWGATE_NATS_SERVER_210" >&2; exit 1; }
  echo "$SNOWGATE_NATS_SERVER_210"
  exit 0
fi

cache="${SNOWGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snowgate}/nats-server-trixie"
bin="$cache/root/usr/sbin/nats-server"
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$cache/root"
cat >"$apt_dir/sources.list" <<'LIST'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
LIST
opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/parts"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::State::Status=/dev/null"
  -o "APT::Get::List-Cleanup=0"
  -o "APT::Sandbox::User=root"
)
apt-get "${opts[@]}" update -qq >&2
(cd "$cache" && apt-get "${opts[@]}" download -qq nats-server >&2)
dpkg-deb -x "$(ls "$cache"/nats-server_*.deb | head -n 1)" "$cache/root"
"$bin" --version >&2
echo "$bin"
