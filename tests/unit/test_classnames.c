/* test_classnames.c - class names: csv.c's text-table reader (the edge
 * cases of quoting, headers and encodings), the rules of an entry, the
 * check against a model's classes, and the model file's CLASS_NAMES
 * section (round trip; a file without it loads with none).
 */
#include "engineutil.h"
#include "testutil.h"

static const char *const COLS[4] = {"label", "name", "description", "action"};

/* Collects every record as "f0|f1|f2|f3\n" with its line. */
typedef struct rows {
    char text[2048];
    size_t lines[16];
    size_t n;
} rows;

static hl_status collect(void *arg, const char *const *f, size_t line,
                         hl_error *err)
{
    (void)err;
    rows *r = arg;
    size_t at = strlen(r->text);
    snprintf(r->text + at, sizeof r->text - at, "%s|%s|%s|%s\n", f[0], f[1],
             f[2], f[3]);
    if (r->n < 16)
        r->lines[r->n] = line;
    r->n++;
    return HL_OK;
}

static hl_status read_text(const char *text, size_t max_field, rows *r,
                           hl_error *err)
{
    memset(r, 0, sizeof *r);
    return hl_csv_read_table(text, strlen(text), "t.csv", COLS, 4, max_field,
                             collect, r, err);
}

static void table_reader_quoting(void **state)
{
    (void)state;
    rows r;
    hl_error err;
    /* BOM, CRLF, quoted commas, doubled quotes, a line break inside quotes,
     * blank lines, spaces around unquoted fields, columns in another
     * order, an empty field */
    const char *text =
        "\xEF\xBB\xBF"
        "name,label,action,description\r\n"
        "\r\n"
        "  Disk full , 1 ,\"run \"\"df -h\"\", then clean\",\"a, b\"\r\n"
        "\"two\nlines\",2,,\n"
        "   \n"
        "\"  kept  \",3,x,y";
    assert_int_equal(read_text(text, 0, &r, &err), HL_OK);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.text, "1|Disk full|a, b|run \"df -h\", then clean\n"
                                "2|two\nlines||\n"
                                "3|  kept  |y|x\n");
    assert_int_equal(r.lines[0], 3);
    assert_int_equal(r.lines[1], 4);
    assert_int_equal(r.lines[2], 7); /* the quoted line break counts */
    /* a header alone: no records */
    assert_int_equal(read_text("label,name,description,action\n", 0, &r, &err),
                     HL_OK);
    assert_int_equal(r.n, 0);
}

static void expect_error(const char *text, size_t max_field, hl_status code,
                         size_t line, const char *column, const char *words)
{
    rows r;
    hl_error err;
    assert_int_equal(read_text(text, max_field, &r, &err), code);
    if (err.line != line)
        fail_msg("%s: line %zu, expected %zu", err.message, err.line, line);
    if (column)
        assert_string_equal(err.column, column);
    if (!strstr(err.message, words))
        fail_msg("'%s' lacks '%s'", err.message, words);
}

