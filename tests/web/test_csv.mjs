// test_csv.mjs - the class-names CSV of the training form (web/src/csv.js
// classNamesFromCsv), without a browser.
//
// What: a file as `healer train --class-names` reads it (BOM, CRLF, quoted
// commas and quotes, columns in any order, empty description and action)
// becomes {LABEL: {name, description, action}}; every refusal of its shape
// (empty file, unknown or missing column, a wrong field count, an empty or
// repeated label, an open quote) throws the catalogue key with its line.
// The rules of a name itself are the server's (one definition).
//
// Output: cmocka's lines, counted by tests/run.sh. Run: node tests/web/test_csv.mjs

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const text = fs.readFileSync(path.join(ROOT, 'web/src/csv.js'), 'utf8');
const { classNamesFromCsv } = await import('data:text/javascript;charset=utf-8,' + encodeURIComponent(text));

const problems = [];
const good = classNamesFromCsv('\uFEFFname,label,action,description\r\n'
  + '"Disk, full",1,"run ""df -h""",\r\n'
  + 'CPU hog,2,,"one line"\r\n');
const want = { 1: { name: 'Disk, full', description: '', action: 'run "df -h"' }, 2: { name: 'CPU hog', description: 'one line', action: '' } };
if (JSON.stringify(good) !== JSON.stringify(want)) problems.push(`read ${JSON.stringify(good)}, expected ${JSON.stringify(want)}`);
if (JSON.stringify(classNamesFromCsv('label,name,description,action\n')) !== '{}') problems.push('a header alone names nothing');

const refusals = [
  ['', 'classNames.csv.empty', undefined],
  ['label,name,description\n1,a,b\n', 'classNames.csv.missing', 1],
  ['label,name,description,action,owner\n', 'classNames.csv.unknown', 1],
  ['label,name,name,description,action\n', 'classNames.csv.missing', 1],
  ['label,name,description,action\n1,a,b\n', 'classNames.csv.fields', 2],
  ['label,name,description,action\n,a,b,c\n', 'classNames.csv.noLabel', 2],
  ['label,name,description,action\n1,a,,\n\n1,b,,\n', 'classNames.csv.twice', 4],
  ['label,name,description,action\n1,"a,b,c\n', 'paste.err.quote', 2],
];
for (const [csv, key, line] of refusals) {
  try {
    classNamesFromCsv(csv);
    problems.push(`${JSON.stringify(csv)} was accepted`);
  } catch (e) {
    if (e.key !== key || e.params?.line !== line) problems.push(`${JSON.stringify(csv)}: ${e.key} line ${e.params?.line}, expected ${key} line ${line}`);
  }
}

console.log('[==========] Running 1 test(s).\n[ RUN      ] class_names_csv');
for (const p of problems) console.log(`    ${p}`);
console.log(problems.length
  ? '[  FAILED  ] class_names_csv\n[==========] 1 test(s) run.\n[  PASSED  ] 0 test(s).\n[  FAILED  ] 1 test(s), listed below:\n[  FAILED  ] class_names_csv'
  : '[       OK ] class_names_csv\n[==========] 1 test(s) run.\n[  PASSED  ] 1 test(s).');
process.exit(problems.length ? 1 : 0);
