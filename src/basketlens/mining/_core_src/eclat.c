/*
 * The depth-first Eclat search of basketlens.mining._core (see module.c for the contract):
 * output buffer, set operations on sorted tid-lists / diffsets, the class miner and run_mine.
 */
#include "core.h"

int out_init(Out *o, Budget *budget) {
    o->budget = budget;
    o->capflat = 1024;
    o->cap = 256;
    o->nflat = 0;
    o->n = 0;
    o->flat = budget_malloc(budget, sizeof(int32_t) * o->capflat);
    o->offsets = budget_malloc(budget, sizeof(int64_t) * (o->cap + 1));
    o->counts = budget_malloc(budget, sizeof(int64_t) * o->cap);
    if (!o->flat || !o->offsets || !o->counts) return -1;
    o->offsets[0] = 0;
    return 0;
}

void out_free(Out *o) {
    budget_free(o->budget, o->flat, sizeof(int32_t) * o->capflat);
    budget_free(o->budget, o->offsets, sizeof(int64_t) * (o->cap + 1));
    budget_free(o->budget, o->counts, sizeof(int64_t) * o->cap);
    o->flat = NULL;
    o->offsets = NULL;
    o->counts = NULL;
}

int out_push(Out *o, const int32_t *codes, int64_t k, int64_t count) {
    if (o->nflat + k > o->capflat) {
        int64_t cap = o->capflat * 2;
        while (cap < o->nflat + k) cap *= 2;
        int32_t *p = budget_realloc(o->budget, o->flat, (int64_t)sizeof(int32_t) * o->capflat,
                                    (int64_t)sizeof(int32_t) * cap);
        if (!p) return -1;
        o->flat = p;
        o->capflat = cap;
    }
    if (o->n + 1 > o->cap) {
        int64_t cap = o->cap * 2, w = (int64_t)sizeof(int64_t);
        int64_t *p = budget_realloc(o->budget, o->offsets, w * (o->cap + 1), w * (cap + 1));
        if (!p) return -1;
        o->offsets = p;
        p = budget_realloc(o->budget, o->counts, w * o->cap, w * cap);
        if (!p) { /* keep the two arrays' sizes in step */
            p = budget_realloc(o->budget, o->offsets, w * (cap + 1), w * (o->cap + 1));
            if (p) o->offsets = p;
            return -1;
        }
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

int poll_signals(Miner *M) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    if (now < M->next_poll) return 0;
    M->next_poll = now + POLL_SECONDS;
    if (atomic_load(&bl_interrupts) != M->interrupt_gen) {
        M->status = STATUS_INTERRUPTED;
        return 1;
    }
    /* the handlers run only in the main thread; elsewhere PyErr_CheckSignals returns 0 */
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = PyErr_CheckSignals();
    if (rc < 0) PyErr_Fetch(&M->exc_type, &M->exc_value, &M->exc_tb);
    PyGILState_Release(gil);
    if (rc < 0) {
        M->status = STATUS_INTERRUPTED;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ set operations */

int cmp_i32(const void *a, const void *b) {
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
int64_t setdiff(const int32_t *a, int64_t na, const int32_t *b, int64_t nb, int32_t *out,
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

/* Children of X (position i of the class [.., hi)) by pairwise merges with its later
 * members: t(PXY) = t(PX) ∩ t(PY) on tid-lists, d(PXY) = d(PY) \ d(PX) on diffsets (is_diff),
 * or d(PXY) = t(PX) \ t(PY) when switching to diffsets (to_diff). A tid-list class that
 * prefer_diffsets() calls dense continues on diffsets d(PXY) = t(PX) \ t(PXY). Pushes the
 * child nodes and returns their ChildKind, or -1 (status set) on error. */
static int extend_merges(Miner *M, const Node *X, int64_t i, int64_t hi, int is_diff,
                         int to_diff) {
    int64_t maxmiss = X->count - M->min_count, node_mark = M->nodes.top;
    for (int64_t j = i + 1; j < hi; j++) {
        if (should_stop(M)) return -1;
        Node Y = M->nodes.data[j];
        int64_t bound, len, count;
        if (is_diff) bound = Y.len < maxmiss ? Y.len : maxmiss;
        else if (to_diff) bound = X->len < maxmiss ? X->len : maxmiss;
        else bound = X->len < Y.len ? X->len : Y.len;
        if (arena_reserve(&M->arena, bound) < 0) goto oom;
        int32_t *base = M->arena.data, *dst = base + M->arena.top;
        if (is_diff) {
            len = setdiff(base + Y.off, Y.len, base + X->off, X->len, dst, maxmiss);
            count = X->count - len;
        } else if (to_diff) {
            len = setdiff(base + X->off, X->len, base + Y.off, Y.len, dst, maxmiss);
            count = X->count - len;
        } else {
            len = isect(base + X->off, X->len, base + Y.off, Y.len, dst, maxmiss);
            count = len;
        }
        if (len < 0) continue; /* infrequent */
        Node C = {Y.item, count, M->arena.top, len};
        if (nodes_push(&M->nodes, C) < 0) goto oom;
        M->arena.top += len;
    }
    if (is_diff || to_diff) return CHILD_DIFFSETS;
    int64_t sum_tid = 0, sum_diff = 0, n_child = M->nodes.top - node_mark;
    for (int64_t c = node_mark; c < M->nodes.top; c++) {
        sum_tid += M->nodes.data[c].len;
        sum_diff += X->len - M->nodes.data[c].len;
    }
    if (!prefer_diffsets(M, n_child, sum_tid, sum_diff)) return CHILD_TIDLISTS;
    if (arena_reserve(&M->arena, sum_diff) < 0) goto oom;
    int32_t *base = M->arena.data;
    for (int64_t c = node_mark; c < M->nodes.top; c++) {
        Node *C = &M->nodes.data[c];
        int64_t len =
            setdiff(base + X->off, X->len, base + C->off, C->len, base + M->arena.top, X->len);
        C->off = M->arena.top;
        C->len = len;
        M->arena.top += len;
    }
    return CHILD_DIFFSETS;
oom:
    fail_alloc(M);
    return -1;
}

/* Emit every member of the class [lo, hi) (whose nodes hold `kind`) and mine its children. */
static void mine_class(Miner *M, int64_t lo, int64_t hi, ChildKind kind, int depth) {
    int is_diff = kind == CHILD_DIFFSETS;
    for (int64_t i = lo; i < hi; i++) {
        Node X = M->nodes.data[i]; /* a copy: pushing children may move the node stack */
        if (M->max_itemsets >= 0 && M->out.n >= M->max_itemsets) {
            M->status = STATUS_ITEMSETS;
            return;
        }
        if (should_stop(M)) return;
        M->prefix[depth] = X.item;
        if (emit(M, depth + 1, X.count) < 0) {
            fail_alloc(M);
            return;
        }
        if (depth + 2 > M->max_len || i + 1 >= hi) continue;
        int64_t arena_mark = M->arena.top, node_mark = M->nodes.top;
        int to_diff = !is_diff && M->strategy == STRATEGY_DECLAT;
        int occurrences = !is_diff && M->strategy == STRATEGY_OCCURRENCE;
        if (!is_diff && M->strategy == STRATEGY_AUTO) {
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
        int child = occurrences ? extend_occurrences(M, &X, i, hi)
                                : extend_merges(M, &X, i, hi, is_diff, to_diff);
        if (child < 0) return; /* status set */
        if (M->nodes.top > node_mark)
            mine_class(M, node_mark, M->nodes.top, (ChildKind)child, depth + 1);
        M->arena.top = arena_mark;
        M->nodes.top = node_mark;
        if (M->status != 0) return;
    }
}

/* The longest itemset that can be frequent: the largest k such that at least min_count
 * baskets hold k frequent items (every basket counted for an itemset contains all of it). */
static int64_t depth_bound(const int64_t *hptr, int64_t n_baskets, int64_t n_freq,
                           int64_t min_count, int64_t *hist) {
    memset(hist, 0, sizeof(int64_t) * (n_freq + 1));
    for (int64_t b = 0; b < n_baskets; b++) hist[hptr[b + 1] - hptr[b]]++;
    int64_t at_least = 0;
    for (int64_t k = n_freq; k >= 1; k--) {
        at_least += hist[k];
        if (at_least >= min_count) return k;
    }
    return 0;
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

/* Run the whole search without the GIL; returns a STATUS_*. Every buffer is charged to
 * M->budget; the loops over the input look for signals like the search does. */
int run_mine(Miner *M, const int64_t *indptr, const int32_t *indices, int64_t n_baskets,
             int64_t n_items) {
    Budget *B = &M->budget;
    int64_t ni = n_items ? n_items : 1, n_freq = 0, total = 0, nnz = indptr[n_baskets];
    int64_t s_cnt = (int64_t)sizeof(int64_t) * ni, s_c2r = (int64_t)sizeof(int32_t) * ni;
    int64_t s_ic = (int64_t)sizeof(ItemCount) * ni, s_r2c = 0, s_pos = 0, s_hptr = 0;
    int64_t s_hrow = 0, s_slot = 0, s_mcnt = 0, s_prefix = 0;
    int64_t *cnt = budget_malloc(B, s_cnt);
    int32_t *code2rank = budget_malloc(B, s_c2r);
    ItemCount *ic = budget_malloc(B, s_ic);
    int64_t *pos = NULL, *hptr = NULL;
    int32_t *rank2code = NULL, *hrow = NULL;
    M->status = STATUS_OK;
    if (!cnt || !code2rank || !ic) goto fail;
    memset(cnt, 0, s_cnt);
    for (int64_t p = 0; p < nnz; p++) {
        if (should_stop(M)) goto done;
        cnt[indices[p]]++;
    }
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
    s_r2c = (int64_t)sizeof(int32_t) * (n_freq + 1);
    s_pos = (int64_t)sizeof(int64_t) * (n_freq + 1);
    rank2code = budget_malloc(B, s_r2c);
    pos = budget_malloc(B, s_pos);
    if (!rank2code || !pos) goto fail;
    if (arena_reserve(&M->arena, total) < 0) goto fail;
    int64_t off = 0;
    for (int64_t r = 0; r < n_freq; r++) {
        rank2code[r] = ic[r].code;
        code2rank[ic[r].code] = (int32_t)r;
        pos[r] = off;
        Node nd = {(int32_t)r, ic[r].count, off, ic[r].count};
        if (nodes_push(&M->nodes, nd) < 0) goto fail;
        off += ic[r].count;
    }
    for (int64_t b = 0; b < n_baskets; b++) { /* tid-lists come out sorted */
        if (should_stop(M)) goto done;
        for (int64_t p = indptr[b]; p < indptr[b + 1]; p++) {
            int32_t r = code2rank[indices[p]];
            if (r >= 0) M->arena.data[pos[r]++] = (int32_t)b;
        }
    }
    M->arena.top = total;
    /* horizontal database of frequent items as ranks, ascending within each basket */
    s_hptr = (int64_t)sizeof(int64_t) * (n_baskets + 1);
    s_hrow = (int64_t)sizeof(int32_t) * (total ? total : 1);
    s_slot = (int64_t)sizeof(int32_t) * (n_freq + 1);
    s_mcnt = (int64_t)sizeof(int64_t) * (2 * n_freq + 1);
    hptr = budget_malloc(B, s_hptr);
    hrow = budget_malloc(B, s_hrow);
    M->slot = budget_malloc(B, s_slot);
    M->cnt = budget_malloc(B, s_mcnt);
    if (!hptr || !hrow || !M->slot || !M->cnt) goto fail;
    hptr[0] = 0;
    for (int64_t b = 0; b < n_baskets; b++) {
        if (should_stop(M)) goto done;
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
    /* depth bound: never deeper than the longest frequent itemset can be (and max_len) */
    int64_t bound = depth_bound(hptr, n_baskets, n_freq, M->min_count, M->cnt);
    if (bound > INT32_MAX) bound = INT32_MAX;
    if (M->max_len == 0 || M->max_len > bound) M->max_len = (int)bound;
    s_prefix = (int64_t)sizeof(int32_t) * (M->max_len + 1);
    M->prefix = budget_malloc(B, s_prefix);
    M->buf = budget_malloc(B, s_prefix);
    if (!M->prefix || !M->buf) goto fail;
    M->avg_len = n_baskets ? (double)total / (double)n_baskets : 0.0;
    M->n_baskets = n_baskets;
    if (M->scratch_limit == -2) M->scratch_limit = total > (1 << 22) ? total : (1 << 22);
    if (M->strategy == STRATEGY_OCCURRENCE) M->scratch_limit = -1; /* "occurrence": always count, then deliver */
    M->hptr = hptr;
    M->hrow = hrow;
    M->rank2code = rank2code;
    if (n_freq > 0) mine_class(M, 0, n_freq, CHILD_TIDLISTS, 0);
    goto done;
fail:
    fail_alloc(M);
done:
    budget_free(B, cnt, s_cnt);
    budget_free(B, code2rank, s_c2r);
    budget_free(B, ic, s_ic);
    budget_free(B, pos, s_pos);
    budget_free(B, rank2code, s_r2c);
    budget_free(B, hptr, s_hptr);
    budget_free(B, hrow, s_hrow);
    budget_free(B, M->slot, s_slot);
    budget_free(B, M->cnt, s_mcnt);
    budget_free(B, M->prefix, s_prefix);
    budget_free(B, M->buf, s_prefix);
    M->slot = NULL;
    M->cnt = NULL;
    M->prefix = NULL;
    M->buf = NULL;
    return M->status;
}
