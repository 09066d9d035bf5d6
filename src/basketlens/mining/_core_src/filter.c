/*
 * Post-filters of basketlens.mining._core: closed_maximal() (closed and maximal itemsets)
 * and complete_linkage() (the item families' clustering, mining/families.py).
 */
#include "core.h"

PyObject *py_closed_maximal(PyObject *self, PyObject *args) {
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
    int corrupt = 0;
    for (int64_t i = 0; i < n; i++)
        if (offsets[i + 1] - offsets[i] > maxk) maxk = offsets[i + 1] - offsets[i];
    if (!(buf = malloc(sizeof(int32_t) * (maxk + 1)))) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    memset(cl, 1, sizeof(npy_bool) * (size_t)dims[0]); /* n >= 0: checked by parse_index */
    memset(mx, 1, sizeof(npy_bool) * (size_t)dims[0]);
    for (int64_t i = 0; i < n; i++) {
        const int32_t *s = flat + offsets[i];
        int64_t k = offsets[i + 1] - offsets[i];
        if (k < 2) continue;
        for (int64_t d = 0; d < k; d++) { /* every subset with one item dropped */
            memcpy(buf, s, sizeof(int32_t) * d);
            memcpy(buf + d, s + d + 1, sizeof(int32_t) * (k - d - 1));
            int64_t j = probe(table, mask, flat, offsets, n, buf, k - 1);
            if (j == PROBE_CORRUPT) corrupt = 1;
            if (j < 0) continue;
            mx[j] = 0;
            if (counts[j] == counts[i]) cl[j] = 0;
        }
    }
    Py_END_ALLOW_THREADS
    if (corrupt) {
        PyErr_SetString(PyExc_ValueError, CORRUPT_TABLE);
        goto fail;
    }
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

static int cmp_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* whether the sorted a[0..n) holds x */
static int holds(const int64_t *a, int64_t n, int64_t x) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && a[lo] == x;
}

/* The clustering of complete_linkage() on checked edges: 0 done, 1 out of memory, 2 an edge
 * repeats or is a loop. Cluster c keeps in adj[off[c] .. off[c] + len[c]) the nodes linked
 * to every member of c (sorted), at first node c's neighbours; its members are a list through
 * next[] (tail[c] its last). */
static int link_clusters(int64_t n, int64_t m, const int64_t *u, const int64_t *v,
                         int64_t *label) {
    int status = 1;
    int64_t *off = calloc((size_t)n + 1, sizeof(int64_t));
    int64_t *adj = malloc(sizeof(int64_t) * (size_t)(2 * m + 1));
    int64_t *len = malloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t *next = malloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t *tail = malloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t *size = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!off || !adj || !len || !next || !tail || !size) goto done;
    for (int64_t k = 0; k < m; k++) {
        off[u[k] + 1]++;
        off[v[k] + 1]++;
    }
    for (int64_t i = 0; i < n; i++) off[i + 1] += off[i];
    for (int64_t i = 0; i < n; i++) len[i] = off[i];
    for (int64_t k = 0; k < m; k++) {
        adj[len[u[k]]++] = v[k];
        adj[len[v[k]]++] = u[k];
    }
    status = 2;
    for (int64_t i = 0; i < n; i++) {
        int64_t *row = adj + off[i], d = off[i + 1] - off[i];
        qsort(row, (size_t)d, sizeof(int64_t), cmp_int64);
        for (int64_t j = 0; j < d; j++)
            if (row[j] == i || (j > 0 && row[j] == row[j - 1])) goto done;
        len[i] = d;
        label[i] = i;
        next[i] = -1;
        tail[i] = i;
        size[i] = 1;
    }
    for (int64_t k = 0; k < m; k++) {
        int64_t ca = label[u[k]], cb = label[v[k]];
        if (ca == cb) continue;
        if (size[ca] < size[cb]) {
            int64_t t = ca;
            ca = cb;
            cb = t;
        }
        const int64_t *common = adj + off[ca];
        int clique = 1;
        for (int64_t x = cb; x >= 0 && clique; x = next[x]) clique = holds(common, len[ca], x);
        if (!clique) continue;
        for (int64_t x = cb; x >= 0; x = next[x]) label[x] = ca;
        next[tail[ca]] = cb;
        tail[ca] = tail[cb];
        size[ca] += size[cb];
        int64_t *a = adj + off[ca], la = len[ca], lb = len[cb], i = 0, j = 0, w = 0;
        const int64_t *b = adj + off[cb];
        while (i < la && j < lb) { /* common[ca] &= common[cb], in place */
            if (a[i] < b[j]) i++;
            else if (a[i] > b[j]) j++;
            else {
                a[w++] = a[i++];
                j++;
            }
        }
        len[ca] = w;
    }
    status = 0;
done:
    free(off);
    free(adj);
    free(len);
    free(next);
    free(tail);
    free(size);
    return status;
}

PyObject *py_complete_linkage(PyObject *self, PyObject *args) {
    PyObject *o_u, *o_v, *result = NULL;
    long long n_ll;
    if (!PyArg_ParseTuple(args, "LOO", &n_ll, &o_u, &o_v)) return NULL;
    PyArrayObject *au = NULL, *av = NULL;
    if (!(au = as_array(o_u, NPY_INT64, "u"))) goto done;
    if (!(av = as_array(o_v, NPY_INT64, "v"))) goto done;
    int64_t n = n_ll, m = PyArray_SIZE(au);
    const int64_t *u = PyArray_DATA(au), *v = PyArray_DATA(av);
    if (n < 0 || PyArray_SIZE(av) != m) {
        PyErr_SetString(PyExc_ValueError, "complete_linkage: u and v must have one node per edge");
        goto done;
    }
    for (int64_t k = 0; k < m; k++) {
        if (u[k] < 0 || u[k] >= n || v[k] < 0 || v[k] >= n) {
            PyErr_SetString(PyExc_ValueError, "complete_linkage: node out of range");
            goto done;
        }
    }
    npy_intp dims[1] = {(npy_intp)n};
    result = PyArray_SimpleNew(1, dims, NPY_INT64);
    if (!result) goto done;
    int64_t *label = PyArray_DATA((PyArrayObject *)result);
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = link_clusters(n, m, u, v, label);
    Py_END_ALLOW_THREADS
    if (status == 1) {
        Py_CLEAR(result);
        PyErr_NoMemory();
    } else if (status == 2) {
        Py_DECREF(result);
        result = Py_NewRef(Py_None);
    }
done:
    Py_XDECREF(au);
    Py_XDECREF(av);
    return result;
}
