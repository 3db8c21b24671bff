#include "unit_graph.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

/* Each unit keeps one list of edges per kind, in declaration order. */
struct ug_unit {
	char *name;
	uint32_t head[UG_DEP_MAX], tail[UG_DEP_MAX];
	uint8_t load, active;
	bool self_order;	/* declared After or Before itself */
};

struct ug_edge {
	uint32_t to, next;
	uint8_t kind;
};

static const char *const dep_names[UG_DEP_MAX] = {
	"Requires", "Wants", "BindsTo", "PartOf", "Requisite", "Conflicts", "After", "Before",
	"RequiredBy", "WantedBy", "BoundBy", "ConsistsOf", "RequisiteOf", "ConflictedBy",
};

static const uint8_t dep_reverse[UG_REQUIRED_BY] = {
	UG_REQUIRED_BY, UG_WANTED_BY, UG_BOUND_BY, UG_CONSISTS_OF, UG_REQUISITE_OF,
	UG_CONFLICTED_BY, UG_BEFORE, UG_AFTER,
};

static const char *const load_names[UG_LOAD_MAX] = {
	"not-found", "loaded", "bad-setting", "error", "masked",
};

static const char *const active_names[UG_ACTIVE_MAX] = {
	"inactive", "activating", "active", "deactivating", "failed",
};

static const char *const job_names[UG_JOB_TYPE_MAX] = {
	"start", "verify-active", "stop", "restart",
};

const char *ug_dep_name(enum ug_dep dep)
{
	return (unsigned)dep < UG_DEP_MAX ? dep_names[dep] : NULL;
}

int ug_dep_from_name(const char *name, enum ug_dep *dep)
{
	for (unsigned d = 0; name && d < UG_DEP_MAX; d++)
		if (strcmp(name, dep_names[d]) == 0) {
			*dep = d;
			return 0;
		}
	return -EINVAL;
}

const char *ug_load_name(enum ug_load load)
{
	return (unsigned)load < UG_LOAD_MAX ? load_names[load] : NULL;
}

const char *ug_active_name(enum ug_active active)
{
	return (unsigned)active < UG_ACTIVE_MAX ? active_names[active] : NULL;
}

const char *ug_job_type_name(enum ug_job_type type)
{
	return (unsigned)type < UG_JOB_TYPE_MAX ? job_names[type] : NULL;
}

/* Grow *p to hold need elements; the old array stays valid on failure. */
static int grow(void *p, size_t *cap, size_t need, size_t size)
{
	void **pp = p, *q;
	size_t n = *cap ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*pp, n * size);
	if (!q)
		return -ENOMEM;
	*pp = q;
	*cap = n;
	return 0;
}

/* --- the graph --------------------------------------------------------- */

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static uint32_t hash_dep(uint32_t from, unsigned kind, uint32_t to)
{
	uint32_t h = from * 0x9e3779b1u ^ to * 0x85ebca77u ^ kind * 0xc2b2ae3du;

	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	return h ^ h >> 13;
}

static uint32_t unit_hash(const struct unit_graph *g, uint32_t id)
{
	return hash_name(g->units[id].name);
}

/* Pair p is edges[2p] (declared, in from's list) and edges[2p + 1]. */
static uint32_t pair_hash(const struct unit_graph *g, uint32_t p)
{
	return hash_dep(g->edges[2 * p + 1].to, g->edges[2 * p].kind, g->edges[2 * p].to);
}

static void table_put(uint32_t *tab, size_t cap, uint32_t h, uint32_t val)
{
	size_t i = h & (cap - 1);

	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = val + 1;
}

/* Make room for one more entry after count, keeping the table half empty. */
static int table_grow(const struct unit_graph *g, uint32_t **tab, size_t *cap, size_t count,
		      uint32_t (*hash)(const struct unit_graph *, uint32_t))
{
	size_t n = *cap ? *cap : 64;
	uint32_t *t;

	if ((count + 1) * 2 <= *cap)
		return 0;
	while ((count + 1) * 2 > n)
		n *= 2;
	t = calloc(n, sizeof *t);
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < *cap; i++)
		if ((*tab)[i])
			table_put(t, n, hash(g, (*tab)[i] - 1), (*tab)[i] - 1);
	free(*tab);
	*tab = t;
	*cap = n;
	return 0;
}

static uint32_t name_find(const struct unit_graph *g, const char *name)
{
	size_t mask = g->cap_names - 1;

	if (!g->cap_names)
		return NONE;
	for (size_t i = hash_name(name) & mask; g->names[i]; i = (i + 1) & mask)
		if (strcmp(g->units[g->names[i] - 1].name, name) == 0)
			return g->names[i] - 1;
	return NONE;
}

