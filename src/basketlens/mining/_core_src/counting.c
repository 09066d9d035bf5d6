/*
 * Counting helpers of basketlens.mining._core for rule pruning (called from Python):
 *
 * unit_counts(indptr, indices, n_items, units, n_units, flat, offsets[, max_bytes]) -> int64
 *   For each itemset (item codes flat[offsets[i]:offsets[i+1]]), the number of distinct units
 *   (customers, units[basket] in [0, n_units)) with a basket holding all of its items; the
 *   baskets are the CSR rows (indptr int64, indices int32 sorted per row). An empty itemset
 *   is held by every basket; a code outside [0, n_items) by none. The baskets of an itemset
 *   are the AND of its items' bitsets when those fit in max_bytes (default 256 MiB), else
 *   the intersection of their sorted basket lists.
 * hypergeom_tail(term, k, a, b, rest, kmin, kmax, up) -> None
 *   The summation loop of measures.hypergeom_upper, in place on float64 arrays: from the
 *   first pmf term at k, multiply by the ratio of successive terms (upwards when up[i],
 *   else downwards) and add, while k stays inside [kmin, kmax] and the term is above 1e-17 of
 *   the sum. term[i] becomes the sum. The same operations in the same order as the numpy loop,
 *   so the same bits.
 * row_matches(indptr, indices, n_cols, rows, flat, offsets[, max_bytes]) -> (row, set) | None
 *   Every (row of ``rows``, non-empty set i) where the CSR row holds every column of set i
 *   (item codes flat[offsets[i]:offsets[i+1]]), by bitsets over ``rows`` of the columns the
 *   sets name; pairs ordered by set, then by position in ``rows``. None when the bitsets
 *   would exceed max_bytes (default 256 MiB). Empty sets and codes outside [0, n_cols) give
 *   no pair.
 */
#include "core.h"

#if !defined(__GNUC__) && !defined(__clang__)
static int ctz64(uint64_t x) { /* x != 0 */
    int n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
}
#define __builtin_ctzll ctz64
#endif

/* basket lists of every item (CSC) from the CSR rows, by counting sort; NULL on no memory */
static int transpose(const int64_t *indptr, const int32_t *indices, int64_t n_baskets,
                     int64_t n_items, int64_t **col_ptr, int32_t **col_rows) {
    int64_t nnz = indptr[n_baskets];
    int64_t *ptr = calloc((size_t)n_items + 1, sizeof(int64_t));
    int32_t *rows = malloc(sizeof(int32_t) * (size_t)(nnz ? nnz : 1));
    int64_t *fill = malloc(sizeof(int64_t) * (size_t)(n_items ? n_items : 1));
    if (!ptr || !rows || !fill) {
        free(ptr);
        free(rows);
        free(fill);
        return -1;
    }
    for (int64_t p = 0; p < nnz; p++) ptr[indices[p] + 1]++;
    for (int64_t c = 0; c < n_items; c++) ptr[c + 1] += ptr[c];
    memcpy(fill, ptr, sizeof(int64_t) * (size_t)n_items);
    for (int64_t b = 0; b < n_baskets; b++) /* rows come out ascending */
        for (int64_t p = indptr[b]; p < indptr[b + 1]; p++) rows[fill[indices[p]]++] = (int32_t)b;
    free(fill);
    *col_ptr = ptr;
    *col_rows = rows;
    return 0;
}

/* first position p >= j with b[p] >= x (nb when none): exponential, then binary search */
static inline int64_t gallop_to(const int32_t *b, int64_t nb, int64_t j, int32_t x) {
    if (j >= nb || b[j] >= x) return j;
    int64_t lo = j, step = 1; /* b[lo] < x */
    while (lo + step < nb && b[lo + step] < x) {
        lo += step;
        step *= 2;
    }
    int64_t hi = lo + step < nb ? lo + step : nb;
    while (hi - lo > 1) {
        int64_t mid = lo + ((hi - lo) >> 1);
        if (b[mid] < x) lo = mid;
        else hi = mid;
    }
    return hi;
}

/* a ∩ b into out (sorted lists, a the shorter); returns the size */
static int64_t intersect(const int32_t *a, int64_t na, const int32_t *b, int64_t nb, int32_t *out) {
    int64_t i = 0, j = 0, k = 0;
    if (nb > 16 * na) { /* search each element of the short list in the long one */
        for (i = 0; i < na; i++) {
            j = gallop_to(b, nb, j, a[i]);
            if (j >= nb) break;
            if (b[j] == a[i]) out[k++] = a[i];
        }
        return k;
    }
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else {
            out[k++] = a[i];
            i++;
            j++;
        }
    }
    return k;
}

