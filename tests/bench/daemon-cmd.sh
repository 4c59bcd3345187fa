# SPDX-License-Identifier: Apache-2.0
# The daemons' command lines for the benchmarks (sourced by bench.sh and
# guest-bench.sh), kept in one place so that the loadgen and in-guest
# figures measure the same two daemons run the same way.

# bench_daemon_cmd NAME SANDBOX DIR: into the array cmd, the command line
# of NAME (objfsd: $OBJFSD, virtiofsd: $VIRTIOFSD) serving DIR/data on
# DIR/sock, prefixed by the array dpin (a taskset, or empty).  SANDBOX is
# virtiofsd's: namespace (its default) or chroot, where a container
# refuses namespaces.  Every tuning option is left at its default.
bench_daemon_cmd() {
	local name=$1 sandbox=$2 dir=$3

	case $name in
	objfsd)
		cmd=("${dpin[@]}" "$OBJFSD" --socket-path="$dir/sock"
		    --store="fs:$dir/data" --cache-dir="$dir"
		    --log-level=warn)
		;;
	virtiofsd)
		cmd=("${dpin[@]}" "$VIRTIOFSD" --socket-path="$dir/sock"
		    -o source="$dir/data" -o log_level=err)
		[ "$sandbox" = namespace ] || cmd+=(-o sandbox="$sandbox")
		;;
	*)
		echo "bench_daemon_cmd: no daemon $name" >&2
		return 1
		;;
	esac
}
