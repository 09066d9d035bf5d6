/*
 * basketlens.mining._core -- the compiled frequent-itemset mining kernel.
 *
 * mine(indptr, indices, n_items, min_count, max_len, max_itemsets, strategy[, scratch_limit])
 *     -> (flat int32, offsets int64, counts int64, complete bool)
 *   Depth-first Eclat over the frequent items recoded by ascending frequency. Every node keeps
 *   either a tid-list (sorted basket ids) or a diffset relative to its parent (dEclat).
 *   strategy 0 "auto": per branch, children by pairwise tid-list merges or by occurrence
 *   deliver (a cost model picks), switching dense branches to diffsets; 1 "eclat": merges;
 *   2 "declat": diffsets from depth 2 on; 3 "occurrence": two-pass occurrence deliver.
 *   All itemsets (length 1 included) are returned, each with its codes ascending; complete
 *   is False when more than max_itemsets exist (the output then holds the first
 *   max_itemsets found). max_len 0 = unlimited; max_itemsets -1 = none; scratch_limit
 *   (tests only) caps the one-pass deliver buffer, -2 = automatic.
 * parse_fimi(data: bytes) -> (rows, values, n_rows, 0) | (None, None, bad_line, err)
 *   Tokenizes a FIMI file (space-separated integers, one basket per line).
 * build_index(flat, offsets) -> int64 open-addressing hash table over the itemsets.
 * lookup(flat, offsets, counts, table, qflat, qoffsets) -> int64 counts (-1 = absent).
 * closed_maximal(flat, offsets, counts, table) -> (closed bool, maximal bool).
 *
 * The GIL is released while mining and hashing, so scopes can be mined in parallel threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ growable buffers */

typedef struct {
    int32_t *flat;
    int64_t nflat, capflat;
    int64_t *offsets; /* n + 1 entries */
    int64_t *counts;
    int64_t n, cap;
} Out;

static int out_init(Out *o) {
    o->capflat = 1024;
    o->cap = 256;
    o->nflat = 0;
    o->n = 0;
    o->flat = malloc(sizeof(int32_t) * o->capflat);
    o->offsets = malloc(sizeof(int64_t) * (o->cap + 1));
    o->counts = malloc(sizeof(int64_t) * o->cap);
    if (!o->flat || !o->offsets || !o->counts) return -1;
    o->offsets[0] = 0;
    return 0;
}

static void out_free(Out *o) {
    free(o->flat);
    free(o->offsets);
    free(o->counts);
    o->flat = NULL;
    o->offsets = NULL;
    o->counts = NULL;
}

static int out_push(Out *o, const int32_t *codes, int64_t k, int64_t count) {
    if (o->nflat + k > o->capflat) {
        int64_t cap = o->capflat * 2;
        while (cap < o->nflat + k) cap *= 2;
        int32_t *p = realloc(o->flat, sizeof(int32_t) * cap);
        if (!p) return -1;
        o->flat = p;
        o->capflat = cap;
    }
    if (o->n + 1 > o->cap) {
        int64_t cap = o->cap * 2;
        int64_t *p = realloc(o->offsets, sizeof(int64_t) * (cap + 1));
        if (!p) return -1;
        o->offsets = p;
        p = realloc(o->counts, sizeof(int64_t) * cap);
        if (!p) return -1;
        o->counts = p;
        o->cap = cap;
    }
    memcpy(o->flat + o->nflat, codes, sizeof(int32_t) * k);
    o->nflat += k;
    o->counts[o->n] = count;
    o->n += 1;
    o->offsets[o->n] = o->nflat;
    return 0;
}

typedef struct {
    int32_t *data;
    int64_t top, cap;
} Arena; /* stack of tid-lists / diffsets; addressed by offset since it may move */

static int arena_reserve(Arena *a, int64_t extra) {
    if (a->top + extra <= a->cap) return 0;
    int64_t cap = a->cap ? a->cap * 2 : 4096;
    while (cap < a->top + extra) cap *= 2;
    int32_t *p = realloc(a->data, sizeof(int32_t) * cap);
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
} Nodes;

static int nodes_push(Nodes *s, Node n) {
    if (s->top == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 256;
        Node *p = realloc(s->data, sizeof(Node) * cap);
        if (!p) return -1;
        s->data = p;
        s->cap = cap;
    }
    s->data[s->top++] = n;
    return 0;
}

#define PREFETCH 8 /* baskets ahead in occurrence scans */
#if !defined(__GNUC__) && !defined(__clang__)
#define __builtin_prefetch(p) ((void)(p))
#endif

/* ------------------------------------------------------------------ set operations */

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}


/* first position p >= j with b[p] >= x (nb when none), by exponential then binary search */
static inline int64_t gallop(const int32_t *b, int64_t nb, int64_t j, int32_t x) {
    if (j >= nb || b[j] >= x) return j;
    int64_t lo = j, step = 1; /* invariant: b[lo] < x */
    while (lo + step < nb && b[lo + step] < x) {
        lo += step;
        step *= 2;
    }
    int64_t hi = lo + step < nb ? lo + step : nb; /* b[hi] >= x or hi == nb */
    while (hi - lo > 1) {
        int64_t mid = lo + ((hi - lo) >> 1);
        if (b[mid] < x) lo = mid;
        else hi = mid;
    }
    return hi;
}

