// test_imports.mjs - checks the module structure of the web UI (web/src),
// without a browser: Node's standard library only.
//
// What: every ES module under web/src is lexed (comments, strings, template
// literals and regular expressions told apart, so that a '/api/' inside a
// comment or a regex is no URL), and
//   - imports_resolve: every `import ... from`, `export ... from` and
//     dynamic `import()` (a template like `./pages/${name}.js` stands for
//     the files it can match) leads to a module of web/src, every name
//     imported by name is exported there, and no module lies where the
//     server answers itself (/api/..., /metrics);
//   - no_import_cycles: the graph of those imports, dynamic ones included,
//     has no cycle (a cycle is printed as a path a -> b -> a);
//   - no_urls_outside_api: no string or template literal outside
//     web/src/client/ (the API clients) holds '/api/' or a resource path
//     ('/datasets', '/auth/...': the first segments of the paths the clients
//     use, and the documented resources), and no module outside client/
//     calls fetch, XMLHttpRequest or sendBeacon: only the clients talk to
//     the server, and client/http.js, the machinery they share, names no
//     resource itself;
//   - pages_use_ctx: nothing imports app.js; pages and views import no API
//     client, no session.js or prefs.js and no page (they get those through
//     the ctx that app.js builds); the clients import only client/;
//   - scanner_self_test: the checks above find a planted cycle, a planted
//     URL and a missing export in a small made-up tree, and pass over the
//     look-alikes (hash routes, regexes, comments), so that a silent lexer
//     cannot pass the real tree by finding nothing.
//
// Output: cmocka's lines ("[  PASSED  ] N test(s)." and "[  FAILED  ] N
// test(s), listed below:"), counted by tests/run.sh; exit status 1 on any
// failure. Run: node tests/web/test_imports.mjs [web/src]

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SRC = path.resolve(ROOT, process.argv[2] || 'web/src');

// Resources of docs/api.md; the paths used in client/*.js are added to these.
const RESOURCES = ['api', 'auth', 'setup', 'users', 'notifications', 'datasets', 'jobs', 'models',
  'diagnoses', 'algorithms', 'health', 'metrics'];
const NETWORK = new Set(['fetch', 'XMLHttpRequest', 'sendBeacon', 'EventSource', 'WebSocket']);

// --------------------------------------------------------------------------
// the lexer: tokens {type: 'id'|'num'|'str'|'tpl'|'regex'|'punct', value, line}

const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete',
  'void', 'throw', 'yield', 'await', 'instanceof']);
const isIdStart = (c) => /[A-Za-z_$\u0080-\uffff]/.test(c);
const isIdPart = (c) => /[\w$\u0080-\uffff]/.test(c);

