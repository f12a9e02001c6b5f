#!/bin/sh
# Checks that libvmrdma.so exports exactly the public API: the functions include/vmrdma.h declares with
# VMRDMA_EXPORT, each at the version node VMRDMA_1.0 of src/libvmrdma.map, and nothing else.
set -eu
library=$1 header=$2 scratch=$3
sed -n 's/^VMRDMA_EXPORT [^(]*[ *]\(vmrdma_[a-z0-9_]*\)(.*/\1/p' "$header" | sort > "$scratch.header"
# Defined dynamic symbols, less the version node itself (an absolute symbol named like it).
nm -D --defined-only "$library" | awk '$2 != "A" { print $3 }' | sort > "$scratch.library"
count=$(wc -l < "$scratch.header")
if [ "$count" -lt 30 ]; then
    echo "found only $count VMRDMA_EXPORT functions in $header" >&2
    exit 1
fi
if grep -v '@@VMRDMA_1\.0$' "$scratch.library" >&2; then
    echo "(these are exported without the version VMRDMA_1.0)" >&2
    exit 1
fi
sed 's/@@VMRDMA_1\.0$//' "$scratch.library" > "$scratch.names"
if ! diff -u "$scratch.header" "$scratch.names" >&2; then
    echo "libvmrdma.so exports other symbols than include/vmrdma.h declares (- header, + library)" >&2
    exit 1
fi
echo "libvmrdma.so exports the $count functions of include/vmrdma.h, each at VMRDMA_1.0"
