/*
 * pith-control [options]: the HTTPS control port. See control.h and
 * docs/security.md. Runs as a unit under PID 1 (Type=notify); SIGHUP reads
 * the credentials again, SIGTERM and SIGINT stop it.
 */
#include "control.h"

#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "version.h"

static const char usage[] =
	"usage: pith-control [options]\n"
	"\n"
	"  --listen ADDR          address to listen on (default :: and else 0.0.0.0)\n"
	"  --port N               port (default 7443)\n"
	"  --cert FILE            certificate chain, PEM (default " CONTROL_CERT ")\n"
	"  --key FILE             its private key, PEM (default " CONTROL_KEY ")\n"
	"  --ca FILE              CA that client certificates must come from\n"
	"                         (default " CONTROL_CA "; \"\" accepts none)\n"
	"  --tokens FILE          token digests and roles (default " CONTROL_TOKENS ")\n"
	"  --socket PATH          PID 1's local API (default " CONTROL_SOCKET ")\n"
	"  --kv ADDR:PORT         the KV's client API, IPv4 (default " CONTROL_KV_ADDR ":2379)\n"
	"  --max-connections N    open connections at once (default 1024)\n"
	"  --max-connections-per-client N\n"
	"                         from one client address (default 64)\n"
	"  --upstream-timeout S   seconds a read may wait on PID 1 or the KV\n"
	"                         without an answer (default 30)\n"
	"  --max-buffered MIB     buffer memory of all connections together\n"
	"                         (default 32)\n";

static struct control ctl;

static void on_signal(struct loop *l, int signo, void *arg)
{
	struct err e = { 0 };

	if (signo != SIGHUP) {
		loop_stop(l);
		return;
	}
	if (control_credentials_load(&ctl, &e) < 0) {
		log_err("reload: keeping the old credentials: %s", e.msg);
		return;
	}
	/* A handshake under way points at the old credentials, and a
	 * certificate a connection presented may have just been revoked (a
	 * new CA), whether or not its requests were authenticated by it: all
	 * close, and their clients connect again. */
	for (struct conn *c = ctl.conns, *next; c; c = next) {
		next = c->next;
		if (c->phase == CONN_HANDSHAKE || c->tls->peer.ncerts)
			conn_close(c);
	}
	log_info("reload: credentials read again (%zu tokens, %zu CA certificates)",
		 ctl.tokens->n, ctl.cas.n);
}

/* Room for every connection and its upstream, as far as the hard limit
 * allows (the unit sets LimitNOFILE=); where it does not, fewer
 * connections, so that an accept never fails for want of a descriptor. */
static void fd_limit_raise(void)
{
	rlim_t need = 2 * (rlim_t)ctl.conn_max + CONTROL_FD_SPARE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < need) {
		unsigned max = rl.rlim_cur > 2 * CONTROL_FD_SPARE ?
				       (unsigned)((rl.rlim_cur - CONTROL_FD_SPARE) / 2) : CONTROL_FD_SPARE / 2;

		log_warn("only %llu file descriptors: %u connections at most, not %u",
			 (unsigned long long)rl.rlim_cur, max, ctl.conn_max);
		ctl.conn_max = max;
	}
}