/* a ∩ b into out; -1 when more than maxmiss elements of a are missing from b. */
static int64_t isect(const int32_t *a, int64_t na, const int32_t *b, int64_t nb, int32_t *out,
                     int64_t maxmiss) {
    int64_t i = 0, j = 0, k = 0, miss = 0;
    if (nb > 32 * na) { /* galloping: search each element of the short list */
        for (i = 0; i < na; i++) {
            int32_t x = a[i];
            j = gallop(b, nb, j, x);
            if (j < nb && b[j] == x) out[k++] = x;
            else if (++miss > maxmiss) return -1;
        }
        return k;
    }
    while (i < na && j < nb) {
        int32_t x = a[i], y = b[j];
        if (x < y) {
            if (++miss > maxmiss) return -1;
            i++;
        } else if (x > y) {
            j++;
        } else {
            out[k++] = x;
            i++;
            j++;
        }
    }
    if (miss + (na - i) > maxmiss) return -1;
    return k;
}

/* a \ b into out; -1 when the result would exceed maxsize elements. */
static int64_t setdiff(const int32_t *a, int64_t na, const int32_t *b, int64_t nb, int32_t *out,
                       int64_t maxsize) {
    int64_t i = 0, j = 0, k = 0;
    if (nb > 32 * na) { /* galloping through the long list */
        for (i = 0; i < na; i++) {
            int32_t x = a[i];
            j = gallop(b, nb, j, x);
            if (j < nb && b[j] == x) continue;
            if (k >= maxsize) return -1;
            out[k++] = x;
        }
        return k;
    }
    while (i < na && j < nb) {
        int32_t x = a[i], y = b[j];
        if (x < y) {
            if (k >= maxsize) return -1;
            out[k++] = x;
            i++;
        } else if (x > y) {
            j++;
        } else {
            i++;
            j++;
        }
    }
    if (k + (na - i) > maxsize) return -1;
    memcpy(out + k, a + i, sizeof(int32_t) * (na - i));
    return k + (na - i);
}

/* ------------------------------------------------------------------ the search */

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
    int max_len, strategy;
    int status; /* 0 ok, 1 budget exceeded, -1 out of memory */
    int64_t scratch_limit; /* largest single-pass deliver buffer (int32 entries) */
    int64_t n_baskets;
    double avg_len; /* mean number of frequent items per basket */
    int diff_flag; /* set by extend_occurrences when the children are diffsets */
} Miner;

static int emit(Miner *M, int k, int64_t count) {
    int32_t *b = M->buf;
    for (int i = 0; i < k; i++) { /* insertion sort by code; k is small */
        int32_t c = M->rank2code[M->prefix[i]];
        int j = i;
        while (j > 0 && b[j - 1] > c) {
            b[j] = b[j - 1];
            j--;
        }
        b[j] = c;
    }
    return out_push(&M->out, b, k, count);
}

/* extend_occurrences in a single scan of the baskets of t(PX): every member gets a buffer of
 * its upper-bound size; frequent ones are then compacted (or turned into diffsets). */
static int deliver_once(Miner *M, const Node *X, int64_t i, int64_t hi, int64_t bound) {
    int64_t n_ext = hi - i - 1, start = M->arena.top;
    if (arena_reserve(&M->arena, bound) < 0) goto oom;
    int64_t *fill = M->cnt; /* per member: next write position (absolute arena offset) */
    int64_t off = start;
    for (int64_t j = 0; j < n_ext; j++) {
        const Node *Y = &M->nodes.data[i + 1 + j];
        M->slot[Y->item] = (int32_t)j;
        fill[j] = off;
        off += Y->len < X->len ? Y->len : X->len;
    }
    int32_t *base = M->arena.data;
    const int32_t *xs = base + X->off;
    int32_t xi = X->item;
    for (int64_t p = 0; p < X->len; p++) {
        int32_t t = xs[p];
        if (p + PREFETCH < X->len) { /* the rows are scattered: fetch ahead */
            __builtin_prefetch(M->hptr + xs[p + 2 * PREFETCH < X->len ? p + 2 * PREFETCH : p]);
            __builtin_prefetch(M->hrow + M->hptr[xs[p + PREFETCH] + 1] - 1);
        }
        const int32_t *row = M->hrow + M->hptr[t];
        for (int64_t q = M->hptr[t + 1] - M->hptr[t] - 1; q >= 0 && row[q] > xi; q--) {
            int32_t s = M->slot[row[q]];
            if (s >= 0) base[fill[s]++] = t;
        }
    }
    /* counts, and the diffset decision as in extend_occurrences */
    int64_t sum_tid = 0, sum_diff = 0, n_child = 0;
    off = start;
    for (int64_t j = 0; j < n_ext; j++) {
        const Node *Y = &M->nodes.data[i + 1 + j];
        M->slot[Y->item] = -1;
        int64_t cap = Y->len < X->len ? Y->len : X->len, c = fill[j] - off;
        fill[j] = off; /* from here on: start of member j's tid-list */
        off += cap;
        M->cnt[n_ext + j] = c;
        if (c >= M->min_count) {
            sum_tid += c;
            sum_diff += X->count - c;
            n_child++;
        }
    }
    int use_diff = M->strategy == 0 && n_child > 1 && sum_diff < sum_tid &&
                   (double)n_child * (double)sum_diff < M->avg_len * (double)sum_tid;
    int64_t out = start;
    if (use_diff) { /* diffsets written after the scratch, then moved down */
        if (arena_reserve(&M->arena, bound + sum_diff) < 0) goto oom;
        base = M->arena.data;
        xs = base + X->off;
        int64_t w = start + bound;
        for (int64_t j = 0; j < n_ext; j++) {
            int64_t c = M->cnt[n_ext + j];
            if (c < M->min_count) continue;
            Node C = {M->nodes.data[i + 1 + j].item, c, 0, 0};
            C.len = setdiff(xs, X->len, base + fill[j], c, base + w, X->len);
            C.off = out + (w - (start + bound));
            w += C.len;
            if (nodes_push(&M->nodes, C) < 0) goto oom;
        }
        memmove(base + start, base + start + bound, sizeof(int32_t) * (w - start - bound));
        out = start + (w - start - bound);
    } else {
        for (int64_t j = 0; j < n_ext; j++) {
            int64_t c = M->cnt[n_ext + j];
            if (c < M->min_count) continue;
            Node C = {M->nodes.data[i + 1 + j].item, c, out, c};
            if (out != fill[j]) memmove(base + out, base + fill[j], sizeof(int32_t) * c);
            out += c;
            if (nodes_push(&M->nodes, C) < 0) goto oom;
        }
    }
    M->arena.top = out;
    M->diff_flag = use_diff;
    return 0;
oom:
    for (int64_t j = 0; j < n_ext; j++) M->slot[M->nodes.data[i + 1 + j].item] = -1;
    M->status = -1;
    return -1;
}