static void table_reader_refusals(void **state)
{
    (void)state;
    expect_error("", 0, HL_ERR_PARSE, 0, NULL, "empty file");
    expect_error("label,name,description\n1,a,b\n", 0, HL_ERR_PARSE, 1,
                 "action", "missing column 'action'");
    expect_error("label,name,desc,action\n", 0, HL_ERR_PARSE, 1, "desc",
                 "unknown column 'desc'");
    expect_error("label,name,description,action,extra\n", 0, HL_ERR_PARSE, 1,
                 "extra", "unknown column 'extra'");
    expect_error("label,name,name,description,action\n", 0, HL_ERR_PARSE, 1,
                 "name", "duplicate column name 'name'");
    expect_error("label,name,description,action\n1,a,b\n", 0, HL_ERR_PARSE, 2,
                 "action", "too few fields");
    expect_error("label,name,description,action\n1,a,b,c,d\n", 0, HL_ERR_PARSE,
                 2, NULL, "too many fields");
    expect_error("label,name,description,action\n1,\"a,b,c\n", 0, HL_ERR_PARSE,
                 2, "name", "unterminated quoted field");
    expect_error("label,name,description,action\n1,\"a\"x,b,c\n", 0,
                 HL_ERR_PARSE, 2, "name", "after a closing quote");
    expect_error("label,name,description,action\n1,\xC3\x28,b,c\n", 0,
                 HL_ERR_PARSE, 2, "name", "not valid UTF-8");
    expect_error("label,name,description,action\n1,\xED\xA0\x80,b,c\n", 0,
                 HL_ERR_PARSE, 2, "name", "not valid UTF-8"); /* surrogate */
    expect_error("lab\xFF,name,description,action\n", 0, HL_ERR_PARSE, 1, NULL,
                 "not valid UTF-8");
    expect_error("label,name,description,action\n1,abcdefghijklm,b,c\n", 12,
                 HL_ERR_LIMIT, 2, "name", "longer than 12 bytes");
    /* a row callback's refusal is returned as it is */
    rows r;
    hl_error err;
    const char nul[] = "label,name,description,action\n1,a\0b,c,d\n";
    memset(&r, 0, sizeof r);
    assert_int_equal(hl_csv_read_table(nul, sizeof nul - 1, "t.csv", COLS, 4, 0,
                                       collect, &r, &err),
                     HL_ERR_PARSE);
    assert_non_null(strstr(err.message, "NUL"));
}

