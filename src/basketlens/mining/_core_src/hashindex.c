/*
 * The itemset hash index of basketlens.mining._core: build_index() and lookup().
 * hash_codes / probe live in core.h (shared with the closed/maximal filter).
 */
#include "core.h"

/* offsets must start at 0, never decrease and end at nflat, so that every itemset
 * flat[offsets[i]:offsets[i + 1]] lies inside flat; else a ValueError naming the position */
static int check_offsets(const int64_t *offsets, int64_t n, int64_t nflat) {
    if (offsets[0] != 0) {
        PyErr_Format(PyExc_ValueError, "offsets must start at 0; got offsets[0] = %lld",
                     (long long)offsets[0]);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        if (offsets[i + 1] < offsets[i] || offsets[i + 1] > nflat) {
            PyErr_Format(PyExc_ValueError,
                         "offsets must be non-decreasing and within len(flat) = %lld; got "
                         "offsets[%lld] = %lld after offsets[%lld] = %lld",
                         (long long)nflat, (long long)(i + 1), (long long)offsets[i + 1],
                         (long long)i, (long long)offsets[i]);
            return -1;
        }
    if (offsets[n] != nflat) {
        PyErr_Format(PyExc_ValueError, "offsets must end at len(flat) = %lld; got %lld",
                     (long long)nflat, (long long)offsets[n]);
        return -1;
    }
    return 0;
}

int parse_index(Index *ix, PyObject *o_flat, PyObject *o_offsets, PyObject *o_counts,
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
    if (check_offsets(PyArray_DATA(ix->offsets), ix->n, PyArray_SIZE(ix->flat)) < 0) return -1;
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

void free_index(Index *ix) {
    Py_XDECREF(ix->flat);
    Py_XDECREF(ix->offsets);
    Py_XDECREF(ix->counts);
    Py_XDECREF(ix->table);
}

PyObject *py_build_index(PyObject *self, PyObject *args) {
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

PyObject *py_lookup(PyObject *self, PyObject *args) {
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
        int64_t mask = ix.mask, n = ix.n;
        int corrupt = 0;
        Py_BEGIN_ALLOW_THREADS
        for (int64_t i = 0; i < nq; i++) {
            int64_t k = qoff[i + 1] - qoff[i];
            memcpy(buf, q + qoff[i], sizeof(int32_t) * k);
            int64_t d = 1;
            while (d < k && buf[d - 1] <= buf[d]) d++;
            if (d < k) qsort(buf, k, sizeof(int32_t), cmp_i32); /* queries often come sorted */
            int64_t idx = probe(table, mask, flat, offsets, n, buf, k);
            if (idx == PROBE_CORRUPT) {
                corrupt = 1;
                break;
            }
            res[i] = idx < 0 ? -1 : counts[idx];
        }
        Py_END_ALLOW_THREADS
        if (corrupt) {
            Py_CLEAR(result);
            PyErr_SetString(PyExc_ValueError, CORRUPT_TABLE);
        }
    }
done:
    free(buf);
    free_index(&ix);
    Py_XDECREF(qf);
    Py_XDECREF(qo);
    return result;
}