/* Children of X (position i of the tid-list class [.., hi)) by occurrence counting over the
 * baskets of t(PX); dense children become diffsets d(PXY) = t(PX) \ t(PY), sparse ones get
 * their tid-lists by occurrence deliver. Pushes the child nodes; -1 (status set) on error. */
static int extend_occurrences(Miner *M, const Node *X, int64_t i, int64_t hi) {
    /* one pass when the per-member upper bounds fit in scratch space of the database's size */
    int64_t bound = 0;
    for (int64_t j = i + 1; j < hi; j++) {
        int64_t ny = M->nodes.data[j].len;
        bound += ny < X->len ? ny : X->len;
    }
    if (bound <= M->scratch_limit) return deliver_once(M, X, i, hi, bound);
    Node *nodes = M->nodes.data;
    int64_t n_ext = hi - i - 1, node_mark = M->nodes.top;
    for (int64_t j = 0; j < n_ext; j++) {
        M->slot[nodes[i + 1 + j].item] = (int32_t)j;
        M->cnt[j] = 0;
    }
    const int32_t *xs = M->arena.data + X->off;
    int32_t xi = X->item;
    for (int64_t p = 0; p < X->len; p++) {
        int32_t t = xs[p];
        const int32_t *row = M->hrow + M->hptr[t];
        for (int64_t q = M->hptr[t + 1] - M->hptr[t] - 1; q >= 0 && row[q] > xi; q--) {
            int32_t s = M->slot[row[q]];
            if (s >= 0) M->cnt[s]++;
        }
    }
    int64_t sum_tid = 0, sum_diff = 0, n_child = 0;
    for (int64_t j = 0; j < n_ext; j++)
        if (M->cnt[j] >= M->min_count) {
            sum_tid += M->cnt[j];
            sum_diff += X->count - M->cnt[j];
            n_child++;
        }
    /* cost model: a diffset class costs ~ n_child merges of its diffsets per member; a
     * tid-list class costs ~ a scan of the member's baskets (avg_len items each) */
    int use_diff = M->strategy == 0 && n_child > 1 && sum_diff < sum_tid &&
                   (double)n_child * (double)sum_diff < M->avg_len * (double)sum_tid;
    if (arena_reserve(&M->arena, use_diff ? sum_diff : sum_tid) < 0) goto oom;
    int32_t *base = M->arena.data;
    xs = base + X->off;
    for (int64_t j = 0; j < n_ext; j++) {
        Node Y = M->nodes.data[i + 1 + j];
        M->slot[Y.item] = -1;
        if (M->cnt[j] < M->min_count) continue;
        Node C = {Y.item, M->cnt[j], M->arena.top, 0};
        if (use_diff) {
            C.len = setdiff(xs, X->len, base + Y.off, Y.len, base + M->arena.top, X->len);
            M->arena.top += C.len;
        } else {
            M->arena.top += C.count;
            M->slot[Y.item] = (int32_t)(M->nodes.top); /* node index for the deliver pass */
        }
        if (nodes_push(&M->nodes, C) < 0) goto oom;
    }
    if (!use_diff) {
        Node *child = M->nodes.data;
        for (int64_t p = 0; p < X->len; p++) {
            int32_t t = xs[p];
            const int32_t *row = M->hrow + M->hptr[t];
            for (int64_t q = M->hptr[t + 1] - M->hptr[t] - 1; q >= 0 && row[q] > xi; q--) {
                int32_t s = M->slot[row[q]];
                if (s >= 0) {
                    Node *C = &child[s];
                    base[C->off + C->len++] = t;
                }
            }
        }
        for (int64_t c = node_mark; c < M->nodes.top; c++) M->slot[child[c].item] = -1;
    }
    M->diff_flag = use_diff;
    return 0;
oom:
    for (int64_t j = 0; j < n_ext; j++) M->slot[M->nodes.data[i + 1 + j].item] = -1;
    M->status = -1;
    return -1;
}

