// csv.js - turns pasted text into diagnosis rows for POST /diagnoses: CSV
// with a header line (RFC 4180 quoting, comma/semicolon/tab separated), or
// JSON (one object or an array of objects). KPI cells become numbers, empty
// cells null; sample_id and label stay text. Cells that are not numbers are
// sent as they are, so that the server names the row and column in its
// error. Errors thrown here carry a catalogue key and the line. Also a
// class-names CSV into the class_names object of a training job.

const TEXT_COLUMNS = new Set(['sample_id', 'label']);
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null']); // as the CLI (docs/cli.md)

export class PasteError extends Error {
  constructor(key, params = {}) {
    super(key);
    this.key = key;
    this.params = params;
  }
}

/* Splits CSV text into records of fields, honouring quotes. */
export function parseCsv(text, sep = ',') {
  const records = [];
  let row = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') quoted = false;
      else { if (ch === '\n') line++; cell += ch; }
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === sep) { row.push(cell); cell = ''; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      records.push({ fields: row, line: rowLine });
      row = [];
      cell = '';
      line++;
      rowLine = line;
    } else cell += ch;
  }
  if (quoted) throw new PasteError('paste.err.quote', { line: rowLine });
  if (cell !== '' || row.length) { row.push(cell); records.push({ fields: row, line: rowLine }); }
  return records.filter((r) => !(r.fields.length === 1 && r.fields[0].trim() === ''));
}

function guessSeparator(firstLine) {
  const counts = [',', ';', '\t'].map((s) => [s, firstLine.split(s).length]);
  counts.sort((a, b) => b[1] - a[1]);
  return counts[0][1] > 1 ? counts[0][0] : ',';
}

function cellValue(column, raw) {
  const v = raw.trim();
  if (TEXT_COLUMNS.has(column)) return v === '' ? null : v;
  if (MISSING.has(v.toLowerCase())) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

/* CSV text with a header line -> [{column: value}] */
export function rowsFromCsv(text) {
  const sep = guessSeparator(text.split(/\r?\n/, 1)[0] || '');
  const records = parseCsv(text.replace(/^\uFEFF/, ''), sep);
  if (records.length < 2) throw new PasteError('paste.err.noRows');
  const header = records[0].fields.map((c) => c.trim());
  if (header.some((c) => c === '')) throw new PasteError('paste.err.emptyHeader', { line: records[0].line });
  const dup = header.find((c, i) => header.indexOf(c) !== i);
  if (dup) throw new PasteError('paste.err.dupHeader', { column: dup });
  return records.slice(1).map((r) => {
    if (r.fields.length !== header.length) {
      throw new PasteError('paste.err.fields', { line: r.line, expected: header.length, got: r.fields.length });
    }
    const row = {};
    header.forEach((c, i) => { row[c] = cellValue(c, r.fields[i]); });
    return row;
  });
}

/* JSON text: an object or an array of objects. */
export function rowsFromJson(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PasteError('paste.err.json', { message: e.message });
  }
  const rows = Array.isArray(data) ? data : [data];
  if (!rows.length) throw new PasteError('paste.err.noRows');
  const bad = rows.findIndex((r) => !r || typeof r !== 'object' || Array.isArray(r));
  if (bad >= 0) throw new PasteError('paste.err.notObject', { row: bad + 1 });
  return rows;
}

/* Either form, decided by the first character. */
export function rowsFromPaste(text) {
  const s = text.trim();
  if (!s) throw new PasteError('paste.err.empty');
  return s[0] === '{' || s[0] === '[' ? rowsFromJson(s) : rowsFromCsv(s);
}

/* A class-names CSV (header exactly label,name,description,action, in any
 * order; `healer train --class-names`, docs/cli.md) -> the class_names
 * object of a training job ({LABEL: {name, description, action}}). The
 * shape is checked here, line by line; the rules of a name (required,
 * lengths, one line) are the server's, which names the field it refuses. */
const CLASS_NAME_COLUMNS = ['label', 'name', 'description', 'action'];

export function classNamesFromCsv(text) {
  const records = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!records.length) throw new PasteError('classNames.csv.empty');
  const header = records[0].fields.map((f) => f.trim());
  for (const c of header) if (!CLASS_NAME_COLUMNS.includes(c)) throw new PasteError('classNames.csv.unknown', { column: c, line: 1 });
  for (const c of CLASS_NAME_COLUMNS) if (header.filter((x) => x === c).length !== 1) throw new PasteError('classNames.csv.missing', { column: c, line: 1 });
  const out = {};
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.length) throw new PasteError('classNames.csv.fields', { line: r.line, n: header.length });
    const v = Object.fromEntries(header.map((c, i) => [c, r.fields[i].trim()]));
    if (!v.label) throw new PasteError('classNames.csv.noLabel', { line: r.line });
    if (out[v.label]) throw new PasteError('classNames.csv.twice', { line: r.line, label: v.label });
    out[v.label] = { name: v.name, description: v.description, action: v.action };
  }
  return out;
}