/* unit_counts by bitsets of the items the itemsets name (one bit per basket): 0 done,
 * 1 when they would exceed max_bytes (the caller intersects basket lists instead), -1 no
 * memory. stamp: n_units entries, all -1. */
static int bitset_counts(const int64_t *indptr, const int32_t *indices, int64_t n_baskets,
                         int64_t n_items, const int64_t *units, const int32_t *flat,
                         const int64_t *off, int64_t n_sets, int64_t *stamp, int64_t *res,
                         int64_t max_bytes) {
    int64_t words = (n_baskets + 63) / 64, n_slots = 0;
    int32_t *slot = malloc(sizeof(int32_t) * (size_t)(n_items ? n_items : 1));
    if (!slot) return -1;
    for (int64_t c = 0; c < n_items; c++) slot[c] = -1;
    for (int64_t p = 0; p < off[n_sets]; p++) {
        int32_t c = flat[p];
        if (c >= 0 && c < n_items && slot[c] < 0) slot[c] = (int32_t)n_slots++;
    }
    if (words == 0 || n_slots * words * 8 > max_bytes) {
        free(slot);
        return 1;
    }
    uint64_t *bits = calloc((size_t)(n_slots * words), sizeof(uint64_t));
    uint64_t *acc = malloc(sizeof(uint64_t) * (size_t)words);
    if (!bits || !acc) {
        free(slot);
        free(bits);
        free(acc);
        return -1;
    }
    for (int64_t b = 0; b < n_baskets; b++)
        for (int64_t p = indptr[b]; p < indptr[b + 1]; p++) {
            int32_t s = slot[indices[p]];
            if (s >= 0) bits[s * words + (b >> 6)] |= (uint64_t)1 << (b & 63);
        }
    for (int64_t i = 0; i < n_sets; i++) {
        int64_t k = off[i + 1] - off[i];
        int unknown = 0;
        for (int64_t q = 0; q < k; q++) {
            int32_t c = flat[off[i] + q];
            if (c < 0 || c >= n_items) unknown = 1;
        }
        if (unknown) continue; /* an item no basket holds: 0 */
        for (int64_t w = 0; w < words; w++) acc[w] = ~(uint64_t)0;
        if (n_baskets & 63) acc[words - 1] = ((uint64_t)1 << (n_baskets & 63)) - 1;
        for (int64_t q = 0; q < k; q++) {
            const uint64_t *row = bits + slot[flat[off[i] + q]] * words;
            for (int64_t w = 0; w < words; w++) acc[w] &= row[w];
        }
        int64_t seen = 0;
        for (int64_t w = 0; w < words; w++) {
            uint64_t x = acc[w];
            while (x) {
                int64_t u = units[w * 64 + __builtin_ctzll(x)];
                x &= x - 1;
                if (stamp[u] != i) {
                    stamp[u] = i;
                    seen++;
                }
            }
        }
        res[i] = seen;
    }
    free(slot);
    free(bits);
    free(acc);
    return 0;
}