static void mine_class(Miner *M, int64_t lo, int64_t hi, int is_diff, int depth) {
    for (int64_t i = lo; i < hi; i++) {
        Node X = M->nodes.data[i];
        if (M->max_itemsets >= 0 && M->out.n >= M->max_itemsets) {
            M->status = 1;
            return;
        }
        M->prefix[depth] = X.item;
        if (emit(M, depth + 1, X.count) < 0) {
            M->status = -1;
            return;
        }
        if ((M->max_len > 0 && depth + 2 > M->max_len) || i + 1 >= hi) continue;
        int64_t arena_mark = M->arena.top, node_mark = M->nodes.top;
        int64_t maxmiss = X.count - M->min_count;
        int to_diff = !is_diff && M->strategy == 2;
        int occurrences = !is_diff && M->strategy == 3;
        if (!is_diff && M->strategy == 0) {
            /* cost model: pairwise merges touch both tid-lists (galloping caps the long one);
             * occurrence counting + deliver scan the baskets of t(PX) twice */
            double merge = 0.0, occ = 2.0 * (double)X.len * M->avg_len, dense = 0.0;
            for (int64_t j = i + 1; j < hi; j++) {
                int64_t ny = M->nodes.data[j].len;
                merge += (double)X.len + (double)(ny > 32 * X.len ? 8 * X.len : ny);
                dense += (double)ny;
            }
            occurrences = occ <= merge;
            /* members in most baskets: d(PXY) = t(PX) \ t(PY) directly, as dEclat does */
            if (dense > 0.5 * (double)(hi - i - 1) * (double)M->n_baskets) {
                occurrences = 0;
                to_diff = 1;
            }
        }
        if (occurrences) {
            if (extend_occurrences(M, &X, i, hi) < 0) return;
            goto recurse;
        }
        for (int64_t j = i + 1; j < hi; j++) {
            Node Y = M->nodes.data[j];
            int64_t bound, len, count;
            if (is_diff) bound = Y.len < maxmiss ? Y.len : maxmiss;
            else if (to_diff) bound = X.len < maxmiss ? X.len : maxmiss;
            else bound = X.len < Y.len ? X.len : Y.len;
            if (arena_reserve(&M->arena, bound) < 0) {
                M->status = -1;
                return;
            }
            int32_t *base = M->arena.data, *dst = base + M->arena.top;
            if (is_diff) { /* d(PXY) = d(PY) \ d(PX) */
                len = setdiff(base + Y.off, Y.len, base + X.off, X.len, dst, maxmiss);
                count = X.count - len;
            } else if (to_diff) { /* d(PXY) = t(PX) \ t(PY) */
                len = setdiff(base + X.off, X.len, base + Y.off, Y.len, dst, maxmiss);
                count = X.count - len;
            } else { /* t(PXY) = t(PX) ∩ t(PY) */
                len = isect(base + X.off, X.len, base + Y.off, Y.len, dst, maxmiss);
                count = len;
            }
            if (len < 0) continue;
            Node C = {Y.item, count, M->arena.top, len};
            if (nodes_push(&M->nodes, C) < 0) {
                M->status = -1;
                return;
            }
            M->arena.top += len;
        }
        if (M->strategy == 0 && !is_diff && !to_diff && M->nodes.top - node_mark > 1) {
            /* a dense branch continues on diffsets d(PXY) = t(PX) \ t(PXY) */
            int64_t sum_tid = 0, sum_diff = 0, n_c = M->nodes.top - node_mark;
            for (int64_t c = node_mark; c < M->nodes.top; c++) {
                sum_tid += M->nodes.data[c].len;
                sum_diff += X.len - M->nodes.data[c].len;
            }
            if (sum_diff < sum_tid &&
                (double)n_c * (double)sum_diff < M->avg_len * (double)sum_tid) {
                if (arena_reserve(&M->arena, sum_diff) < 0) {
                    M->status = -1;
                    return;
                }
                int32_t *base = M->arena.data;
                for (int64_t c = node_mark; c < M->nodes.top; c++) {
                    Node *C = &M->nodes.data[c];
                    int64_t len = setdiff(base + X.off, X.len, base + C->off, C->len,
                                          base + M->arena.top, X.len);
                    C->off = M->arena.top;
                    C->len = len;
                    M->arena.top += len;
                }
                M->diff_flag = 1;
            }
        }
        int64_t n_child;
        int child_diff;
recurse:
        n_child = M->nodes.top - node_mark;
        child_diff = is_diff || to_diff || M->diff_flag;
        M->diff_flag = 0;
        if (n_child > 0) mine_class(M, node_mark, M->nodes.top, child_diff, depth + 1);
        M->arena.top = arena_mark;
        M->nodes.top = node_mark;
        if (M->status != 0) return;
    }
}

typedef struct {
    int64_t count;
    int32_t code;
} ItemCount;

static int cmp_item_count(const void *pa, const void *pb) {
    const ItemCount *a = pa, *b = pb;
    if (a->count != b->count) return a->count < b->count ? -1 : 1;
    return (a->code > b->code) - (a->code < b->code);
}

