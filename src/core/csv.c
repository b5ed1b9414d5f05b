/* csv.c - parses CSV text held in memory into an hl_dataset
 * (hl_dataset_parse_csv, whose steps csv_dataset.c runs; csv_file.c gets
 * a file into memory for it; csv_parallel.c reads the rows of a large
 * file on several threads with the row parser here), and
 * small tables of text (hl_csv_read_table: class names) with the same
 * tokenizer, so that there is one CSV reader.
 *
 * Built for one job: turning a KPI export of up to a few GiB into a dense
 * float matrix quickly, and saying exactly where the file is wrong when it
 * is. So the parser works on one buffer holding the whole file: fields are
 * handed out as pointers into it (only a quoted field containing "" is
 * copied, into one reused scratch buffer), a plain numeric cell is parsed
 * in the same pass that finds its end, the decimal parser almost never
 * needs strtod, and the output matrix is sized once from a newline count.
 * Nothing is allocated per cell; the only per-row allocation is the sample
 * id, because every string in an hl_dataset is its own allocation
 * (hand-built datasets, such as the simulator's, follow that rule too and
 * share hl_dataset_free).
 *
 * Rules the header leaves open, decided here:
 * - Records end with LF, CRLF or a lone CR. A line that is empty or holds
 *   only spaces/tabs is ignored wherever it is (so a one-column file cannot
 *   express an all-missing row except as "" or NA) and is not counted in
 *   rows_read. Blank lines before the header are skipped too.
 * - Unquoted cells lose surrounding spaces/tabs. Quoted cells keep their
 *   content verbatim (ids and header names), except that label and numeric
 *   cells are always trimmed. A quote inside an unquoted cell is literal.
 * - Missing values: empty, NA, N/A, NaN, null (any case; NaN also signed).
 *   inf/infinity are rejected, as is any value outside the float range;
 *   values too small for a float become 0 or a subnormal.
 * - Labels: only an empty cell means "no label" ("NA" is a class name).
 *   Integer labels are canonicalised to their decimal form ("01", "+1" and
 *   " 1 " are all class "1"; "-0" is "0") so that they cannot split a class.
 * - Header names, labels and sample ids must be valid UTF-8: they end up in
 *   JSON responses and model files. Feature cells are not checked beyond
 *   being numbers.
 * - A successful parse always has at least one row: a file whose every row
 *   was skipped for an empty label is HL_ERR_DATA, like one with no rows.
 *   An empty file (nothing but a BOM and whitespace) is HL_ERR_PARSE, since
 *   it lacks the required header.
 * - A limit of 0 in hl_csv_options means the default; a NULL column name
 *   means the default name, and "" means "no such column".
 *
 * It deliberately does not sniff delimiters, encodings or column types:
 * comma, UTF-8 and numeric features only.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_parser.h"
#include "healer/dataset.h"
#include "internal.h"

#define DEFAULT_MAX_BYTES ((size_t)1 << 30)
#define DEFAULT_MAX_COLUMNS ((size_t)10000)
#define DEFAULT_MAX_ROWS ((size_t)50000000)
#define DEFAULT_MAX_FIELD ((size_t)64 << 10)

/* What a column is for; values >= 0 are feature indexes, values <=
 * ROLE_TEXT_0 text column ROLE_TEXT_0 - role (hl_csv_options.text_columns). */
#define ROLE_ID (-1)
#define ROLE_LABEL (-2)
#define ROLE_TEXT_0 (-3)

/* How the tokenizer's last field ended. */
enum { END_FIELD, END_RECORD, END_FILE };

/* Tokenizer results; the caller turns them into messages because only it
 * knows the column names. */
enum {
    TOK_OK,
    TOK_NUL,
    TOK_TOO_LONG,
    TOK_OPEN_QUOTE,
    TOK_AFTER_QUOTE,
    TOK_NOMEM
};

/* Number parser results. */
enum { NUM_OK, NUM_MISSING, NUM_BAD, NUM_INFINITE, NUM_RANGE, NUM_NOMEM };

/* Longest excerpt of a bad cell quoted in a message. */
#define EXCERPT_BYTES 40

void hl_csv_options_init(hl_csv_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->label_column = "label";
    opt->id_column = "sample_id";
    opt->max_bytes = DEFAULT_MAX_BYTES;
    opt->max_columns = DEFAULT_MAX_COLUMNS;
    opt->max_rows = DEFAULT_MAX_ROWS;
    opt->max_field_bytes = DEFAULT_MAX_FIELD;
}

/* ---- text helpers ------------------------------------------------------ */