export function lex(src, file = '<input>') {
  const tokens = [];
  const holes = []; // open ${ } of templates: {tpl, depth}
  let i = 0;
  let line = 1;
  const n = src.length;
  const fail = (msg) => { throw new Error(`${file}:${line}: ${msg}`); };
  const prevSignificant = () => tokens[tokens.length - 1];
  const regexAllowed = () => {
    const p = prevSignificant();
    if (!p) return true;
    if (p.type === 'punct') return !(p.value === ')' || p.value === ']' || p.value === '}');
    if (p.type === 'id') return REGEX_AFTER_WORD.has(p.value);
    return false;
  };
  /* Reads template text from i (after ` or }) up to ` or ${. */
  const templateText = (tpl) => {
    let text = '';
    while (i < n) {
      const c = src[i];
      if (c === '\\') { text += src[i + 1] === undefined ? '' : src[i + 1]; if (src[i + 1] === '\n') line++; i += 2; continue; }
      if (c === '`') {
        i++;
        tpl.quasis.push(text);
        // what follows a template is an operand's end: a / there divides
        tokens.push({ type: 'punct', value: ')', line, synthetic: true });
        return;
      }
      if (c === '$' && src[i + 1] === '{') {
        i += 2;
        tpl.quasis.push(text);
        holes.push({ tpl, depth: 0 });
        return;
      }
      if (c === '\n') line++;
      text += c;
      i++;
    }
    fail('unterminated template literal');
  };
  while (i < n) {
    const c = src[i];
    if (c === '\n') { line++; i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (c === '/' && src[i + 1] === '/') { while (i < n && src[i] !== '\n') i++; continue; }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated comment');
      for (let k = i; k < end; k++) if (src[k] === '\n') line++;
      i = end + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      const start = line;
      let text = '';
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\n') fail('newline in a string literal');
        if (src[i] === '\\') { text += src[i + 1]; i += 2; continue; }
        text += src[i++];
      }
      if (i >= n) fail('unterminated string literal');
      i++;
      tokens.push({ type: 'str', value: text, line: start });
      continue;
    }
    if (c === '`') {
      const tpl = { type: 'tpl', quasis: [], line };
      tokens.push(tpl);
      i++;
      templateText(tpl);
      continue;
    }
    if (c === '{' && holes.length) holes[holes.length - 1].depth++;
    if (c === '}' && holes.length) {
      const hole = holes[holes.length - 1];
      if (hole.depth === 0) {
        holes.pop();
        i++;
        templateText(hole.tpl);
        continue;
      }
      hole.depth--;
    }
    if (c === '/' && regexAllowed()) {
      const start = line;
      let body = '';
      let inClass = false;
      i++;
      while (i < n) {
        const d = src[i];
        if (d === '\n') fail('newline in a regular expression');
        if (d === '\\') { body += d + src[i + 1]; i += 2; continue; }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        body += d;
        i++;
      }
      i++;
      while (i < n && /[a-z]/.test(src[i])) i++;
      tokens.push({ type: 'regex', value: body, line: start });
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdPart(src[j])) j++;
      tokens.push({ type: 'id', value: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] || ''))) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(src[j])) j++;
      tokens.push({ type: 'num', value: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (c === '.' && src[i + 1] === '.' && src[i + 2] === '.') {
      tokens.push({ type: 'punct', value: '...', line });
      i += 3;
      continue;
    }
    tokens.push({ type: 'punct', value: c, line });
    i++;
  }
  if (holes.length) fail('unterminated template expression');
  // The synthetic ')' after templates only steered the regex rule.
  return tokens.filter((tk) => !tk.synthetic);
}

// --------------------------------------------------------------------------
// modules: imports and exports from the tokens

const isPunct = (tk, v) => tk && tk.type === 'punct' && tk.value === v;
const isId = (tk, v) => tk && tk.type === 'id' && (v === undefined || tk.value === v);

/* Reads `{ a, b as c }` from tokens[j] ('{'); returns [pairs, next index],
 * pairs as [name in the module, local or exported alias]. */
function braceList(tokens, j) {
  const pairs = [];
  j++;
  while (j < tokens.length && !isPunct(tokens[j], '}')) {
    const tk = tokens[j];
    if (tk.type === 'id' || tk.type === 'str') {
      const name = tk.value;
      let alias = name;
      if (isId(tokens[j + 1], 'as')) { alias = tokens[j + 2].value; j += 2; }
      pairs.push([name, alias]);
    }
    j++;
  }
  return [pairs, j + 1];
}

