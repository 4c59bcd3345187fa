#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# objfsd against curl and s3fs on one private Ceph RGW (tests/lib/rgw.sh),
# in one run, on one bucket.
#
# Data: sequential write and read of a SIZE_MIB file, ROUNDS rounds, each
# round every client in turn: `curl --aws-sigv4` PUT and GET of the object,
# objfsd through the FUSE load generator (loadgen --once seqwrite and
# seqread), and dd to and from an s3fs mount.  Prints median MB/s with
# min-max and the ratios objfsd/curl and objfsd/s3fs.
#
# Metadata: stat of a known file, ls -l of a FILES-file directory, find
# over a TREE_DIRS x TREE_FILES tree, cp -r of FILES files of 4 KiB into
# the store and rm -r of them.  objfsd runs loadgen's scenarios (what a
# kernel sends for each command), s3fs the commands on the host.  Each
# client starts cold (a new daemon, a new mount).  Time and S3 requests,
# the latter counted the same way for both: the lines RGW's beast frontend
# logs, one per request, between two marker requests; for objfsd its own
# count (SIGUSR1) beside them as a cross-check.
#
# Close: 256 MiB and SIZE_MIB written once through objfsd (fuse_cli
# stream: one WRITE at a time, as cp's writeback sends them): the time
# from the first WRITE to the end of close(), and of close() alone after
# the last WRITE, against curl's PUT of the same bytes, ROUNDS rounds.
#
# Environment: ROUNDS (5), SIZE_MIB (1024), FILES (1000), TREE_DIRS (100),
# TREE_FILES (100), OBJFSD, LOADGEN, FUSE_CLI, BENCH_DIR (/var/tmp).  s3fs needs
# root and /dev/fuse; without them its columns say "-".  Exits 77 when
# Ceph is not installed.
set -u
. "$(dirname "$0")/bench-env.sh"
ROUNDS=${ROUNDS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
FILES=${FILES:-1000}
TREE_DIRS=${TREE_DIRS:-100}
TREE_FILES=${TREE_FILES:-100}
. "$srcdir/tests/lib/rgw.sh"
rgw_present || { echo "s3 rgw bench: no Ceph RGW (ceph-mon ceph-osd ceph-mgr radosgw)"; exit 77; }

work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/objfsd-rgwbench.XXXXXX")
mnt=$work/mnt
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rgw_stop
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
# Room for the read source, one written file and the tree.
RGW_MEMSTORE_MIB=$((2 * SIZE_MIB + 2048)) rgw_start "$work/rgw" bench || { echo "s3 rgw bench: RGW did not start"; exit 1; }
rgwlog=$work/rgw/log/client.rgw.r.log
url=$OBJFSD_TEST_S3_ENDPOINT/bench
sign=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
have_s3fs=
command -v s3fs >/dev/null && [ -c /dev/fuse ] && [ "$(id -u)" -eq 0 ] && have_s3fs=1
echo "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" > "$work/passwd"
chmod 600 "$work/passwd"
mkdir "$mnt"

now() { date +%s.%N; }
mbps() { awk -v b=$((SIZE_MIB << 20)) -v t0="$1" -v t1="$2" 'BEGIN { printf "%.1f", b / (t1 - t0) / 1e6 }'; }
secs() { awk -v t0="$1" -v t1="$2" 'BEGIN { printf "%.3f", t1 - t0 }'; }

# Overwritten and deleted objects go to RGW's garbage collector, which
# frees them hours later by default: memstore would fill up.
ceph --admin-daemon "$work/rgw/run/client.rgw.r.asok" config set \
    rgw_gc_obj_min_wait 0 >/dev/null
gc() { radosgw-admin gc process --include-all >/dev/null 2>&1; }
del() {
	curl -sf -m 300 "${sign[@]}" -X DELETE "$url/$1" >/dev/null ||
	    { echo "s3 rgw bench: cannot delete $1" >&2; exit 1; }
	gc
}

start_objfsd() {
	rm -rf "$work/sock" "$work/cache"
	mkdir "$work/cache"
	: > "$work/objfsd.log"
	"$OBJFSD" --socket-path="$work/sock" --store=s3://bench/fs \
	    --s3-endpoint="$OBJFSD_TEST_S3_ENDPOINT" --cache-dir="$work/cache" \
	    --log-level=info "$@" 2>>"$work/objfsd.log" &
	pid=$!
	for _ in $(seq 200); do
		grep -q serving "$work/objfsd.log" && [ -S "$work/sock" ] && return 0
		sleep 0.05
	done
	echo "s3 rgw bench: objfsd did not start"; cat "$work/objfsd.log"; exit 1
}

stop_objfsd() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

# objfsd's own count of requests sent so far (SIGUSR1 logs the table).
objfsd_sent() {
	local n0 n
	n0=$(grep -c "s3 requests: [0-9]* in all" "$work/objfsd.log")
	kill -USR1 "$pid"
	for _ in $(seq 100); do
		n=$(grep -c "s3 requests: [0-9]* in all" "$work/objfsd.log")
		[ "$n" -gt "$n0" ] && break
		sleep 0.05
	done
	grep -o "s3 requests: [0-9]* in all" "$work/objfsd.log" | tail -1 | awk '{ print $3 }'
}

# The verb lines of objfsd's last table, on one line.
objfsd_table() {
	awk '/s3 requests: [0-9]+ in all/ { t = "" }
	    /s3 requests: [A-Za-z0-9]+ [0-9]+ \(/ { sub(/.*s3 requests: /, ""); t = t (t == "" ? "" : "; ") $0 }
	    END { print t }' "$work/objfsd.log"
}

mount_s3fs() {
	s3fs bench:/fs "$mnt" -o url="$OBJFSD_TEST_S3_ENDPOINT" \
	    -o use_path_request_style -o passwd_file="$work/passwd" || return 1
	for _ in $(seq 100); do mountpoint -q "$mnt" && return 0; sleep 0.1; done
	return 1
}

umount_s3fs() { umount "$mnt"; }

# A marker: a HEAD of a key nobody has, waited for in RGW's log.
nmark=0
mark() {
	nmark=$((nmark + 1))
	curl -s "${sign[@]}" -o /dev/null -I "$url/__mark-$nmark"
	for _ in $(seq 200); do
		grep -q "\"HEAD /bench/__mark-$nmark " "$rgwlog" && return 0
		sleep 0.05
	done
	echo "s3 rgw bench: marker $nmark not in RGW's log" >&2
	return 1
}

# The requests RGW logged between the last two markers: "N (VERB n, ...)".
rgw_count() {
	awk -v a="\"HEAD /bench/__mark-$((nmark - 1)) " -v b="\"HEAD /bench/__mark-$nmark " '
	    index($0, a) { on = 1; next }
	    index($0, b) { on = 0 }
	    on && / beast: / && match($0, /"[A-Z]+ /) {
		v = substr($0, RSTART + 1, RLENGTH - 2); n++; c[v]++ }
	    END { s = ""; for (v in c) s = s (s == "" ? "" : " ") v "=" c[v]
		printf "%d (%s)\n", n, s }' "$rgwlog"
}

# --- Data -------------------------------------------------------------
head -c $((SIZE_MIB << 20)) /dev/urandom > "$work/blob"
curl -sf "${sign[@]}" -T "$work/blob" "$url/fs/data" || { echo "s3 rgw bench: PUT failed"; exit 1; }
: > "$work/results"
for r in $(seq "$ROUNDS"); do
	t0=$(now)
	curl -sf "${sign[@]}" -T "$work/blob" "$url/fs/raw" || exit 1
	t1=$(now)
	echo "curl write $(mbps "$t0" "$t1")" >> "$work/results"
	del fs/raw

	start_objfsd
	# (loadgen names the file it writes write-PID)
	"$LOADGEN" --socket="$work/sock" --depth=8 --once --size="$SIZE_MIB" \
	    seqwrite > "$work/out" &
	lpid=$!
	wait "$lpid" || { cat "$work/objfsd.log"; exit 1; }
	stop_objfsd
	awk '{ split($4, m, "="); print "objfsd write", m[2] }' "$work/out" >> "$work/results"
	del "fs/write-$lpid"

	if [ -n "$have_s3fs" ]; then
		mount_s3fs || { echo "s3 rgw bench: s3fs cannot mount"; exit 1; }
		t0=$(now)
		dd if="$work/blob" of="$mnt/s3fs-big" bs=1M 2>/dev/null || exit 1
		t1=$(now)
		umount_s3fs
		echo "s3fs write $(mbps "$t0" "$t1")" >> "$work/results"
		del fs/s3fs-big
	fi

	t0=$(now)
	curl -sf "${sign[@]}" -o /dev/null "$url/fs/data" || exit 1
	t1=$(now)
	echo "curl read $(mbps "$t0" "$t1")" >> "$work/results"

	start_objfsd
	"$LOADGEN" --socket="$work/sock" --depth=8 --once seqread \
	    > "$work/out" || { cat "$work/objfsd.log"; exit 1; }
	stop_objfsd
	awk '{ split($4, m, "="); print "objfsd read", m[2] }' "$work/out" >> "$work/results"

	if [ -n "$have_s3fs" ]; then
		mount_s3fs || exit 1
		t0=$(now)
		dd if="$mnt/data" of=/dev/null bs=1M 2>/dev/null || exit 1
		t1=$(now)
		umount_s3fs
		echo "s3fs read $(mbps "$t0" "$t1")" >> "$work/results"
	fi
done
del fs/data

echo "objfsd against curl and s3fs on Ceph RGW, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "sequential ${SIZE_MIB} MiB, $ROUNDS rounds, MB/s median (min-max):"
awk -f "$here/median.awk" -f /dev/fd/3 "$work/results" 3<<'AWK'
{ val[$1, $2] = val[$1, $2] " " $3
  if (!(($1, $2) in lo) || $3 < lo[$1, $2]) lo[$1, $2] = $3
  if (!(($1, $2) in hi) || $3 > hi[$1, $2]) hi[$1, $2] = $3 }
function cell(c, o) {
	if (!((c, o) in lo)) return sprintf("%20s", "-")
	return sprintf("%7.1f (%.0f-%.0f)", median(val[c, o]), lo[c, o], hi[c, o])
}
function ratio(o, c,    b) {
	if (!((c, o) in lo)) return "-"
	b = median(val[c, o])
	return b > 0 ? sprintf("%.2f", median(val["objfsd", o]) / b) : "-"
}
END {
	printf "%-6s %20s %20s %20s %12s %12s\n", "", "objfsd", "curl", "s3fs", "objfsd/curl", "objfsd/s3fs"
	split("write read", ops, " ")
	for (i = 1; i <= 2; i++)
		printf "%-6s %20s %20s %20s %12s %12s\n", ops[i], cell("objfsd", ops[i]),
		    cell("curl", ops[i]), cell("s3fs", ops[i]), ratio(ops[i], "curl"), ratio(ops[i], "s3fs")
}
AWK

# --- Close ------------------------------------------------------------
: > "$work/close"
for mib in 256 "$SIZE_MIB"; do
	"$FUSE_CLI" - gen "$mib" > "$work/gen"
	for r in $(seq "$ROUNDS"); do
		t0=$(now)
		curl -sf "${sign[@]}" -T "$work/gen" "$url/fs/gen" || exit 1
		t1=$(now)
		del fs/gen
		start_objfsd
		echo | "$FUSE_CLI" "$work/sock" stream "close-$mib" "$mib" \
		    > "$work/out" || { cat "$work/objfsd.log"; exit 1; }
		stop_objfsd
		del "fs/close-$mib"
		awk -v mib="$mib" -v curl="$(secs "$t0" "$t1")" \
		    '/^written/ { w = $2 } /^closed/ { c = $2 }
		    END { printf "%s %.3f %.3f %.3f\n", mib, (w + c) / 1000, c / 1000, curl }' \
		    "$work/out" >> "$work/close"
	done
done
rm -f "$work/gen"
echo
echo "write then close, seconds, median of $ROUNDS rounds:"
awk -f "$here/median.awk" -f /dev/fd/3 "$work/close" 3<<'AWK'
{ n[$1]++; wall[$1] = wall[$1] " " $2; cl[$1] = cl[$1] " " $3; put[$1] = put[$1] " " $4
  if (!($1 in order)) { order[$1] = ++norder; name[norder] = $1 } }
END {
	printf "%-9s %12s %14s %12s %18s\n", "MiB", "objfsd wall", "objfsd close", "curl PUT", "wall/curl PUT"
	for (i = 1; i <= norder; i++) {
		m = name[i]
		printf "%-9s %12.3f %14.3f %12.3f %18.2f\n", m, median(wall[m]),
		    median(cl[m]), median(put[m]), median(wall[m]) / median(put[m])
	}
}
AWK

# --- Metadata ---------------------------------------------------------
# The tree, made with curl (many at a time): plain objects and the
# directory marker objects s3fs makes ("name/"), which objfsd reads too.
echo known > "$work/small"
: > "$work/empty"
head -c 4096 /dev/urandom > "$work/page"
{
	echo "url = \"$url/fs/known\""; echo "upload-file = \"$work/small\""
	for d in ls tree; do
		echo "url = \"$url/fs/$d/\""; echo "upload-file = \"$work/empty\""
	done
	for i in $(seq 0 $((FILES - 1))); do
		printf 'url = "%s/fs/ls/f%05d"\nupload-file = "%s"\n' "$url" "$i" "$work/small"
	done
	for d in $(seq 0 $((TREE_DIRS - 1))); do
		printf 'url = "%s/fs/tree/d%03d/"\nupload-file = "%s"\n' "$url" "$d" "$work/empty"
		for i in $(seq 0 $((TREE_FILES - 1))); do
			printf 'url = "%s/fs/tree/d%03d/f%05d"\nupload-file = "%s"\n' "$url" "$d" "$i" "$work/small"
		done
	done
} > "$work/tree.curl"
sed -i 's|^url = .*|&\noutput = "/dev/null"|' "$work/tree.curl"
curl -sSf -Z --parallel-max 32 "${sign[@]}" -K "$work/tree.curl" 2> "$work/tree.err" ||
    { echo "s3 rgw bench: cannot make the tree"; cat "$work/tree.err"; exit 1; }
mkdir "$work/cpsrc"
for i in $(seq 0 $((FILES - 1))); do
	cp "$work/page" "$work/cpsrc/$(printf 'f%05d' "$i")"
done

# meta NAME ARGS CMD [OBJFSD-OPTIONS]: objfsd's scenario NAME with the
# loadgen arguments, then the s3fs command (bash; "" for none), each from
# cold; a line of the report per client.
meta() {
	local name=$1 args=$2 cmd=$3 opts=${4:-} before after t0 t1 out
	# shellcheck disable=SC2086
	start_objfsd $opts
	before=$(objfsd_sent)
	mark || exit 1
	# shellcheck disable=SC2086
	out=$("$LOADGEN" --socket="$work/sock" $args "$name") || { cat "$work/objfsd.log"; exit 1; }
	mark || exit 1
	after=$(objfsd_sent)
	printf '%-6s %-7s %8ss  rgw %s  objfsd says %d (its table since start: %s)\n' "$name" "objfsd${opts:+ $opts}" \
	    "$(echo "$out" | grep -o ' s=[0-9.]*' | cut -d= -f2)" \
	    "$(rgw_count)" $((after - before)) "$(objfsd_table)" >> "$work/meta"
	stop_objfsd
	[ -n "$have_s3fs" ] && [ -n "$cmd" ] || return 0
	mount_s3fs || exit 1
	mark || exit 1
	t0=$(now)
	bash -c "$cmd" > /dev/null || { echo "s3 rgw bench: s3fs: $cmd failed"; exit 1; }
	t1=$(now)
	mark || exit 1
	umount_s3fs
	printf '%-6s %-7s %8ss  rgw %s\n' "$name" s3fs "$(secs "$t0" "$t1")" "$(rgw_count)" >> "$work/meta"
}
: > "$work/meta"
meta stat "--file=known" "stat $mnt/known"
meta ls "--dir=ls" "ls -l $mnt/ls"
meta find "--dir=tree" "find $mnt/tree"
meta cpr "--dir=cp-objfsd --count=$FILES" "cp -r $work/cpsrc $mnt/cp-s3fs"
meta rmr "--dir=cp-objfsd --count=$FILES" "rm -r $mnt/cp-s3fs"
# s3fs trusts its stat cache 15 minutes, objfsd with --cache=always as
# long as the kernel (a day), with auto for one second: the same with it.
meta cpr "--dir=cp-objfsd --count=$FILES" ""
meta ls "--dir=ls" "" --cache=always
meta rmr "--dir=cp-objfsd --count=$FILES" "" --cache=always
# The floor for ls -l: the same HEADs by curl alone, as many at a time as
# objfsd sends and four times more, without any filesystem around them.
for i in $(seq 0 $((FILES - 1))); do
	printf 'url = "%s/fs/ls/f%05d"\noutput = "/dev/null"\n' "$url" "$i"
done > "$work/heads.curl"
for par in 16 64; do
	t0=$(now)
	curl -sSf -I -Z --parallel-max "$par" "${sign[@]}" -K "$work/heads.curl" >/dev/null ||
	    { echo "s3 rgw bench: HEADs by curl failed"; exit 1; }
	t1=$(now)
	printf '%-6s %-7s %8ss  %d HEADs, %d at a time, no filesystem\n' floor curl \
	    "$(secs "$t0" "$t1")" "$FILES" "$par" >> "$work/meta"
done
echo
echo "metadata, each once from cold (FILES=$FILES, tree $TREE_DIRS x $TREE_FILES):" \
    "time, S3 requests in RGW's log (by verb), objfsd's own count"
cat "$work/meta"
