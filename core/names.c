/* SPDX-License-Identifier: MIT */
#include "core/names.h"

#include <string.h>

#include "aedb.h"

int core_name_check(const char *name, size_t *len)
{
	size_t n = 0;

	if (!name)
		return -AEDB_EMISUSE;
	for (; name[n]; n++) {
		char c = name[n];

		if (n >= AEDB_NAME_MAX)
			return -AEDB_ENAME;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return -AEDB_ENAME;
	}
	if (n == 0)
		return -AEDB_ENAME;
	if (len)
		*len = n;
	return 0;
}

int core_project_name_check(const char *name, size_t *len)
{
	int rc = core_name_check(name, len);

	if (rc == 0 && strcmp(name, CORE_PROJECT_SYSTEM) == 0)
		return -AEDB_ERESERVED;
	return rc;
}