static inline int is_blank(char c)
{
    return c == ' ' || c == '\t';
}
static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void trim(const char **s, size_t *n)
{
    const char *b = *s;
    const char *e = b + *n;
    while (b < e && is_blank(*b))
        b++;
    while (e > b && is_blank(e[-1]))
        e--;
    *s = b;
    *n = (size_t)(e - b);
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0. Overlong
 * forms, surrogates and code points above U+10FFFF are not well-formed. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n <= need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq_len(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* Copies a short, printable excerpt of s into out for quoting in a message:
 * control bytes and invalid UTF-8 become '?', and "..." marks a cut, so a
 * message is always valid UTF-8 whatever the file held. */
static void excerpt(const char *s, size_t n, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    while (i < n) {
        size_t k = u[i] < 0x80 ? 1 : utf8_seq_len(u + i, n - i);
        size_t w = k ? k : 1;
        if (o + w > EXCERPT_BYTES || o + w + 4 > cap)
            break;
        if (!k || u[i] < 0x20 || u[i] == 0x7F)
            out[o++] = '?';
        else {
            memcpy(out + o, s + i, k);
            o += k;
        }
        i += w;
    }
    if (i < n && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int word_is(const char *s, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n && word[i]; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return i == n && !word[i];
}

/* ---- numbers ----------------------------------------------------------- */

static const double exact_pow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Correctly rounded doubles, so not exact: see scan_number(). */
static const double inverse_pow10[23] = {
    1e-0,  1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,
    1e-8,  1e-9,  1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15,
    1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};

/* A cell that does not start like a number: a missing-value token, an
 * infinity (rejected: KPIs are finite) or junk. `p` is past any sign. */
static int classify_word(const char *s, const char *p, const char *e)
{
    size_t n = (size_t)(e - p);
    if (word_is(p, n, "nan"))
        return NUM_MISSING;
    if (word_is(p, n, "inf") || word_is(p, n, "infinity"))
        return NUM_INFINITE;
    if (p == s &&
        (word_is(p, n, "na") || word_is(p, n, "n/a") || word_is(p, n, "null")))
        return NUM_MISSING;
    return NUM_BAD;
}

/* True when a double computed with a few ulps of error might round to a
 * different float than the exact value would: it lies near a float rounding
 * midpoint (the low 29 of its 52 fraction bits near 1 << 28), or outside
 * the normal float range where the grid differs. */
static int float_rounding_unsure(double d)
{
    if (!(d >= 0x1p-125 && d <= 0x1p127))
        return 1;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    uint64_t low = bits & ((UINT64_C(1) << 29) - 1);
    uint64_t mid = UINT64_C(1) << 28;
    return (low > mid ? low - mid : mid - low) <= 16;
}

/* Correctly rounded conversion for the rare cells the fast paths refuse.
 * The digits are rebuilt as "[-]DIGITSeEXP" without a decimal point, so
 * strtod's answer does not depend on the process locale. [s, e) holds a
 * number that scan_number() has already validated. */
static int parse_number_slow(const char *s, const char *e, double *out)
{
    char small[128];
    char *buf = small;
    size_t need = (size_t)(e - s) + 32;
    if (need > sizeof small) {
        buf = malloc(need);
        if (!buf)
            return NUM_NOMEM;
    }
    size_t o = 0;
    long long frac_digits = 0, exp10 = 0;
    int in_frac = 0, exp_neg = 0;
    const char *p = s;
    if (*p == '+' || *p == '-')
        if (*p++ == '-')
            buf[o++] = '-';
    for (; p < e && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            in_frac = 1;
            continue;
        }
        buf[o++] = *p;
        frac_digits += in_frac;
    }
    if (p < e) {
        p++;
        if (*p == '+' || *p == '-')
            exp_neg = *p++ == '-';
        for (; p < e; p++)
            if (exp10 < 1000000000LL)
                exp10 = exp10 * 10 + (*p - '0');
    }
    snprintf(buf + o, need - o, "e%lld",
             (exp_neg ? -exp10 : exp10) - frac_digits);
    *out = fabs(strtod(buf, NULL));
    if (buf != small)
        free(buf);
    return NUM_OK;
}

/* Gathers the significant digits of [p, end) (digits with at most one
 * '.') as mant * 10^exp10, keeping the first 19 and scaling for the rest.
 * Only needed for numbers with more than 19 digits, leading zeros included;
 * everything shorter is summed directly by scan_number(). */
static void long_mantissa(const char *p, const char *end, uint64_t *mant_out,
                          long long *exp10_out)
{
    uint64_t mant = 0;
    long long exp10 = 0;
    int sig = 0, frac = 0;
    for (; p < end; p++) {
        if (*p == '.') {
            frac = 1;
            continue;
        }
        if (sig < 19) {
            if (mant || *p != '0') {
                mant = mant * 10 + (uint64_t)(*p - '0');
                sig++;
            }
            exp10 -= frac;
        } else {
            exp10 += !frac; /* dropped digits only scale; see the slow path */
        }
    }
    *mant_out = mant;
    *exp10_out = exp10;
}

/* Adds an exponent part at p ("e-5", "E+17") to *exp10 and returns the
 * byte after it, or returns p unchanged when there is none: "1e" is then
 * the number 1 followed by junk, for the caller to reject. Huge exponents
 * saturate; the value is then 0 or out of range anyway. */
static const char *scan_exponent(const char *p, const char *end,
                                 long long *exp10)
{
    if (p + 1 >= end || (*p != 'e' && *p != 'E'))
        return p;
    const char *q = p + 1;
    int neg = 0;
    long long ev = 0;
    if (*q == '+' || *q == '-')
        neg = *q++ == '-';
    if (q >= end || !is_digit(*q))
        return p;
    for (; q < end && is_digit(*q); q++)
        if (ev < 1000000000LL)
            ev = ev * 10 + (*q - '0');
    *exp10 += neg ? -ev : ev;
    return q;
}

/* Scans a decimal number at p ([+-] digits [. digits] [e [+-] digits]),
 * stopping at the first byte that cannot continue it (*stop). The mantissa
 * is summed in a uint64 (exact up to 19 digits); with an exponent within
 * +-22 the result is exact (Clinger's fast path) when the mantissa fits 53
 * bits, and otherwise within a few ulps, which is kept unless the value sits
 * near a float rounding midpoint. Either way (float)*out equals
 * (float)strtod(): only the float is ever stored. Returns NUM_OK, NUM_BAD
 * (no digits), NUM_RANGE (beyond the float range) or NUM_NOMEM. */
static int scan_number(const char *p, const char *end, double *out,
                       const char **stop)
{
    const char *s = p, *digits;
    uint64_t mant = 0;
    long long exp10 = 0;
    size_t n_digits;
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    for (digits = p; p < end && is_digit(*p); p++)
        mant = mant * 10 + (uint64_t)(*p - '0');
    n_digits = (size_t)(p - digits);
    if (p < end && *p == '.') {
        const char *frac = ++p;
        for (; p < end && is_digit(*p); p++)
            mant = mant * 10 + (uint64_t)(*p - '0');
        exp10 = -(long long)(p - frac);
        n_digits += (size_t)(p - frac);
    }
    *stop = p;
    if (n_digits == 0)
        return NUM_BAD;
    if (n_digits > 19)
        long_mantissa(digits, p, &mant, &exp10);
    *stop = p = scan_exponent(p, end, &exp10);

    double d;
    if (mant == 0) {
        d = 0.0;
    } else if (exp10 >= -22 && exp10 <= 22) {
        /* Clinger: a 53-bit mantissa times an exact power of ten is exact.
         * Negative exponents multiply by a rounded 10^-k instead of
         * dividing (a divide costs as much as the rest of the cell): that
         * is a few ulps off, which cannot change the float unless the
         * value is near a float rounding midpoint; only then is the exact
         * quotient (or strtod, for mantissas over 53 bits) computed. */
        int short_mant = mant <= (UINT64_C(1) << 53);
        d = (double)mant;
        d *= exp10 >= 0 ? exact_pow10[exp10] : inverse_pow10[-exp10];
        if ((!short_mant || exp10 < 0) && float_rounding_unsure(d)) {
            if (short_mant)
                d = (double)mant / exact_pow10[-exp10];
            else if (parse_number_slow(s, p, &d) != NUM_OK)
                return NUM_NOMEM;
        }
    } else if (parse_number_slow(s, p, &d) != NUM_OK) {
        return NUM_NOMEM;
    }
    if (!(d <= FLT_MAX))
        return NUM_RANGE;
    *out = neg ? -d : d;
    return NUM_OK;
}

/* A whole numeric cell: a number, a missing-value token, or an error. */
static int parse_number(const char *s, size_t len, double *out)
{
    const char *stop;
    trim(&s, &len);
    if (len == 0)
        return NUM_MISSING;
    const char *e = s + len, *p = s + (*s == '+' || *s == '-');
    if (p < e && !is_digit(*p) && *p != '.')
        return classify_word(s, p, e);
    int kind = scan_number(s, e, out, &stop);
    return kind == NUM_OK && stop != e ? NUM_BAD : kind;
}

/* ---- tokenizer --------------------------------------------------------- */

/* Bytes that end an unquoted field (NUL only so that it can be reported). */
static const unsigned char field_stop[256] = {
    [0] = 1, [','] = 1, ['\n'] = 1, ['\r'] = 1};

typedef struct csv_field {
    const char *text; /* not NUL-terminated; valid until the next field */
    size_t len;
    size_t line; /* line the field starts on */
} csv_field;

/* Steps over the line ending at p (CRLF, LF or lone CR). */
static const char *skip_eol(csv_reader *rd, const char *p)
{
    if (*p == '\r' && p + 1 < rd->end && p[1] == '\n')
        p++;
    rd->line++;
    return p + 1;
}

/* Skips empty and blank-only lines; returns 0 when the input is exhausted. */
int hl__csv_skip_blank_lines(csv_reader *rd)
{
    const char *p = rd->p;
    for (;;) {
        const char *q = p;
        while (q < rd->end && is_blank(*q))
            q++;
        if (q >= rd->end) {
            rd->p = q;
            return 0;
        }
        if (*q != '\n' && *q != '\r') {
            rd->p = p;
            return 1;
        }
        p = skip_eol(rd, q);
    }
}

/* Consumes the delimiter after a field. */
static int end_field(csv_reader *rd, const char *p, int *ended)
{
    if (p >= rd->end) {
        *ended = END_FILE;
    } else if (*p == ',') {
        *ended = END_FIELD;
        p++;
    } else if (*p == '\n' || *p == '\r') {
        *ended = END_RECORD;
        p = skip_eol(rd, p);
    } else {
        rd->err_line = rd->line;
        return *p == '\0' ? TOK_NUL : TOK_AFTER_QUOTE;
    }
    rd->p = p;
    return TOK_OK;
}

static int scratch_put(csv_reader *rd, size_t at, const char *s, size_t n)
{
    if (n == 0) /* memcpy must not see the still-NULL buffer */
        return 0;
    if (at + n > rd->scratch_cap) {
        size_t cap = rd->scratch_cap ? rd->scratch_cap : 256;
        while (cap < at + n)
            cap = cap > SIZE_MAX / 2 ? at + n : cap * 2;
        char *q = realloc(rd->scratch, cap);
        if (!q)
            return -1;
        rd->scratch = q;
        rd->scratch_cap = cap;
    }
    memcpy(rd->scratch + at, s, n);
    return 0;
}

/* A quoted field; p is just past the opening quote. The content is used in
 * place unless it holds a "" pair, which forces a copy with the pairs
 * collapsed. Line endings inside count as physical lines. */
static int tok_quoted(csv_reader *rd, const char *p, csv_field *f, int *ended)
{
    const char *start = p;
    size_t len = 0;
    int copying = 0;
    for (;;) {
        if (p >= rd->end) {
            rd->err_line = f->line;
            return TOK_OPEN_QUOTE;
        }
        char c = *p;
        if (c == '"') {
            if (p + 1 >= rd->end || p[1] != '"')
                break;
            if (!copying && scratch_put(rd, 0, start, len))
                return TOK_NOMEM;
            copying = 1;
            p++; /* keep the second quote of the pair */
        } else if (c == '\0') {
            rd->err_line = rd->line;
            return TOK_NUL;
        } else if (c == '\n' ||
                   (c == '\r' && (p + 1 >= rd->end || p[1] != '\n'))) {
            rd->line++;
        }
        if (len >= rd->max_field) {
            rd->err_line = f->line;
            return TOK_TOO_LONG;
        }
        if (copying && scratch_put(rd, len, p, 1))
            return TOK_NOMEM;
        len++;
        p++;
    }
    f->text = copying ? rd->scratch : start;
    f->len = len;
    for (p++; p < rd->end && is_blank(*p); p++)
        ;
    return end_field(rd, p, ended);
}

/* Hands out the next field and how it ended. Unquoted fields are trimmed. */
static int tok_next(csv_reader *rd, csv_field *f, int *ended)
{
    const char *p = rd->p;
    const char *end = rd->end;
    while (p < end && is_blank(*p))
        p++;
    f->line = rd->line;
    if (p < end && *p == '"')
        return tok_quoted(rd, p + 1, f, ended);
    const char *s = p;
    while (p < end && !field_stop[(unsigned char)*p])
        p++;
    const char *e = p;
    while (e > s && is_blank(e[-1]))
        e--;
    size_t len = (size_t)(e - s);
    if (len > rd->max_field) {
        rd->err_line = f->line;
        return TOK_TOO_LONG;
    }
    f->text = s;
    f->len = len;
    return end_field(rd, p, ended);
}

/* ---- label table ------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static int is_int_text(const char *s, size_t n)
{
    size_t i = n && (s[0] == '+' || s[0] == '-');
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* Rewrites an integer label as [-]digits without leading zeros into
 * lt->key; returns 0 or -1 when out of memory. */
static int canonical_int(label_table *lt, const char **s, size_t *n)
{
    const char *p = *s, *e = *s + *n;
    int neg = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    while (e - p > 1 && *p == '0')
        p++;
    if (e - p == 1 && *p == '0')
        neg = 0;
    size_t len = (size_t)(e - p) + (size_t)neg;
    if (len + 1 > lt->key_cap) {
        char *k = realloc(lt->key, len + 1);
        if (!k)
            return -1;
        lt->key = k;
        lt->key_cap = len + 1;
    }
    lt->key[0] = '-';
    memcpy(lt->key + neg, p, (size_t)(e - p));
    lt->key[len] = '\0';
    *s = lt->key;
    *n = len;
    return 0;
}

static int label_rehash(label_table *lt)
{
    size_t n_slots = lt->n_slots ? lt->n_slots * 2 : 16;
    uint32_t *slot = calloc(n_slots, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < lt->n; i++) {
        size_t h = (size_t)lt->v[i].hash & (n_slots - 1);
        while (slot[h])
            h = (h + 1) & (n_slots - 1);
        slot[h] = (uint32_t)i + 1;
    }
    free(lt->slot);
    lt->slot = slot;
    lt->n_slots = n_slots;
    return 0;
}

static hl_status label_add(label_table *lt, const char *s, size_t n,
                           uint64_t hash, size_t h)
{
    if (lt->n == lt->cap) {
        size_t cap = lt->cap ? lt->cap * 2 : 8;
        label_entry *v = realloc(lt->v, cap * sizeof *v);
        if (!v)
            return HL_ERR_NOMEM;
        lt->v = v;
        lt->cap = cap;
    }
    char *name = malloc(n + 1);
    if (!name)
        return HL_ERR_NOMEM;
    memcpy(name, s, n);
    name[n] = '\0';
    label_entry *le = &lt->v[lt->n];
    le->name = name;
    le->len = n;
    le->hash = hash;
    le->first = (uint32_t)lt->n;
    lt->slot[h] = (uint32_t)++lt->n;
    return HL_OK;
}

/* Finds or adds a (trimmed, non-empty) label. Returns HL_OK, HL_ERR_NOMEM,
 * HL_ERR_PARSE for invalid UTF-8 or HL_ERR_LIMIT past INT32_MAX classes. */
static hl_status label_lookup(label_table *lt, const char *s, size_t n,
                              int32_t *idx)
{
    int integer = is_int_text(s, n);
    if (integer && canonical_int(lt, &s, &n))
        return HL_ERR_NOMEM;
    if ((lt->n + 1) * 2 > lt->n_slots && label_rehash(lt))
        return HL_ERR_NOMEM;
    uint64_t hash = hash_bytes(s, n);
    size_t h = (size_t)hash & (lt->n_slots - 1);
    for (; lt->slot[h]; h = (h + 1) & (lt->n_slots - 1)) {
        const label_entry *le = &lt->v[lt->slot[h] - 1];
        if (le->hash == hash && le->len == n && !memcmp(le->name, s, n)) {
            *idx = (int32_t)le->first;
            return HL_OK;
        }
    }
    if (!utf8_valid(s, n))
        return HL_ERR_PARSE;
    if (lt->n >= INT32_MAX)
        return HL_ERR_LIMIT;
    lt->all_int &= integer;
    *idx = (int32_t)lt->n;
    return label_add(lt, s, n, hash, h);
}

static int cmp_label_text(const void *a, const void *b)
{
    return strcmp(((const label_entry *)a)->name,
                  ((const label_entry *)b)->name);
}

/* Canonical integers: negatives first, then by length, then digit by
 * digit, so "2" < "10" without any overflow on long labels. */
int hl__label_cmp_int(const char *x, const char *y)
{
    int xneg = x[0] == '-', yneg = y[0] == '-';
    if (xneg != yneg)
        return xneg ? -1 : 1;
    size_t xlen = strlen(x), ylen = strlen(y);
    int c = xlen != ylen ? (xlen < ylen ? -1 : 1) : strcmp(x, y);
    return xneg ? -c : c;
}

int hl__label_is_int(const char *s) { return is_int_text(s, strlen(s)); }

static int cmp_label_int(const void *a, const void *b)
{
    return hl__label_cmp_int(((const label_entry *)a)->name,
                             ((const label_entry *)b)->name);
}

static void label_table_free(label_table *lt)
{
    for (size_t i = 0; i < lt->n; i++)
        free(lt->v[i].name);
    free(lt->v);
    free(lt->slot);
    free(lt->key);
}

/* ---- the parser -------------------------------------------------------- */

static const char *col_name(const csv_parser *ps, size_t col)
{
    return col < ps->n_cols && ps->role ? ps->col_names[col] : NULL;
}

/* An error in a cell of column `col` (0-based) on `line`. */
static hl_status HL__PRINTF(5, 6)
    cell_fail(csv_parser *ps, hl_status code, size_t line, size_t col,
              const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return hl__fail_at(ps->err, code, ps->name, line, col_name(ps, col),
                       col + 1, "%s", what);
}

static hl_status nomem(csv_parser *ps)
{
    return hl__fail_at(ps->err, HL_ERR_NOMEM, ps->name, 0, NULL, 0,
                       "out of memory while reading the CSV");
}

static hl_status tok_fail(csv_parser *ps, int tok, size_t col)
{
    size_t line = ps->rd.err_line;
    switch (tok) {
    case TOK_NUL:
        return cell_fail(ps, HL_ERR_PARSE, line, col,
                         "NUL byte in the file (binary data, or UTF-16?)");
    case TOK_TOO_LONG:
        return cell_fail(ps, HL_ERR_LIMIT, line, col,
                         "cell is longer than %zu bytes (max_field_bytes)",
                         ps->opt.max_field_bytes);
    case TOK_OPEN_QUOTE:
        return cell_fail(ps, HL_ERR_PARSE, line, col,
                         "unterminated quoted field: the quote opened here "
                         "is never closed before the end of the file");
    case TOK_AFTER_QUOTE:
        return cell_fail(ps, HL_ERR_PARSE, line, col,
                         "unexpected text after a closing quote (a quote "
                         "inside a quoted field must be doubled: \"\")");
    default:
        return nomem(ps);
    }
}

static hl_status number_fail(csv_parser *ps, int kind, const csv_field *f,
                             size_t col)
{
    char ex[64];
    const char *s = f->text;
    size_t n = f->len;
    trim(&s, &n);
    excerpt(s, n, ex, sizeof ex);
    switch (kind) {
    case NUM_BAD:
        return cell_fail(ps, HL_ERR_PARSE, f->line, col, "not a number: \"%s\"",
                         ex);
    case NUM_INFINITE:
        return cell_fail(ps, HL_ERR_PARSE, f->line, col,
                         "infinite value \"%s\" is not allowed: KPI values "
                         "must be finite",
                         ex);
    case NUM_RANGE:
        return cell_fail(ps, HL_ERR_PARSE, f->line, col,
                         "value \"%s\" is out of range: KPI values must be "
                         "finite and fit a 32-bit float (|x| <= 3.4e38)",
                         ex);
    default:
        return nomem(ps);
    }
}

static hl_status parser_init(csv_parser *ps, const char *data, size_t len,
                             const char *name, const hl_csv_options *opt,
                             hl_error *err)
{
    memset(ps, 0, sizeof *ps);
    hl_csv_options_init(&ps->opt);
    if (opt) {
        hl_csv_options d = ps->opt;
        ps->opt = *opt;
        if (!ps->opt.label_column)
            ps->opt.label_column = d.label_column;
        if (!ps->opt.id_column)
            ps->opt.id_column = d.id_column;
        if (!ps->opt.max_bytes)
            ps->opt.max_bytes = d.max_bytes;
        if (!ps->opt.max_columns)
            ps->opt.max_columns = d.max_columns;
        if (!ps->opt.max_rows)
            ps->opt.max_rows = d.max_rows;
        if (!ps->opt.max_field_bytes)
            ps->opt.max_field_bytes = d.max_field_bytes;
    }
    ps->name = name ? name : "<memory>";
    ps->err = err;
    ps->label_col = -1;
    ps->labels.all_int = 1;
    if (*ps->opt.label_column &&
        !strcmp(ps->opt.label_column, ps->opt.id_column))
        return hl__fail(err, HL_ERR_INVALID,
                        "label_column and id_column are both '%s'",
                        ps->opt.label_column);
    if (ps->opt.n_text_columns && !ps->opt.text_columns)
        return hl__fail(err, HL_ERR_INVALID, "text_columns is NULL");
    ps->n_text = ps->opt.n_text_columns;
    for (size_t c = 0; c < ps->n_text; c++) {
        const char *t = ps->opt.text_columns[c];
        if (!t || !*t)
            return hl__fail(err, HL_ERR_INVALID,
                            "text column %zu has no name", c + 1);
        if (!strcmp(t, ps->opt.id_column) || !strcmp(t, ps->opt.label_column))
            return hl__fail(err, HL_ERR_INVALID,
                            "'%s' is both a text column and the id or label "
                            "column", t);
        for (size_t d = 0; d < c; d++)
            if (!strcmp(t, ps->opt.text_columns[d]))
                return hl__fail(err, HL_ERR_INVALID,
                                "text column '%s' is listed twice", t);
    }
    if (len > ps->opt.max_bytes)
        return hl__fail_at(err, HL_ERR_LIMIT, ps->name, 0, NULL, 0,
                           "file too large: %zu bytes, the limit is %zu "
                           "(max_bytes)",
                           len, ps->opt.max_bytes);
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
        data += 3;
        len -= 3;
    }
    ps->rd.p = data;
    ps->rd.end = data + len;
    ps->rd.line = 1;
    ps->rd.max_field = ps->opt.max_field_bytes;
    return HL_OK;
}

static hl_status header_add(csv_parser *ps, const csv_field *f, size_t *cap)
{
    size_t col = ps->n_cols;
    if (col >= ps->opt.max_columns)
        return cell_fail(ps, HL_ERR_LIMIT, f->line, col,
                         "too many columns: more than %zu (max_columns)",
                         ps->opt.max_columns);
    if (f->len == 0)
        return cell_fail(ps, HL_ERR_PARSE, f->line, col,
                         "empty column name in the header");
    if (!utf8_valid(f->text, f->len)) {
        char ex[64];
        excerpt(f->text, f->len, ex, sizeof ex);
        return hl__fail_at(ps->err, HL_ERR_PARSE, ps->name, f->line, ex,
                           col + 1, "column name is not valid UTF-8");
    }
    if (col == *cap) {
        size_t n = *cap ? *cap * 2 : 64;
        char **v = realloc(ps->col_names, n * sizeof *v);
        if (!v)
            return nomem(ps);
        ps->col_names = v;
        *cap = n;
    }
    char *s = malloc(f->len + 1);
    if (!s)
        return nomem(ps);
    memcpy(s, f->text, f->len);
    s[f->len] = '\0';
    ps->col_names[ps->n_cols++] = s;
    return HL_OK;
}

static hl_status parse_header(csv_parser *ps)
{
    size_t cap = 0;
    int ended = END_FIELD;
    if (!hl__csv_skip_blank_lines(&ps->rd))
        return hl__fail_at(ps->err, HL_ERR_PARSE, ps->name, 0, NULL, 0,
                           "empty file: expected a header row");
    ps->header_line = ps->rd.line;
    while (ended == END_FIELD) {
        csv_field f;
        int tok = tok_next(&ps->rd, &f, &ended);
        if (tok != TOK_OK)
            return tok_fail(ps, tok, ps->n_cols);
        hl_status rc = header_add(ps, &f, &cap);
        if (rc != HL_OK)
            return rc;
    }
    return HL_OK;
}

typedef struct name_ref {
    const char *name;
    size_t col;
} name_ref;

static int cmp_name_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->col > y->col) - (x->col < y->col);
}

