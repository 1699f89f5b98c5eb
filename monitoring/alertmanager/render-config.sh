#!/bin/sh
# Renders the Alertmanager config template: every ${ALERT_WEBHOOK_URL} becomes the value of
# that environment variable. Usage: render-config.sh TEMPLATE OUTPUT
#
# awk copies the value verbatim (sed would read & and | in a URL's query as syntax). It runs
# in the Alertmanager image, whose shell and awk are BusyBox's, so it stays plain POSIX.
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: $0 TEMPLATE OUTPUT" >&2
  exit 2
fi

url=${ALERT_WEBHOOK_URL:-}
case "$url" in
  http://?* | https://?*) ;;
  *)
    echo "ALERT_WEBHOOK_URL must be an http:// or https:// URL (it is '${url}')" >&2
    exit 2
    ;;
esac
case "$url" in
  *"'"* | *' '*)
    echo "ALERT_WEBHOOK_URL must not contain quotes or spaces; percent-encode them" >&2
    exit 2
    ;;
esac

awk '
  BEGIN { key = "${ALERT_WEBHOOK_URL}"; url = ENVIRON["ALERT_WEBHOOK_URL"] }
  {
    line = $0
    out = ""
    while ((i = index(line, key)) > 0) {
      out = out substr(line, 1, i - 1) url
      line = substr(line, i + length(key))
    }
    print out line
  }
' "$1" >"$2.tmp"
mv "$2.tmp" "$2"