/* Run the whole search without the GIL. Returns 0 / 1 (budget) / -1 (memory). */
static int run_mine(Miner *M, const int64_t *indptr, const int32_t *indices, int64_t n_baskets,
                    int64_t n_items) {
    int64_t *cnt = calloc(n_items ? n_items : 1, sizeof(int64_t));
    int32_t *code2rank = malloc(sizeof(int32_t) * (n_items ? n_items : 1));
    ItemCount *ic = malloc(sizeof(ItemCount) * (n_items ? n_items : 1));
    int64_t *pos = NULL, *hptr = NULL;
    int32_t *rank2code = NULL, *hrow = NULL;
    int rc = -1;
    if (!cnt || !code2rank || !ic) goto done;
    int64_t nnz = indptr[n_baskets];
    for (int64_t p = 0; p < nnz; p++) cnt[indices[p]]++;
    int64_t n_freq = 0, total = 0;
    for (int64_t c = 0; c < n_items; c++) {
        code2rank[c] = -1;
        if (cnt[c] >= M->min_count) {
            ic[n_freq].count = cnt[c];
            ic[n_freq].code = (int32_t)c;
            n_freq++;
            total += cnt[c];
        }
    }
    qsort(ic, n_freq, sizeof(ItemCount), cmp_item_count);
    rank2code = malloc(sizeof(int32_t) * (n_freq + 1));
    pos = malloc(sizeof(int64_t) * (n_freq + 1));
    M->prefix = malloc(sizeof(int32_t) * (n_freq + 1));
    M->buf = malloc(sizeof(int32_t) * (n_freq + 1));
    if (!rank2code || !pos || !M->prefix || !M->buf) goto done;
    if (arena_reserve(&M->arena, total) < 0) goto done;
    int64_t off = 0;
    for (int64_t r = 0; r < n_freq; r++) {
        rank2code[r] = ic[r].code;
        code2rank[ic[r].code] = (int32_t)r;
        pos[r] = off;
        Node nd = {(int32_t)r, ic[r].count, off, ic[r].count};
        if (nodes_push(&M->nodes, nd) < 0) goto done;
        off += ic[r].count;
    }
    for (int64_t b = 0; b < n_baskets; b++) /* tid-lists come out sorted */
        for (int64_t p = indptr[b]; p < indptr[b + 1]; p++) {
            int32_t r = code2rank[indices[p]];
            if (r >= 0) M->arena.data[pos[r]++] = (int32_t)b;
        }
    M->arena.top = total;
    /* horizontal database of frequent items as ranks, ascending within each basket */
    hptr = malloc(sizeof(int64_t) * (n_baskets + 1));
    hrow = malloc(sizeof(int32_t) * (total ? total : 1));
    M->slot = malloc(sizeof(int32_t) * (n_freq + 1));
    M->cnt = malloc(sizeof(int64_t) * (2 * n_freq + 1));
    if (!hptr || !hrow || !M->slot || !M->cnt) goto done;
    hptr[0] = 0;
    for (int64_t b = 0; b < n_baskets; b++) {
        int64_t k = hptr[b];
        for (int64_t p = indptr[b]; p < indptr[b + 1]; p++) {
            int32_t r = code2rank[indices[p]];
            if (r >= 0) hrow[k++] = r;
        }
        if (k - hptr[b] > 32) {
            qsort(hrow + hptr[b], k - hptr[b], sizeof(int32_t), cmp_i32);
        } else {
            for (int64_t q = hptr[b] + 1; q < k; q++) { /* insertion sort: short baskets */
                int32_t r = hrow[q];
                int64_t w = q;
                while (w > hptr[b] && hrow[w - 1] > r) {
                    hrow[w] = hrow[w - 1];
                    w--;
                }
                hrow[w] = r;
            }
        }
        hptr[b + 1] = k;
    }
    for (int64_t r = 0; r <= n_freq; r++) M->slot[r] = -1;
    M->avg_len = n_baskets ? (double)total / (double)n_baskets : 0.0;
    M->n_baskets = n_baskets;
    if (M->scratch_limit == -2) M->scratch_limit = total > (1 << 22) ? total : (1 << 22);
    if (M->strategy == 3) M->scratch_limit = -1; /* "occurrence": always count, then deliver */
    M->hptr = hptr;
    M->hrow = hrow;
    M->rank2code = rank2code;
    M->status = 0;
    if (n_freq > 0) mine_class(M, 0, n_freq, 0, 0);
    rc = M->status;
done:
    free(cnt);
    free(code2rank);
    free(ic);
    free(pos);
    free(rank2code);
    free(hptr);
    free(hrow);
    free(M->slot);
    free(M->cnt);
    M->slot = NULL;
    M->cnt = NULL;
    return rc;
}

/* ------------------------------------------------------------------ Python glue */

static PyArrayObject *as_array(PyObject *obj, int type, const char *name) {
    PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(obj, type, 1, 1, NPY_ARRAY_IN_ARRAY);
    if (!a) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be a 1-d array of %s", name,
                     type == NPY_INT32 ? "int32" : "int64");
    }
    return a;
}

static PyObject *to_numpy(const void *data, int64_t n, int type, size_t itemsize) {
    npy_intp dims[1] = {(npy_intp)n};
    PyObject *a = PyArray_SimpleNew(1, dims, type);
    if (a && n > 0) memcpy(PyArray_DATA((PyArrayObject *)a), data, itemsize * (size_t)n);
    return a;
}