/* Reports the leftmost column whose name already appeared, by sorting. */
static hl_status check_duplicates(csv_parser *ps)
{
    size_t n = ps->n_cols, bad = SIZE_MAX, first = 0;
    if (n < 2)
        return HL_OK;
    name_ref *v = malloc(n * sizeof *v);
    if (!v)
        return nomem(ps);
    for (size_t i = 0; i < n; i++)
        v[i] = (name_ref){ps->col_names[i], i};
    qsort(v, n, sizeof *v, cmp_name_ref);
    for (size_t i = 1; i < n; i++) {
        if (!strcmp(v[i].name, v[i - 1].name) && v[i].col < bad &&
            (i < 2 || strcmp(v[i].name, v[i - 2].name))) {
            bad = v[i].col;
            first = v[i - 1].col;
        }
    }
    free(v);
    if (bad == SIZE_MAX)
        return HL_OK;
    char ex[64];
    excerpt(ps->col_names[bad], strlen(ps->col_names[bad]), ex, sizeof ex);
    return hl__fail_at(
        ps->err, HL_ERR_PARSE, ps->name, ps->header_line, ps->col_names[bad],
        bad + 1, "duplicate column name '%s' (also column %zu)", ex, first + 1);
}

/* The index of the text column called name, or -1. */
static long text_index(const csv_parser *ps, const char *name)
{
    for (size_t c = 0; c < ps->n_text; c++)
        if (!strcmp(ps->opt.text_columns[c], name))
            return (long)c;
    return -1;
}

