"""Data preparation for the peer benchmark (bench/compare.py).

Every tool must see exactly the same rows, so the split is made once here
and written twice: as CSV files in the input format of `healer` (built from
the original text lines, so our engine parses the very bytes of the source
file) and as .npz arrays for the Python peers (so their timed region holds
no CSV parsing). Everything derived goes under bench/out/ (git-ignored);
the reference data itself is only read.

numpy only (no pandas): empty cells are turned into "nan" with one regular
expression and the feature block is then parsed by numpy's C loadtxt, which
reads 1M simulated rows in seconds where genfromtxt takes minutes.

Exact duplicates are found on float32 values (NaN = NaN), the precision at
which our engine and XGBoost see the data: on the reference file this also
merges the few copies whose cells were rebuilt with a ~5e-5 relative error,
which would otherwise leak across folds.
"""

import os
import re
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold

ID_COLUMN = "sample_id"
LABEL_COLUMN = "label"
_EMPTY_CELL = re.compile(r"(?<=,)(?=,|$)|^(?=,)", re.M)


@dataclass
class Table:
    """A CSV file held as its raw lines plus the parsed feature matrix."""

    header: str
    lines: list  # data lines, verbatim (no newline)
    x: np.ndarray  # float64, NaN = missing
    labels: np.ndarray  # str per row ("" = unlabelled); None without a label column


def _columns(header):
    names = header.split(",")
    feature_idx = [i for i, n in enumerate(names) if n not in (ID_COLUMN, LABEL_COLUMN)]
    label_idx = names.index(LABEL_COLUMN) if LABEL_COLUMN in names else None
    return feature_idx, label_idx


def feature_names(table):
    names = table.header.split(",")
    return [names[i] for i in _columns(table.header)[0]]


def read_table(path):
    """Parses a CSV in the healer format (sample_id, features, [label])."""
    with open(path, encoding="utf-8") as f:
        header, _, body = f.read().partition("\n")
    header = header.rstrip("\r")
    lines = body.replace("\r", "").splitlines()
    feature_idx, label_idx = _columns(header)
    filled = _EMPTY_CELL.sub("nan", "\n".join(lines)).splitlines()
    x = np.loadtxt(filled, delimiter=",", usecols=feature_idx, dtype=np.float64, ndmin=2)
    labels = None
    if label_idx is not None:
        labels = np.array([line.split(",")[label_idx] for line in lines])
    return Table(header, lines, x, labels)


def subset(table, rows):
    """New Table holding `rows` (an index array) of `table`."""
    labels = None if table.labels is None else table.labels[rows]
    return Table(table.header, [table.lines[i] for i in rows], table.x[rows], labels)


def first_occurrences(x):
    """Indices of the rows whose float32 features did not occur earlier."""
    canon = np.where(np.isnan(x), np.nan, x).astype(np.float32)
    _, first = np.unique(canon.view(np.dtype((np.void, canon.shape[1] * 4))).ravel(),
                         return_index=True)
    return np.sort(first)


def clean_real(table):
    """Drops unlabelled rows, then exact duplicates (keeping the first).

    Returns the clean Table and a summary of what was removed."""
    labelled = np.flatnonzero(table.labels != "")
    kept = subset(table, labelled)
    unique = first_occurrences(kept.x)
    summary = {
        "rows_read": len(table.lines),
        "rows_unlabelled": len(table.lines) - len(labelled),
        "rows_duplicate": len(labelled) - len(unique),
        "rows": len(unique),
    }
    return subset(kept, unique), summary


def stratified_folds(labels, k, seed):
    """[(train_idx, test_idx)] of a shuffled stratified k-fold split."""
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels))


def class_table(labels):
    """Sorted label names: numerically when every label is an integer, as
    the engine sorts its label table."""
    names = sorted(set(labels.tolist()))
    if all(re.fullmatch(r"-?\d+", n) for n in names):
        names.sort(key=int)
    return np.array(names)


def write_csv(table, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write(table.header + "\n")
        for line in table.lines:
            f.write(line + "\n")


def write_case(train, test, x_2000, stem):
    """Writes one train/test case: {stem}_train.csv, {stem}_test.csv for the
    engine and {stem}.npz for the peers. Returns the paths."""
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    classes = class_table(train.labels)
    index = {name: i for i, name in enumerate(classes)}
    paths = {"stem": stem, "train_csv": stem + "_train.csv",
             "test_csv": stem + "_test.csv", "npz": stem + ".npz"}
    write_csv(train, paths["train_csv"])
    write_csv(test, paths["test_csv"])
    np.savez(paths["npz"], x_train=train.x, y_train=[index[v] for v in train.labels],
             x_test=test.x, x_2000=x_2000, classes=classes)
    return paths


def class_counts(labels):
    return {name: int(np.sum(labels == name)) for name in class_table(labels)}
