/* SPDX-License-Identifier: MIT */
/* Error strings, error classes and the library version. */
#include <errno.h>
#include <string.h>

#include "aedb.h"

static const char *const core_err_msgs[] = {
	[AEDB_ENOTFOUND - AEDB_ERRNO_BASE] = "not found",
	[AEDB_EEXIST - AEDB_ERRNO_BASE] = "already exists",
	[AEDB_EBUSY - AEDB_ERRNO_BASE] = "queue full (backpressure); retry",
	[AEDB_ECORRUPT - AEDB_ERRNO_BASE] = "stored data is corrupt",
	[AEDB_EMISUSE - AEDB_ERRNO_BASE] = "API misuse",
	[AEDB_EFATAL - AEDB_ERRNO_BASE] = "instance latched fatal after an I/O failure",
	[AEDB_EINVAL - AEDB_ERRNO_BASE] = "invalid argument",
	[AEDB_ETOOBIG - AEDB_ERRNO_BASE] = "key, value or request too large",
	[AEDB_ENAME - AEDB_ERRNO_BASE] = "invalid name (1..128 bytes of [A-Za-z0-9_-])",
	[AEDB_ERESERVED - AEDB_ERRNO_BASE] = "name reserved for the engine",
	[AEDB_ENOPROJECT - AEDB_ERRNO_BASE] = "project does not exist",
	[AEDB_ENOSCOPE - AEDB_ERRNO_BASE] = "scope does not exist",
	[AEDB_ESEQFUTURE - AEDB_ERRNO_BASE] = "sequence number not yet visible",
	[AEDB_ESEQGC - AEDB_ERRNO_BASE] = "sequence number no longer retained",
	[AEDB_ECONFIG - AEDB_ERRNO_BASE] = "invalid configuration",
	[AEDB_ECLOSED - AEDB_ERRNO_BASE] = "instance is closing or closed",
	[AEDB_ENOTSUP - AEDB_ERRNO_BASE] = "not supported",
	[AEDB_ECURSOR - AEDB_ERRNO_BASE] = "cursor does not match this scan",
	[AEDB_ECONFLICT - AEDB_ERRNO_BASE] = "conflict with a concurrent change",
	[AEDB_EPERM - AEDB_ERRNO_BASE] = "permission denied",
	[AEDB_EASSERT - AEDB_ERRNO_BASE] = "read assertion failed",
	[AEDB_EUNDERFLOW - AEDB_ERRNO_BASE] = "numeric underflow",
	[AEDB_EOVERFLOW - AEDB_ERRNO_BASE] = "numeric overflow",
	[AEDB_ELOCKED - AEDB_ERRNO_BASE] = "data directory is open in another instance",
	[AEDB_EINCOMPAT - AEDB_ERRNO_BASE] = "data directory has another shard count or format",
	[AEDB_ETYPE - AEDB_ERRNO_BASE] = "stored value has the wrong width or type",
	[AEDB_ENOTABLE - AEDB_ERRNO_BASE] = "table does not exist",
	[AEDB_ENOTNULL - AEDB_ERRNO_BASE] = "NULL in a NOT NULL column",
	[AEDB_ENOACC - AEDB_ERRNO_BASE] = "accumulator does not exist",
	[AEDB_EORDER - AEDB_ERRNO_BASE] = "order key must be above the latest accepted",
	[AEDB_EDEDUPE - AEDB_ERRNO_BASE] = "dedupe key already used with a different payload",
	[AEDB_ELIMIT - AEDB_ERRNO_BASE] = "exposure margin exceeded",
	[AEDB_ENOCOLUMN - AEDB_ERRNO_BASE] = "no such column",
	[AEDB_ESCANLIMIT - AEDB_ERRNO_BASE] = "query read more rows than its scan limit",
	[AEDB_EMEMLIMIT - AEDB_ERRNO_BASE] = "query held more bytes than its memory limit",
	[AEDB_EUNIQUE - AEDB_ERRNO_BASE] = "unique index violation",
	[AEDB_ECHECK - AEDB_ERRNO_BASE] = "row fails a check constraint",
	[AEDB_EDEPEND - AEDB_ERRNO_BASE] = "still used by a key, index or constraint",
	[AEDB_EREADONLY - AEDB_ERRNO_BASE] = "instance is read-only",
	[AEDB_EFOREIGN - AEDB_ERRNO_BASE] = "foreign key violation",
};

