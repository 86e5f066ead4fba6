/* SPDX-License-Identifier: MIT */
/* Identifier rules for projects and scopes. */
#ifndef AEDB_CORE_NAMES_H
#define AEDB_CORE_NAMES_H

#include <stddef.h>

#define CORE_PROJECT_SYSTEM "_system"
#define CORE_SCOPE_DEFAULT "app"

/* 0 if @name is 1..AEDB_NAME_MAX bytes of [A-Za-z0-9_-]; else -AEDB_ENAME
 * (-AEDB_EMISUSE for NULL). Writes the length to *@len when valid. */
int core_name_check(const char *name, size_t *len);
/* As core_name_check, plus -AEDB_ERESERVED for "_system". */
int core_project_name_check(const char *name, size_t *len);

#endif
