/*
 * Occurrence counting and deliver: the children of a node of the Eclat search from a scan of
 * the horizontal database over the node's baskets (called by mine_class in eclat.c).
 */
#include "core.h"

#define PREFETCH 8 /* baskets ahead in occurrence scans */

/* extend_occurrences in a single scan of the baskets of t(PX): every member gets a buffer of
 * its upper-bound size; frequent ones are then compacted (or turned into diffsets). Returns
 * the ChildKind of the children pushed, or -1 (status set). */
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
        if (should_stop(M)) goto stop;
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
    /* counts, then the diffset decision (prefer_diffsets) */
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
    int use_diff = prefer_diffsets(M, n_child, sum_tid, sum_diff);
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
    return use_diff ? CHILD_DIFFSETS : CHILD_TIDLISTS;
oom:
    fail_alloc(M);
stop:
    for (int64_t j = 0; j < n_ext; j++) M->slot[M->nodes.data[i + 1 + j].item] = -1;
    return -1;
}

/* Children of X (position i of the tid-list class [.., hi)) by occurrence counting over the
 * baskets of t(PX); dense children become diffsets d(PXY) = t(PX) \ t(PY), sparse ones get
 * their tid-lists by occurrence deliver. Pushes the child nodes and returns their ChildKind,
 * or -1 (status set) on error. */
int extend_occurrences(Miner *M, const Node *X, int64_t i, int64_t hi) {
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
        if (should_stop(M)) goto stop;
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
    int use_diff = prefer_diffsets(M, n_child, sum_tid, sum_diff);
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
    return use_diff ? CHILD_DIFFSETS : CHILD_TIDLISTS;
oom:
    fail_alloc(M);
stop:
    for (int64_t j = 0; j < n_ext; j++) M->slot[M->nodes.data[i + 1 + j].item] = -1;
    return -1;
}