static uint32_t dep_find(const struct unit_graph *g, uint32_t from, unsigned kind, uint32_t to)
{
	size_t mask = g->cap_deps - 1;

	if (!g->cap_deps)
		return NONE;
	for (size_t i = hash_dep(from, kind, to) & mask; g->deps[i]; i = (i + 1) & mask) {
		uint32_t p = g->deps[i] - 1;

		if (g->edges[2 * p].to == to && g->edges[2 * p].kind == kind &&
		    g->edges[2 * p + 1].to == from)
			return p;
	}
	return NONE;
}

static bool name_ok(const char *name)
{
	size_t n = 0;

	if (!name)
		return false;
	for (; name[n]; n++)
		if (name[n] <= ' ' || name[n] > '~' || name[n] == '/' || n >= UG_NAME_MAX)
			return false;
	return n > 0;
}

void ug_graph_init(struct unit_graph *g)
{
	memset(g, 0, sizeof *g);
}

void ug_graph_free(struct unit_graph *g)
{
	for (size_t i = 0; i < g->nunits; i++)
		free(g->units[i].name);
	free(g->units);
	free(g->edges);
	free(g->names);
	free(g->deps);
	ug_graph_init(g);
}

int ug_unit_add(struct unit_graph *g, const char *name, unsigned *id)
{
	struct ug_unit *u;
	uint32_t found;
	char *copy;
	int r;

	if (!g || !name_ok(name))
		return -EINVAL;
	found = name_find(g, name);
	if (found == NONE) {
		if (g->nunits >= UG_UNITS_MAX)
			return -ENOSPC;
		r = grow(&g->units, &g->cap_units, g->nunits + 1, sizeof *g->units);
		if (!r)
			r = table_grow(g, &g->names, &g->cap_names, g->nunits, unit_hash);
		if (r)
			return r;
		copy = strdup(name);
		if (!copy)
			return -ENOMEM;
		found = (uint32_t)g->nunits++;
		u = &g->units[found];
		memset(u, 0, sizeof *u);
		memset(u->head, 0xff, sizeof u->head);
		memset(u->tail, 0xff, sizeof u->tail);
		u->name = copy;
		u->load = UG_LOAD_NOT_FOUND;
		u->active = UG_INACTIVE;
		table_put(g->names, g->cap_names, hash_name(copy), found);
	}
	if (id)
		*id = found;
	return 0;
}

int ug_unit_find(const struct unit_graph *g, const char *name, unsigned *id)
{
	uint32_t found;

	if (!g || !name_ok(name))
		return -EINVAL;
	found = name_find(g, name);
	if (found == NONE)
		return -ENOENT;
	if (id)
		*id = found;
	return 0;
}

const char *ug_unit_name(const struct unit_graph *g, unsigned id)
{
	return g && id < g->nunits ? g->units[id].name : NULL;
}

int ug_unit_set_load(struct unit_graph *g, unsigned id, enum ug_load load)
{
	if (!g || id >= g->nunits || (unsigned)load >= UG_LOAD_MAX)
		return -EINVAL;
	g->units[id].load = load;
	return 0;
}

int ug_unit_set_active(struct unit_graph *g, unsigned id, enum ug_active active)
{
	if (!g || id >= g->nunits || (unsigned)active >= UG_ACTIVE_MAX)
		return -EINVAL;
	g->units[id].active = active;
	return 0;
}

int ug_unit_load(const struct unit_graph *g, unsigned id)
{
	return g && id < g->nunits ? g->units[id].load : -EINVAL;
}

int ug_unit_active(const struct unit_graph *g, unsigned id)
{
	return g && id < g->nunits ? g->units[id].active : -EINVAL;
}

static void edge_append(struct unit_graph *g, uint32_t from, unsigned kind, uint32_t to)
{
	uint32_t e = (uint32_t)g->nedges++;
	struct ug_unit *u = &g->units[from];

	g->edges[e] = (struct ug_edge){ .to = to, .next = NONE, .kind = (uint8_t)kind };
	if (u->tail[kind] == NONE)
		u->head[kind] = e;
	else
		g->edges[u->tail[kind]].next = e;
	u->tail[kind] = e;
}

