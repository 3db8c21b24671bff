/*
 * pith-kv [flags]: a member of a Raft-replicated key-value store that
 * serves etcd's v2 keys API. The flags are etcd's own, so one script can
 * start either program (docs/kv.md lists them and what differs).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "log.h"
#include "notify.h"
#include "v2req.h"
#include "version.h"

static const char usage[] =
	"usage: pith-kv [flags]   (etcd's flag names; -flag and --flag, value after = or a space)\n"
	"\n"
	"  --name NAME                          this member's name (default \"default\")\n"
	"  --data-dir DIR                       where its log is kept (default NAME.etcd)\n"
	"  --listen-client-urls URLS            the v2 API, http only (default http://127.0.0.1:2379)\n"
	"  --advertise-client-urls URLS         client URLs told to the cluster (default the same)\n"
	"  --listen-peer-urls URLS              peer traffic (default http://127.0.0.1:2380)\n"
	"  --initial-advertise-peer-urls URLS   this member's peer URLs (default http://127.0.0.1:2380)\n"
	"  --initial-cluster NAME=URL,...       every member (default NAME=<advertise peer URLs>)\n"
	"  --initial-cluster-state new|existing (existing: join a running cluster this\n"
	"                                       member was added to with member add)\n"
	"  --initial-cluster-token TOKEN        mixed into the IDs (default etcd-cluster)\n"
	"  --heartbeat-interval MS              (default 100)\n"
	"  --election-timeout MS                (default 1000)\n"
	"  --snapshot-count N                   entries between snapshots (default 100000; also\n"
	"                                       one when the log in memory passes 8 MiB)\n"
	"  --peer-cert-file FILE                this member's certificate, PEM (https peer URLs)\n"
	"  --peer-key-file FILE                 its key\n"
	"  --peer-trusted-ca-file FILE          the cluster CA: peers must show a certificate from it\n"
	"  --peer-client-cert-auth              accepted: with https peers it is always on\n"
	"  --enable-v2                          accepted: the v2 API is always on\n"
	"\n"
	"Each flag may also come from the environment as etcd reads it: ETCD_NAME,\n"
	"ETCD_INITIAL_CLUSTER, ... (a flag given wins).\n"
	"URLS is a comma-separated list of http(s)://IP:PORT. Plain http peer URLs\n"
	"are allowed only on loopback addresses.\n";

static struct kv kv;
static struct loop loop;
static bool stopping;
static struct loop_timer stop_timer;

static void stop_now(struct loop *l, void *arg)
{
	loop_stop(l);
}

/* On SIGTERM a leader hands over to the follower that is most up to date
 * first (thesis section 3.10), so the cluster does not wait an election
 * timeout; it stops when the hand-over is done or after one timeout. */
static void on_signal(struct loop *l, int signo, void *arg)
{
	uint64_t best = RAFT_NONE, match = 0;

	if (stopping)
		return loop_stop(l);
	stopping = true;
	if (kv.raft.role == RAFT_LEADER) {
		for (size_t i = 0; i < kv.raft.nprs; i++) {
			const struct raft_progress *p = &kv.raft.prs[i];

			if (p->id != kv.id && !p->learner && p->match >= match &&
			    raft_is_voter(&kv.raft.conf, p->id))
				best = p->id, match = p->match;
		}
	}
	if (best != RAFT_NONE && raft_transfer_leader(&kv.raft, best) == 0) {
		log_info("handing leadership to %llx before stopping", (unsigned long long)best);
		loop_timer_set(l, &stop_timer, kv.cfg.election_ms, stop_now, NULL);
		return;
	}
	loop_stop(l);
}

static unsigned parse_ms(const char *flag, const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end || !*s || v == 0 || v > 50000)
		die(EXIT_USAGE, "unable to use --%s %s: milliseconds from 1 to 50000", flag, s);
	return (unsigned)v;
}

static bool parse_flag_bool(const char *flag, const char *s)
{
	bool v = true;

	if (s && v2_parse_bool(s, &v) < 0)
		die(EXIT_USAGE, "unable to use --%s=%s: not a boolean", flag, s);
	return v;
}