static void entry_rules(void **state)
{
    (void)state;
    hl_error err;
    hl_class_names *t = hl_class_names_new();
    assert_int_equal(hl_class_names_add(t, "1", "Disk full", NULL, NULL, &err),
                     HL_OK);
    assert_string_equal(t->v[0].description, "");
    assert_int_equal(hl_class_names_add(t, "1", "Again", "", "", &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "label");
    assert_non_null(strstr(err.message, "twice"));
    assert_int_equal(hl_class_names_add(t, "2", "", "", "", &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "name");
    assert_int_equal(hl_class_names_add(t, "", "x", "", "", &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "label");
    char long_text[HL_CLASS_ACTION_MAX_BYTES + 2];
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    assert_int_equal(hl_class_names_add(t, "2", "x", "", long_text, &err),
                     HL_ERR_LIMIT);
    assert_string_equal(err.field, "action");
    long_text[HL_CLASS_ACTION_MAX_BYTES] = '\0'; /* exactly the limit */
    assert_int_equal(hl_class_names_add(t, "2", "x", "", long_text, &err),
                     HL_OK);
    long_text[HL_CLASS_DESCRIPTION_MAX_BYTES + 1] = '\0';
    assert_int_equal(hl_class_names_add(t, "3", "x", long_text, "", &err),
                     HL_ERR_LIMIT);
    assert_string_equal(err.field, "description");
    assert_int_equal(hl_class_names_add(t, "3", "a\nb", "", "", &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "name");
    assert_int_equal(hl_class_names_add(t, "3", "ok", "\xFF", "", &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "description");
    assert_int_equal(hl_class_names_add(t, "3", "磁盘满", "a\tb", "", &err),
                     HL_OK);
    assert_int_equal(t->n, 3);
    assert_string_equal(hl_class_names_find(t, "3")->name, "磁盘满");
    assert_null(hl_class_names_find(t, "4"));
    /* against classes */
    char *classes[] = {"1", "2", "3"};
    size_t bad = 99;
    assert_int_equal(hl_class_names_check(t, classes, 3, &bad, &err), HL_OK);
    assert_int_equal(hl_class_names_check(t, classes, 2, &bad, &err),
                     HL_ERR_DATA);
    assert_int_equal(bad, 2);
    assert_string_equal(err.field, "label");
    assert_non_null(strstr(err.message, "'3' is not a class"));
    assert_non_null(strstr(err.message, "1, 2"));
    hl_class_names_free(t);
}

static void csv_file_errors_are_located(void **state)
{
    (void)state;
    hl_error err;
    hl_class_names *t = NULL;
    assert_int_equal(hl_class_names_load("/nonexistent/names.csv", &t, &err),
                     HL_ERR_IO);
    assert_null(t);
    const char *path = tu_write_temp("label,name,description,action\n"
                                     "a,A,,\n"
                                     "b,,x,y\n",
                                     (size_t)-1);
    assert_int_equal(hl_class_names_load(path, &t, &err), HL_ERR_INVALID);
    assert_int_equal(err.line, 3);
    assert_string_equal(err.column, "name");
    assert_string_equal(err.field, "name");
    assert_null(t);
    unlink(path);
    assert_int_equal(hl_class_names_parse_csv("label,name,description,action\n"
                                              "a,A,d,e\n",
                                              38, "mem", &t, &err),
                     HL_OK);
    assert_int_equal(t->n, 1);
    assert_string_equal(t->v[0].action, "e");
    hl_class_names_free(t);
}

static hl_model *small_model(void)
{
    hl_dataset *ds = tu_simulate(300, 6, 3, 9);
    hl_train_params p;
    hl_train_params_init(&p);
    tu_set(&p, "rounds", 5);
    hl_model *m = tu_train(ds, &p);
    hl_dataset_free(ds);
    return m;
}

static void model_files_carry_them(void **state)
{
    (void)state;
    hl_error err;
    hl_model *m = small_model();
    uint8_t *plain = NULL, *named = NULL;
    size_t plain_len, named_len;
    /* without names: none, and no section written (the file an older
     * healer wrote and reads) */
    assert_null(hl_model_class_names(m));
    assert_int_equal(hl_model_serialize(m, &plain, &plain_len, &err), HL_OK);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(plain, plain_len, "p", &back, &err),
                     HL_OK);
    assert_null(hl_model_class_names(back));
    hl_model_free(back);

    hl_class_names *t = hl_class_names_new();
    assert_int_equal(hl_class_names_add(t, "2", "Disk \"full\"",
                                        "d, with comma", "https://runbook/2",
                                        &err),
                     HL_OK);
    assert_int_equal(hl_class_names_add(t, "0", "正常", "", "", &err), HL_OK);
    /* a label the model lacks: refused, the model unchanged */
    hl_class_names *wrong = hl_class_names_new();
    assert_int_equal(hl_class_names_add(wrong, "7", "x", "", "", &err), HL_OK);
    assert_int_equal(hl_model_set_class_names(m, wrong, &err), HL_ERR_DATA);
    assert_null(hl_model_class_names(m));
    hl_class_names_free(wrong);

    assert_int_equal(hl_model_set_class_names(m, t, &err), HL_OK);
    hl_class_names_free(t); /* the model keeps a copy */
    assert_int_equal(hl_model_serialize(m, &named, &named_len, &err), HL_OK);
    assert_true(named_len > plain_len);
    assert_int_equal(hl_model_deserialize(named, named_len, "n", &back, &err),
                     HL_OK);
    const hl_class_names *got = hl_model_class_names(back);
    assert_non_null(got);
    assert_int_equal(got->n, 2);
    assert_string_equal(got->v[0].label, "2");
    assert_string_equal(got->v[0].name, "Disk \"full\"");
    assert_string_equal(got->v[0].description, "d, with comma");
    assert_string_equal(got->v[0].action, "https://runbook/2");
    assert_string_equal(hl_class_names_find(got, "0")->name, "正常");
    /* predictions are unchanged by the names */
    double a[3], b[3];
    const float row[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(hl_model_predict_matrix(m, row, 1, 1, a, &err), HL_OK);
    assert_int_equal(hl_model_predict_matrix(back, row, 1, 1, b, &err), HL_OK);
    assert_memory_equal(a, b, sizeof a);
    /* clearing them */
    assert_int_equal(hl_model_set_class_names(back, NULL, &err), HL_OK);
    assert_null(hl_model_class_names(back));
    hl_model_free(back);
    free(plain);
    free(named);
    hl_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_reader_quoting),
        cmocka_unit_test(table_reader_refusals),
        cmocka_unit_test(entry_rules),
        cmocka_unit_test(csv_file_errors_are_located),
        cmocka_unit_test(model_files_carry_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