AEDB_API const char *aedb_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		return "success";
	if (err > AEDB_ERRNO_BASE && err < AEDB_ERRNO_LAST)
		return core_err_msgs[err - AEDB_ERRNO_BASE];
	if (err < AEDB_ERRNO_BASE)
		return strerror(err);
	return "unknown error";
}

static enum aedb_error_class core_errno_class(int err)
{
	switch (err) {
	case EAGAIN:
	case EINTR:
	case EBUSY:
	case ETIMEDOUT:
		return AEDB_CLASS_RETRYABLE;
	case EPERM:
	case EACCES:
		return AEDB_CLASS_PERMISSION;
	case EINVAL:
	case E2BIG:
	case ENAMETOOLONG:
	case ERANGE:
		return AEDB_CLASS_VALIDATION;
	case EIO:
	case EBADMSG:
		return AEDB_CLASS_INTEGRITY;
	default:
		return AEDB_CLASS_UNAVAILABLE;
	}
}

AEDB_API enum aedb_error_class aedb_error_class(int err)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		return AEDB_CLASS_NONE;
	if (err < AEDB_ERRNO_BASE)
		return core_errno_class(err);
	switch (err) {
	case AEDB_ENOTFOUND:
		return AEDB_CLASS_NONE;
	case AEDB_EBUSY:
	case AEDB_ESEQFUTURE:
		return AEDB_CLASS_RETRYABLE;
	case AEDB_ECONFLICT:
	case AEDB_EEXIST:
	case AEDB_EUNIQUE:
	case AEDB_EFOREIGN:
	case AEDB_ESEQGC:
		return AEDB_CLASS_CONFLICT;
	case AEDB_EPERM:
		return AEDB_CLASS_PERMISSION;
	case AEDB_ECORRUPT:
		return AEDB_CLASS_INTEGRITY;
	case AEDB_EFATAL:
	case AEDB_ECLOSED:
	case AEDB_ELOCKED:
	case AEDB_EREADONLY:
		return AEDB_CLASS_UNAVAILABLE;
	case AEDB_EINCOMPAT:
	case AEDB_ETYPE:
		return AEDB_CLASS_VALIDATION;
	case AEDB_EMISUSE:
	case AEDB_EINVAL:
	case AEDB_ETOOBIG:
	case AEDB_ENAME:
	case AEDB_ERESERVED:
	case AEDB_ENOPROJECT:
	case AEDB_ENOSCOPE:
	case AEDB_ENOTABLE:
	case AEDB_ENOTNULL:
	case AEDB_ENOACC:
	case AEDB_EORDER:
	case AEDB_EDEDUPE:
	case AEDB_ELIMIT:
	case AEDB_ENOCOLUMN:
	case AEDB_ESCANLIMIT:
	case AEDB_EMEMLIMIT:
	case AEDB_ECHECK:
	case AEDB_EDEPEND:
	case AEDB_ECONFIG:
	case AEDB_ENOTSUP:
	case AEDB_ECURSOR:
	case AEDB_EASSERT:
	case AEDB_EUNDERFLOW:
	case AEDB_EOVERFLOW:
		return AEDB_CLASS_VALIDATION;
	default:
		return AEDB_CLASS_UNAVAILABLE;
	}
}

AEDB_API int aedb_version_number(void)
{
	return AEDB_VERSION_NUMBER;
}

AEDB_API const char *aedb_version_string(void)
{
	return AEDB_VERSION_STRING;
}
