/*
 * The node itself: `pith machine`, `pith reboot`, `pith poweroff`,
 * `pith health` and `pith metrics` (docs/cli.md). Each takes --endpoint
 * URL and -o short|json|json-pretty; errors between the CLI and the node
 * exit with client.h's fixed statuses.
 */
#include "machine.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "client.h"
#include "log.h"
#include "output.h"

static const char usage[] =
	"usage: pith [--endpoint URL] machine|reboot|poweroff|health|metrics [-o short|json|json-pretty]\n"
	"\n"
	"  machine    name, IDs, version, uptime, load, memory and addresses of the node\n"
	"  reboot     reboot the node (its units are stopped in order first)\n"
	"  poweroff   power the node off\n"
	"  health     whether the control port answers (exit 0) or not\n"
	"  metrics    the node's metrics, in Prometheus' text format\n";

struct opts {
	const char *endpoint;
	int json;		/* 0 short, 1 json, 2 json-pretty */
};

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option options[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		switch (c) {
		case 'e':
			o->endpoint = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "short"))
				o->json = 0;
			else if (!strcmp(optarg, "json"))
				o->json = 1;
			else if (!strcmp(optarg, "json-pretty"))
				o->json = 2;
			else
				die(EXIT_USAGE, "unable to use -o %s: short, json or json-pretty", optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument %s", argv[optind]);
	return 0;
}

/* One request; the answer, or an exit with the fixed status. */
static void call(struct client *c, const char *method, const char *target,
		 struct client_response *resp)
{
	struct err e = { 0 };
	int r = client_request(c, method, target, NULL, 0, resp, &e);

	if (r < 0) {
		fprintf(stderr, "%s\n", e.msg);
		exit(client_exit_code(r));
	}
}

/* A non-2xx answer: its message and exit 1. */
static void check(const struct client_response *resp, const char *what)
{
	char msg[ERR_MSG_MAX];
	cJSON *doc = NULL;

	if (resp->status / 100 == 2)
		return;
	out_json_parse(resp->body.data, resp->body.len, &doc);
	fprintf(stderr, "Failed to %s: %s\n", what, out_answer_error(doc, resp->status, msg, sizeof(msg)));
	exit(1);
}

static void print_json(const struct client_response *resp, int how)
{
	cJSON *doc = NULL;
	char *text;

	if (out_json_parse(resp->body.data, resp->body.len, &doc) < 0)
		die(CLIENT_EXIT_PROTOCOL, "unable to read the answer: not JSON");
	text = how > 1 ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
	if (!text)
		die(EXIT_TEMP, "out of memory");
	puts(text);
	free(text);
	cJSON_Delete(doc);
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static void human_bytes(char *out, size_t len, double v)
{
	const char *units = "BKMGT";

	while (v >= 1024 && units[1]) {
		v /= 1024;
		units++;
	}
	snprintf(out, len, units[0] == 'B' ? "%.0f%c" : "%.1f%c", v, units[0]);
}

static void print_machine(const struct client_response *resp)
{
	cJSON *m = NULL;
	const cJSON *load, *mem, *addrs, *a;
	char total[32], avail[32];
	unsigned long up;

	if (out_json_parse(resp->body.data, resp->body.len, &m) < 0)
		die(CLIENT_EXIT_PROTOCOL, "unable to read the answer: not JSON");
	load = cJSON_GetObjectItemCaseSensitive(m, "load");
	mem = cJSON_GetObjectItemCaseSensitive(m, "memory");
	addrs = cJSON_GetObjectItemCaseSensitive(m, "addresses");
	up = (unsigned long)(num(m, "uptime_usec") / 1e6);
	human_bytes(total, sizeof(total), num(mem, "total_bytes"));
	human_bytes(avail, sizeof(avail), num(mem, "available_bytes"));
	printf("      Name: %s\n", str(m, "name"));
	printf("Machine ID: %s\n", str(m, "machine_id"));
	printf("   Boot ID: %s\n", str(m, "boot_id"));
	printf("   Version: Pith %s (kernel %s)\n", str(m, "version"), str(m, "kernel"));
	printf("    Uptime: %lud %luh %lumin %lus\n", up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
	printf("      Load: %.2f %.2f %.2f\n", cJSON_GetArrayItem(load, 0) ? cJSON_GetArrayItem(load, 0)->valuedouble : 0,
	       cJSON_GetArrayItem(load, 1) ? cJSON_GetArrayItem(load, 1)->valuedouble : 0,
	       cJSON_GetArrayItem(load, 2) ? cJSON_GetArrayItem(load, 2)->valuedouble : 0);
	printf("    Memory: %s available of %s\n", avail, total);
	printf(" Addresses:");
	if (!cJSON_GetArraySize(addrs))
		printf(" none");
	cJSON_ArrayForEach(a, addrs)
		printf("%s%s %s\n", a == addrs->child ? " " : "            ", str(a, "interface"),
		       str(a, "address"));
	if (!cJSON_GetArraySize(addrs))
		printf("\n");
	cJSON_Delete(m);
}

int cmd_machine(int argc, char **argv)
{
	const char *verb = argv[0];
	struct opts o = { 0 };
	struct client c;
	struct client_response resp = { 0 };
	struct err e = { 0 };

	log_init("pith", 2);
	parse(argc, argv, &o);
	if (client_setup(&c, o.endpoint, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return CLIENT_EXIT_USAGE;
	}
	if (!strcmp(verb, "machine")) {
		call(&c, "GET", "/v1/machine", &resp);
		check(&resp, "read the machine");
		if (o.json)
			print_json(&resp, o.json);
		else
			print_machine(&resp);
	} else if (!strcmp(verb, "health")) {
		call(&c, "GET", "/healthz", &resp);
		check(&resp, "check the node's health");
		if (o.json)
			print_json(&resp, o.json);
		else
			printf("%s: ok\n", client_where(&c));
	} else if (!strcmp(verb, "metrics")) {
		call(&c, "GET", "/metrics", &resp);
		check(&resp, "read the metrics");
		fwrite(resp.body.data, 1, resp.body.len, stdout);
	} else {
		char target[64];

		snprintf(target, sizeof(target), "/v1/machine/%s", verb);
		call(&c, "POST", target, &resp);
		check(&resp, verb);
		if (o.json)
			print_json(&resp, o.json);
		else
			printf("%s: %s\n", client_where(&c), !strcmp(verb, "reboot") ? "rebooting" : "powering off");
	}
	buf_free(&resp.body);
	client_free(&c);
	return 0;
}
