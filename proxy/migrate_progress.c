/* The progress line of `dynaseal migrate` (migrate_progress.h). */
#include "proxy/migrate_progress.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "proxy/base/json.h"

void migrate_progress_init(struct migrate_progress *p, FILE *out, int tty, const char *table,
			   double expected_items)
{
	p->out = out;
	p->tty = tty;
	p->table = table;
	p->expected_items = expected_items;
	p->drawn = 0;
}

/* Seconds left at this rate, or -1 when unknown (nothing expected, nothing done yet). */
static double eta_s(const struct migrate_progress *p, double scanned, double rate)
{
	if (p->expected_items <= 0 || rate <= 0)
		return -1;
	return fmax(0, (p->expected_items - scanned) / rate);
}

void migrate_progress_print(struct migrate_progress *p, const struct migrate_counts *c, double elapsed_s,
			    int last)
{
	double rate = elapsed_s > 0 ? (double)c->scanned / elapsed_s : 0;
	double eta = eta_s(p, (double)c->scanned, rate);

	if (p->out == NULL)
		return;
	if (p->tty) {
		char when[32] = "?";
		if (eta >= 0)
			snprintf(when, sizeof(when), "%d:%02d", (int)eta / 60, (int)eta % 60);
		fprintf(p->out, "\r%s: scanned %llu  converted %llu  skipped %llu  legacy %llu  failed %llu"
			"  |  %.0f items/s  |  %.1f RCU %.1f WCU  |  ETA %s\033[K%s", p->table,
			(unsigned long long)c->scanned, (unsigned long long)c->converted,
			(unsigned long long)c->skipped, (unsigned long long)c->legacy,
			(unsigned long long)c->failed, rate, c->rcu, c->wcu, last ? "0:00" : when,
			last ? "\n" : "");
		p->drawn = !last;
	} else {
		/* JSON through cJSON: the table name is the config's, not necessarily a safe string. */
		cJSON *o = migrate_counts_json(c);
		char *text;
		if (o == NULL)
			return;
		cJSON_AddBoolToObject(o, "progress", 1);
		cJSON_AddStringToObject(o, "table", p->table);
		cJSON_AddNumberToObject(o, "elapsed_s", round(elapsed_s * 10) / 10);
		cJSON_AddNumberToObject(o, "items_per_second", round(rate * 10) / 10);
		if (last || eta >= 0)
			cJSON_AddNumberToObject(o, "eta_s", last ? 0 : round(eta));
		else
			cJSON_AddNullToObject(o, "eta_s");
		text = json_print(o, NULL);
		if (text != NULL)
			fprintf(p->out, "%s\n", text);
		cJSON_free(text);
		cJSON_Delete(o);
	}
	fflush(p->out);
}