static unsigned parse_count(const char *flag, const char *s, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*end || !*s || v == 0 || v > max)
		die(EXIT_USAGE, "unable to use %s %s: a number from 1 to %u", flag, s, max);
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "tokens", required_argument, NULL, 't' },
		{ "socket", required_argument, NULL, 's' },
		{ "kv", required_argument, NULL, 'K' },
		{ "max-connections", required_argument, NULL, 'm' },
		{ "max-connections-per-client", required_argument, NULL, 'M' },
		{ "upstream-timeout", required_argument, NULL, 'U' },
		{ "max-buffered", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *listen_addr = NULL;
	unsigned port = CONTROL_PORT;
	struct loop loop;
	struct err e = { 0 };
	sigset_t sigs;
	int c, r;

	log_init("pith-control", 2);
	ctl.cert_path = CONTROL_CERT;
	ctl.key_path = CONTROL_KEY;
	ctl.ca_path = CONTROL_CA;
	ctl.tokens_path = CONTROL_TOKENS;
	ctl.socket_path = CONTROL_SOCKET;
	ctl.kv_addr = CONTROL_KV_ADDR;
	ctl.kv_port = CONTROL_KV_PORT;
	ctl.conn_max = CONTROL_CONN_MAX;
	ctl.conn_per_client_max = CONTROL_CONN_PER_CLIENT_MAX;
	ctl.read_wait_ms = CONTROL_READ_WAIT_MS;
	ctl.held_max = CONTROL_BUFFERED_MAX;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'l': listen_addr = optarg; break;
		case 'p': port = parse_count("--port", optarg, 65535); break;
		case 'c': ctl.cert_path = optarg; break;
		case 'k': ctl.key_path = optarg; break;
		case 'a': ctl.ca_path = optarg; break;
		case 't': ctl.tokens_path = optarg; break;
		case 's':
			if (strlen(optarg) >= sizeof(((struct sockaddr_un *)0)->sun_path))
				die(EXIT_USAGE, "unable to use --socket %s: too long", optarg);
			ctl.socket_path = optarg;
			break;
		case 'K': {
			static char addr[16];
			char *colon = strrchr(optarg, ':');
			struct in_addr a;

			if (!colon || (size_t)(colon - optarg) >= sizeof(addr))
				die(EXIT_USAGE, "unable to use --kv %s: expected IPv4:PORT", optarg);
			memcpy(addr, optarg, (size_t)(colon - optarg));
			addr[colon - optarg] = 0;
			if (inet_pton(AF_INET, addr, &a) != 1)
				die(EXIT_USAGE, "unable to use --kv %s: expected IPv4:PORT", optarg);
			ctl.kv_addr = addr;
			ctl.kv_port = parse_count("--kv", colon + 1, 65535);
			break;
		}
		case 'm': ctl.conn_max = parse_count("--max-connections", optarg, 1u << 20); break;
		case 'M':
			ctl.conn_per_client_max =
				parse_count("--max-connections-per-client", optarg, 1u << 20);
			break;
		case 'B':
			ctl.held_max = (size_t)parse_count("--max-buffered", optarg, 1u << 16) << 20;
			break;
		case 'U':
			ctl.read_wait_ms = 1000 * parse_count("--upstream-timeout", optarg, 3600);
			break;
		case 'V': printf("pith-control %s\n", PITH_VERSION); return 0;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument %s", argv[optind]);
	fd_limit_raise();
	if (control_credentials_load(&ctl, &e) < 0)
		die(EXIT_USAGE, "unable to read the credentials: %s (pith gen makes them; "
			       "docs/security.md says where they go)", e.msg);
	if (ctl.key.type == BR_KEYTYPE_EC && ctl.chain.n == 0)
		die(EXIT_USAGE, "unable to use %s: no certificate", ctl.cert_path);
	if ((r = loop_init(&loop)) < 0)
		die(EXIT_TEMP, "unable to create the event loop: %s", strerror(-r));
	ctl.loop = &loop;
	ctl.started_ms = loop_now_ms();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	if ((r = loop_signals(&loop, &sigs, on_signal, NULL)) < 0)
		die(EXIT_TEMP, "unable to take signals: %s", strerror(-r));
	signal(SIGPIPE, SIG_IGN);
	if (listen_addr) {
		r = control_listen(&ctl, listen_addr, port);
	} else {
		listen_addr = "::";
		if ((r = control_listen(&ctl, listen_addr, port)) == -EAFNOSUPPORT) {
			listen_addr = "0.0.0.0";
			r = control_listen(&ctl, listen_addr, port);
		}
	}
	if (r < 0)
		die(EXIT_TEMP, "unable to listen on %s port %u: %s", listen_addr, port, strerror(-r));
	log_info("listening on %s port %u (%zu tokens, %s)", listen_addr, port,
		 ctl.tokens ? ctl.tokens->n : 0,
		 ctl.cas.n ? "client certificates accepted" : "no client certificates");
	notify_ready();
	loop_run(&loop);
	log_info("stopping");
	return 0;
}
