# slurm/ci-cluster.sh -- bring up / tear down a throw-away one-node Slurm cluster (docs/SLURM-LOCAL.md §8).
# Tested on Debian bookworm (Slurm 22.05.8, Open MPI 4.1.4, PMIx 4.2.2), as root,
# no systemd, no cgroups needed.  Usage (bash):
#   . slurm-ci.sh
#   slurm_ci_up            # installs if needed, writes conf, starts daemons, waits for 'idle'
#   jid=$(sbatch --parsable slurm/full_table.sh); slurm_ci_wait "$jid"
#   slurm_ci_down          # cancels jobs, scontrol shutdown, waits for the PIDs to exit
# SLURM_CONF is exported by slurm_ci_up; every sbatch/srun/squeue/scontrol call needs it
# (or write the file to /etc/slurm/slurm.conf instead).

SLURM_CI_DIR=${SLURM_CI_DIR:-/tmp/slurm-ci}

slurm_ci_install() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
    command -v sbatch >/dev/null && return 0
  # ~10 s; --no-install-recommends avoids ~27 extra plugin packages (rocm, hdf5, ...)
  apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slurmctld slurmd slurm-client munge >/dev/null
}

slurm_ci_up() {
  local d=$SLURM_CI_DIR mem nodeline auth=${SLURM_CI_AUTH:-none} plugdir
  slurm_ci_install || { echo "slurm_ci_up: install failed" >&2; return 1; }
  if [ -s "$d/run/slurmctld.pid" ]; then slurm_ci_down; fi   # a previous cluster of ours
  rm -rf "$d" && mkdir -p "$d"/state "$d"/spool "$d"/log "$d"/run || return 1
  # Node topology exactly as slurmd sees it (a mismatch drains the node);
  # RealMemory lowered to 85% so small differences never drain it.
  mem=$(awk '/MemTotal/{printf "%d", $2/1024*0.85}' /proc/meminfo)
  nodeline=$(slurmd -C | awk -v m="$mem" 'NR == 1 {
               sub(/^NodeName=[^ ]*/, "NodeName=localhost NodeAddr=127.0.0.1")
               sub(/RealMemory=[0-9]+/, "RealMemory=" m); print }')
  # SLURM_CI_CPUS=8: advertise more CPUs than cores so 'sbatch -n 8' runs (oversubscribed)
  if [ -n "${SLURM_CI_CPUS:-}" ]; then
    nodeline="NodeName=localhost NodeAddr=127.0.0.1 CPUs=$SLURM_CI_CPUS RealMemory=$mem"
  fi
  for plugdir in /usr/lib/*/slurm-wlm; do break; done
  # auth/none + cred/none ship in Debian 12's Slurm 22.05: no munged needed.  Fall back to
  # munge where they are missing (other Slurm versions) or when SLURM_CI_AUTH=munge.
  if [ ! -e "$plugdir/auth_none.so" ] || [ ! -e "$plugdir/cred_none.so" ]; then auth=munge; fi
  cat > "$d/slurm.conf" <<EOF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/$auth
CredType=cred/$auth
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
MinJobAge=600
EnforcePartLimits=ALL
SlurmdParameters=config_overrides
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
$nodeline State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$d/slurm.conf
  if [ "$auth" = munge ] && ! munge -n >/dev/null 2>&1; then
    service munge start >/dev/null || return 1     # init script; systemctl does not work here
    touch "$d/run/we-started-munge"
  fi
  slurmctld -c -i || return 1    # -c: forget old jobs/state; daemonises itself
  slurmd -N localhost || return 1  # -N: node name in slurm.conf, not $(hostname)
  local i
  for i in $(seq 1 100); do        # up to 20 s; normally ready in ~0.3 s
    [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] && return 0
    sleep 0.2
  done
  echo "slurm_ci_up: node never became idle; see $d/log" >&2
  sinfo -R >&2; return 1
}

# slurm_ci_wait JOBID [TIMEOUT_S]: poll until the job (or every task of an array) is
# finished; return 0 only if all of them COMPLETED with ExitCode 0:0 (1 = some failed,
# 2 = job unknown, 124 = timeout, job cancelled).  sbatch --wait also works (its exit code
# is the highest task exit code) but polls with growing sleeps: ~10 s for a 2 s job.
slurm_ci_wait() {
  local jid=$1 t=${2:-3600} start=$SECONDS r
  while :; do
    r=$(scontrol -o show job "$jid" 2>/dev/null | awk '
      { s = e = ""; for (i = 1; i <= NF; i++) {
          if ($i ~ /^JobId=/) id = substr($i, 7)
          if ($i ~ /^JobState=/) s = substr($i, 10)
          if ($i ~ /^ExitCode=/) e = substr($i, 10) }
        n++
        if (s ~ /^(PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|REQUEUE.*|RESIZING|SIGNALING|STAGE_OUT)$/) act = 1
        else if (s != "COMPLETED" || e != "0:0") bad = bad " " id ":" s ":" e }
      END { if (!n) print "UNKNOWN"; else if (act) print "ACTIVE"; else if (bad != "") print "FAILED" bad; else print "OK" }')
    case $r in
      OK) return 0 ;;
      FAILED*) echo "slurm_ci_wait: $r" >&2; return 1 ;;
      UNKNOWN) echo "slurm_ci_wait: job $jid unknown" >&2; return 2 ;;
    esac
    if [ $((SECONDS - start)) -ge "$t" ]; then
      scancel "$jid"; echo "slurm_ci_wait: timeout after ${t}s" >&2; return 124
    fi
    sleep 0.5
  done
}

slurm_ci_down() {
  local d=$SLURM_CI_DIR pids="" p i
  export SLURM_CONF=${SLURM_CONF:-$d/slurm.conf}
  for p in "$d/run/slurmctld.pid" "$d/run/slurmd.pid"; do
    if [ -s "$p" ]; then pids="$pids $(cat "$p")"; fi
  done
  if [ -n "$pids" ]; then
    squeue -h -o %A 2>/dev/null | xargs -r scancel 2>/dev/null || true  # else slurmstepd outlives the daemons
    for i in $(seq 1 50); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.2; done
    scontrol shutdown >/dev/null 2>&1 || true
    for i in $(seq 1 50); do          # pidfiles vanish before the processes do: wait on PIDs
      kill -0 $pids 2>/dev/null || break; sleep 0.2
    done
    for p in $pids; do kill -0 "$p" 2>/dev/null && kill -KILL "$p"; done; true
  fi
  if [ -e "$d/run/we-started-munge" ] && [ -s /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
  fi
  rm -f "$d/run/we-started-munge"
  return 0
}
