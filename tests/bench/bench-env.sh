# SPDX-License-Identifier: Apache-2.0
# Sourced by the S3 benchmarks: where the tree and the programs they run
# are (BUILD_DIR for an out-of-tree build; OBJFSD, LOADGEN and FUSE_CLI
# to run other binaries).
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$here/../..
build=${BUILD_DIR:-$srcdir}
OBJFSD=${OBJFSD:-$build/src/objfsd}
LOADGEN=${LOADGEN:-$build/tests/bench/loadgen}
FUSE_CLI=${FUSE_CLI:-$build/tests/lib/fuse_cli}
