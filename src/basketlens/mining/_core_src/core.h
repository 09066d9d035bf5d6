/*
 * basketlens.mining._core -- internal header shared by the kernel's translation units.
 *
 *   module.c     Python bindings: argument parsing and checks, GIL release, mine(), the
 *                method table and module init; as_array / to_numpy helpers.
 *   eclat.c      the search: output buffer, set operations, the recursive class miner and
 *                run_mine (recoding by frequency, vertical and horizontal databases).
 *   occurrence.c children of a node by occurrence counting / deliver (called by eclat.c).
 *   hashindex.c  the open-addressing itemset hash index: build_index() and lookup().
 *   filter.c     the closed/maximal post-filter: closed_maximal(); the item families'
 *                clustering: complete_linkage().
 *   fimi.c       the FIMI tokenizer: parse_fimi().
 *   counting.c   pruning helpers: unit_counts() (customers behind itemsets),
 *                hypergeom_tail() (the summation loop of hypergeometric tails) and
 *                row_matches() (rows holding every item of a set: opportunities).
 *
 * Only module.c imports the numpy C API (import_array); the other units see it through
 * PY_ARRAY_UNIQUE_SYMBOL. Cross-unit functions have hidden visibility: nothing but PyInit__core
 * is exported from the shared object.
 */
#ifndef BASKETLENS_CORE_H
#define BASKETLENS_CORE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL basketlens_core_ARRAY_API
#ifndef BL_CORE_MODULE
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__GNUC__) || defined(__clang__)
#define BL_INTERNAL __attribute__((visibility("hidden")))
#else
#define BL_INTERNAL
#define __builtin_prefetch(p) ((void)(p))
#endif

/* ------------------------------------------------------------------ memory budget */

/* Bytes held by every running mine() call together (all threads) and the number of
 * interrupt() requests so far (module.c). */
BL_INTERNAL extern _Atomic int64_t bl_kernel_bytes;
BL_INTERNAL extern _Atomic int64_t bl_interrupts;

/* What one mine() call may allocate: every buffer of the search and its output is charged
 * here before it is allocated, so the kernels' memory never passes `limit`. */
typedef struct {
    int64_t limit; /* bytes all running mine() calls may hold together; -1 = no limit */
    int64_t used;  /* bytes this call holds */
    int64_t peak;  /* most bytes this call held */
    int exceeded;  /* an allocation was refused: the search stops (STATUS_BUDGET) */
} Budget;

/* Charge `bytes` more (a realloc from n to n + bytes holds both while it copies: callers
 * charge the new size, then release the old one). -1 and `exceeded` when over the limit. */
static inline int budget_take(Budget *b, int64_t bytes) {
    if (!b) return 0;
    if (b->limit >= 0 && atomic_load(&bl_kernel_bytes) + bytes > b->limit) {
        b->exceeded = 1;
        return -1;
    }
    atomic_fetch_add(&bl_kernel_bytes, bytes);
    b->used += bytes;
    if (b->used > b->peak) b->peak = b->used;
    return 0;
}

static inline void budget_give(Budget *b, int64_t bytes) {
    if (!b) return;
    atomic_fetch_sub(&bl_kernel_bytes, bytes);
    b->used -= bytes;
}

/* realloc charged to the budget; NULL (nothing changed) when over budget or out of memory */
static inline void *budget_realloc(Budget *b, void *p, int64_t old_bytes, int64_t new_bytes) {
    if (budget_take(b, new_bytes) < 0) return NULL;
    void *q = realloc(p, (size_t)(new_bytes > 0 ? new_bytes : 1));
    budget_give(b, q ? old_bytes : new_bytes);
    return q;
}

static inline void *budget_malloc(Budget *b, int64_t bytes) {
    return budget_realloc(b, NULL, 0, bytes);
}

static inline void budget_free(Budget *b, void *p, int64_t bytes) {
    if (p) budget_give(b, bytes);
    free(p);
}

/* ------------------------------------------------------------------ growable buffers */

typedef struct {
    int32_t *flat;
    int64_t nflat, capflat;
    int64_t *offsets; /* n + 1 entries */
    int64_t *counts;
    int64_t n, cap;
    Budget *budget;
} Out;

BL_INTERNAL int out_init(Out *o, Budget *budget);
BL_INTERNAL void out_free(Out *o);
BL_INTERNAL int out_push(Out *o, const int32_t *codes, int64_t k, int64_t count);

typedef struct {
    int32_t *data;
    int64_t top, cap;
    Budget *budget;
} Arena; /* stack of tid-lists / diffsets; addressed by offset since it may move */

