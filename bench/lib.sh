# Shared by the bench scripts (sourced, not run).

# measure OUT HIGHEST FORMAT LABEL command...
# Runs the command under GNU time with FORMAT (fields of `/usr/bin/time -f`), its stdout to
# OUT.out and its stderr to OUT.err, and leaves the measured line in OUT. A command that exits
# above HIGHEST failed (dropline run exits 1 when it finished with rejects, as the generated
# nights always do): its time means nothing, so the script stops with exit 70 and the command's
# stderr instead of printing a time for a crash. Each command starts after `sync`: the files an
# earlier step wrote (a run leaves gigabytes) are written back before it, not while it is timed.
measure() {
  local out="$1" highest="$2" format="$3" label="$4" status
  shift 4
  sync
  /usr/bin/time -f "$format %x" -o "$out" "$@" >"$out.out" 2>"$out.err" || true
  # GNU time writes "Command exited with non-zero status N" before the measured line.
  status=$(tail -n 1 "$out" | awk '{ print $NF }')
  if ! [ "$status" -le "$highest" ] 2>/dev/null; then
    printf '%s: %s exited with status %s:\n' "$(basename "$0")" "$label" "$status" >&2
    tail -n 20 "$out.err" >&2
    exit 70
  fi
  tail -n 1 "$out" | awk '{ $NF = ""; sub(/ $/, ""); print }' >"$out.line"
  mv "$out.line" "$out"
}