PyObject *py_unit_counts(PyObject *self, PyObject *args) {
    PyObject *o_indptr, *o_indices, *o_units, *o_flat, *o_off;
    long long n_items_ll, n_units_ll, max_bytes = 256LL << 20;
    if (!PyArg_ParseTuple(args, "OOLOLOO|L", &o_indptr, &o_indices, &n_items_ll, &o_units,
                          &n_units_ll, &o_flat, &o_off, &max_bytes))
        return NULL;
    PyArrayObject *ip = NULL, *ix = NULL, *un = NULL, *fl = NULL, *of = NULL;
    PyObject *result = NULL;
    int64_t *col_ptr = NULL, *stamp = NULL;
    int32_t *col_rows = NULL, *buf_a = NULL, *buf_b = NULL;
    int64_t n_items = n_items_ll, n_units = n_units_ll;
    if (!(ip = as_array(o_indptr, NPY_INT64, "indptr"))) goto done;
    if (!(ix = as_array(o_indices, NPY_INT32, "indices"))) goto done;
    if (!(un = as_array(o_units, NPY_INT64, "units"))) goto done;
    if (!(fl = as_array(o_flat, NPY_INT32, "flat"))) goto done;
    if (!(of = as_array(o_off, NPY_INT64, "offsets"))) goto done;
    int64_t n_baskets = PyArray_SIZE(ip) - 1, n_sets = PyArray_SIZE(of) - 1;
    const int64_t *indptr = PyArray_DATA(ip), *units = PyArray_DATA(un), *off = PyArray_DATA(of);
    const int32_t *indices = PyArray_DATA(ix), *flat = PyArray_DATA(fl);
    if (n_baskets < 0 || n_sets < 0 || n_items < 0 || n_units < 0 ||
        PyArray_SIZE(un) != n_baskets || indptr[0] != 0 ||
        indptr[n_baskets] != PyArray_SIZE(ix) || off[0] != 0 || off[n_sets] != PyArray_SIZE(fl)) {
        PyErr_SetString(PyExc_ValueError, "unit_counts: inconsistent array sizes");
        goto done;
    }
    for (int64_t b = 0; b < n_baskets; b++) {
        if (indptr[b + 1] < indptr[b] || units[b] < 0 || units[b] >= n_units) {
            PyErr_SetString(PyExc_ValueError, "unit_counts: bad indptr or unit code");
            goto done;
        }
    }
    for (int64_t p = 0; p < PyArray_SIZE(ix); p++) {
        if (indices[p] < 0 || indices[p] >= n_items) {
            PyErr_SetString(PyExc_ValueError, "unit_counts: item code out of range");
            goto done;
        }
    }
    for (int64_t i = 0; i < n_sets; i++) {
        if (off[i + 1] < off[i]) {
            PyErr_SetString(PyExc_ValueError, "unit_counts: offsets must be non-decreasing");
            goto done;
        }
    }
    npy_intp dims[1] = {(npy_intp)n_sets};
    result = PyArray_ZEROS(1, dims, NPY_INT64, 0);
    if (!result) goto done;
    int64_t *res = PyArray_DATA((PyArrayObject *)result);
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    stamp = malloc(sizeof(int64_t) * (size_t)(n_units ? n_units : 1));
    if (!stamp) {
        failed = 1;
    } else {
        for (int64_t u = 0; u < n_units; u++) stamp[u] = -1;
        int rc = bitset_counts(indptr, indices, n_baskets, n_items, units, flat, off, n_sets,
                               stamp, res, max_bytes);
        if (rc < 0) failed = 1;
        if (rc == 0) goto counted;
    }
    buf_a = malloc(sizeof(int32_t) * (size_t)(n_baskets ? n_baskets : 1));
    buf_b = malloc(sizeof(int32_t) * (size_t)(n_baskets ? n_baskets : 1));
    if (failed || !buf_a || !buf_b ||
        transpose(indptr, indices, n_baskets, n_items, &col_ptr, &col_rows) < 0) {
        failed = 1;
    } else {
        for (int64_t u = 0; u < n_units; u++) stamp[u] = -1;
        for (int64_t i = 0; i < n_sets; i++) {
            int64_t k = off[i + 1] - off[i], len = 0, unknown = 0;
            const int32_t *cur = NULL;
            for (int64_t q = 0; q < k; q++) {
                int32_t c = flat[off[i] + q];
                if (c < 0 || c >= n_items) unknown = 1;
            }
            if (unknown) continue; /* an item no basket holds */
            if (k == 0) { /* every basket */
                for (int64_t b = 0; b < n_baskets; b++) buf_a[b] = (int32_t)b;
                cur = buf_a;
                len = n_baskets;
            } else {
                /* start from the shortest list, then intersect with the others */
                int64_t best = 0;
                for (int64_t q = 1; q < k; q++) {
                    int32_t c = flat[off[i] + q], s = flat[off[i] + best];
                    if (col_ptr[c + 1] - col_ptr[c] < col_ptr[s + 1] - col_ptr[s]) best = q;
                }
                int32_t s = flat[off[i] + best];
                cur = col_rows + col_ptr[s];
                len = col_ptr[s + 1] - col_ptr[s];
                int32_t *dst = buf_a;
                for (int64_t q = 0; q < k && len > 0; q++) {
                    if (q == best) continue;
                    int32_t c = flat[off[i] + q];
                    len = intersect(cur, len, col_rows + col_ptr[c], col_ptr[c + 1] - col_ptr[c],
                                    dst);
                    cur = dst;
                    dst = dst == buf_a ? buf_b : buf_a;
                }
            }
            int64_t seen = 0;
            for (int64_t p = 0; p < len; p++) {
                int64_t u = units[cur[p]];
                if (stamp[u] != i) {
                    stamp[u] = i;
                    seen++;
                }
            }
            res[i] = seen;
        }
    }
counted:
    Py_END_ALLOW_THREADS
    if (failed) {
        Py_CLEAR(result);
        PyErr_NoMemory();
    }
done:
    free(col_ptr);
    free(col_rows);
    free(stamp);
    free(buf_a);
    free(buf_b);
    Py_XDECREF(ip);
    Py_XDECREF(ix);
    Py_XDECREF(un);
    Py_XDECREF(fl);
    Py_XDECREF(of);
    return result;
}

