// test_i18n.mjs - the message catalogues of the web UI (web/src/i18n/),
// without a browser: Node's standard library only.
//
// What:
//   - same_keys: every key of the English catalogue (the reference one) is
//     in the Chinese one and the other way round; plural forms count as one
//     key (Chinese has only ".other", English ".one" and ".other");
//   - same_placeholders: a message and its translation use the same {name}
//     placeholders, so no translation drops a number the page fills in;
//   - no_empty_messages: no message is empty (a separator such as
//     train.paramHelpGap, which Chinese leaves empty, excepted: its key
//     ends in "Gap");
//   - every_status_code_has_a_message: every error code the API's status
//     table answers (STATUS_MAP in src/service/http/http.c) has its
//     'error.code.CODE' message, so a new code is not shown as "something
//     went wrong".
// Why: i18n.js falls back to English (then to the key) for a missing key, so
// a gap never breaks a page and would go unseen; this makes it seen.
//
// Output: cmocka's lines, counted by tests/run.sh; exit status 1 on any
// failure. Run: node tests/web/test_i18n.mjs

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChecks } from './checks.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/* Imported from their text (a catalogue imports nothing), so that Node
 * does not look for a package type and warn. */
const load = async (name) => {
  const text = fs.readFileSync(path.join(ROOT, 'web/src/i18n', name), 'utf8');
  return (await import('data:text/javascript;charset=utf-8,' + encodeURIComponent(text))).default;
};

const en = await load('en.js');
const zh = await load('zh-CN.js');

/* 'rows.one' and 'rows.other' -> 'rows'. */
const base = (key) => key.replace(/\.(zero|one|two|few|many|other)$/, '');
const placeholders = (msg) => [...new Set(msg.match(/\{\w+\}/g) || [])].sort().join(' ');

function messagesByBase(cat) {
  const out = new Map();
  for (const [k, v] of Object.entries(cat)) {
    if (!out.has(base(k))) out.set(base(k), []);
    out.get(base(k)).push(v);
  }
  return out;
}

const EN = messagesByBase(en);
const ZH = messagesByBase(zh);

const tests = {
  same_keys() {
    const missing = [...EN.keys()].filter((k) => !ZH.has(k));
    const extra = [...ZH.keys()].filter((k) => !EN.has(k));
    return [...missing.map((k) => `zh-CN lacks ${k}`), ...extra.map((k) => `zh-CN has ${k}, English does not`)];
  },
  same_placeholders() {
    const out = [];
    for (const [k, msgs] of EN) {
      if (!ZH.has(k)) continue;
      const want = placeholders(msgs.join(' '));
      const got = placeholders(ZH.get(k).join(' '));
      if (want !== got) out.push(`${k}: English uses {${want}}, zh-CN {${got}}`);
    }
    return out;
  },
  every_status_code_has_a_message() {
    const http = fs.readFileSync(path.join(ROOT, 'src/service/http/http.c'), 'utf8');
    const table = http.slice(http.indexOf('STATUS_MAP[] = {'), http.indexOf('};', http.indexOf('STATUS_MAP[] = {')));
    const codes = [...table.matchAll(/\{HS_ERR_\w+,\s*\d+,\s*"(\w+)"\}/g)].map((m) => m[1]);
    if (codes.length < 5) return [`read only ${codes.length} codes from http.c's STATUS_MAP`];
    return codes.filter((c) => !(`error.code.${c}` in en)).map((c) => `no message for the API's error code ${c}`);
  },
  no_empty_messages() {
    return [...Object.entries(en), ...Object.entries(zh)]
      .filter(([k, v]) => typeof v !== 'string' || (!v.trim() && !k.endsWith('Gap')))
      .map(([k]) => `${k} is empty`);
  },
};

runChecks(tests);