/* Every text column must be in the header (check_duplicates made each
 * appear at most once). */
static hl_status check_text_columns(csv_parser *ps)
{
    for (size_t c = 0; c < ps->n_text; c++)
        if (ps->text_col[c] == SIZE_MAX)
            return hl__fail_at(ps->err, HL_ERR_DATA, ps->name,
                               ps->header_line, ps->opt.text_columns[c], 0,
                               "column '%s' is missing from the header",
                               ps->opt.text_columns[c]);
    return HL_OK;
}

static hl_status assign_roles(csv_parser *ps)
{
    hl_status rc = check_duplicates(ps);
    if (rc != HL_OK)
        return rc;
    ps->role = malloc(ps->n_cols * sizeof *ps->role);
    ps->text_col = malloc((ps->n_text + 1) * sizeof *ps->text_col);
    if (!ps->role || !ps->text_col)
        return nomem(ps);
    for (size_t c = 0; c < ps->n_text; c++)
        ps->text_col[c] = SIZE_MAX;
    for (size_t i = 0; i < ps->n_cols; i++) {
        long t = text_index(ps, ps->col_names[i]);
        if (t >= 0) {
            ps->role[i] = ROLE_TEXT_0 - (int32_t)t;
            ps->text_col[t] = i;
        } else if (!strcmp(ps->col_names[i], ps->opt.id_column)) {
            ps->role[i] = ROLE_ID;
            ps->has_ids = 1;
        } else if (!strcmp(ps->col_names[i], ps->opt.label_column)) {
            ps->role[i] = ROLE_LABEL;
            ps->label_col = (long)i;
        } else {
            ps->role[i] = (int32_t)ps->n_features++;
        }
    }
    if ((rc = check_text_columns(ps)) != HL_OK)
        return rc;
    if (ps->n_features == 0)
        return hl__fail_at(ps->err, HL_ERR_DATA, ps->name, ps->header_line,
                           NULL, 0,
                           ps->n_text ? "no feature columns: the header has "
                                        "only the id, label and text columns"
                                      : "no feature columns: the header has "
                                        "only the id and label columns");
    if (ps->opt.require_label && ps->label_col < 0)
        return hl__fail_at(ps->err, HL_ERR_DATA, ps->name, ps->header_line,
                           NULL, 0,
                           "label column '%s' is missing from the header "
                           "(required for training)",
                           ps->opt.label_column);
    return HL_OK;
}