/* {imports: [{spec, names: [...], dynamic, pattern, line}], exports: Set, star: bool, tokens} */
export function parseModule(src, file) {
  const tokens = lex(src, file);
  const imports = [];
  const exports = new Set();
  let star = false;
  for (let i = 0; i < tokens.length; i++) {
    const tk = tokens[i];
    const prev = tokens[i - 1];
    if (isId(tk, 'import') && !isPunct(prev, '.')) {
      const next = tokens[i + 1];
      if (isPunct(next, '(')) { // dynamic import
        const arg = tokens[i + 2];
        if (arg) arg.spec = true;
        if (arg && arg.type === 'str') imports.push({ spec: arg.value, names: [], dynamic: true, line: tk.line });
        else if (arg && arg.type === 'tpl') imports.push({ spec: arg.quasis.join('*'), pattern: arg.quasis.length > 1, names: [], dynamic: true, line: tk.line });
        else imports.push({ spec: null, names: [], dynamic: true, line: tk.line });
        continue;
      }
      if (isPunct(next, '.')) continue; // import.meta
      const names = [];
      let j = i + 1;
      if (tokens[j]?.type === 'str') {
        tokens[j].spec = true;
        imports.push({ spec: tokens[j].value, names, line: tk.line });
        continue;
      }
      if (isId(tokens[j]) && !isId(tokens[j], 'from')) { names.push('default'); j++; }
      if (isPunct(tokens[j], ',')) j++;
      if (isPunct(tokens[j], '*')) j += 3; // * as ns
      else if (isPunct(tokens[j], '{')) {
        const [pairs, k] = braceList(tokens, j);
        names.push(...pairs.map(([name]) => name));
        j = k;
      }
      if (isId(tokens[j], 'from') && tokens[j + 1]?.type === 'str') {
        tokens[j + 1].spec = true;
        imports.push({ spec: tokens[j + 1].value, names, line: tk.line });
      }
      continue;
    }
    if (isId(tk, 'export') && !isPunct(prev, '.')) {
      let j = i + 1;
      const next = tokens[j];
      if (isId(next, 'default')) { exports.add('default'); continue; }
      if (isPunct(next, '*')) {
        j++;
        if (isId(tokens[j], 'as')) { exports.add(tokens[j + 1].value); j += 2; } else star = true;
        if (isId(tokens[j], 'from') && tokens[j + 1]?.type === 'str') {
          tokens[j + 1].spec = true;
          imports.push({ spec: tokens[j + 1].value, names: [], line: tk.line });
        }
        continue;
      }
      if (isPunct(next, '{')) {
        const [pairs, k] = braceList(tokens, j);
        for (const [, alias] of pairs) exports.add(alias);
        if (isId(tokens[k], 'from') && tokens[k + 1]?.type === 'str') {
          tokens[k + 1].spec = true;
          imports.push({ spec: tokens[k + 1].value, names: pairs.map(([name]) => name), line: tk.line });
        }
        continue;
      }
      if (isId(next, 'async')) j++;
      const kw = tokens[j];
      if (isId(kw, 'function') || isId(kw, 'class') || isId(kw, 'const') || isId(kw, 'let') || isId(kw, 'var')) {
        j++;
        if (isPunct(tokens[j], '*')) j++;
        if (isId(tokens[j])) exports.add(tokens[j].value);
        else if (isPunct(tokens[j], '{')) for (const [, alias] of braceList(tokens, j)[0]) exports.add(alias);
      }
    }
  }
  return { imports, exports, star, tokens };
}

// --------------------------------------------------------------------------
// the tree

/* Every .js/.mjs file under dir: {'pages/train.js': source, ...}. */
export function readTree(dir) {
  const files = {};
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.m?js$/.test(e.name)) files[path.relative(dir, p).split(path.sep).join('/')] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return files;
}

const globRe = (pattern) => new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '$');

