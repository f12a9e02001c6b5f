#!/bin/sh
# Installs the build into a scratch prefix, then builds and runs a program against it through pkg-config:
# once with the shared library, once with the static one.
set -eu
build=$1 src=$2 cc=$3
prefix="$build/install-check"
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(dirname "$(find "$prefix" -name vmrdma.pc | head -1)")
export PKG_CONFIG_PATH="$pc"
test -x "$prefix/bin/vmrdma_write_bw" && test -x "$prefix/bin/vmrdma_send_lat"
test -f "$prefix/include/vmrdma.h"
"$cc" -std=c11 -Wall -Werror $(pkg-config --cflags vmrdma) "$src" -o "$build/install-shared" $(pkg-config --libs vmrdma)
LD_LIBRARY_PATH="$(pkg-config --variable=libdir vmrdma)" "$build/install-shared"
libdir=$(pkg-config --variable=libdir vmrdma)
"$cc" -std=c11 -Wall -Werror $(pkg-config --cflags vmrdma) "$src" -o "$build/install-static" \
    "$libdir/libvmrdma.a" $(pkg-config --libs-only-l --static vmrdma | sed 's/-lvmrdma//')
if ldd "$build/install-static" | grep -q libvmrdma; then
    echo "the static build links libvmrdma.so" >&2
    exit 1
fi
"$build/install-static"
