#!/usr/bin/env bash
# Builds what is missing and starts the vmrdma distribution in the embedded default (no Xen needed), with the
# Karaf console attached. Type vmrdma:status to begin; logout (or Ctrl-D) stops it.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/java-env.sh

archive=karaf-assembly/target/vmrdma-karaf-0.1.0-SNAPSHOT.tar.gz
home=karaf-assembly/target/assembly

stale() {
    [ ! -f "$archive" ] && return 0
    [ -n "$(find pom.xml bundles features karaf-assembly/src karaf-assembly/pom.xml -newer "$archive" \
        -type f -not -path '*/target/*' -print -quit)" ]
}

if stale; then
    command -v mvn >/dev/null || scripts/ensure-packages.sh maven
    echo "building vmrdma (tests are ./test.sh's job) ..."
    mvn -B -ntp -q -DskipTests install
fi

export EXTRA_JAVA_OPTS="${EXTRA_JAVA_OPTS:-} -Dvmrdma.demo=true"
exec "$home/bin/karaf" "$@"