/* The files (relative to the tree) that an import from `from` can load. */
function resolveSpec(from, imp, names) {
  if (imp.spec === null) return { error: 'a dynamic import() of a computed value' };
  const spec = imp.spec.replace(/[?#].*$/, '');
  if (!spec.startsWith('./') && !spec.startsWith('../')) return { error: `'${imp.spec}' is not a relative path into web/src` };
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  if (target.startsWith('../')) return { error: `'${imp.spec}' leads out of web/src` };
  if (imp.pattern) {
    const re = globRe(target);
    const found = names.filter((f) => re.test(f));
    return found.length ? { files: found } : { error: `no module matches '${imp.spec}'` };
  }
  return names.includes(target) ? { files: [target] } : { error: `'${imp.spec}' (${target}) does not exist` };
}

/* {modules: {file: parsed}, edges: {file: [file...]}, problems: [...]} */
export function analyse(files) {
  const modules = {};
  const problems = [];
  for (const [f, src] of Object.entries(files)) {
    try {
      modules[f] = parseModule(src, f);
    } catch (e) {
      problems.push(`cannot lex ${e.message}`);
      modules[f] = { imports: [], exports: new Set(), star: true, tokens: [] };
    }
  }
  const names = Object.keys(files);
  for (const f of names) {
    if (SHADOWED.test(f)) problems.push(`${f}: the server answers /${f} itself (the REST API), so this module can never load`);
  }
  const edges = {};
  for (const [f, m] of Object.entries(modules)) {
    edges[f] = [];
    for (const imp of m.imports) {
      const r = resolveSpec(f, imp, names);
      if (r.error) { problems.push(`${f}:${imp.line}: ${r.error}`); continue; }
      for (const target of r.files) {
        if (!edges[f].includes(target)) edges[f].push(target);
        const t = modules[target];
        if (t && !t.star) {
          for (const name of imp.names) {
            if (!t.exports.has(name)) problems.push(`${f}:${imp.line}: imports '${name}' from ${target}, which does not export it`);
          }
        }
      }
    }
  }
  return { modules, edges, problems };
}

/* The cycles of the graph: per strongly connected component (Tarjan) its
 * members and one closed path through it, e.g. {path: ['app.js',
 * 'pages/login.js', 'app.js'], members: ['app.js', 'pages/login.js', ...]}. */
export function cycles(edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); on.add(v);
    for (const w of edges[v] || []) {
      if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v), low.get(w))); } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do { w = stack.pop(); on.delete(w); comp.push(w); } while (w !== v);
      if (comp.length > 1 || (edges[v] || []).includes(v)) out.push({ path: cyclePath(comp, edges), members: comp.sort() });
    }
  };
  for (const v of Object.keys(edges).sort()) if (!idx.has(v)) strong(v);
  return out;
}

/* A closed path through the component: a breadth-first search back to its first node. */
function cyclePath(comp, edges) {
  const inComp = new Set(comp);
  const start = [...comp].sort()[0];
  const from = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of edges[v] || []) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const p = [start];
        for (let u = v; u !== null && u !== start; u = from.get(u)) p.splice(1, 0, u);
        if (v === start) return [start, start];
        return [...p, start];
      }
      if (!from.has(w)) { from.set(w, v); queue.push(w); }
    }
  }
  return [...comp, comp[0]];
}

// The API clients' folder. Not api/: the server answers every path under
// /api/ (and /metrics) itself, so no static file can live there.
const CLIENTS = 'client/';
const inApi = (f) => f.startsWith(CLIENTS);
const SHADOWED = /^(api\/|api$|metrics$)/;

/* The first segments of the paths the API clients use ('/datasets/...'). */
function resourceNames(modules) {
  const found = new Set(RESOURCES);
  for (const [f, m] of Object.entries(modules)) {
    if (!inApi(f)) continue;
    for (const tk of m.tokens) {
      const text = tk.type === 'str' ? tk.value : tk.type === 'tpl' ? tk.quasis[0] : null;
      const mm = text && /^\/([a-z][\w-]*)/.exec(text);
      if (mm) found.add(mm[1]);
    }
  }
  return found;
}

/* The literals of a module that look like URLs of the server: [{line, text}].
 * A path counts where it starts the literal or follows a space, quote,
 * '=' or '(' - not after '#' (a client route like '#/datasets/3') or '.'
 * (a module path like './pages/'). skip: resource names to let pass. */
