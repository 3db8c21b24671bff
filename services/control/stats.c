/*
 * The counters behind this program's part of /metrics: requests by route,
 * method and status, their latency as a histogram per route, open
 * connections, refused credentials and failed handshakes.
 */
#include "control.h"

#include <errno.h>
#include <string.h>

/* Latency buckets, in microseconds (Prometheus' "le" in seconds). */
static const uint64_t bucket_usec[] = { 500, 1000, 2500, 5000, 10000, 25000, 50000,
					100000, 250000, 500000, 1000000, 5000000 };
#define NBUCKETS (sizeof(bucket_usec) / sizeof(bucket_usec[0]))

static const char *const route_names[ROUTE_NROUTES] = {
	"other", "healthz", "machine", "metrics", "units", "journal", "power", "kv",
};
static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "other" };
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* Distinct (route, method, status) triples kept; the rest add to "other". */
#define STATS_CODES_MAX 256

static struct {
	struct {
		unsigned char route, method;
		short status;
		uint64_t n;
	} codes[STATS_CODES_MAX];
	unsigned ncodes;
	uint64_t hist[ROUTE_NROUTES][NBUCKETS + 1];
	uint64_t sum_usec[ROUTE_NROUTES];
	uint64_t count[ROUTE_NROUTES];
	uint64_t auth_refused, tls_failed, conns_total, buffer_closed;
	int64_t conns;
} st;

void stats_request(int route, const char *method, int status, uint64_t usec)
{
	unsigned m = 0, i, b;

	if (route < 0 || route >= ROUTE_NROUTES)
		route = ROUTE_OTHER;
	while (m < NMETHODS - 1 && strcmp(methods[m], method))
		m++;
	for (i = 0; i < st.ncodes; i++)
		if (st.codes[i].route == route && st.codes[i].method == m &&
		    st.codes[i].status == status)
			break;
	if (i == st.ncodes && st.ncodes < STATS_CODES_MAX) {
		st.codes[i].route = (unsigned char)route;
		st.codes[i].method = (unsigned char)m;
		st.codes[i].status = (short)status;
		st.ncodes++;
	}
	if (i < st.ncodes)
		st.codes[i].n++;
	for (b = 0; b < NBUCKETS && usec > bucket_usec[b]; b++)
		;
	st.hist[route][b]++;
	st.sum_usec[route] += usec;
	st.count[route]++;
}

void stats_auth_refused(void)
{
	st.auth_refused++;
}

void stats_tls_failed(void)
{
	st.tls_failed++;
}

void stats_buffer_closed(void)
{
	st.buffer_closed++;
}

void stats_conn(int delta)
{
	st.conns += delta;
	if (delta > 0)
		st.conns_total++;
}

int stats_write(struct buf *b, const struct control *ctl)
{
	int r = 0;

	r |= buf_puts(b, "# HELP pith_control_requests_total HTTP requests answered by the control port.\n"
			 "# TYPE pith_control_requests_total counter\n");
	for (unsigned i = 0; i < st.ncodes; i++)
		r |= buf_printf(b, "pith_control_requests_total{route=\"%s\",method=\"%s\",code=\"%d\"} %llu\n",
				route_names[st.codes[i].route], methods[st.codes[i].method],
				st.codes[i].status, (unsigned long long)st.codes[i].n);
	r |= buf_puts(b, "# HELP pith_control_request_duration_seconds Time from a request's head to its answer's end.\n"
			 "# TYPE pith_control_request_duration_seconds histogram\n");
	for (int rt = 0; rt < ROUTE_NROUTES; rt++) {
		uint64_t cum = 0;

		if (!st.count[rt])
			continue;
		for (unsigned k = 0; k <= NBUCKETS; k++) {
			cum += st.hist[rt][k];
			if (k < NBUCKETS)
				r |= buf_printf(b, "pith_control_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
						route_names[rt], (double)bucket_usec[k] / 1e6,
						(unsigned long long)cum);
			else
				r |= buf_printf(b, "pith_control_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
						route_names[rt], (unsigned long long)cum);
		}
		r |= buf_printf(b, "pith_control_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
				route_names[rt], (double)st.sum_usec[rt] / 1e6);
		r |= buf_printf(b, "pith_control_request_duration_seconds_count{route=\"%s\"} %llu\n",
				route_names[rt], (unsigned long long)st.count[rt]);
	}
	r |= buf_printf(b, "# HELP pith_control_connections Open connections to the control port.\n"
			   "# TYPE pith_control_connections gauge\n"
			   "pith_control_connections %lld\n"
			   "# HELP pith_control_connections_total Connections accepted.\n"
			   "# TYPE pith_control_connections_total counter\n"
			   "pith_control_connections_total %llu\n"
			   "# HELP pith_control_auth_refused_total Requests refused for a missing or wrong credential or role.\n"
			   "# TYPE pith_control_auth_refused_total counter\n"
			   "pith_control_auth_refused_total %llu\n"
			   "# HELP pith_control_tls_failures_total TLS connections that failed (handshake or record errors).\n"
			   "# TYPE pith_control_tls_failures_total counter\n"
			   "pith_control_tls_failures_total %llu\n"
			   "# HELP pith_control_buffered_bytes Buffer memory held by all connections.\n"
			   "# TYPE pith_control_buffered_bytes gauge\n"
			   "pith_control_buffered_bytes %zu\n"
			   "# HELP pith_control_buffer_closed_total Connections closed for holding the most when all together held too much.\n"
			   "# TYPE pith_control_buffer_closed_total counter\n"
			   "pith_control_buffer_closed_total %llu\n",
			(long long)st.conns, (unsigned long long)st.conns_total,
			(unsigned long long)st.auth_refused, (unsigned long long)st.tls_failed,
			ctl->held, (unsigned long long)st.buffer_closed);
	return r ? -ENOMEM : 0;
}