int ug_dep_add_id(struct unit_graph *g, unsigned from, enum ug_dep dep, unsigned to)
{
	unsigned kind = dep;
	int r;

	if (!g || from >= g->nunits || to >= g->nunits || kind >= UG_REQUIRED_BY)
		return -EINVAL;
	if (kind == UG_BEFORE) {
		/* Stored as the After it is equal to, so either spelling finds it. */
		unsigned t = from;

		from = to;
		to = t;
		kind = UG_AFTER;
	}
	if (from == to) {
		if (kind == UG_AFTER)
			g->units[from].self_order = true;
		return -ELOOP;
	}
	if (dep_find(g, from, kind, to) != NONE)
		return 0;
	if (g->nedges / 2 >= UG_DEPS_MAX)
		return -ENOSPC;
	r = grow(&g->edges, &g->cap_edges, g->nedges + 2, sizeof *g->edges);
	if (!r)
		r = table_grow(g, &g->deps, &g->cap_deps, g->nedges / 2, pair_hash);
	if (r)
		return r;
	table_put(g->deps, g->cap_deps, hash_dep(from, kind, to), (uint32_t)(g->nedges / 2));
	edge_append(g, from, kind, to);
	edge_append(g, to, dep_reverse[kind], from);
	return 0;
}

int ug_dep_add(struct unit_graph *g, const char *from, enum ug_dep dep, const char *to)
{
	unsigned a, b;
	int r;

	if ((unsigned)dep >= UG_REQUIRED_BY || !name_ok(from) || !name_ok(to))
		return -EINVAL;
	r = ug_unit_add(g, from, &a);
	if (!r)
		r = ug_unit_add(g, to, &b);
	return r ? r : ug_dep_add_id(g, a, dep, b);
}

int ug_dep_next(const struct unit_graph *g, unsigned id, enum ug_dep dep, size_t *cursor,
		unsigned *to)
{
	uint32_t e;

	if (!g || !cursor || id >= g->nunits || (unsigned)dep >= UG_DEP_MAX || *cursor > g->nedges)
		return -EINVAL;
	e = *cursor ? g->edges[*cursor - 1].next : g->units[id].head[dep];
	if (e == NONE)
		return 0;
	*cursor = (size_t)e + 1;
	if (to)
		*to = g->edges[e].to;
	return 1;
}

/* --- the offline check -------------------------------------------------- */

struct scc_frame {
	uint32_t unit, edge;
};

/*
 * Tarjan's strongly connected components over After edges, with an explicit
 * stack. comp[u] gets the component's number; returns how many, or -ENOMEM.
 */
