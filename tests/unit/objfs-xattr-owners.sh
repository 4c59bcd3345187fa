#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check_objfs's store semantics once more with the fs: stores opened with
# --fs-owners=xattr: every POSIX behaviour they check holds when owners,
# modes and special files are records (mem: and s3: runs are unchanged).
OBJFSD_TEST_FS_OWNERS=xattr CK_RUN_CASE=semantics exec \
    "${CHECK_OBJFS:-tests/unit/check_objfs}"