/* NULL when every row is non-decreasing in indptr, in range, sorted and unique */
static const char *check_rows(const int64_t *indptr, const int32_t *indices, int64_t n_baskets,
                              int64_t n_items) {
    int64_t nnz = indptr[n_baskets];
    for (int64_t b = 0; b < n_baskets; b++) {
        if (indptr[b + 1] < indptr[b] || indptr[b + 1] > nnz)
            return "indptr must be non-decreasing";
        for (int64_t p = indptr[b]; p < indptr[b + 1]; p++) {
            if (indices[p] < 0 || indices[p] >= n_items) return "item code out of range";
            if (p > indptr[b] && indices[p] <= indices[p - 1])
                return "item codes must be sorted and unique within each basket";
        }
    }
    return NULL;
}

static PyObject *py_mine(PyObject *self, PyObject *args) {
    PyObject *o_indptr, *o_indices;
    long long n_items, min_count, max_itemsets;
    long long scratch_limit = -2; /* testing hook: -2 = automatic */
    int max_len, strategy;
    if (!PyArg_ParseTuple(args, "OOLLiLi|L", &o_indptr, &o_indices, &n_items, &min_count,
                          &max_len, &max_itemsets, &strategy, &scratch_limit))
        return NULL;
    if (min_count < 1 || n_items < 0 || max_len < 0 || strategy < 0 || strategy > 3) {
        PyErr_SetString(PyExc_ValueError, "invalid mining parameters");
        return NULL;
    }
    PyArrayObject *a_indptr = as_array(o_indptr, NPY_INT64, "indptr");
    if (!a_indptr) return NULL;
    PyArrayObject *a_indices = as_array(o_indices, NPY_INT32, "indices");
    if (!a_indices) {
        Py_DECREF(a_indptr);
        return NULL;
    }
    const int64_t *indptr = PyArray_DATA(a_indptr);
    const int32_t *indices = PyArray_DATA(a_indices);
    int64_t n_baskets = PyArray_SIZE(a_indptr) - 1, nnz = PyArray_SIZE(a_indices);
    const char *bad = NULL;
    if (n_baskets < 0 || indptr[0] != 0 || indptr[n_baskets] != nnz)
        bad = "indptr must start at 0 and end at len(indices)";
    else if (n_baskets >= INT32_MAX)
        bad = "too many baskets (at most 2**31 - 2)";
    else {
        Py_BEGIN_ALLOW_THREADS
        bad = check_rows(indptr, indices, n_baskets, n_items);
        Py_END_ALLOW_THREADS
    }
    if (bad) {
        Py_DECREF(a_indptr);
        Py_DECREF(a_indices);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    Miner M;
    memset(&M, 0, sizeof(M));
    M.min_count = min_count;
    M.max_itemsets = max_itemsets;
    M.max_len = max_len;
    M.strategy = strategy;
    M.scratch_limit = scratch_limit;
    int rc;
    if (out_init(&M.out) < 0) {
        rc = -1;
    } else {
        Py_BEGIN_ALLOW_THREADS
        rc = run_mine(&M, indptr, indices, n_baskets, n_items);
        Py_END_ALLOW_THREADS
    }
    Py_DECREF(a_indptr);
    Py_DECREF(a_indices);
    free(M.arena.data);
    free(M.nodes.data);
    free(M.prefix);
    free(M.buf);
    if (rc < 0) {
        out_free(&M.out);
        return PyErr_NoMemory();
    }
    PyObject *flat = to_numpy(M.out.flat, M.out.nflat, NPY_INT32, sizeof(int32_t));
    PyObject *offs = to_numpy(M.out.offsets, M.out.n + 1, NPY_INT64, sizeof(int64_t));
    PyObject *cnts = to_numpy(M.out.counts, M.out.n, NPY_INT64, sizeof(int64_t));
    out_free(&M.out);
    if (!flat || !offs || !cnts) {
        Py_XDECREF(flat);
        Py_XDECREF(offs);
        Py_XDECREF(cnts);
        return NULL;
    }
    return Py_BuildValue("NNNO", flat, offs, cnts, rc == 0 ? Py_True : Py_False);
}

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

/* index of the itemset equal to q[0..k) or -1 */
static inline int64_t probe(const int64_t *table, int64_t mask, const int32_t *flat,
                            const int64_t *offsets, const int32_t *q, int64_t k) {
    uint64_t h = hash_codes(q, k) & (uint64_t)mask;
    for (;;) {
        int64_t idx = table[h];
        if (idx < 0) return -1;
        int64_t a = offsets[idx], len = offsets[idx + 1] - a;
        if (len == k && memcmp(flat + a, q, sizeof(int32_t) * k) == 0) return idx;
        h = (h + 1) & (uint64_t)mask;
    }
}

typedef struct {
    PyArrayObject *flat, *offsets, *counts, *table;
    int64_t n, mask;
} Index;

static int parse_index(Index *ix, PyObject *o_flat, PyObject *o_offsets, PyObject *o_counts,
                       PyObject *o_table) {
    memset(ix, 0, sizeof(*ix));
    ix->flat = as_array(o_flat, NPY_INT32, "flat");
    if (!ix->flat) return -1;
    ix->offsets = as_array(o_offsets, NPY_INT64, "offsets");
    if (!ix->offsets) return -1;
    ix->n = PyArray_SIZE(ix->offsets) - 1;
    if (ix->n < 0) {
        PyErr_SetString(PyExc_ValueError, "offsets must not be empty");
        return -1;
    }
    if (o_counts) {
        ix->counts = as_array(o_counts, NPY_INT64, "counts");
        if (!ix->counts) return -1;
        if (PyArray_SIZE(ix->counts) != ix->n) {
            PyErr_SetString(PyExc_ValueError, "counts must have len(offsets) - 1 entries");
            return -1;
        }
    }
    if (o_table) {
        ix->table = as_array(o_table, NPY_INT64, "table");
        if (!ix->table) return -1;
        int64_t size = PyArray_SIZE(ix->table);
        if (size < 1 || (size & (size - 1)) != 0 || size <= ix->n) {
            PyErr_SetString(PyExc_ValueError, "table is not an index built by build_index");
            return -1;
        }
        ix->mask = size - 1;
    }
    return 0;
}

static void free_index(Index *ix) {
    Py_XDECREF(ix->flat);
    Py_XDECREF(ix->offsets);
    Py_XDECREF(ix->counts);
    Py_XDECREF(ix->table);
}

static PyObject *py_build_index(PyObject *self, PyObject *args) {
    PyObject *o_flat, *o_offsets;
    if (!PyArg_ParseTuple(args, "OO", &o_flat, &o_offsets)) return NULL;
    Index ix;
    if (parse_index(&ix, o_flat, o_offsets, NULL, NULL) < 0) {
        free_index(&ix);
        return NULL;
    }
    int64_t size = 16;
    while (size < 2 * ix.n) size *= 2;
    npy_intp dims[1] = {(npy_intp)size};
    PyObject *table = PyArray_SimpleNew(1, dims, NPY_INT64);
    if (!table) {
        free_index(&ix);
        return NULL;
    }
    int64_t *t = PyArray_DATA((PyArrayObject *)table);
    const int32_t *flat = PyArray_DATA(ix.flat);
    const int64_t *offsets = PyArray_DATA(ix.offsets);
    int64_t mask = size - 1, n = ix.n;
    Py_BEGIN_ALLOW_THREADS
    memset(t, 0xff, sizeof(int64_t) * size);
    for (int64_t i = 0; i < n; i++) {
        uint64_t h = hash_codes(flat + offsets[i], offsets[i + 1] - offsets[i]) & mask;
        while (t[h] >= 0) h = (h + 1) & mask;
        t[h] = i;
    }
    Py_END_ALLOW_THREADS
    free_index(&ix);
    return table;
}

static PyObject *py_lookup(PyObject *self, PyObject *args) {
    PyObject *o_flat, *o_offsets, *o_counts, *o_table, *o_qflat, *o_qoff;
    if (!PyArg_ParseTuple(args, "OOOOOO", &o_flat, &o_offsets, &o_counts, &o_table, &o_qflat,
                          &o_qoff))
        return NULL;
    Index ix;
    PyArrayObject *qf = NULL, *qo = NULL;
    PyObject *result = NULL;
    int32_t *buf = NULL;
    if (parse_index(&ix, o_flat, o_offsets, o_counts, o_table) < 0) goto done;
    if (!(qf = as_array(o_qflat, NPY_INT32, "query_flat"))) goto done;
    if (!(qo = as_array(o_qoff, NPY_INT64, "query_offsets"))) goto done;
    int64_t nq = PyArray_SIZE(qo) - 1, nqf = PyArray_SIZE(qf);
    const int64_t *qoff = PyArray_DATA(qo);
    if (nq < 0 || qoff[0] != 0 || qoff[nq] != nqf) {
        PyErr_SetString(PyExc_ValueError, "query_offsets must start at 0 and end at len(query_flat)");
        goto done;
    }
    int64_t maxk = 0;
    for (int64_t i = 0; i < nq; i++) {
        if (qoff[i + 1] < qoff[i]) {
            PyErr_SetString(PyExc_ValueError, "query_offsets must be non-decreasing");
            goto done;
        }
        if (qoff[i + 1] - qoff[i] > maxk) maxk = qoff[i + 1] - qoff[i];
    }
    buf = malloc(sizeof(int32_t) * (maxk + 1));
    npy_intp dims[1] = {(npy_intp)nq};
    result = PyArray_SimpleNew(1, dims, NPY_INT64);
    if (!buf || !result) {
        Py_CLEAR(result);
        if (!buf) PyErr_NoMemory();
        goto done;
    }
    {
        int64_t *res = PyArray_DATA((PyArrayObject *)result);
        const int32_t *q = PyArray_DATA(qf), *flat = PyArray_DATA(ix.flat);
        const int64_t *offsets = PyArray_DATA(ix.offsets), *counts = PyArray_DATA(ix.counts);
        const int64_t *table = PyArray_DATA(ix.table);
        int64_t mask = ix.mask;
        Py_BEGIN_ALLOW_THREADS
        for (int64_t i = 0; i < nq; i++) {
            int64_t k = qoff[i + 1] - qoff[i];
            memcpy(buf, q + qoff[i], sizeof(int32_t) * k);
            if (k > 1) qsort(buf, k, sizeof(int32_t), cmp_i32);
            int64_t idx = probe(table, mask, flat, offsets, buf, k);
            res[i] = idx < 0 ? -1 : counts[idx];
        }
        Py_END_ALLOW_THREADS
    }
done:
    free(buf);
    free_index(&ix);
    Py_XDECREF(qf);
    Py_XDECREF(qo);
    return result;
}

static PyObject *py_closed_maximal(PyObject *self, PyObject *args) {
    PyObject *o_flat, *o_offsets, *o_counts, *o_table;
    if (!PyArg_ParseTuple(args, "OOOO", &o_flat, &o_offsets, &o_counts, &o_table)) return NULL;
    Index ix;
    PyObject *closed = NULL, *maximal = NULL;
    int32_t *buf = NULL;
    if (parse_index(&ix, o_flat, o_offsets, o_counts, o_table) < 0) goto fail;
    npy_intp dims[1] = {(npy_intp)ix.n};
    closed = PyArray_SimpleNew(1, dims, NPY_BOOL);
    maximal = PyArray_SimpleNew(1, dims, NPY_BOOL);
    if (!closed || !maximal) goto fail;
    const int32_t *flat = PyArray_DATA(ix.flat);
    const int64_t *offsets = PyArray_DATA(ix.offsets), *counts = PyArray_DATA(ix.counts);
    const int64_t *table = PyArray_DATA(ix.table);
    npy_bool *cl = PyArray_DATA((PyArrayObject *)closed), *mx = PyArray_DATA((PyArrayObject *)maximal);
    int64_t maxk = 0, n = ix.n, mask = ix.mask;
    for (int64_t i = 0; i < n; i++)
        if (offsets[i + 1] - offsets[i] > maxk) maxk = offsets[i + 1] - offsets[i];
    if (!(buf = malloc(sizeof(int32_t) * (maxk + 1)))) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    memset(cl, 1, n);
    memset(mx, 1, n);
    for (int64_t i = 0; i < n; i++) {
        const int32_t *s = flat + offsets[i];
        int64_t k = offsets[i + 1] - offsets[i];
        if (k < 2) continue;
        for (int64_t d = 0; d < k; d++) { /* every subset with one item dropped */
            memcpy(buf, s, sizeof(int32_t) * d);
            memcpy(buf + d, s + d + 1, sizeof(int32_t) * (k - d - 1));
            int64_t j = probe(table, mask, flat, offsets, buf, k - 1);
            if (j < 0) continue;
            mx[j] = 0;
            if (counts[j] == counts[i]) cl[j] = 0;
        }
    }
    Py_END_ALLOW_THREADS
    free(buf);
    free_index(&ix);
    return Py_BuildValue("NN", closed, maximal);
fail:
    free(buf);
    free_index(&ix);
    Py_XDECREF(closed);
    Py_XDECREF(maximal);
    return NULL;
}

/* ------------------------------------------------------------------ FIMI tokenizer */

static PyObject *py_parse_fimi(PyObject *self, PyObject *args) {
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;
    const unsigned char *p = view.buf;
    int64_t n = view.len, cap = n / 2 + 1, k = 0, row = 0, bad_line = 0, err = 0;
    int64_t *rows = malloc(sizeof(int64_t) * cap), *vals = malloc(sizeof(int64_t) * cap);
    if (!rows || !vals) {
        free(rows);
        free(vals);
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    int64_t v = 0, digits = 0;
    for (int64_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? p[i] : '\n';
        if (c >= '0' && c <= '9') {
            v = v * 10 + (c - '0');
            if (++digits > 18) {
                err = 2;
                bad_line = row + 1;
                break;
            }
            continue;
        }
        if (digits) { /* a token ends; at most one per two bytes, so cap suffices */
            rows[k] = row;
            vals[k++] = v;
            v = 0;
            digits = 0;
        }
        if (c == '\n') row++;
        else if (c != ' ' && c != '\t' && c != '\r') {
            err = 1;
            bad_line = row + 1;
            break;
        }
    }
    Py_END_ALLOW_THREADS
    /* the loop ends on a virtual newline: drop it when the file already ended with one */
    int64_t n_rows = n == 0 ? 0 : (p[n - 1] != '\n' ? row : row - 1);
    PyBuffer_Release(&view);
    PyObject *r = NULL, *vv = NULL;
    if (!err) {
        r = to_numpy(rows, k, NPY_INT64, sizeof(int64_t));
        vv = to_numpy(vals, k, NPY_INT64, sizeof(int64_t));
    }
    free(rows);
    free(vals);
    if (err) return Py_BuildValue("(OOLi)", Py_None, Py_None, (long long)bad_line, (int)err);
    if (!r || !vv) {
        Py_XDECREF(r);
        Py_XDECREF(vv);
        return NULL;
    }
    return Py_BuildValue("(NNLi)", r, vv, (long long)n_rows, 0);
}

static PyMethodDef methods[] = {
    {"parse_fimi", py_parse_fimi, METH_VARARGS,
     "parse_fimi(data: bytes) -> (rows, values, n_rows, 0) or (None, None, bad_line, err)"},
    {"mine", py_mine, METH_VARARGS,
     "mine(indptr, indices, n_items, min_count, max_len, max_itemsets, strategy)"
     " -> (flat, offsets, counts, complete)"},
    {"build_index", py_build_index, METH_VARARGS, "build_index(flat, offsets) -> table"},
    {"lookup", py_lookup, METH_VARARGS,
     "lookup(flat, offsets, counts, table, query_flat, query_offsets) -> counts"},
    {"closed_maximal", py_closed_maximal, METH_VARARGS,
     "closed_maximal(flat, offsets, counts, table) -> (closed, maximal)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_core", "Compiled frequent-itemset mining kernel of basketlens.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__core(void) {
    import_array();
    return PyModule_Create(&moduledef);
}
