# SPDX-License-Identifier: Apache-2.0
# Start and stop a private s3rver for a test (sourced).  s3rver comes
# from npm (npm install s3rver@3.7.1; .ci/deps puts it under
# /var/cache/objfsd/s3rver).  It does not check signatures: the signer is
# tested against AWS's examples and botocore instead.

s3rver_find() {
	local c
	for c in "${S3RVER:-}" /var/cache/objfsd/s3rver/node_modules/.bin/s3rver \
	    "$(command -v s3rver 2>/dev/null)"; do
		[ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
	done
	return 1
}

# s3rver_start DIR BUCKET...: sets S3_PID, S3_PORT, exports the endpoint
# and credentials the tests use.
s3rver_start() {
	local dir=$1 bin try port args=
	shift
	bin=$(s3rver_find) || return 1
	command -v node >/dev/null 2>&1 || return 1
	for b in "$@"; do args="$args --configure-bucket $b"; done
	mkdir -p "$dir/data"
	for try in 1 2 3 4 5; do
		port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
		# Node 17+ lacks the DES s3rver uses for continuation tokens.
		NODE_OPTIONS=--openssl-legacy-provider "$bin" -d "$dir/data" \
		    -a 127.0.0.1 -p "$port" --silent $args > "$dir/s3rver.log" 2>&1 &
		S3_PID=$!
		for _ in $(seq 100); do
			if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
				S3_PORT=$port
				export OBJFSD_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
				export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
				unset AWS_SESSION_TOKEN AWS_PROFILE
				export AWS_SHARED_CREDENTIALS_FILE=/nonexistent
				return 0
			fi
			kill -0 "$S3_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$S3_PID" 2>/dev/null; wait "$S3_PID" 2>/dev/null
	done
	echo "s3rver did not start:"; cat "$dir/s3rver.log"
	return 1
}

s3rver_stop() {
	[ -n "${S3_PID:-}" ] && kill "$S3_PID" 2>/dev/null && wait "$S3_PID" 2>/dev/null
	S3_PID=
}