hl_status hl__csv_reserve_rows(csv_parser *ps, size_t need)
{
    if (need <= ps->cap)
        return HL_OK;
    size_t cap = ps->cap ? ps->cap : need;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    /* n_features >= 1: assign_roles() rejects a header without features. */
    if (cap > SIZE_MAX / sizeof(float) / ps->n_features)
        return nomem(ps);
    float *x = realloc(ps->x, cap * ps->n_features * sizeof *x);
    if (!x)
        return nomem(ps);
    ps->x = x;
    hl__advise_huge(x, cap * ps->n_features * sizeof *x);
    if (ps->has_ids) {
        char **ids = realloc(ps->ids, cap * sizeof *ids);
        if (!ids)
            return nomem(ps);
        ps->ids = ids;
    }
    if (ps->label_col >= 0) {
        int32_t *y = realloc(ps->y, cap * sizeof *y);
        if (!y)
            return nomem(ps);
        ps->y = y;
    }
    if (ps->n_text) {
        if (cap > SIZE_MAX / sizeof(char *) / ps->n_text)
            return nomem(ps);
        char **text = realloc(ps->text, cap * ps->n_text * sizeof *text);
        if (!text)
            return nomem(ps);
        ps->text = text;
        hl__advise_huge(text, cap * ps->n_text * sizeof *text);
    }
    if (ps->want_lines) {
        size_t *lines = realloc(ps->lines, cap * sizeof *lines);
        if (!lines)
            return nomem(ps);
        ps->lines = lines;
    }
    ps->cap = cap;
    return HL_OK;
}

