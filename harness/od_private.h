/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Daemon library internals: what its files share and tests never call.
 */
#ifndef ODS_OD_PRIVATE_H
#define ODS_OD_PRIVATE_H

#include <time.h>

#include "ondemand.h"

/* Note the first daemon-side failure in d->error (and on stderr at once). */
void od_fail(struct od_daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Parse one message read from the device into a new record, or NULL. */
struct od_record *od_record_msg(struct od_daemon *d, const char *buf, ssize_t n);
/* Store an answer's result in its record and wake the waiters: ret. */
int od_store_reply(struct od_daemon *d, struct od_record *m, int ret);

#endif