static inline int arena_reserve(Arena *a, int64_t extra) {
    if (a->top + extra <= a->cap) return 0;
    int64_t cap = a->cap ? a->cap * 2 : 4096;
    while (cap < a->top + extra) cap *= 2;
    int64_t size = (int64_t)sizeof(int32_t);
    int32_t *p = budget_realloc(a->budget, a->data, size * a->cap, size * cap);
    if (!p) return -1;
    a->data = p;
    a->cap = cap;
    return 0;
}

typedef struct {
    int32_t item;  /* rank */
    int64_t count; /* support count */
    int64_t off;   /* offset of the tid-list / diffset in the arena */
    int64_t len;
} Node;

typedef struct {
    Node *data;
    int64_t top, cap;
    Budget *budget;
} Nodes;

static inline int nodes_push(Nodes *s, Node n) {
    if (s->top == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 256, size = (int64_t)sizeof(Node);
        Node *p = budget_realloc(s->budget, s->data, size * s->cap, size * cap);
        if (!p) return -1;
        s->data = p;
        s->cap = cap;
    }
    s->data[s->top++] = n;
    return 0;
}

/* ------------------------------------------------------------------ the search */

/* How a node's children are built (the ``algorithm`` of mine_itemsets; module.c exports the
 * names in this order as STRATEGIES). */
typedef enum {
    STRATEGY_AUTO = 0,       /* per branch: merges or occurrence deliver; dense -> diffsets */
    STRATEGY_ECLAT = 1,      /* pairwise tid-list merges only */
    STRATEGY_DECLAT = 2,     /* diffsets from depth 2 on */
    STRATEGY_OCCURRENCE = 3, /* occurrence counting + deliver only */
    N_STRATEGIES
} Strategy;

/* How a search ended (Miner.status; run_mine's return value). */
enum {
    STATUS_NOMEM = -1,      /* malloc failed */
    STATUS_OK = 0,          /* every frequent itemset found */
    STATUS_ITEMSETS = 1,    /* more than max_itemsets itemsets */
    STATUS_BUDGET = 2,      /* the memory budget would be exceeded */
    STATUS_INTERRUPTED = 3, /* a signal (Ctrl-C, SIGTERM) or interrupt() */
};

/* What the children of a node hold: tid-lists t(PXY), or diffsets d(PXY) = t(PX) \ t(PXY). */
typedef enum { CHILD_TIDLISTS = 0, CHILD_DIFFSETS = 1 } ChildKind;

typedef struct {
    Arena arena;
    Nodes nodes;
    Out out;
    const int32_t *rank2code;
    int32_t *prefix; /* ranks of the current prefix */
    int32_t *buf;    /* codes of the itemset being emitted */
    const int64_t *hptr; /* horizontal database: frequent items of each basket, */
    const int32_t *hrow; /* as ranks ascending (for occurrence counting/deliver) */
    int32_t *slot;       /* rank -> position in the class being extended, or -1 */
    int64_t *cnt;        /* per class position: count of the extension */
    int64_t min_count, max_itemsets;
    int max_len; /* 0 on entry = unlimited; run_mine bounds it by the longest possible itemset */
    Strategy strategy;
    int status; /* STATUS_* */
    int64_t scratch_limit; /* largest single-pass deliver buffer (int32 entries) */
    int64_t n_baskets;
    double avg_len; /* mean number of frequent items per basket */
    Budget budget;
    int64_t ticks;     /* work units since the start (see should_stop) */
    double next_poll;  /* monotonic time of the next look for signals */
    int64_t interrupt_gen; /* bl_interrupts when the call started */
    PyObject *exc_type, *exc_value, *exc_tb; /* the exception a signal handler raised */
} Miner;

/* An allocation failed: over budget, or out of memory. */
static inline void fail_alloc(Miner *M) {
    if (M->status == STATUS_OK) M->status = M->budget.exceeded ? STATUS_BUDGET : STATUS_NOMEM;
}

/* Every POLL_EVERY work units look at the clock; every POLL_SECONDS take the GIL briefly and
 * run the signal handlers (Ctrl-C, SIGTERM), or notice interrupt(). */
#define POLL_EVERY 1024
#define POLL_SECONDS 0.05
BL_INTERNAL int poll_signals(Miner *M);
/* True (status set) when the search must stop now. */
static inline int should_stop(Miner *M) {
    if (M->status != STATUS_OK) return 1;
    if (++M->ticks & (POLL_EVERY - 1)) return 0;
    return poll_signals(M);
}

