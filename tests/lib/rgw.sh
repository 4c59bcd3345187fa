# SPDX-License-Identifier: Apache-2.0
# Start and stop a private single-node Ceph with RGW for a test (sourced):
# one mon, one mgr, one memstore OSD and radosgw (beast, tcp_nodelay) on
# 127.0.0.1, all in DIR, stopped by the pids they leave in DIR/run.
# A real S3 implementation: it checks SigV4 and wants
# x-amz-content-sha256.  Packages: ceph-mon ceph-osd ceph-mgr radosgw
# ceph-common uuid-runtime (.ci/deps installs them).

RGW_KEY=objfsdtestkey
RGW_SECRET=objfsdtestsecret0123456789abcdefghijklmn

rgw_present() {
	local b
	for b in ceph-mon ceph-osd ceph-mgr radosgw radosgw-admin ceph uuidgen; do
		command -v "$b" >/dev/null 2>&1 || return 1
	done
}

# A port below the kernel's ephemeral range (32768), so one left in
# TIME-WAIT by an earlier run is not handed out to us meanwhile, with the
# one after it (the monitor's second address) free now too.  Tests run
# side by side start their own servers: a race is still possible, and
# rgw_start tries again with other ports.
rgw_port() {
	local p
	for _ in $(seq 50); do
		p=$(( 10000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		[ -z "$(ss -Htan "( sport = :$p or sport = :$((p + 1)) )" 2>/dev/null)" ] &&
		    break
	done
	echo "$p"
}

# rgw_tls_certs DIR HOST: a throw-away CA (DIR/ca.pem) and a certificate
# for HOST signed by it (DIR/server.pem, DIR/server.key).
rgw_tls_certs() {
	local dir=$1 host=$2
	mkdir -p "$dir"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 \
	    -subj "/CN=objfsd test CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$dir/server.key" -out "$dir/server.csr" \
	    -subj "/CN=$host" &&
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
	    "$host" > "$dir/server.ext" &&
	openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" \
	    -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
	    -extfile "$dir/server.ext" -out "$dir/server.pem"
}

# rgw_conf DIR MONPORT PORT [TLSPORT]: with TLSPORT, beast also serves
# HTTPS there with DIR/tls/server.pem.
rgw_conf() {
	local dir=$1 mon=$2 port=$3 tls=${4:-} ssl=
	[ -n "$tls" ] && ssl=" ssl_endpoint=127.0.0.1:$tls ssl_certificate=$dir/tls/server.pem ssl_private_key=$dir/tls/server.key"
	cat <<EOF
[global]
fsid = $(uuidgen)
run dir = $dir/run
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
mon host = [v2:127.0.0.1:$mon,v1:127.0.0.1:$((mon + 1))]
mon allow pool size one = true
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
[mon.a]
mon data = $dir/mon
mon data avail crit = 0
[osd.0]
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = $(( ${RGW_MEMSTORE_MIB:-4096} << 20 ))
osd class load list = *
osd class default list = *
[mgr.x]
mgr data = $dir/mgr
[client.rgw.r]
rgw frontends = beast endpoint=127.0.0.1:$port$ssl tcp_nodelay=1
rgw data = $dir/rgw
EOF
}

# The daemons, in the order a cluster needs them; each forks.
rgw_daemons() {
	local dir=$1
	ceph-mon --id a --mkfs --keyring /dev/null &&
	    touch "$dir/mon/keyring" &&
	    ceph-mon --id a &&
	    ceph osd create >/dev/null &&
	    ceph osd crush add osd.0 1 root=default >/dev/null 2>&1 &&
	    ceph-osd --id 0 --mkjournal --mkfs >/dev/null 2>&1 &&
	    ceph-osd --id 0 &&
	    ceph-mgr --id x &&
	    ceph auth get-or-create client.rgw.r osd 'allow rwx' \
		mon 'allow rw' -o "$dir/rgw/keyring" >/dev/null &&
	    radosgw -n client.rgw.r -k "$dir/rgw/keyring"
}

# rgw_bucket NAME: made with curl's own SigV4 signer (RGW wants the
# payload hash header, which curl 7.88 does not add: that of no body).
rgw_bucket() {
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" \
	    --user "$RGW_KEY:$RGW_SECRET" -X PUT \
	    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
	    "http://127.0.0.1:$RGW_PORT/$1" >/dev/null
}

# rgw_start DIR BUCKET...: (the OSD keeps RGW_MEMSTORE_MIB in memory,
# 4096 by default) sets RGW_PORT and S3_PORT, exports the endpoint and the
# credentials the tests use, as s3rver_start does.  With RGW_TLS_HOST set
# (a host name), radosgw serves HTTPS too, at RGW_TLS_PORT, with a
# certificate for that name from a CA made for the run (RGW_CA, PEM).
rgw_start() {
	local try
	for try in 1 2 3; do
		rgw_start_once "$@" && return 0
		# Only a port taken meanwhile is worth another try.
		grep -rqs "Address already in use" "$1/log" || return 1
		echo "rgw: a port was taken meanwhile; trying other ports"
		rm -rf "$1"
	done
	return 1
}

rgw_start_once() {
	local dir=$1 mon port tls=
	shift
	rgw_present || return 1
	mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd" "$dir/mgr" \
	    "$dir/rgw"
	mon=$(rgw_port)
	port=$(rgw_port)
	while [ "$port" -ge "$mon" ] && [ "$port" -le $((mon + 1)) ]; do
		port=$(rgw_port)
	done
	if [ -n "${RGW_TLS_HOST:-}" ]; then
		tls=$(rgw_port)
		if ! rgw_tls_certs "$dir/tls" "$RGW_TLS_HOST" > "$dir/log/tls.log" 2>&1; then
			echo "cannot make certificates:"; cat "$dir/log/tls.log"
			return 1
		fi
		RGW_TLS_PORT=$tls
		RGW_CA=$dir/tls/ca.pem
	fi
	rgw_conf "$dir" "$mon" "$port" "$tls" > "$dir/ceph.conf"
	export CEPH_CONF=$dir/ceph.conf
	RGW_DIR=$dir
	if ! rgw_daemons "$dir" > "$dir/log/start.log" 2>&1; then
		echo "ceph did not start:"; cat "$dir/log/start.log"
		rgw_stop
		return 1
	fi
	RGW_PORT=$port
	S3_PORT=$port
	for _ in $(seq 600); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.1
	done
	if ! curl -s -o /dev/null "http://127.0.0.1:$port/"; then
		echo "radosgw does not answer on port $port:"
		tail -5 "$dir/log/"*.log
		rgw_stop
		return 1
	fi
	if ! radosgw-admin user create --uid=objfsd --display-name=objfsd \
	    --access-key="$RGW_KEY" --secret-key="$RGW_SECRET" \
	    > "$dir/log/user.log" 2>&1; then
		echo "radosgw did not start:"; tail -20 "$dir/log/"*.log
		rgw_stop
		return 1
	fi
	for b in "$@"; do
		rgw_bucket "$b" || { echo "cannot create bucket $b"; rgw_stop; return 1; }
	done
	export OBJFSD_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
	export AWS_ACCESS_KEY_ID=$RGW_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET
	unset AWS_SESSION_TOKEN AWS_PROFILE
	export AWS_SHARED_CREDENTIALS_FILE=/nonexistent
	return 0
}

rgw_stop() {
	local f p
	[ -n "${RGW_DIR:-}" ] || return 0
	for f in "$RGW_DIR"/run/*.pid; do
		[ -f "$f" ] && p=$(cat "$f") && kill "$p" 2>/dev/null
	done
	for f in "$RGW_DIR"/run/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	RGW_DIR=
}
