#!/bin/sh
# patchday's in-container supervisor, for the process restart mode
# (`patchday up --runtime compose --restart-mode process`, and Swarm's default): the
# container stays up and the peer process inside it is stopped and started again, so
# that a storm costs a process restart (as with local processes), not a container
# restart (network setup, runc, the shim: about ten times the CPU, measured in
# BENCHMARKS.md), and a Swarm task, whose container never stops, keeps its DNS name.
#
#   /bin/sh /app/supervise.sh node [flags] /app/peer.mjs
#
# It runs the command at once and then obeys signals, which the orchestrator sends
# through the Docker engine (`kill` with a signal; tini, PID 1, passes them on):
#   USR1  stop the peer: SIGTERM (the orchestrator enforces the grace period with HUP)
#   HUP   kill the peer: SIGKILL (a power cut)
#   USR2  start the peer again if it is not running
#   TERM, INT  stop the peer and leave (docker stop): the container ends with its code
# A peer that exits by itself is not restarted: the orchestrator owns every restart.
#
# State: $PATCHDAY_CTL_DIR/<hostname> holds one line, rewritten at every change (the
# hostname: compose's short container id, or a Swarm task's `peer-<slot>` or service name;
# with PATCHDAY_ENV_KEY=container-id, on the host network where every container has the
# host's hostname, the container's short id read from /proc/self/mountinfo, as the peer does):
#   running <starts> <pid>     or     exited <starts> <exit code>
# (the exit code of a signalled peer is 128 + the signal: 137 after SIGKILL). The
# orchestrator reads it to list, stop and start peers; the file's modification time
# is when the change happened. POSIX sh and one external program (sleep), so that
# it runs on node:22-bookworm-slim and on the offline base alike.
set -u

[ "$#" -gt 0 ] || { echo "supervise.sh: no command to run" >&2; exit 2; }
CTL_DIR="${PATCHDAY_CTL_DIR:-/tmp}"

# The container's short id (12 of its 64 hex digits), from the first mount of a Docker
# containers/<id>/ folder (its hostname, hosts and resolv.conf); empty when there is none.
# PATCHDAY_MOUNTINFO is for tests only. No sed or grep here: read, case and expansions.
container_id () {
  while read -r line; do
    case "$line" in
      */containers/*/*)
        rest=${line#*/containers/}
        id=${rest%%/*}
        case "$id" in *[!0-9a-f]*) continue ;; esac
        [ "${#id}" -eq 64 ] || continue
        printf '%s\n' "${id%"${id#????????????}"}"
        return 0 ;;
    esac
  done < "${PATCHDAY_MOUNTINFO:-/proc/self/mountinfo}"
  return 1
}

if [ "${PATCHDAY_ENV_KEY:-hostname}" = container-id ]; then
  HOST=$(container_id) || { echo "supervise.sh: PATCHDAY_ENV_KEY=container-id but no container id in ${PATCHDAY_MOUNTINFO:-/proc/self/mountinfo}" >&2; exit 2; }
else
  read -r HOST < /etc/hostname || HOST=peer
fi
STATE="$CTL_DIR/$HOST"

child=''      # pid of the running peer, empty when none
idler=''      # pid of the sleep that holds the loop while no peer runs
starts=0
want=run      # run | stop | exit
code=0

record () { printf '%s\n' "$*" > "$STATE" || echo "supervise.sh: cannot write $STATE" >&2; }

launch () {
  starts=$((starts + 1))
  "$@" &
  child=$!
  record "running $starts $child"
}

signal_child () { [ -n "$child" ] && kill "-$1" "$child" 2>/dev/null; }
wake () { [ -n "$idler" ] && kill "$idler" 2>/dev/null; }

trap 'want=stop; signal_child TERM' USR1
trap 'want=stop; signal_child KILL' HUP
trap 'want=run; wake' USR2
trap 'want=exit; signal_child TERM; wake' TERM INT

launch "$@"
while :; do
  if [ -n "$child" ]; then
    # wait returns early (status > 128) when a trapped signal arrives: the peer may still
    # run, or be a zombie not yet collected; either way kill -0 finds it and we wait again.
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null && continue
    # Gone. If the shell collected it while a trap ran, this wait still has its real code.
    wait "$child" 2>/dev/null
    s=$?
    [ "$s" -ne 127 ] && status=$s
    child=''
    code=$status
    record "exited $starts $code"
    [ "$want" = run ] && want=stop
  elif [ "$want" = exit ]; then
    exit "$code"
  elif [ "$want" = run ]; then
    launch "$@"
  else
    sleep 3600 </dev/null >/dev/null 2>&1 &
    idler=$!
    # A USR2 that came before idler was set found nothing to wake: it changed want instead.
    [ "$want" = stop ] && wait "$idler" 2>/dev/null
    kill "$idler" 2>/dev/null
    idler=''
  fi
done