/* Rows cannot outnumber the remaining line endings, nor the records that fit
 * in the remaining bytes (a record of n columns takes at least n bytes), so
 * the matrix is usually allocated exactly once. Lone-CR files may exceed the
 * newline count; hl__csv_reserve_rows() grows the matrix for them. */
static size_t estimate_rows(const csv_parser *ps)
{
    const char *p = ps->rd.p, *end = ps->rd.end;
    size_t lines = 1;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lines++;
        p++;
    }
    size_t by_size = (size_t)(end - ps->rd.p) / ps->n_cols + 1;
    size_t n = lines < by_size ? lines : by_size;
    return n < ps->opt.max_rows ? n : ps->opt.max_rows;
}

/* A sample id or a text cell, copied out (a text cell into the arena when
 * there is one); what names the kind of cell in the message. */
static hl_status take_text(csv_parser *ps, const csv_field *f, size_t col,
                           const char *what, int in_arena, char **id)
{
    if (!utf8_valid(f->text, f->len))
        return cell_fail(ps, HL_ERR_PARSE, f->line, col,
                         "%s is not valid UTF-8", what);
    char *s;
    if (in_arena) {
        s = ps->arena + ps->arena_used;
        ps->arena_used += f->len + 1;
    } else if (!(s = malloc(f->len + 1))) {
        return nomem(ps);
    }
    memcpy(s, f->text, f->len);
    s[f->len] = '\0';
    *id = s;
    return HL_OK;
}

static hl_status take_label(csv_parser *ps, const csv_field *f, size_t col,
                            int32_t *label)
{
    const char *s = f->text;
    size_t n = f->len;
    trim(&s, &n);
    if (n == 0) {
        *label = -1;
        return HL_OK;
    }
    switch (label_lookup(&ps->labels, s, n, label)) {
    case HL_OK:
        return HL_OK;
    case HL_ERR_PARSE:
        return cell_fail(ps, HL_ERR_PARSE, f->line, col,
                         "label is not valid UTF-8");
    case HL_ERR_LIMIT:
        return cell_fail(ps, HL_ERR_LIMIT, f->line, col,
                         "too many distinct labels");
    default:
        return nomem(ps);
    }
}

/* Counts the rest of an over-long record so the message can say how many
 * fields it has; a broken field further on just ends the count. */
static hl_status too_many_fields(csv_parser *ps, size_t line, int ended)
{
    size_t got = ps->n_cols + 1;
    while (ended == END_FIELD) {
        csv_field f;
        if (tok_next(&ps->rd, &f, &ended) != TOK_OK)
            break;
        got++;
    }
    return cell_fail(ps, HL_ERR_PARSE, line, ps->n_cols,
                     "wrong number of fields: expected %zu, got %zu",
                     ps->n_cols, got);
}

/* The common case in one pass: an unquoted number, or nothing, directly
 * followed by a delimiter. Anything else returns 0 and goes through the
 * tokenizer and parse_number(), which also word the errors. */
static int fast_cell(csv_reader *rd, float *dst, size_t *missing, int *ended)
{
    const char *p = rd->p, *end = rd->end, *stop = p;
    double v = 0;
    if (p < end && !field_stop[(unsigned char)*p] &&
        (scan_number(p, end, &v, &stop) != NUM_OK ||
         (size_t)(stop - p) > rd->max_field))
        return 0;
    if (stop < end && (*stop == '\0' || !field_stop[(unsigned char)*stop]))
        return 0;
    if (stop == p) {
        *dst = NAN;
        ++*missing;
    } else {
        *dst = (float)v;
    }
    end_field(rd, stop, ended);
    return 1;
}

/* One data record, written straight into the next matrix row; the row only
 * counts once it is complete and kept. */
hl_status hl__csv_parse_row(csv_parser *ps)
{
    const size_t line = ps->rd.line;
    float *row = ps->x + ps->n_rows * ps->n_features;
    char **text = ps->text ? ps->text + ps->n_rows * ps->n_text : NULL;
    char *id = NULL;
    int32_t label = -1;
    size_t missing = 0, col = 0;
    int ended = END_FIELD;
    hl_status rc;

    for (size_t c = 0; c < ps->n_text; c++)
        text[c] = NULL;
    while (ended == END_FIELD) {
        csv_field f;
        if (col < ps->n_cols && ps->role[col] >= 0 &&
            fast_cell(&ps->rd, row + ps->role[col], &missing, &ended)) {
            col++;
            continue;
        }
        int tok = tok_next(&ps->rd, &f, &ended);
        if (tok != TOK_OK) {
            rc = tok_fail(ps, tok, col);
            goto fail;
        }
        if (col == ps->n_cols) {
            rc = too_many_fields(ps, line, ended);
            goto fail;
        }
        int32_t role = ps->role[col];
        if (role >= 0) {
            double v;
            int kind = parse_number(f.text, f.len, &v);
            if (kind == NUM_OK) {
                row[role] = (float)v;
            } else if (kind == NUM_MISSING) {
                row[role] = NAN;
                missing++;
            } else {
                rc = number_fail(ps, kind, &f, col);
                goto fail;
            }
        } else if (role == ROLE_ID) {
            if ((rc = take_text(ps, &f, col, "sample id", 0, &id)) != HL_OK)
                goto fail;
        } else if (role <= ROLE_TEXT_0) {
            rc = take_text(ps, &f, col, "text cell", ps->arena != NULL,
                           &text[ROLE_TEXT_0 - role]);
            if (rc != HL_OK)
                goto fail;
        } else if ((rc = take_label(ps, &f, col, &label)) != HL_OK) {
            goto fail;
        }
        col++;
    }
    if (col < ps->n_cols) {
        rc = cell_fail(ps, HL_ERR_PARSE, line, col,
                       "wrong number of fields: expected %zu, got %zu",
                       ps->n_cols, col);
        goto fail;
    }
    if (ps->label_col >= 0 && label < 0 && !ps->opt.keep_unlabelled) {
        ps->rows_skipped++;
        rc = HL_OK;
        goto fail;
    }
    if (ps->has_ids)
        ps->ids[ps->n_rows] = id;
    if (ps->want_lines)
        ps->lines[ps->n_rows] = line;
    if (ps->label_col >= 0)
        ps->y[ps->n_rows] = label;
    ps->missing += missing;
    ps->n_rows++;
    return HL_OK;
fail:
    free(id);
    for (size_t c = 0; c < ps->n_text; c++) {
        if (!ps->arena)
            free(text[c]);
        text[c] = NULL;
    }
    return rc;
}

hl_status hl__csv_parse_rows(csv_parser *ps)
{
    hl_status rc = hl__csv_reserve_rows(ps, estimate_rows(ps));
    while (rc == HL_OK && hl__csv_skip_blank_lines(&ps->rd)) {
        if (++ps->rows_read > ps->opt.max_rows)
            return hl__fail_at(ps->err, HL_ERR_LIMIT, ps->name, ps->rd.line,
                               NULL, 0,
                               "too many rows: more than %zu data rows "
                               "(max_rows)",
                               ps->opt.max_rows);
        rc = hl__csv_reserve_rows(ps, ps->n_rows + 1);
        if (rc == HL_OK)
            rc = hl__csv_parse_row(ps);
    }
    return rc;
}

