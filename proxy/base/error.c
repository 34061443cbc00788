#include "proxy/base/error.h"

#include <stdio.h>
#include <string.h>

void ds_error_vset(struct ds_error *err, int status, const char *type, const char *fmt, va_list ap)
{
	if (err == NULL)
		return;
	err->status = status;
	err->type = type;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

void ds_error_set(struct ds_error *err, int status, const char *type, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ds_error_vset(err, status, type, fmt, ap);
	va_end(ap);
}

void ds_error_clear(struct ds_error *err)
{
	memset(err, 0, sizeof(*err));
}
