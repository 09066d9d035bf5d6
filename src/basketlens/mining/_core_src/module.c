/*
 * basketlens.mining._core -- the compiled frequent-itemset mining kernel.
 *
 * mine(indptr, indices, n_items, min_count, max_len, max_itemsets, strategy[, scratch_limit])
 *     -> (flat int32, offsets int64, counts int64, complete bool)
 *   Depth-first Eclat over the frequent items recoded by ascending frequency. Every node keeps
 *   either a tid-list (sorted basket ids) or a diffset relative to its parent (dEclat).
 *   strategy (a Strategy, core.h; STRATEGIES holds the names by value) 0 "auto": per branch,
 *   children by pairwise tid-list merges or by occurrence deliver (a cost model picks),
 *   switching dense branches to diffsets; 1 "eclat": merges; 2 "declat": diffsets from depth
 *   2 on; 3 "occurrence": two-pass occurrence deliver.
 *   All itemsets (length 1 included) are returned, each with its codes ascending; complete
 *   is False when more than max_itemsets exist (the output then holds the first
 *   max_itemsets found). max_len 0 = no limit but the data's (the search never goes deeper
 *   than the largest k with min_count baskets holding k frequent items); max_itemsets -1 =
 *   none; scratch_limit (tests only) caps the one-pass deliver buffer, -2 = automatic.
 * parse_fimi(data: bytes) -> (rows, values, n_rows, 0) | (None, None, bad_line, err)
 *   Tokenizes a FIMI file (space-separated integers, one basket per line).
 * build_index(flat, offsets) -> int64 open-addressing hash table over the itemsets.
 * lookup(flat, offsets, counts, table, qflat, qoffsets) -> int64 counts (-1 = absent).
 * closed_maximal(flat, offsets, counts, table) -> (closed bool, maximal bool).
 *   These three check that offsets start at 0, never decrease and end at len(flat), and that
 *   the table belongs to the itemsets (ValueError otherwise; nothing is read out of bounds).
 *
 * The GIL is released while mining and hashing, so scopes can be mined in parallel threads.
 */
#define BL_CORE_MODULE /* the unit that imports the numpy C API */
#include "core.h"

PyArrayObject *as_array(PyObject *obj, int type, const char *name) {
    PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(obj, type, 1, 1, NPY_ARRAY_IN_ARRAY);
    if (!a) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be a 1-d array of %s", name,
                     type == NPY_INT32 ? "int32" : "int64");
    }
    return a;
}

PyObject *to_numpy(const void *data, int64_t n, int type, size_t itemsize) {
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

PyObject *py_mine(PyObject *self, PyObject *args) {
    PyObject *o_indptr, *o_indices;
    long long n_items, min_count, max_itemsets;
    long long scratch_limit = -2; /* testing hook: -2 = automatic */
    int max_len, strategy;
    if (!PyArg_ParseTuple(args, "OOLLiLi|L", &o_indptr, &o_indices, &n_items, &min_count,
                          &max_len, &max_itemsets, &strategy, &scratch_limit))
        return NULL;
    if (min_count < 1 || n_items < 0 || max_len < 0 || strategy < 0 ||
        strategy >= N_STRATEGIES) {
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
    M.strategy = (Strategy)strategy;
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

/* strategy names by Strategy value: the Python side maps algorithm names through these */
static const char *const strategy_names[N_STRATEGIES] = {
    [STRATEGY_AUTO] = "auto",
    [STRATEGY_ECLAT] = "eclat",
    [STRATEGY_DECLAT] = "declat",
    [STRATEGY_OCCURRENCE] = "occurrence",
};

PyMODINIT_FUNC PyInit__core(void) {
    import_array();
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    PyObject *names = PyTuple_New(N_STRATEGIES);
    if (!names) goto fail;
    for (int i = 0; i < N_STRATEGIES; i++) {
        PyObject *name = PyUnicode_FromString(strategy_names[i]);
        if (!name) {
            Py_DECREF(names);
            goto fail;
        }
        PyTuple_SET_ITEM(names, i, name);
    }
    if (PyModule_AddObject(m, "STRATEGIES", names) < 0) {
        Py_DECREF(names);
        goto fail;
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