enum { F_NAME = 256, F_DATA, F_LCU, F_ACU, F_LPU, F_IAPU, F_IC, F_ICS, F_ICT, F_HB, F_ET,
       F_SC, F_PCERT, F_PKEY, F_PCA, F_PCCA, F_V2, F_HELP, F_VERSION };

static const struct option options[] = {
	{ "name", required_argument, NULL, F_NAME },
	{ "data-dir", required_argument, NULL, F_DATA },
	{ "listen-client-urls", required_argument, NULL, F_LCU },
	{ "advertise-client-urls", required_argument, NULL, F_ACU },
	{ "listen-peer-urls", required_argument, NULL, F_LPU },
	{ "initial-advertise-peer-urls", required_argument, NULL, F_IAPU },
	{ "initial-cluster", required_argument, NULL, F_IC },
	{ "initial-cluster-state", required_argument, NULL, F_ICS },
	{ "initial-cluster-token", required_argument, NULL, F_ICT },
	{ "heartbeat-interval", required_argument, NULL, F_HB },
	{ "election-timeout", required_argument, NULL, F_ET },
	{ "snapshot-count", required_argument, NULL, F_SC },
	{ "peer-cert-file", required_argument, NULL, F_PCERT },
	{ "peer-key-file", required_argument, NULL, F_PKEY },
	{ "peer-trusted-ca-file", required_argument, NULL, F_PCA },
	{ "peer-client-cert-auth", optional_argument, NULL, F_PCCA },
	{ "enable-v2", optional_argument, NULL, F_V2 },
	{ "help", no_argument, NULL, F_HELP },
	{ "version", no_argument, NULL, F_VERSION },
	{ 0 },
};

/* Settings as given, before they are checked. */
static const char *lcu = "http://127.0.0.1:2379", *lpu = "http://127.0.0.1:2380";
static const char *iapu = "http://127.0.0.1:2380", *ics = "new";

static void set(int opt, const char *v)
{
	struct kv_config *cfg = &kv.cfg;

	switch (opt) {
	case F_NAME: cfg->name = v; break;
	case F_DATA: cfg->data_dir = v; break;
	case F_LCU: lcu = v; break;
	case F_ACU: cfg->advertise_client = v; break;
	case F_LPU: lpu = v; break;
	case F_IAPU: iapu = v; break;
	case F_IC: cfg->initial_cluster = v; break;
	case F_ICS: ics = v; break;
	case F_ICT: cfg->token = v; break;
	case F_HB: cfg->heartbeat_ms = parse_ms("heartbeat-interval", v); break;
	case F_ET: cfg->election_ms = parse_ms("election-timeout", v); break;
	case F_SC: cfg->snapshot_count = strtoull(v, NULL, 10); break;
	case F_PCERT: cfg->peer_cert = v; break;
	case F_PKEY: cfg->peer_key = v; break;
	case F_PCA: cfg->peer_ca = v; break;
	case F_PCCA: cfg->peer_client_cert_auth = parse_flag_bool("peer-client-cert-auth", v); break;
	case F_V2: parse_flag_bool("enable-v2", v); break;
	}
}

/* etcd reads ETCD_<FLAG> from the environment too (a flag given wins):
 * the image's unit sets them from /etc/pith/kv.env. */