static long scc_find(const struct unit_graph *g, uint32_t *comp)
{
	size_t n = g->nunits, nstack = 0, nframes = 0;
	uint32_t *index = malloc((n + 1) * sizeof *index), *low = malloc((n + 1) * sizeof *low);
	uint32_t *stack = malloc((n + 1) * sizeof *stack), next = 0, ncomp = 0;
	struct scc_frame *frames = malloc((n + 1) * sizeof *frames);
	long r = -ENOMEM;

	if (!index || !low || !stack || !frames)
		goto out;
	memset(index, 0xff, n * sizeof *index);
	for (uint32_t root = 0; root < n; root++) {
		if (index[root] != NONE)
			continue;
		frames[nframes++] = (struct scc_frame){ root, g->units[root].head[UG_AFTER] };
		index[root] = low[root] = next++;
		stack[nstack++] = root;
		comp[root] = NONE;
		while (nframes) {
			struct scc_frame *f = &frames[nframes - 1];
			uint32_t v = f->unit, w;

			if (f->edge != NONE) {
				w = g->edges[f->edge].to;
				f->edge = g->edges[f->edge].next;
				if (index[w] == NONE) {
					frames[nframes++] = (struct scc_frame){ w, g->units[w].head[UG_AFTER] };
					index[w] = low[w] = next++;
					stack[nstack++] = w;
					comp[w] = NONE;
				} else if (comp[w] == NONE && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			if (low[v] == index[v]) {
				do {
					w = stack[--nstack];
					comp[w] = ncomp;
				} while (w != v);
				ncomp++;
			}
			if (--nframes && low[v] < low[frames[nframes - 1].unit])
				low[frames[nframes - 1].unit] = low[v];
		}
	}
	r = ncomp;
out:
	free(index);
	free(low);
	free(stack);
	free(frames);
	return r;
}

static int check_units_add(struct ug_check *c, size_t *cap, uint32_t unit)
{
	if (grow(&c->units, cap, c->nunits + 1, sizeof *c->units))
		return -ENOMEM;
	c->units[c->nunits++] = unit;
	return 0;
}

/*
 * Append a shortest loop through root along After edges within its
 * component, found breadth first: root, then each unit it is After in turn.
 * prev is all NONE on entry and on return.
 */
static int check_path(struct ug_check *c, size_t *cap, const struct unit_graph *g,
		      const uint32_t *comp, uint32_t root, uint32_t *prev, uint32_t *queue)
{
	size_t head = 0, tail = 0, start = c->nunits;
	uint32_t last = root, v;
	int r = 0;

	prev[root] = root;
	queue[tail++] = root;
	while (head < tail && last == root) {
		v = queue[head++];
		for (uint32_t e = g->units[v].head[UG_AFTER]; e != NONE; e = g->edges[e].next) {
			uint32_t w = g->edges[e].to;

			if (w == root) {
				last = v;
				break;
			}
			if (comp[w] == comp[root] && prev[w] == NONE) {
				prev[w] = v;
				queue[tail++] = w;
			}
		}
	}
	/* last is After root; walking prev from it leads back to root. */
	for (v = last; !r; v = prev[v]) {
		r = check_units_add(c, cap, v);
		if (v == root)
			break;
	}
	for (size_t i = 0; i < tail; i++)
		prev[queue[i]] = NONE;
	for (size_t i = start, j = c->nunits - 1; !r && i < j; i++, j--) {
		unsigned x = c->units[i];

		c->units[i] = c->units[j];
		c->units[j] = x;
	}
	return r;
}

static int check_cycles(struct ug_check *c, const struct unit_graph *g, uint32_t *comp,
			size_t ncomp, uint32_t *scratch)
{
	size_t n = g->nunits, cap_units = 0, cap_cycles = 0;
	uint32_t *off = calloc(ncomp + 1, sizeof *off), *fill = calloc(ncomp + 1, sizeof *fill);
	uint32_t *prev = scratch, *queue = scratch + n, *bycomp = scratch + 2 * n;
	int r = -ENOMEM;

	if (!off || !fill)
		goto out;
	for (size_t u = 0; u < n; u++)
		off[comp[u] + 1]++;
	for (size_t k = 0; k < ncomp; k++)
		off[k + 1] += off[k];
	/* Filled in id order, so each component's members come sorted. */
	for (uint32_t u = 0; u < n; u++)
		bycomp[off[comp[u]] + fill[comp[u]]++] = u;
	memset(prev, 0xff, n * sizeof *prev);
	r = 0;
	for (uint32_t u = 0; u < n && !r; u++) {
		uint32_t k = comp[u], size = off[k + 1] - off[k];
		struct ug_cycle *y;

		if (fill[k] == 0 || (size == 1 && !g->units[u].self_order))
			continue;
		fill[k] = 0;
		r = grow(&c->cycles, &cap_cycles, c->ncycles + 1, sizeof *c->cycles);
		if (r)
			break;
		y = &c->cycles[c->ncycles++];
		y->path = c->nunits;
		r = check_path(c, &cap_units, g, comp, u, prev, queue);
		y->npath = c->nunits - y->path;
		y->members = c->nunits;
		y->nmembers = size;
		for (uint32_t i = off[k]; i < off[k + 1] && !r; i++)
			r = check_units_add(c, &cap_units, bycomp[i]);
	}
out:
	free(off);
	free(fill);
	return r;
}

static int check_unmet(struct ug_check *c, const struct unit_graph *g)
{
	static const uint8_t hard[] = { UG_REQUIRES, UG_BINDS_TO, UG_REQUISITE };
	size_t cap = 0;

	for (uint32_t u = 0; u < g->nunits; u++)
		for (size_t i = 0; i < sizeof hard; i++)
			for (uint32_t e = g->units[u].head[hard[i]]; e != NONE; e = g->edges[e].next) {
				uint32_t to = g->edges[e].to;

				if (g->units[to].load == UG_LOADED)
					continue;
				if (grow(&c->unmet, &cap, c->nunmet + 1, sizeof *c->unmet))
					return -ENOMEM;
				c->unmet[c->nunmet++] = (struct ug_unmet){ u, hard[i], to };
			}
	return 0;
}

int ug_check_run(struct ug_check *c, const struct unit_graph *g)
{
	uint32_t *comp, *scratch;
	long ncomp;
	int r = -ENOMEM;

	if (!c)
		return -EINVAL;
	memset(c, 0, sizeof *c);
	if (!g)
		return -EINVAL;
	comp = malloc((g->nunits + 1) * sizeof *comp);
	scratch = malloc((3 * g->nunits + 1) * sizeof *scratch);
	if (comp && scratch) {
		ncomp = scc_find(g, comp);
		r = ncomp < 0 ? (int)ncomp : check_cycles(c, g, comp, (size_t)ncomp, scratch);
	}
	if (!r)
		r = check_unmet(c, g);
	free(comp);
	free(scratch);
	return r;
}

void ug_check_free(struct ug_check *c)
{
	free(c->cycles);
	free(c->unmet);
	free(c->units);
	memset(c, 0, sizeof *c);
}
