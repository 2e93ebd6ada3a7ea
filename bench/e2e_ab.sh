#!/usr/bin/env bash
# One customer's first-delta overhead, alternating two checkouts of Parley on one machine.
#
#   bench/e2e_ab.sh OLD_CHECKOUT NEW_CHECKOUT [REPS=3] [QUESTIONS=smalltalk|kb] [ROUNDS=40]
#
# Each run restarts `python -m chatsite.runner` from that checkout (port 8011, rate limits
# off, DATA_DIR shared: var/evalq of the directory this is run from, with a trained
# responder), waits for /readyz, then runs bench/e2e.py for one customer. Alternating the
# two versions keeps the machine's slow and fast minutes from favouring either.
set -euo pipefail
old=$1 new=$2 reps=${3:-3} questions=${4:-smalltalk} rounds=${5:-40}
here=$(pwd)
data=${DATA_DIR:-$here/var/evalq}
# The next server starts once the last one has gone: its embedded Redis removes its socket file
# on the way out, which would take the new one's.
stop() {
  pkill -INT -f "python -m chatsite.runner" || true
  while pgrep -f "python -m chatsite.runner" >/dev/null; do sleep 1; done
  sleep 1
}
trap stop EXIT
for _ in $(seq "$reps"); do
  for dir in "$old" "$new"; do
    stop
    (cd "$dir" && DATA_DIR=$data PORT=8011 RATE_LIMIT_MESSAGES_PER_ADDRESS=0 \
      RATE_LIMIT_CONVERSATIONS_PER_ADDRESS=0 RATE_LIMIT_MESSAGES_PER_CONVERSATION=0 \
      nohup "$here/.venv/bin/python" -m chatsite.runner >/tmp/parley-ab-server.log 2>&1 &)
    for _ in $(seq 90); do sleep 1; curl -sf http://127.0.0.1:8011/readyz >/dev/null && break; done
    sleep 3
    "$here/.venv/bin/python" "$here/bench/e2e.py" --url http://127.0.0.1:8011 --concurrency 1 \
      --rounds "$rounds" --data-dir "$data" --questions "$questions" | grep -E "overhead|worker side" |
      sed "s|^ *|$dir: |"
  done
done