static void set_from_environment(void)
{
	for (const struct option *o = options; o->name; o++) {
		char env[64] = "ETCD_";
		size_t n = 5;
		const char *v;

		for (const char *p = o->name; *p && n < sizeof(env) - 1; p++)
			env[n++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		env[n] = 0;
		if (o->val < F_HELP && (v = getenv(env)) && *v)
			set(o->val, o->has_arg == optional_argument && !*v ? NULL : v);
	}
}

int main(int argc, char **argv)
{
	static char data_dir[4096], initial[1024];
	struct kv_config *cfg = &kv.cfg;
	struct err e = { 0 };
	sigset_t sigs;
	int c, r;

	log_init("pith-kv", 2);
	cfg->name = "default";
	cfg->advertise_client = NULL;
	cfg->token = KV_CLUSTER_TOKEN_DEFAULT;
	cfg->heartbeat_ms = 100;
	cfg->election_ms = 1000;
	cfg->snapshot_count = 100000;
	set_from_environment();
	while ((c = getopt_long_only(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case F_VERSION: printf("pith-kv %s\n", PITH_VERSION); return 0;
		case F_HELP: fputs(usage, stdout); return 0;
		case '?': fputs(usage, stderr); return EXIT_USAGE;
		default: set(c, optarg); break;
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument %s", argv[optind]);
	if (strlen(cfg->name) > KV_NAME_MAX || !*cfg->name)
		die(EXIT_USAGE, "unable to use --name %s: 1 to %d bytes", cfg->name, KV_NAME_MAX);
	if (!strcmp(ics, "existing"))
		cfg->cluster_existing = true;
	else if (strcmp(ics, "new"))
		die(EXIT_USAGE, "unable to use --initial-cluster-state %s: new or existing", ics);
	if (!cfg->data_dir) {
		snprintf(data_dir, sizeof(data_dir), "%s.etcd", cfg->name);
		cfg->data_dir = data_dir;
	}
	if (cfg->election_ms < 5 * cfg->heartbeat_ms)
		die(EXIT_USAGE, "unable to use --election-timeout %u: at least 5 heartbeat intervals (%u)",
		    cfg->election_ms, 5 * cfg->heartbeat_ms);
	if (kv_urls_parse(cfg->listen_client, &cfg->nlisten_client, lcu, &e) < 0)
		die(EXIT_USAGE, "unable to use --listen-client-urls: %s", e.msg);
	if (kv_urls_parse(cfg->listen_peer, &cfg->nlisten_peer, lpu, &e) < 0)
		die(EXIT_USAGE, "unable to use --listen-peer-urls: %s", e.msg);
	if (kv_urls_parse(cfg->advertise_peer, &cfg->nadvertise_peer, iapu, &e) < 0)
		die(EXIT_USAGE, "unable to use --initial-advertise-peer-urls: %s", e.msg);
	if (!cfg->advertise_client)
		cfg->advertise_client = lcu;
	if (!cfg->initial_cluster) {
		size_t n = 0;

		for (size_t i = 0; i < cfg->nadvertise_peer; i++)
			n += (size_t)snprintf(initial + n, sizeof(initial) - n, "%s%s=%s", i ? "," : "",
					      cfg->name, cfg->advertise_peer[i].text);
		cfg->initial_cluster = initial;
	}
	if ((r = loop_init(&loop)) < 0)
		die(EXIT_TEMP, "unable to create the event loop: %s", strerror(-r));
	kv.loop = &loop;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if ((r = loop_signals(&loop, &sigs, on_signal, NULL)) < 0)
		die(EXIT_TEMP, "unable to take signals: %s", strerror(-r));
	signal(SIGPIPE, SIG_IGN);
	if ((r = kv_node_start(&kv, &e)) < 0)
		die(r == -EINVAL ? EXIT_USAGE : EXIT_TEMP, "unable to start: %s",
		    e.msg[0] ? e.msg : strerror(-r));
	if ((r = kv_peers_start(&kv, &e)) < 0)
		die(r == -EINVAL ? EXIT_USAGE : EXIT_TEMP, "unable to start the peer port: %s",
		    e.msg[0] ? e.msg : strerror(-r));
	if (!(kv.api = kv_api_start(&kv, &e)))
		die(EXIT_TEMP, "unable to start the client API: %s", e.msg[0] ? e.msg : "out of memory");
	log_info("serving the v2 API on %s", lcu);
	notify_ready();
	while (!loop.stop) {
		if ((r = loop_run_once(&loop, -1)) < 0)
			die(EXIT_TEMP, "unable to wait for events: %s", strerror(-r));
		if ((r = kv_node_ready(&kv, &e)) < 0)
			die(EXIT_TEMP, "unable to go on: %s", e.msg[0] ? e.msg : strerror(-r));
		kv_peers_reap(&kv);
		if (kv.removed) {
			/* As etcd: a member taken out of the cluster stops. */
			log_info("this member was removed from the cluster");
			break;
		}
		if (stopping && kv.raft.role != RAFT_LEADER && stop_timer.armed)
			break;
	}
	log_info("stopping");
	kv_api_stop(kv.api);
	kv_peers_stop(&kv);
	kv_node_stop(&kv);
	return 0;
}
