"""test_datasets.py - dataset upload, profile, download, trash and bad uploads.

What: a simulated CSV uploads (201) with a profile that matches `healer
profile --json` on the same bytes and the file itself (row count, class
counts, missing cells, KPI min/max, the preview); list, get, download (the
exact bytes uploaded), delete into the trash (gone from the list, listed
with include_deleted=1) and restore. CRLF line ends, a UTF-8 BOM, quoted
fields and a missing final newline upload fine. Then ~30 kinds of bad
upload - empty, header only, binary, UTF-16, ragged rows, non-numeric /
infinite / out-of-range cells, duplicate / empty / non-UTF-8 column names,
no KPI column, unterminated quotes, too many columns, an over-long cell,
missing or misnamed `file` field, JSON or form bodies, broken multipart,
a body over --max-upload-mb - each asserting the status, the error code
and, for CSV errors, details.line / details.column and a message naming
them; after each, the owner's and the admin's dataset lists are unchanged
and the server still answers.

Why: uploads are the platform's main untrusted input. Errors must point
the user at the line and column to fix, and a refused upload must leave no
half-written record behind. The shared server runs with --max-upload-mb 1
so the size limit is cheap to hit.

Run: python3 tests/api/test_datasets.py [test_name...]
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (API, KPI_FIELDS, PROFILE_FIELDS, check, details, expect_error,  # noqa: E402
                     expect_json, has_fields, is_int, is_num)

SERVER = {"args": ["--max-upload-mb", "1"]}
MIB = 1024 * 1024


# ---- helpers ----

def cli_profile(data):
    """`healer profile --json` of the bytes."""
    path = harness.tmp_path("profile-%s.csv" % harness.unique())
    with open(path, "wb") as f:
        f.write(data)
    p = harness.run_healer(["profile", "--data", path, "--json"])
    check(p.returncode == 0, "healer profile failed: %s" % p.stderr)
    return json.loads(p.stdout)


def snapshot(c):
    """(own ids incl. deleted, admin's ids incl. deleted)."""
    admin = c.new().login_as("admin")
    return (sorted(harness.list_ids(c, API + "/datasets", "include_deleted=1&limit=1000")),
            sorted(harness.list_ids(admin, API + "/datasets", "include_deleted=1&limit=1000")))


def check_profile_against_file(prof, data):
    """Independent checks of a PROFILE against the CSV bytes."""
    recs = harness.csv_records(data)
    feats = harness.feature_names(data)
    n = len(recs)
    check(prof["rows"] == n and prof["rows_read"] == n, "profile rows should be %d" % n, prof)
    check(prof["features"] == len(feats), "profile features should be %d" % len(feats), prof)
    check(prof["has_labels"] is True, "simulated data has labels", prof)
    counts = {}
    for r in recs:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    check(prof["class_counts"] == counts, "class_counts should be %s" % counts, prof["class_counts"])
    kpis = prof["kpis"]
    check([k["name"] for k in kpis] == feats, "kpis should list %s in file order" % feats, [k.get("name") for k in kpis])
    total_missing = 0
    for k in kpis:
        has_fields(k, KPI_FIELDS, "kpi %s" % k.get("name"))
        vals = [float(r[k["name"]]) for r in recs if r[k["name"]] != ""]
        miss = n - len(vals)
        total_missing += miss
        check(k["missing"] == miss, "kpi %s: missing should be %d" % (k["name"], miss), k)
        check(harness.close(k["missing_rate"], miss / n), "kpi %s: missing_rate should be %g" % (k["name"], miss / n), k)
        check(harness.close(k["min"], min(vals), 1e-5) and harness.close(k["max"], max(vals), 1e-5),
              "kpi %s: min/max should be %g/%g" % (k["name"], min(vals), max(vals)), k)
        check(k["min"] <= k["p05"] <= k["median"] <= k["p95"] <= k["max"], "kpi %s: quantiles out of order" % k["name"], k)
        check(harness.close(k["mean"], sum(vals) / len(vals), 1e-4), "kpi %s: mean should be %g" % (k["name"], sum(vals) / len(vals)), k)
        check(is_num(k["std"]) and k["std"] >= 0, "kpi %s: std should be a non-negative number" % k["name"], k)
    check(prof["missing_cells"] == total_missing, "missing_cells should be %d" % total_missing, prof)
    check(harness.close(prof["missing_rate"], total_missing / (n * len(feats))), "missing_rate = cells / (rows x KPIs)", prof)
    # preview: first 20 rows, numbers or null for KPIs, strings for id/label
    pv = prof["preview"]
    has_fields(pv, ("columns", "rows"), "preview")
    cols = pv["columns"]
    for f in feats:
        check(f in cols, "preview columns should include %s" % f, cols)
    check(len(pv["rows"]) == min(20, n), "preview should hold the first %d rows" % min(20, n), len(pv["rows"]))
    for i, row in enumerate(pv["rows"]):
        check(len(row) == len(cols), "preview row %d has %d values for %d columns" % (i, len(row), len(cols)), row)
        for col, v in zip(cols, row):
            want = recs[i].get(col)
            if col in ("sample_id", "label"):
                check(v == want, "preview row %d %s should be the string %r" % (i, col, want), row)
            elif col in feats:
                if want == "":
                    check(v is None, "preview row %d %s: a missing cell should be null" % (i, col), row)
                else:
                    check(is_num(v) and harness.close(v, float(want), 1e-5),
                          "preview row %d %s should be %s" % (i, col, want), row)


# ---- good uploads ----

def test_upload_good_csv_profile(c):
    c.login_as("alice")
    data = harness.simulate(samples=600, features=8, classes=3, seed=1)
    r = c.upload(API + "/datasets", {"name": "sim-600"}, {"file": ("sim.csv", data)})
    ds = expect_json(r, 201)
    has_fields(ds, harness.DATASET_FIELDS + ("profile",), "DATASET")
    me = expect_json(c.get(API + "/auth/me"), 200)["user"]
    check(ds["owner_id"] == me["id"], "owner_id is the uploader", ds)
    check(ds["name"] == "sim-600", "name comes from the name field", ds)
    check(ds["size_bytes"] == len(data), "size_bytes should be %d" % len(data), ds)
    check(ds["rows"] == 600 and ds["features"] == 8, "rows 600, features 8", ds)
    check(is_int(ds["created_at"]) and ds["deleted_at"] is None, "created_at set, deleted_at null", ds)
    prof = ds["profile"]
    has_fields(prof, PROFILE_FIELDS, "PROFILE")
    check_profile_against_file(prof, data)
    cli = cli_profile(data)
    for key in PROFILE_FIELDS:
        if key in cli:
            diff = harness.deep_close(prof[key], cli[key], key, rel=1e-6)
            check(diff is None, "profile differs from `healer profile --json`: %s" % diff)


def test_upload_two_file_parts_refused(c):
    """Two parts named 'file' are refused, not joined into one dataset."""
    c.login_as("alice")
    before = harness.list_ids(c, API + "/datasets")
    body, ctype = harness.multipart(files={"file": ("a.csv", b"a,b\n1,2\n")})
    second, _ = harness.multipart(files={"file": ("b.csv", b"3,4\n")}, boundary=ctype.split("=", 1)[1])
    # one body with both parts: the first without its closing line, then the second
    boundary = ctype.split("=", 1)[1].encode()
    joined = body[: body.rindex(b"--" + boundary + b"--")] + second
    err = expect_error(c.post_raw(API + "/datasets", joined, ctype), 400, "bad_request")
    check("more than one" in err["message"], "the message says why", err)
    check(harness.list_ids(c, API + "/datasets") == before, "nothing was stored")


def test_upload_string_labels(c):
    c.login_as("alice")
    data = harness.simulate(samples=300, features=6, classes=4, seed=3, string_labels=True)
    ds = harness.upload_dataset(c, data, name="strings")
    check("normal" in ds["profile"]["class_counts"], "string labels are kept as class names", ds["profile"]["class_counts"])
    check_profile_against_file(ds["profile"], data)


def test_upload_without_label_column(c):
    c.login_as("alice")
    data = b"sample_id,a,b\nx1,1,2\nx2,3,\nx3,5,6\n"
    ds = harness.upload_dataset(c, data, name="nolabel")
    p = ds["profile"]
    check(p["has_labels"] is False and p["class_counts"] is None, "no label column: has_labels false, class_counts null", p)
    check(ds["rows"] == 3 and ds["features"] == 2 and p["missing_cells"] == 1, "3 rows, 2 KPIs, 1 missing cell", p)
    check(p["preview"]["rows"][0][p["preview"]["columns"].index("sample_id")] == "x1", "ids are strings in the preview", p["preview"])


def test_upload_default_name(c):
    c.login_as("alice")
    data = harness.simulate(samples=100, features=4, classes=2, seed=5)
    r = c.upload(API + "/datasets", {}, {"file": ("kpis-2024.csv", data)})
    ds = expect_json(r, 201)
    check(isinstance(ds["name"], str) and ds["name"].strip(), "a dataset without a name field still gets a name", ds)


def test_upload_crlf_succeeds(c):
    c.login_as("alice")
    data = b"a,b,label\r\n1,2,x\r\n3,4,y\r\n5,,x\r\n"
    ds = harness.upload_dataset(c, data, name="crlf")
    p = ds["profile"]
    check(ds["rows"] == 3 and ds["features"] == 2, "CRLF file: 3 rows, 2 KPIs", ds)
    check([k["name"] for k in p["kpis"]] == ["a", "b"], "no \\r in column names", p["kpis"])
    check(p["class_counts"] == {"x": 2, "y": 1}, "no \\r in labels", p["class_counts"])
    check(p["missing_cells"] == 1, "one missing cell", p)
    r = c.get(API + "/datasets/%d/download" % ds["id"])
    check(r.status == 200 and r.body == data, "download returns the CRLF bytes unchanged", r)


def test_upload_utf8_bom_succeeds(c):
    c.login_as("alice")
    data = b"\xef\xbb\xbfa,b,label\n1,2,x\n3,4,y\n"
    ds = harness.upload_dataset(c, data, name="bom")
    names = [k["name"] for k in ds["profile"]["kpis"]]
    check(names == ["a", "b"], "the BOM is not part of the first column name", names)
    r = c.get(API + "/datasets/%d/download" % ds["id"])
    check(r.status == 200 and r.body == data, "download returns the bytes with the BOM", r)


def test_upload_quotes_and_no_final_newline(c):
    c.login_as("alice")
    data = b'sample_id,"a",b,label\n"id,1",1,2,"disk,full"\n"id ""2""",3,4,normal\nid3,5,6,normal'
    ds = harness.upload_dataset(c, data, name="quoted")
    p = ds["profile"]
    check(ds["rows"] == 3, "3 rows (the last without a newline)", ds)
    check(p["class_counts"] == {"disk,full": 1, "normal": 2}, "quoted labels keep their commas", p["class_counts"])
    cols = p["preview"]["columns"]
    ids = [row[cols.index("sample_id")] for row in p["preview"]["rows"]]
    check(ids == ["id,1", 'id "2"', "id3"], "quoted ids are unquoted in the preview", ids)


def test_upload_just_under_limit_succeeds(c):
    c.login_as("alice")
    data = harness.long_data()
    check(len(data) < 0.95 * 1000 * 1000, "fixture should stay below 1 MB (%d bytes)" % len(data))
    ds = harness.upload_dataset(c, data, name="big-but-ok")
    check(ds["rows"] == 5000 and ds["features"] == 20, "5000 x 20", ds)


# ---- list, get, download, trash ----

def test_list_and_get(c):
    c.login_as("alice")
    data = harness.simulate(samples=120, features=4, classes=2, seed=21)
    ds = harness.upload_dataset(c, data, name="listed")
    r = c.get(API + "/datasets?limit=1000")
    body = expect_json(r, 200)
    mine = [x for x in body["items"] if x["id"] == ds["id"]]
    check(len(mine) == 1, "the new dataset is listed once", r)
    check("profile" not in mine[0], "list items carry no profile", mine[0])
    has_fields(mine[0], harness.DATASET_FIELDS, "listed DATASET")
    check(body["total"] >= len(body["items"]), "total counts all items", r)
    got = expect_json(c.get(API + "/datasets/%d" % ds["id"]), 200)
    check(got["id"] == ds["id"] and "profile" in got, "GET returns the dataset with its profile", got)
    diff = harness.deep_close(got["profile"], ds["profile"], "profile")
    check(diff is None, "GET profile equals the upload's: %s" % diff)
    expect_error(c.get(API + "/datasets/987654"), 404, "not_found")


def test_list_paging(c):
    c.login_as("alice")
    for i in range(3):
        harness.upload_dataset(c, harness.simulate(samples=50 + i, features=4, classes=2, seed=30 + i), name="page%d" % i)
    full = expect_json(c.get(API + "/datasets?limit=1000"), 200)
    check(full["total"] >= 3, "at least 3 datasets", full)
    ids = [x["id"] for x in full["items"]]
    page = expect_json(c.get(API + "/datasets?offset=1&limit=2"), 200)
    check(page["offset"] == 1 and page["limit"] == 2 and page["total"] == full["total"], "page echoes offset/limit, same total", page)
    check([x["id"] for x in page["items"]] == ids[1:3], "offset 1 limit 2 is items 2..3 of the full list", page)
    beyond = expect_json(c.get(API + "/datasets?offset=100000&limit=5"), 200)
    check(beyond["items"] == [] and beyond["total"] == full["total"], "an offset past the end gives no items", beyond)


def test_download_identical_bytes(c):
    c.login_as("alice")
    data = harness.simulate(samples=600, features=8, classes=3, seed=2, missing_rate=0.1)
    ds = harness.upload_dataset(c, data)
    r = c.get(API + "/datasets/%d/download" % ds["id"])
    check(r.status == 200, "download answers 200", r)
    check((r.header("Content-Type") or "").lower().startswith("text/csv"), "download is text/csv", r)
    check(r.body == data, "download returns the uploaded bytes (%d vs %d bytes)" % (len(r.body), len(data)))


def test_delete_and_restore(c):
    c.login_as("alice")
    ds = harness.upload_dataset(c, harness.simulate(samples=80, features=4, classes=2, seed=41), name="trash-me")
    r = c.delete(API + "/datasets/%d" % ds["id"])
    body = expect_json(r, 200, "delete")
    check(body["id"] == ds["id"] and is_int(body["deleted_at"]), "delete returns the DATASET with deleted_at", r)
    check(ds["id"] not in harness.list_ids(c, API + "/datasets"), "a deleted dataset leaves the list")
    trashed = [x for x in harness.list_items(c, API + "/datasets", "include_deleted=1&limit=1000") if x["id"] == ds["id"]]
    check(trashed and is_int(trashed[0]["deleted_at"]), "include_deleted=1 lists it with deleted_at", trashed)
    r = c.post_json(API + "/datasets/%d/restore" % ds["id"], {})
    body = expect_json(r, 200, "restore")
    check(body["deleted_at"] is None, "restore clears deleted_at", r)
    check(ds["id"] in harness.list_ids(c, API + "/datasets"), "a restored dataset is listed again")
    r = c.get(API + "/datasets/%d/download" % ds["id"])
    check(r.status == 200 and r.body == harness.simulate(samples=80, features=4, classes=2, seed=41),
          "a restored dataset downloads intact", r)


def test_delete_unknown_404(c):
    c.login_as("alice")
    expect_error(c.delete(API + "/datasets/987654"), 404, "not_found")
    expect_error(c.post_json(API + "/datasets/987654/restore", {}), 404, "not_found")


# ---- bad uploads ----

def wide_csv(kpis):
    head = ",".join("c%d" % i for i in range(kpis)) + ",label\n"
    row = ",".join(str(i % 7) for i in range(kpis)) + ",x\n"
    return (head + row + row.replace(",x\n", ",y\n")).encode()


# (name, file bytes, status, codes, line, column, column_index)
CSV_CASES = [
    ("empty_file", b"", 422, ("invalid_csv",), None, None, None),
    ("header_only", b"a,b,label\n", 422, ("invalid_csv", "invalid_data"), None, None, None),
    ("header_then_blank_lines", b"a,b,label\n\n\n", 422, ("invalid_csv", "invalid_data"), None, None, None),
    ("binary_with_nuls", b"\x00\x01\x02\xff\xfe\x00garbage\n\x00\x00\x00\n\x89PNG\r\n", 422, ("invalid_csv",), 1, None, None),
    ("utf16_file", "a,b,label\n1,2,x\n3,4,y\n".encode("utf-16"), 422, ("invalid_csv",), 1, None, None),
    ("nul_byte_on_line_3", b"a,b,label\n1,2,x\n3,\x004,y\n", 422, ("invalid_csv",), 3, "b", 2),
    ("ragged_row_short", b"a,b,label\n1,2,x\n3,4\n5,6,z\n", 422, ("invalid_csv",), 3, None, None),
    ("ragged_row_long", b"a,b,label\n1,2,x\n3,4,y\n5,6,z,9\n", 422, ("invalid_csv",), 4, None, None),
    ("non_numeric_cell", b"a,b,label\n1,2,x\n3,zz,y\n", 422, ("invalid_csv",), 3, "b", 2),
    ("non_numeric_first_kpi", b"sample_id,cpu,mem,label\ns1,1,2,x\ns2,3,4,y\ns3,high,5,x\n", 422, ("invalid_csv",), 4, "cpu", 2),
    ("duplicate_column_names", b"a,b,a,label\n1,2,3,x\n", 422, ("invalid_csv",), 1, "a", 3),
    ("only_label_column", b"label\nx\ny\n", 422, ("invalid_csv",), 1, None, None),
    ("only_id_and_label", b"sample_id,label\n1,x\n2,y\n", 422, ("invalid_csv",), 1, None, None),
    ("empty_column_name", b"a,,label\n1,2,x\n", 422, ("invalid_csv",), 1, None, 2),
    ("inf_value", b"a,b,label\n1,inf,x\n2,3,y\n", 422, ("invalid_csv",), 2, "b", 2),
    ("out_of_range_value", b"a,b,label\n1,2,x\n2,1e999,y\n", 422, ("invalid_csv",), 3, "b", 2),
    ("unterminated_quote", b'a,b,label\n1,"2,x\n3,4,y\n', 422, ("invalid_csv",), 2, "b", 2),
    ("invalid_utf8_column_name", b"a,\xff\xfe,label\n1,2,x\n", 422, ("invalid_csv",), 1, None, 2),
    ("too_many_columns_10001", wide_csv(10001), 422, ("invalid_csv",), 1, None, None),
    ("cell_longer_than_64k", b"a,b,label\n1," + b"1" * 100000 + b",x\n2,3,y\n", 422, ("invalid_csv",), 2, "b", 2),
    ("line_of_300k_in_label", b"a,b,label\n1,2," + b"x" * 300000 + b"\n2,3,y\n", 422, ("invalid_csv",), 2, "label", 3),
]


def word_in(needle, text):
    return re.search(r"(?<![0-9A-Za-z_])%s(?![0-9A-Za-z_])" % re.escape(str(needle)), text) is not None


def check_csv_error(err, line, column, column_index, r):
    d = details(err)
    if line is not None:
        check(d.get("line") == line, "details.line should be %d" % line, r)
        check(word_in(line, err["message"]), "the message should name line %d" % line, r)
    if column is not None:
        check(d.get("column") == column, "details.column should be %r" % column, r)
        check(column in err["message"], "the message should name column %r" % column, r)
    if column_index is not None and d.get("column_index") is not None:
        check(d["column_index"] == column_index, "details.column_index should be %d (1-based)" % column_index, r)
    for key in ("line", "column_index"):
        if d.get(key) is not None:
            check(is_int(d[key]) and d[key] >= 0, "details.%s should be a non-negative integer" % key, r)


def bad_upload(c, send, status, codes, line=None, column=None, column_index=None):
    """Sends a bad upload via send(c) -> Response and checks the error, that
    nothing was stored, and that the server still answers."""
    c.login_as("alice")
    before = snapshot(c)
    r = send(c)
    err = expect_error(r, status, codes)
    if err["code"] == "invalid_csv":
        check_csv_error(err, line, column, column_index, r)
    after = snapshot(c)
    check(after == before, "a refused upload must not leave a dataset behind: %s -> %s" % (before, after))
    expect_json(c.new().get(API + "/health"), 200, "health after a bad upload")
    return err


def _make_csv_case(name, data, status, codes, line, column, column_index):
    def test(c):
        bad_upload(c, lambda cl: cl.upload(API + "/datasets", {"name": name}, {"file": (name + ".csv", data)}),
                   status, codes, line, column, column_index)
    test.__name__ = "test_bad_upload_" + name
    test.__module__ = __name__
    return test


for _case in CSV_CASES:
    globals()["test_bad_upload_" + _case[0]] = _make_csv_case(*_case)


GOOD = b"a,b,label\n1,2,x\n3,4,y\n"


def test_bad_upload_missing_file_field(c):
    bad_upload(c, lambda cl: cl.upload(API + "/datasets", {"name": "nofile"}, {}), 400, ("bad_request",))


def test_bad_upload_file_under_another_field_name(c):
    bad_upload(c, lambda cl: cl.upload(API + "/datasets", {}, {"data": ("a.csv", GOOD)}), 400, ("bad_request",))


def test_bad_upload_json_body_415(c):
    bad_upload(c, lambda cl: cl.post_json(API + "/datasets", {"file": GOOD.decode(), "name": "json"}),
               415, ("unsupported_media_type",))


def test_bad_upload_form_urlencoded_415(c):
    bad_upload(c, lambda cl: cl.post_raw(API + "/datasets", "file=a%2Cb%0A1%2C2", "application/x-www-form-urlencoded"),
               415, ("unsupported_media_type",))


def test_bad_upload_raw_csv_body_415(c):
    bad_upload(c, lambda cl: cl.post_raw(API + "/datasets", GOOD, "text/csv"), 415, ("unsupported_media_type",))


def test_bad_upload_multipart_without_boundary(c):
    body, _ = harness.multipart({}, {"file": ("a.csv", GOOD)})
    bad_upload(c, lambda cl: cl.post_raw(API + "/datasets", body, "multipart/form-data"),
               (400, 415), ("bad_request", "unsupported_media_type"))


def test_bad_upload_boundary_mismatch(c):
    body, _ = harness.multipart({}, {"file": ("a.csv", GOOD)}, boundary="AAAAAAAAAAAAAAAA")
    bad_upload(c, lambda cl: cl.post_raw(API + "/datasets", body, "multipart/form-data; boundary=BBBBBBBBBBBBBBBB"),
               400, ("bad_request",))


def test_bad_upload_truncated_multipart(c):
    # A body cut short (no closing delimiter) is a broken request, whatever
    # the CSV inside looks like: cuts inside the last lines, at line ends
    # and just before the closing delimiter must all be 400 - never 201 with
    # the rows that happened to arrive.
    c.login_as("alice")
    before = snapshot(c)
    good = b"a,b,label\n" + b"".join(b"%d,%d,%s\n" % (i, 2 * i, b"xy"[i % 2:i % 2 + 1]) for i in range(40))
    body, ctype = harness.multipart({}, {"file": ("cut.csv", good)})
    start = body.index(good)
    end = body.rindex(b"--") + 2  # just after the closing "--boundary--"
    seen = {}
    for cut in range(start + len(good) - 40, end - 1):
        r = c.post_raw(API + "/datasets", body[:cut], ctype)
        key = "%d %s" % (r.status, ("rows=%s" % r.json.get("rows")) if r.status == 201 else r.error_code)
        seen.setdefault(key, []).append(cut - start - len(good))
        if r.status == 201:
            c.delete(API + "/datasets/%d" % r.json["id"])
    bad = {k: v for k, v in seen.items() if not k.startswith("400 ")}
    check(not bad, "truncated multipart bodies must be refused with 400 bad_request; got (status: byte offsets "
          "relative to the end of the file part) %s" % "; ".join("%s: %s" % (k, v[:6]) for k, v in sorted(bad.items())))
    check(snapshot(c) == before, "a refused upload must not leave a dataset behind")


def test_bad_upload_garbage_multipart(c):
    bad_upload(c, lambda cl: cl.post_raw(API + "/datasets", b"\x00\xffnot multipart at all\r\n\r\n",
                                         "multipart/form-data; boundary=xyz"), 400, ("bad_request",))


def test_bad_upload_oversize_413(c):
    data = b"a,b,label\n" + b"1,2,x\n" * (2 * MIB // 6)
    check(len(data) > 2 * MIB - 100, "fixture should be about 2 MiB")
    body, ctype = harness.multipart({"name": "too-big"}, {"file": ("big.csv", data)})
    bad_upload(c, lambda cl: cl.raw("POST", API + "/datasets", body, {"Content-Type": ctype}),
               413, ("payload_too_large",))


def test_bad_upload_oversize_chunked(c):
    # Chunked transfer, no Content-Length: the server cannot refuse up front
    # and must stop at the limit (413) - or refuse chunked uploads (411/400).
    data = b"a,b,label\n" + b"1,2,x\n" * (2 * MIB // 6)
    body, ctype = harness.multipart({}, {"file": ("big.csv", data)})
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536])
                       for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
    err = bad_upload(c, lambda cl: cl.raw("POST", API + "/datasets", chunked,
                                          {"Content-Type": ctype, "Transfer-Encoding": "chunked",
                                           "Content-Length": None}),
                     (413, 411, 400), None)
    if err["code"] != "payload_too_large":
        check(err["code"] in ("bad_request", "payload_too_large"), "unexpected code for a refused chunked upload", err)


def test_bad_upload_huge_name_field(c):
    body, ctype = harness.multipart({"name": "n" * (int(1.5 * MIB))}, {"file": ("a.csv", GOOD)})
    bad_upload(c, lambda cl: cl.raw("POST", API + "/datasets", body, {"Content-Type": ctype}),
               (413, 400, 422), ("payload_too_large", "bad_request", "invalid_data"))


def test_bad_uploads_leave_server_usable(c):
    # After all of the above the same user can still upload normally.
    c.login_as("alice")
    ds = harness.upload_dataset(c, GOOD, name="after-bad")
    check(ds["rows"] == 2, "a good upload still works", ds)


if __name__ == "__main__":
    harness.main(globals())
