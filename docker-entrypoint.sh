#!/bin/sh
# Drop to an unprivileged user before running newsfeed, with output files the host user owns.
# The output directory (NEWSFEED_OUTPUT_DIR, ./out on the host in compose) decides who that is:
# - owned by a non-root user (./out as cloned, or made by the host user): run as that uid:gid, so the
#   host user can read and delete what the worker writes;
# - owned by root (Docker created the bind-mount source itself): run as the image's user `newsfeed`
#   (uid 10001) and hand it the directory, so nothing is ever lost to a PermissionError;
# - NEWSFEED_UID / NEWSFEED_GID set: run as those, and hand them the directory.
# Already unprivileged (compose `user:`, `docker run --user`): run as is.
set -eu
out="${NEWSFEED_OUTPUT_DIR:-/app/out}"
if [ "$(id -u)" != 0 ]; then
    exec "$@"
fi
mkdir -p "$out"
uid="${NEWSFEED_UID:-$(stat -c %u "$out")}"
gid="${NEWSFEED_GID:-$(stat -c %g "$out")}"
if [ "$uid" = 0 ]; then
    uid="$(id -u newsfeed)"
    gid="$(id -g newsfeed)"
fi
if [ "$(stat -c %u:%g "$out")" != "$uid:$gid" ]; then
    chown "$uid:$gid" "$out"
fi
# the home of the user the worker runs as, for libraries that keep caches there
export HOME="$(getent passwd "$uid" | cut -d: -f6)"
if [ -z "$HOME" ]; then
    export HOME="/tmp/newsfeed-home-$uid"
    mkdir -p "$HOME" && chown "$uid:$gid" "$HOME"
fi
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@"