/* Sorts the label table (numerically when every label is an integer) and
 * renumbers y to match; hands the names over in *names. */
static hl_status sort_labels(csv_parser *ps, char ***names)
{
    label_table *lt = &ps->labels;
    *names = NULL;
    if (lt->n == 0)
        return HL_OK;
    uint32_t *remap = malloc(lt->n * sizeof *remap);
    char **v = malloc(lt->n * sizeof *v);
    if (!remap || !v) {
        free(remap);
        free(v);
        return nomem(ps);
    }
    qsort(lt->v, lt->n, sizeof *lt->v,
          lt->all_int ? cmp_label_int : cmp_label_text);
    for (size_t k = 0; k < lt->n; k++) {
        remap[lt->v[k].first] = (uint32_t)k;
        v[k] = lt->v[k].name;
        lt->v[k].name = NULL;
    }
    for (size_t i = 0; i < ps->n_rows; i++)
        if (ps->y[i] >= 0)
            ps->y[i] = (int32_t)remap[ps->y[i]];
    free(remap);
    *names = v;
    return HL_OK;
}

static hl_status check_rows(csv_parser *ps)
{
    if (ps->rows_read == 0)
        return hl__fail_at(ps->err, HL_ERR_DATA, ps->name, 0, NULL, 0,
                           "no data rows: the file has a header but no data");
    if (ps->n_rows == 0)
        return hl__fail_at(ps->err, HL_ERR_DATA, ps->name, 0, NULL, 0,
                           "no rows left: all %zu data rows have an empty "
                           "label",
                           ps->rows_read);
    if (!ps->opt.require_label || ps->labels.n >= 2)
        return HL_OK;
    const char *label = ps->col_names[ps->label_col];
    if (ps->labels.n == 0)
        return hl__fail_at(ps->err, HL_ERR_DATA, ps->name, 0, label,
                           (size_t)ps->label_col + 1,
                           "no labelled rows: training needs at least 2 "
                           "classes");
    char ex[64];
    excerpt(ps->labels.v[0].name, ps->labels.v[0].len, ex, sizeof ex);
    return hl__fail_at(ps->err, HL_ERR_DATA, ps->name, 0, label,
                       (size_t)ps->label_col + 1,
                       "only one class ('%s') in the labels: training needs "
                       "at least 2 classes",
                       ex);
}

/* Moves everything the parser built into a new dataset. */
static hl_status finish(csv_parser *ps, hl_dataset **out)
{
    hl_status rc = check_rows(ps);
    if (rc != HL_OK)
        return rc;
    hl_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return nomem(ps);
    ds->source = hl__strdup(ps->name);
    ds->feature_names = calloc(ps->n_features, sizeof *ds->feature_names);
    if (!ds->source || !ds->feature_names)
        goto fail;
    if (ps->label_col >= 0 && sort_labels(ps, &ds->class_names) != HL_OK)
        goto fail;
    ds->n_classes = ps->labels.n;
    ds->has_labels = ps->label_col >= 0;
    for (size_t i = 0; i < ps->n_cols; i++) {
        if (ps->role[i] >= 0) {
            ds->feature_names[ps->role[i]] = ps->col_names[i];
            ps->col_names[i] = NULL;
        }
    }
    /* Give back what the row estimate over-reserved; failing to is fine. */
    if (ps->n_rows < ps->cap) {
        float *x = realloc(ps->x, ps->n_rows * ps->n_features * sizeof *ps->x);
        if (x)
            ps->x = x;
    }
    ds->n_rows = ps->n_rows;
    ds->n_features = ps->n_features;
    ds->x = ps->x;
    ds->y = ps->y;
    ds->sample_ids = ps->ids;
    if (!ps->arena) { /* else the caller takes ps->text and the arena */
        ds->n_text = ps->n_text;
        ds->text = ps->text;
        ps->text = NULL;
    }
    ps->x = NULL;
    ps->y = NULL;
    ps->ids = NULL;
    ps->n_rows = 0;
    ds->rows_read = ps->rows_read;
    ds->rows_skipped_no_label = ps->rows_skipped;
    ds->missing_cells = ps->missing;
    *out = ds;
    return HL_OK;
fail:
    ds->n_features = ps->n_features;
    ds->n_classes = ds->class_names ? ps->labels.n : 0;
    hl_dataset_free(ds);
    return nomem(ps);
}

void hl__csv_parser_free(csv_parser *ps)
{
    hl__free_strings(ps->col_names, ps->n_cols);
    free(ps->role);
    free(ps->x);
    free(ps->y);
    if (ps->ids)
        hl__free_strings(ps->ids, ps->n_rows);
    if (ps->text && !ps->arena)
        hl__free_strings(ps->text, ps->n_rows * ps->n_text);
    else
        free(ps->text);
    free(ps->arena);
    free(ps->text_col);
    free(ps->lines);
    label_table_free(&ps->labels);
    free(ps->rd.scratch);
}

hl_status hl__csv_parser_start(csv_parser *ps, const char *data, size_t len,
                               const char *name, const hl_csv_options *opt,
                               hl_error *err)
{
    hl_status rc = parser_init(ps, data, len, name, opt, err);
    if (rc == HL_OK)
        rc = parse_header(ps);
    if (rc == HL_OK)
        rc = assign_roles(ps);
    return rc;
}

hl_status hl__csv_parser_finish(csv_parser *ps, hl_dataset **out,
                                size_t **lines, size_t *text_col)
{
    hl_status rc = finish(ps, out);
    if (rc == HL_OK && lines) {
        *lines = ps->lines;
        ps->lines = NULL;
    }
    if (rc == HL_OK && text_col)
        for (size_t c = 0; c < ps->n_text; c++)
            text_col[c] = ps->text_col[c];
    return rc;
}

int hl__csv_header_names(const char *data, size_t len,
                         const char *const *names, size_t n_names)
{
    if (!data || !names || n_names > 64)
        return 0;
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
        data += 3;
        len -= 3;
    }
    csv_reader rd = {data, data + len, 1, 0, DEFAULT_MAX_FIELD, NULL, 0};
    char seen[64] = {0};
    size_t found = 0;
    int ended = END_FIELD;
    if (!hl__csv_skip_blank_lines(&rd))
        return 0;
    while (ended == END_FIELD) {
        csv_field f;
        if (tok_next(&rd, &f, &ended) != TOK_OK)
            break;
        for (size_t i = 0; i < n_names; i++)
            if (!seen[i] && strlen(names[i]) == f.len &&
                !memcmp(names[i], f.text, f.len)) {
                seen[i] = 1;
                found++;
            }
    }
    free(rd.scratch);
    return found == n_names;
}

int hl__utf8_valid(const char *s, size_t n) { return utf8_valid(s, n); }

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

const char *hl__id_text_problem(const char *s, size_t n)
{
    if (!hl__utf8_valid(s, n))
        return "is not valid UTF-8";
    for (size_t i = 0; i < n; i++)
        if (is_control((unsigned char)s[i]))
            return "holds a control character";
    return NULL;
}

void hl__id_excerpt(char *out, size_t cap, const char *s)
{
    hl__utf8_copy(out, cap, s);
    for (char *p = out; *p; p++)
        if (is_control((unsigned char)*p))
            *p = '?';
}

