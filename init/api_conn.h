/*
 * Inside the local API: what api.c (connections, routing, the journal) and
 * api_units.c (the unit routes) share. Not for other files.
 */
#ifndef PITH_INIT_API_CONN_H
#define PITH_INIT_API_CONN_H

#include <stdbool.h>

#include "api.h"
#include "buf.h"
#include "http.h"
#include "json.h"

struct conn {
	struct api *api;
	int fd;
	struct loop_io io;
	struct http_parser p;
	struct buf in;		/* bytes read and not yet parsed */
	struct buf body;	/* the request body */
	struct buf out;		/* bytes to write */
	bool closing;		/* close once out is written */
	bool waiting;		/* a job callback will answer */
	bool dead;		/* closed while waiting: the callback frees it */
	bool follow;		/* streaming the journal */
	bool chunked;		/* the response is chunked and still open */
	struct journal_reader reader;
	struct journal_filter filter;
	char unit[UNIT_NAME_MAX + 1];
	int64_t lines_left;	/* a journal query without follow: entries still to send */
	uint64_t lost_told;
	struct conn *next;
};

struct api {
	struct loop *loop;
	struct manager *m;
	struct journal *j;
	int fd;
	struct loop_io io;
	struct conn *conns;
	unsigned nconns;
	struct loop_timer pump;
	bool pump_armed;
	api_power_fn *power;
	void *power_arg;
	enum power_action power_action;
	struct loop_timer power_timer;
	bool power_armed;
	/* Refused connections waiting to be closed, oldest first. */
	int refused_fd[API_REFUSED_MAX];
	uint64_t refused_until[API_REFUSED_MAX];
	unsigned nrefused;
	struct loop_timer refused_timer;
};

/* Queue a response on c: status, Content-Type and body (may be NULL). */
void api_respond(struct conn *c, int status, const char *type, const struct buf *body);
/* The same with a JSON body, which it frees. */
void api_respond_json(struct conn *c, int status, struct buf *b);
/* End the JSON document j writes into b and send it (503 if it could
 * not be written); frees b. */
void api_respond_doc(struct conn *c, int status, struct json *j, struct buf *b);
/* {"error": message}, with status. */
void api_respond_error(struct conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void api_conn_close(struct conn *c);
void api_conn_want_write(struct conn *c);

/* The unit routes of docs/api.md (api_units.c). */
void api_units_list(struct conn *c);
void api_unit_status(struct conn *c, struct mu *u);
void api_unit_action(struct conn *c, struct mu *u, const char *action);
void api_unit_enable(struct conn *c, struct mu *u, bool enable);
void api_unit_file_get(struct conn *c, struct mu *u);
void api_unit_file_put(struct conn *c, const char *name);
void api_unit_file_remove(struct conn *c, const char *name);
void api_unit_files_list(struct conn *c);
/* The answers for a name no file defines and nothing names (rest: what
 * follows it in the path), given without making an entry for it. */
void api_unit_unknown(struct conn *c, const char *name, const char *rest);

/* The machine routes (api_machine.c). */
void api_metrics(struct conn *c);
void api_machine_power(struct conn *c, const char *what);

#endif
