#!/bin/bash
# .ci/runtimes.sh start|stop DIR: the Docker and containerd lanes' daemons, for .ci/run or by hand.
#
#   start DIR  starts a containerd and a dockerd of their own, every file of theirs under DIR (data, state,
#              sockets, pid files), unless a dockerd already answers on /var/run/docker.sock (then that one
#              is used and only the test image is added to it); builds the test image offline (a
#              busybox-static rootfs: `docker import`, then `ctr image import` of `docker save`'s tar into a
#              containerd namespace of the lane's own) and writes DIR/env, which exports what the live tests
#              look for: CGSCOPE_TEST_DOCKER (a docker -H address), CGSCOPE_TEST_CONTAINERD (a socket),
#              CGSCOPE_TEST_CTR_NAMESPACE, CGSCOPE_TEST_IMAGE and CGSCOPE_TEST_CTR_IMAGE (the image as
#              docker and as ctr name it). Source DIR/env, then run the tests.
#   stop DIR   removes every container and image the lane made, stops the daemons start started (by the
#              pids it recorded), unmounts what is mounted under DIR, removes the cgroups and the /run
#              directories that appeared with the daemons, and DIR itself.
#
# One containerd serves both lanes: dockerd uses it (namespace "moby") and the containerd tests use a
# namespace of their own, so the two never see each other's containers and one daemon fewer starts.
set -euo pipefail
cmd=${1:-}; D=${2:-}
[ -n "$cmd" ] && [ -n "$D" ] || { sed -n '2,14p' "$0" >&2; exit 2; }
log() { echo "runtimes: $*" >&2; }
PREFIX=cgscope-test-