/* ---- text tables (hl_csv_read_table) ----------------------------------- */

/* A table of text read with the tokenizer above: no roles, no numbers;
 * every field is copied out (the tokenizer's field may live in its
 * scratch buffer) and checked for UTF-8. */
typedef struct table_reader {
    csv_reader rd;
    const char *name;
    const char *const *columns;
    size_t n_columns;
    size_t *slot;   /* header column -> index into columns */
    char **fields;  /* n_columns, the current record's */
    hl_error *err;
} table_reader;

static hl_status table_nomem(table_reader *tr)
{
    return hl__fail_at(tr->err, HL_ERR_NOMEM, tr->name, 0, NULL, 0,
                       "out of memory while reading the CSV");
}

static hl_status table_tok_fail(table_reader *tr, int tok, const char *column,
                                size_t col)
{
    size_t line = tr->rd.err_line;
    switch (tok) {
    case TOK_NUL:
        return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, line, column,
                           col + 1, "NUL byte in the file (binary data, or "
                                    "UTF-16?)");
    case TOK_TOO_LONG:
        return hl__fail_at(tr->err, HL_ERR_LIMIT, tr->name, line, column,
                           col + 1, "field is longer than %zu bytes",
                           tr->rd.max_field);
    case TOK_OPEN_QUOTE:
        return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, line, column,
                           col + 1,
                           "unterminated quoted field: the quote opened here "
                           "is never closed before the end of the file");
    case TOK_AFTER_QUOTE:
        return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, line, column,
                           col + 1,
                           "unexpected text after a closing quote (a quote "
                           "inside a quoted field must be doubled: \"\")");
    default:
        return table_nomem(tr);
    }
}

/* "a, b, c" of the expected columns, for messages. */
static void table_expected(const table_reader *tr, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < tr->n_columns && at < cap; i++) {
        int k = snprintf(out + at, cap - at, "%s%s", i ? "," : "",
                         tr->columns[i]);
        if (k < 0)
            break;
        at += (size_t)k;
    }
}

static hl_status table_header_name(table_reader *tr, const csv_field *f,
                                   size_t col, char *seen)
{
    char ex[64], want[256];
    excerpt(f->text, f->len, ex, sizeof ex);
    table_expected(tr, want, sizeof want);
    if (!utf8_valid(f->text, f->len))
        return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, f->line, ex,
                           col + 1, "column name is not valid UTF-8");
    for (size_t i = 0; i < tr->n_columns; i++) {
        if (strlen(tr->columns[i]) != f->len ||
            memcmp(tr->columns[i], f->text, f->len) != 0)
            continue;
        if (seen[i])
            return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, f->line, ex,
                               col + 1, "duplicate column name '%s'", ex);
        seen[i] = 1;
        if (col < tr->n_columns)
            tr->slot[col] = i;
        return HL_OK;
    }
    return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, f->line, ex, col + 1,
                       "unknown column '%s': the header must be exactly %s",
                       ex, want);
}

static hl_status table_header(table_reader *tr)
{
    char seen[64] = {0};
    char want[256];
    int ended = END_FIELD;
    size_t col = 0;
    table_expected(tr, want, sizeof want);
    if (!hl__csv_skip_blank_lines(&tr->rd))
        return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, 0, NULL, 0,
                           "empty file: expected the header %s", want);
    size_t line = tr->rd.line;
    while (ended == END_FIELD) {
        csv_field f;
        int tok = tok_next(&tr->rd, &f, &ended);
        if (tok != TOK_OK)
            return table_tok_fail(tr, tok, NULL, col);
        /* past n_columns a name is unknown or repeated (every expected
         * one was seen), so table_header_name refuses it */
        hl_status rc = table_header_name(tr, &f, col, seen);
        if (rc != HL_OK)
            return rc;
        col++;
    }
    for (size_t i = 0; i < tr->n_columns; i++)
        if (!seen[i])
            return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, line,
                               tr->columns[i], 0,
                               "missing column '%s': the header must be "
                               "exactly %s", tr->columns[i], want);
    return HL_OK;
}

static hl_status table_field(table_reader *tr, const csv_field *f, size_t col)
{
    const char *column = tr->columns[tr->slot[col]];
    if (!utf8_valid(f->text, f->len))
        return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, f->line, column,
                           col + 1, "field is not valid UTF-8");
    char *s = malloc(f->len + 1);
    if (!s)
        return table_nomem(tr);
    memcpy(s, f->text, f->len);
    s[f->len] = '\0';
    free(tr->fields[tr->slot[col]]);
    tr->fields[tr->slot[col]] = s;
    return HL_OK;
}

static hl_status table_record(table_reader *tr, hl_csv_table_row_fn row,
                              void *arg)
{
    int ended = END_FIELD;
    size_t col = 0, line = tr->rd.line;
    while (ended == END_FIELD) {
        csv_field f;
        const char *column =
            col < tr->n_columns ? tr->columns[tr->slot[col]] : NULL;
        int tok = tok_next(&tr->rd, &f, &ended);
        if (tok != TOK_OK)
            return table_tok_fail(tr, tok, column, col);
        if (col >= tr->n_columns)
            return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, line, NULL,
                               col + 1,
                               "too many fields: the header has %zu (a comma "
                               "inside a field needs quotes)",
                               tr->n_columns);
        hl_status rc = table_field(tr, &f, col);
        if (rc != HL_OK)
            return rc;
        col++;
    }
    if (col < tr->n_columns)
        return hl__fail_at(tr->err, HL_ERR_PARSE, tr->name, line,
                           tr->columns[tr->slot[col]], col + 1,
                           "too few fields: %zu, the header has %zu", col,
                           tr->n_columns);
    return row(arg, (const char *const *)tr->fields, line, tr->err);
}

hl_status hl_csv_read_table(const char *data, size_t len, const char *name,
                            const char *const *columns, size_t n_columns,
                            size_t max_field_bytes, hl_csv_table_row_fn row,
                            void *arg, hl_error *err)
{
    hl_error_clear(err);
    if ((!data && len) || !columns || !row || n_columns == 0 ||
        n_columns > 64)
        return hl__fail(err, HL_ERR_INVALID, "read_table: bad argument");
    table_reader tr = {0};
    tr.name = name ? name : "<memory>";
    tr.columns = columns;
    tr.n_columns = n_columns;
    tr.err = err;
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
        data += 3;
        len -= 3;
    }
    tr.rd.p = data ? data : "";
    tr.rd.end = tr.rd.p + len;
    tr.rd.line = 1;
    tr.rd.max_field = max_field_bytes ? max_field_bytes : DEFAULT_MAX_FIELD;
    tr.slot = calloc(n_columns, sizeof *tr.slot);
    tr.fields = calloc(n_columns, sizeof *tr.fields);
    hl_status rc = tr.slot && tr.fields ? table_header(&tr) : table_nomem(&tr);
    while (rc == HL_OK && hl__csv_skip_blank_lines(&tr.rd))
        rc = table_record(&tr, row, arg);
    if (tr.fields)
        hl__free_strings(tr.fields, n_columns);
    free(tr.slot);
    free(tr.rd.scratch);
    return rc;
}