function urlLiterals(m, resources, skip = new Set()) {
  const names = [...resources].filter((r) => !skip.has(r));
  if (!names.length) return [];
  const re = new RegExp(`(^|[\\s'"=(])/(${names.join('|')})(?=[/?#'"\`)\\s]|$)`);
  const out = [];
  for (const tk of m.tokens) {
    if (tk.spec) continue; // a module specifier ('./client/http.js')
    if (tk.type === 'str' && (re.test(tk.value) || (!skip.has('api') && tk.value.includes('/api/')))) out.push({ line: tk.line, text: tk.value });
    if (tk.type === 'tpl') {
      const text = tk.quasis.join('${…}');
      if (tk.quasis.some((q) => re.test(q)) || (!skip.has('api') && text.includes('/api/'))) out.push({ line: tk.line, text: `\`${text}\`` });
    }
  }
  return out;
}

/* What a module outside client/ must not do: the URLs and the network calls. */
export function urlProblems(modules) {
  const resources = resourceNames(modules);
  const problems = [];
  for (const [f, m] of Object.entries(modules)) {
    if (inApi(f) && f !== 'client/http.js') continue;
    // client/http.js names the base ('/api/v1') and no resource
    const skip = f === 'client/http.js' ? new Set(['api']) : new Set();
    for (const u of urlLiterals(m, resources, skip)) {
      problems.push(`${f}:${u.line}: ${f === 'client/http.js' ? 'a resource path in the shared machinery' : 'a URL of the server outside web/src/client/'}: ${JSON.stringify(u.text)}`);
    }
    if (inApi(f)) continue;
    m.tokens.forEach((tk, k) => {
      if (tk.type === 'id' && NETWORK.has(tk.value) && !isPunct(m.tokens[k - 1], '.')) {
        problems.push(`${f}:${tk.line}: ${tk.value} outside web/src/client/ (only the API clients talk to the server)`);
      } else if (tk.type === 'id' && tk.value === 'sendBeacon') {
        problems.push(`${f}:${tk.line}: sendBeacon outside web/src/client/`);
      }
    });
  }
  return problems;
}

/* Who may import whom (see the header). */
export function layerProblems(edges) {
  const problems = [];
  const isPage = (f) => f.startsWith('pages/');
  const isView = (f) => f.startsWith('views/');
  for (const [f, targets] of Object.entries(edges)) {
    for (const t of targets) {
      if (t === 'app.js') problems.push(`${f} imports app.js (pages get what they need through ctx)`);
      if ((isPage(f) || isView(f)) && (inApi(t) || t === 'session.js' || t === 'prefs.js')) {
        problems.push(`${f} imports ${t}: ${isPage(f) ? 'a page' : 'a view'} gets the clients, the session and the preferences through ctx`);
      }
      if ((isPage(f) || isView(f)) && isPage(t)) problems.push(`${f} imports the page ${t}: shared parts belong in views/`);
      if (inApi(f) && !inApi(t) && !(f === 'client/http.js' && (t === 'connection.js' || t === 'tasks.js'))) {
        problems.push(`${f} imports ${t}: the API clients import only client/ (client/http.js also connection.js and tasks.js)`);
      }
    }
  }
  return problems;
}

// --------------------------------------------------------------------------
// the tests

function checkTree(files) {
  const a = analyse(files);
  return {
    resolve: a.problems,
    cycles: cycles(a.edges).map((c) => `cycle: ${c.path.join(' -> ')}`
      + (c.members.length > c.path.length - 1 ? ` (the modules ${c.members.join(', ')} all reach each other)` : '')),
    urls: urlProblems(a.modules),
    layers: layerProblems(a.edges),
  };
}