# Wait up to $1 s for "$2 ..." to succeed.
wait_for() {
  local t=$1; shift
  for _ in $(seq $((t * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
hierarchies() { awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo | sort -u; }

start() {
  mkdir -p "$D"; D=$(cd "$D" && pwd)
  local ns=${PREFIX}lane-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
  local image=${PREFIX}busybox:latest
  # What stop must not remove: the cgroups and /run directories there before the daemons.
  for h in $(hierarchies); do ls -1 "$h"; done | sort -u > "$D/cgroups.before"
  for d in /run/containerd /run/docker /etc/docker/key.json; do [ -e "$d" ] && echo "$d"; done \
    > "$D/paths.before" || true

  local docker_host
  if timeout 10 docker -H unix:///var/run/docker.sock version >/dev/null 2>&1; then
    docker_host=unix:///var/run/docker.sock
    log "using the dockerd that answers on /var/run/docker.sock"
  else
    command -v dockerd >/dev/null && command -v containerd >/dev/null ||
      { log "dockerd or containerd missing (Debian packages docker.io, containerd)"; return 1; }
    mkdir -p "$D/containerd" "$D/docker"
    cat > "$D/containerd.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$D/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"
EOF
    containerd --config "$D/containerd.toml" --root "$D/containerd/root" --state "$D/containerd/state" \
      --address "$D/containerd.sock" > "$D/containerd.log" 2>&1 < /dev/null &
    echo $! > "$D/containerd.pid"
    wait_for 60 ctr -a "$D/containerd.sock" version || { log "containerd did not answer"; tail "$D/containerd.log" >&2; return 1; }
    echo '{}' > "$D/daemon.json"  # not the host's /etc/docker/daemon.json
    dockerd --config-file "$D/daemon.json" --containerd "$D/containerd.sock" \
      --data-root "$D/docker/data" --exec-root "$D/docker/exec" --pidfile "$D/dockerd.pid" \
      -H "unix://$D/docker.sock" --iptables=false --ip-masq=false --bridge=none --userland-proxy=false \
      --exec-opt native.cgroupdriver=cgroupfs > "$D/dockerd.log" 2>&1 < /dev/null &
    echo $! > "$D/dockerd.started"
    docker_host=unix://$D/docker.sock
    wait_for 60 docker -H "$docker_host" version || { log "dockerd did not answer"; tail "$D/dockerd.log" >&2; return 1; }
  fi

  # The image: busybox-static and its applets, nothing else (no registry is reachable).
  local rootfs=$D/rootfs
  mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,usr/bin,usr/sbin,root}
  cp /bin/busybox "$rootfs/bin/busybox"
  for a in $(/bin/busybox --list); do
    case $a in busybox) ;; *) ln -sf /bin/busybox "$rootfs/bin/$a" ;; esac
  done
  for a in wc head tail env id; do ln -sf /bin/busybox "$rootfs/usr/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
  echo 'root:x:0:' > "$rootfs/etc/group"
  tar -C "$rootfs" -c . | docker -H "$docker_host" import -c 'CMD ["/bin/sh"]' - "$image" >/dev/null
  rm -rf "$rootfs"

  local containerd_sock=
  if [ -S "$D/containerd.sock" ]; then
    containerd_sock=$D/containerd.sock
    docker -H "$docker_host" save "$image" | ctr -a "$containerd_sock" -n "$ns" images import - >/dev/null
  fi
  {
    echo "export CGSCOPE_TEST_DOCKER=$docker_host"
    echo "export CGSCOPE_TEST_IMAGE=$image"
    if [ -n "$containerd_sock" ]; then
      echo "export CGSCOPE_TEST_CONTAINERD=$containerd_sock"
      echo "export CGSCOPE_TEST_CTR_NAMESPACE=$ns"
      echo "export CGSCOPE_TEST_CTR_IMAGE=docker.io/library/$image"  # as ctr names an imported image
    fi
  } > "$D/env"
  log "up: $(docker -H "$docker_host" version -f 'dockerd {{.Server.Version}}')${containerd_sock:+, containerd $(containerd --version | awk '{print $3}')}; source $D/env"
}

# Kill a pid we recorded, TERM then KILL, and wait until it is gone.
stop_pid() {
  local pid=$1 what=$2
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_for 30 sh -c "! kill -0 $pid" || { log "$what ($pid) ignored TERM: KILL"; kill -KILL "$pid" 2>/dev/null || true; }
  wait_for 10 sh -c "! kill -0 $pid" || log "$what ($pid) is still there"
}

stop() {
  [ -d "$D" ] || return 0
  D=$(cd "$D" && pwd)
  # shellcheck disable=SC1091
  [ -s "$D/env" ] && . "$D/env"
  if [ -n "${CGSCOPE_TEST_DOCKER:-}" ] && timeout 10 docker -H "$CGSCOPE_TEST_DOCKER" version >/dev/null 2>&1; then
    local ids
    ids=$(docker -H "$CGSCOPE_TEST_DOCKER" ps -aq --filter "name=$PREFIX")
    [ -z "$ids" ] || docker -H "$CGSCOPE_TEST_DOCKER" rm -f $ids >/dev/null || true
    docker -H "$CGSCOPE_TEST_DOCKER" rmi -f "$CGSCOPE_TEST_IMAGE" >/dev/null 2>&1 || true
  fi
  if [ -n "${CGSCOPE_TEST_CONTAINERD:-}" ] && [ -S "$CGSCOPE_TEST_CONTAINERD" ]; then
    local c="ctr -a $CGSCOPE_TEST_CONTAINERD -n $CGSCOPE_TEST_CTR_NAMESPACE" id
    for id in $($c tasks ls -q 2>/dev/null); do $c tasks kill -s KILL "$id" >/dev/null 2>&1 || true; done
    for id in $($c containers ls -q 2>/dev/null); do
      wait_for 10 $c tasks rm -f "$id" || true
      $c containers rm "$id" >/dev/null 2>&1 || true
    done
    $c images rm "$CGSCOPE_TEST_CTR_IMAGE" >/dev/null 2>&1 || true
    $c namespaces rm "$CGSCOPE_TEST_CTR_NAMESPACE" >/dev/null 2>&1 || true
  fi
  [ -s "$D/dockerd.started" ] && stop_pid "$(cat "$D/dockerd.started")" dockerd
  [ -s "$D/containerd.pid" ] && stop_pid "$(cat "$D/containerd.pid")" containerd
  # Shims our containerd started outlive it while their container does.
  local pid
  for pid in $(pgrep -f -- "-address $D/containerd.sock" || true); do stop_pid "$pid" containerd-shim; done
  # Mounts under DIR (overlay rootfs, shm, netns), innermost first.
  awk -v d="$D/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || log "cannot unmount $m"
  done
  # Cgroups that came with the daemons (Docker's /docker, containerd's /<namespace>), deepest first;
  # rmdir removes only empty ones. Each test removes the cgroups it named itself.
  local top
  for h in $(hierarchies); do
    for top in docker ${CGSCOPE_TEST_CTR_NAMESPACE:-}; do
      [ -d "$h/$top" ] && ! grep -qxF "$top" "$D/cgroups.before" || continue
      find "$h/$top" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done
  for d in /run/containerd /run/docker /etc/docker/key.json; do
    grep -qxF "$d" "$D/paths.before" 2>/dev/null || rm -rf "$d"
  done
  [ -n "${CGSCOPE_TEST_CTR_NAMESPACE:-}" ] && rm -rf "/run/containerd/runc/$CGSCOPE_TEST_CTR_NAMESPACE"
  rm -rf "$D"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