static PyArrayObject *inout_f64(PyObject *obj, const char *name, int writable, int64_t n) {
    int flags = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | (writable ? NPY_ARRAY_WRITEABLE : 0);
    if (!PyArray_Check(obj) || PyArray_TYPE((PyArrayObject *)obj) != NPY_FLOAT64 ||
        PyArray_NDIM((PyArrayObject *)obj) != 1 ||
        (PyArray_FLAGS((PyArrayObject *)obj) & flags) != flags ||
        (n >= 0 && PyArray_SIZE((PyArrayObject *)obj) != n)) {
        PyErr_Format(PyExc_ValueError, "%s must be a contiguous%s 1-d float64 array of the "
                     "same size", name, writable ? ", writable" : "");
        return NULL;
    }
    return (PyArrayObject *)obj;
}

PyObject *py_hypergeom_tail(PyObject *self, PyObject *args) {
    PyObject *o[8];
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &o[7]))
        return NULL;
    static const char *names[8] = {"term", "k", "a", "b", "rest", "kmin", "kmax", "up"};
    double *v[8];
    int64_t n = -1;
    for (int j = 0; j < 8; j++) {
        PyArrayObject *arr = inout_f64(o[j], names[j], j == 0, n);
        if (!arr) return NULL;
        n = PyArray_SIZE(arr);
        v[j] = PyArray_DATA(arr);
    }
    double *term = v[0];
    const double *k0 = v[1], *a = v[2], *b = v[3], *rest = v[4], *kmin = v[5], *kmax = v[6],
                 *up = v[7];
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < n; i++) {
        double t = term[i], total = t, k = k0[i];
        int u = up[i] != 0.0;
        if (!(t > 0.0)) continue;
        while (u ? k < kmax[i] : k > kmin[i]) {
            double ratio;
            if (u) {
                ratio = (a[i] - k) * (b[i] - k) / ((k + 1) * (rest[i] + k + 1));
            } else {
                double den = (a[i] - k + 1) * (b[i] - k + 1);
                ratio = k * (rest[i] + k) / (den > 1.0 || den != den ? den : 1.0); /* np.maximum */
            }
            t *= ratio;
            k = u ? k + 1 : k - 1;
            total += t;
            if (!(t > 1e-17 * total)) break;
        }
        term[i] = total;
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* a growable int64 pair buffer */
typedef struct {
    int64_t *a, *b, n, cap;
} Pairs;

static int pairs_push(Pairs *p, int64_t x, int64_t y) {
    if (p->n == p->cap) {
        int64_t cap = p->cap ? 2 * p->cap : 4096;
        int64_t *na = realloc(p->a, sizeof(int64_t) * (size_t)cap);
        if (!na) return -1;
        p->a = na;
        int64_t *nb = realloc(p->b, sizeof(int64_t) * (size_t)cap);
        if (!nb) return -1;
        p->b = nb;
        p->cap = cap;
    }
    p->a[p->n] = x;
    p->b[p->n] = y;
    p->n++;
    return 0;
}

PyObject *py_row_matches(PyObject *self, PyObject *args) {
    PyObject *o_indptr, *o_indices, *o_rows, *o_flat, *o_off;
    long long n_cols_ll, max_bytes = 256LL << 20;
    if (!PyArg_ParseTuple(args, "OOLOOO|L", &o_indptr, &o_indices, &n_cols_ll, &o_rows, &o_flat,
                          &o_off, &max_bytes))
        return NULL;
    PyArrayObject *ip = NULL, *ix = NULL, *rw = NULL, *fl = NULL, *of = NULL;
    PyObject *result = NULL;
    int32_t *slot = NULL;
    uint64_t *bits = NULL, *acc = NULL;
    Pairs out = {NULL, NULL, 0, 0};
    int64_t n_cols = n_cols_ll;
    if (!(ip = as_array(o_indptr, NPY_INT64, "indptr"))) goto done;
    if (!(ix = as_array(o_indices, NPY_INT32, "indices"))) goto done;
    if (!(rw = as_array(o_rows, NPY_INT64, "rows"))) goto done;
    if (!(fl = as_array(o_flat, NPY_INT32, "flat"))) goto done;
    if (!(of = as_array(o_off, NPY_INT64, "offsets"))) goto done;
    int64_t n_all = PyArray_SIZE(ip) - 1, n_rows = PyArray_SIZE(rw), n_sets = PyArray_SIZE(of) - 1;
    const int64_t *indptr = PyArray_DATA(ip), *rows = PyArray_DATA(rw), *off = PyArray_DATA(of);
    const int32_t *indices = PyArray_DATA(ix), *flat = PyArray_DATA(fl);
    if (n_all < 0 || n_sets < 0 || n_cols < 0 || indptr[0] != 0 ||
        indptr[n_all] != PyArray_SIZE(ix) || off[0] != 0 || off[n_sets] != PyArray_SIZE(fl)) {
        PyErr_SetString(PyExc_ValueError, "row_matches: inconsistent array sizes");
        goto done;
    }
    for (int64_t p = 0; p < n_rows; p++)
        if (rows[p] < 0 || rows[p] >= n_all) {
            PyErr_SetString(PyExc_ValueError, "row_matches: row out of range");
            goto done;
        }
    for (int64_t b = 0; b < n_all; b++)
        if (indptr[b + 1] < indptr[b]) {
            PyErr_SetString(PyExc_ValueError, "row_matches: indptr must be non-decreasing");
            goto done;
        }
    for (int64_t i = 0; i < n_sets; i++)
        if (off[i + 1] < off[i]) {
            PyErr_SetString(PyExc_ValueError, "row_matches: offsets must be non-decreasing");
            goto done;
        }
    int64_t words = (n_rows + 63) / 64, n_slots = 0;
    slot = malloc(sizeof(int32_t) * (size_t)(n_cols ? n_cols : 1));
    if (!slot) {
        PyErr_NoMemory();
        goto done;
    }
    for (int64_t c = 0; c < n_cols; c++) slot[c] = -1;
    for (int64_t p = 0; p < off[n_sets]; p++) {
        int32_t c = flat[p];
        if (c >= 0 && c < n_cols && slot[c] < 0) slot[c] = (int32_t)n_slots++;
    }
    if (n_slots * words * 8 > max_bytes) { /* too big: None, the caller's way */
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    bits = calloc((size_t)(n_slots * words + 1), sizeof(uint64_t));
    acc = malloc(sizeof(uint64_t) * (size_t)(words + 1));
    if (!bits || !acc) {
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t p = 0; p < n_rows; p++) {
        int64_t r = rows[p];
        for (int64_t q = indptr[r]; q < indptr[r + 1]; q++) {
            int32_t c = indices[q];
            int32_t s = c >= 0 && c < n_cols ? slot[c] : -1;
            if (s >= 0) bits[s * words + (p >> 6)] |= (uint64_t)1 << (p & 63);
        }
    }
    for (int64_t i = 0; i < n_sets && !failed; i++) {
        int64_t k = off[i + 1] - off[i];
        int unknown = k == 0; /* the empty set: the caller's (everybody holds it) */
        for (int64_t q = 0; q < k; q++) {
            int32_t c = flat[off[i] + q];
            if (c < 0 || c >= n_cols) unknown = 1;
        }
        if (unknown) continue;
        const uint64_t *first = bits + slot[flat[off[i]]] * words;
        for (int64_t w = 0; w < words; w++) acc[w] = first[w];
        for (int64_t q = 1; q < k; q++) {
            const uint64_t *row = bits + slot[flat[off[i] + q]] * words;
            for (int64_t w = 0; w < words; w++) acc[w] &= row[w];
        }
        for (int64_t w = 0; w < words && !failed; w++) {
            uint64_t x = acc[w];
            while (x) {
                int64_t p = w * 64 + __builtin_ctzll(x);
                x &= x - 1;
                if (pairs_push(&out, rows[p], i) < 0) {
                    failed = 1;
                    break;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    {
        PyObject *a = to_numpy(out.a, out.n, NPY_INT64, sizeof(int64_t));
        PyObject *b = to_numpy(out.b, out.n, NPY_INT64, sizeof(int64_t));
        if (a && b) result = PyTuple_Pack(2, a, b);
        Py_XDECREF(a);
        Py_XDECREF(b);
    }
done:
    free(slot);
    free(bits);
    free(acc);
    free(out.a);
    free(out.b);
    Py_XDECREF(ip);
    Py_XDECREF(ix);
    Py_XDECREF(rw);
    Py_XDECREF(fl);
    Py_XDECREF(of);
    return result;
}