function selfTest() {
  const made = {
    'app.js': "import { x } from './client/http.js';\nconst load = (n) => import(`./pages/${n}.js`);\n"
      + "const re = /^\\/api\\/datasets$/; // '/api/v1/jobs' in a comment\n/* fetch('/datasets') */\nconst home = '#/datasets/3';\n",
    'client/http.js': "export const x = 1;\nexport const BASE = '/api/v1';\nconst d = 10 / 2 / 5;\n",
    'client/models.js': "import { x } from './http.js';\nexport const list = () => `/models/${x}/download`;\n",
    'pages/a.js': "import { nothing } from '../client/http.js';\nimport { go } from '../app.js';\nexport const u = `${'x'}` + `x${'/api/v1/health'}`;\n",
    'pages/b.js': "import './a.js';\nconst link = `#/models/${1}`;\nconst m = './views/x.js';\nfetch(link);\nexport default 1;\n",
  };
  const r = checkTree(made);
  const problems = [];
  const expect = (what, cond) => { if (!cond) problems.push(`self test: ${what}`); };
  expect(`the dynamic import cycle app.js -> pages/a.js -> app.js is found (found ${JSON.stringify(r.cycles)})`,
    r.cycles.some((c) => c.includes('app.js') && c.includes('pages/a.js')));
  expect(`the missing export 'nothing' is found (found ${JSON.stringify(r.resolve)})`, r.resolve.some((p) => p.includes("'nothing'")));
  expect(`the missing export 'go' of app.js is found (found ${JSON.stringify(r.resolve)})`, r.resolve.some((p) => p.includes("'go'")));
  expect(`the URL in a template expression is found (found ${JSON.stringify(r.urls)})`, r.urls.some((p) => p.startsWith('pages/a.js:3:') && p.includes('/api/v1/health')));
  expect(`fetch outside client/ is found (found ${JSON.stringify(r.urls)})`, r.urls.some((p) => p.startsWith('pages/b.js:4:') && p.includes('fetch')));
  expect(`regexes, comments, hash routes and module paths are no URLs (found ${JSON.stringify(r.urls)})`,
    !r.urls.some((p) => p.startsWith('app.js') || p.startsWith('pages/b.js:2:') || p.startsWith('pages/b.js:3:')));
  expect(`the clients' own paths pass (found ${JSON.stringify(r.urls)})`, !r.urls.some((p) => p.startsWith('client/')));
  expect(`a page importing app.js and a client is found (found ${JSON.stringify(r.layers)})`,
    r.layers.some((p) => p.startsWith('pages/a.js imports app.js')) && r.layers.some((p) => p.startsWith('pages/a.js imports client/http.js')));
  const planted = checkTree({ ...made, 'client/http.js': made['client/http.js'] + "export const bad = () => '/datasets';\n" });
  expect(`a resource path in client/http.js is found (found ${JSON.stringify(planted.urls)})`, planted.urls.some((p) => p.startsWith('client/http.js:4:')));
  const shadowed = checkTree({ ...made, 'api/x.js': 'export const y = 2;\n' });
  expect(`a module under api/ is found (found ${JSON.stringify(shadowed.resolve)})`, shadowed.resolve.some((p) => p.startsWith('api/x.js')));
  return problems;
}

const tree = readTree(SRC);
const result = checkTree(tree);
const TESTS = [
  ['imports_resolve', () => result.resolve],
  ['no_import_cycles', () => result.cycles],
  ['no_urls_outside_api', () => result.urls],
  ['pages_use_ctx', () => result.layers],
  ['scanner_self_test', selfTest],
];

console.log(`[==========] Running ${TESTS.length} test(s).`);
console.log(`(${Object.keys(tree).length} modules under ${path.relative(ROOT, SRC) || SRC})`);
const failed = [];
for (const [name, fn] of TESTS) {
  console.log(`[ RUN      ] ${name}`);
  let problems;
  try {
    problems = fn();
  } catch (e) {
    problems = [e.stack || String(e)];
  }
  if (problems.length) {
    for (const p of problems) console.log(`    ${p}`);
    console.log(`[  FAILED  ] ${name}`);
    failed.push(name);
  } else {
    console.log(`[       OK ] ${name}`);
  }
}
console.log(`[==========] ${TESTS.length} test(s) run.`);
console.log(`[  PASSED  ] ${TESTS.length - failed.length} test(s).`);
if (failed.length) {
  console.log(`[  FAILED  ] ${failed.length} test(s), listed below:`);
  for (const n of failed) console.log(`[  FAILED  ] ${n}`);
  console.log(`\n ${failed.length} FAILED TEST(S)`);
}
process.exitCode = failed.length ? 1 : 0;