/* The one rule for turning a class of n_child tid-lists into diffsets (auto strategy only):
 * diffsets must be smaller in all, and a diffset class costs ~ n_child merges of its diffsets
 * per member while a tid-list class costs ~ a scan of the member's baskets (avg_len each). */
static inline int prefer_diffsets(const Miner *M, int64_t n_child, int64_t sum_tid,
                                  int64_t sum_diff) {
    return M->strategy == STRATEGY_AUTO && n_child > 1 && sum_diff < sum_tid &&
           (double)n_child * (double)sum_diff < M->avg_len * (double)sum_tid;
}

BL_INTERNAL int cmp_i32(const void *a, const void *b);
/* a \ b into out; -1 when the result would exceed maxsize elements. */
BL_INTERNAL int64_t setdiff(const int32_t *a, int64_t na, const int32_t *b, int64_t nb,
                            int32_t *out, int64_t maxsize);
/* children of X by occurrence counting / deliver (occurrence.c): pushes the child nodes and
 * returns their ChildKind, or -1 (status set) on error */
BL_INTERNAL int extend_occurrences(Miner *M, const Node *X, int64_t i, int64_t hi);
/* the whole search, run without the GIL: a STATUS_* */
BL_INTERNAL int run_mine(Miner *M, const int64_t *indptr, const int32_t *indices,
                         int64_t n_baskets, int64_t n_items);

/* ------------------------------------------------------------------ Python glue helpers */

BL_INTERNAL PyArrayObject *as_array(PyObject *obj, int type, const char *name);
BL_INTERNAL PyObject *to_numpy(const void *data, int64_t n, int type, size_t itemsize);

/* ------------------------------------------------------------------ hash index */

static inline uint64_t hash_codes(const int32_t *c, int64_t k) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)k;
    for (int64_t i = 0; i < k; i++) {
        h ^= (uint32_t)c[i];
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
    }
    return h;
}

#define PROBE_CORRUPT (-2) /* the table holds an entry that is not an itemset of the index */
#define CORRUPT_TABLE "table is not an index built by build_index over these itemsets"

/* index of the itemset equal to q[0..k), -1 when absent, PROBE_CORRUPT for a table that was
 * not built by build_index over these n itemsets (never reads outside the arrays) */
static inline int64_t probe(const int64_t *table, int64_t mask, const int32_t *flat,
                            const int64_t *offsets, int64_t n, const int32_t *q, int64_t k) {
    uint64_t h = hash_codes(q, k) & (uint64_t)mask;
    for (int64_t step = 0; step <= mask; step++) {
        int64_t idx = table[h];
        if (idx == -1) return -1;
        if (idx < 0 || idx >= n) return PROBE_CORRUPT;
        int64_t a = offsets[idx], len = offsets[idx + 1] - a;
        if (len == k && memcmp(flat + a, q, sizeof(int32_t) * k) == 0) return idx;
        h = (h + 1) & (uint64_t)mask;
    }
    return PROBE_CORRUPT; /* a full table: build_index always leaves empty slots */
}

/* itemsets (flat, offsets[, counts]) and their hash table, as checked by parse_index: offsets
 * start at 0, never decrease and end at len(flat); counts has one entry per itemset; the table
 * is a power of two larger than the number of itemsets */
typedef struct {
    PyArrayObject *flat, *offsets, *counts, *table;
    int64_t n, mask;
} Index;

BL_INTERNAL int parse_index(Index *ix, PyObject *o_flat, PyObject *o_offsets,
                            PyObject *o_counts, PyObject *o_table);
BL_INTERNAL void free_index(Index *ix);

/* ------------------------------------------------------------------ module functions */

BL_INTERNAL PyObject *py_mine(PyObject *self, PyObject *args, PyObject *kwargs);
BL_INTERNAL PyObject *py_build_index(PyObject *self, PyObject *args);
BL_INTERNAL PyObject *py_lookup(PyObject *self, PyObject *args);
BL_INTERNAL PyObject *py_closed_maximal(PyObject *self, PyObject *args);
BL_INTERNAL PyObject *py_parse_fimi(PyObject *self, PyObject *args);
BL_INTERNAL PyObject *py_unit_counts(PyObject *self, PyObject *args);
BL_INTERNAL PyObject *py_hypergeom_tail(PyObject *self, PyObject *args);
BL_INTERNAL PyObject *py_row_matches(PyObject *self, PyObject *args);
BL_INTERNAL PyObject *py_complete_linkage(PyObject *self, PyObject *args);

#endif /* BASKETLENS_CORE_H */
