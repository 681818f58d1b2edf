#!/bin/bash
# A signal while a large -s buffer is being grown (kernel case
# signals.txt): starts tstap with -s 2000 (the per-CPU buffer is grown in
# 64 MB steps, each one write(2) to buffer_size_kb of some 250 ms here),
# sends SIG as soon as the run's instance directory exists, and says how the
# run ended: its status, its stdout and stderr, whether its instance is gone,
# and whether the buffer stopped growing within two steps of the signal
# (all 2000 MB, 4 GB on two CPUs, would mean the signal waited for arming).
# Usage: signal-while-arming.sh TSTAP SIGNAME
tstap=$1
sig=$2
T=/sys/kernel/tracing
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$tstap" -s 2000 -e 'global n; probe kernel.trace("sched:sched_switch") { n++ } probe end { println("end") }' >"$out" 2>"$err" &
pid=$!
inst=
for _ in $(seq 2000); do
  inst=$(ls -d $T/instances/tstap_${pid}_* 2>/dev/null | head -1)
  [ -n "$inst" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.005
done
[ -n "$inst" ] || { echo "no instance appeared"; kill -KILL $pid; exit 1; }
kill -s "$sig" $pid
largest=0
while kill -0 $pid 2>/dev/null; do
  kb=$(cat "$inst/buffer_size_kb" 2>/dev/null | sed 's/ .*//')
  [ -n "$kb" ] && [ "$kb" -gt "$largest" ] 2>/dev/null && largest=$kb
  sleep 0.005
done
wait $pid
status=$?
# the instance's removal may go on in the run's reaper (runtime/tracefs/reaper.ts): wait for it
node -e 'import(process.argv[1]).then((m) => m.waitForReapers())' "$(dirname "$tstap")/../dist/runtime/tracefs/reaper.js"
echo "status $status"
o=$(paste -sd ' ' "$out")
e=$(paste -sd ' ' "$err")
echo "stdout:${o:+ $o}"
echo "stderr:${e:+ $e}"
[ -d "$inst" ] && echo "instance left" || echo "instance removed"
[ "$largest" -le $((2 * 64 * 1024)) ] && echo "buffer grown at most 2 steps" || echo "buffer grown to $largest KB"
