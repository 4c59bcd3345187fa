#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The layers call only downward: each folder of src/ may include the
# headers of its own layer, of the layers below it and the utilities
# (src/util, include/log.h ...), and nothing above.  Each folder's README
# states the same rule in words.
set -u
srcdir=${srcdir:-.}
util="config.h log.h dbuf.h membudget.h monotime.h rbtree.h"
store="store.h"
s3="$store store_s3.h s3_sigv4.h s3_internal.h s3_proto.h s3_xml.h"
objfs="$store objfs.h objfs_internal.h"
fuse="objfs.h fuse_server.h fuse_internal.h iovcur.h"
vhost="guestmem.h virtq.h vhost_user.h vu_proto.h vu_internal.h"
declare -A allowed=(
	[util]="$util"
	[vhost]="$util $vhost"
	[fuse]="$util $fuse"
	[objfs]="$util $objfs"
	[store]="$util $store store_fs.h"
	[store/s3]="$util $s3"
)
fail=0
checked=0
for dir in "${!allowed[@]}"; do
	for f in "$srcdir/src/$dir"/*.[ch]; do
		for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
			checked=$((checked + 1))
			case " ${allowed[$dir]} " in
			*" $inc "*) ;;
			*) echo "FAIL: ${f#"$srcdir"/} (layer $dir) includes $inc"
			   fail=$((fail + 1)) ;;
			esac
		done
	done
done
# Public headers of a layer include only what is below it.
for pair in "store.h:" "objfs.h:store.h" "fuse_server.h:objfs.h" \
    "virtq.h:guestmem.h" "vhost_user.h:virtq.h" "guestmem.h:" \
    "iovcur.h:" "store_s3.h:" "s3_sigv4.h:dbuf.h"; do
	h=${pair%%:*}
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$srcdir/include/$h"); do
		checked=$((checked + 1))
		case " ${pair#*:} " in
		*" $inc "*) ;;
		*) echo "FAIL: include/$h includes $inc"; fail=$((fail + 1)) ;;
		esac
	done
done
[ "$checked" -gt 50 ] || { echo "FAIL: only $checked includes found"; exit 1; }
echo "layers: $((checked - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
