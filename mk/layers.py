#!/usr/bin/env python3
"""layers.py OBJ_DIR SRC_DIR - checks the architecture on the built objects.

What docs/architecture.md promises, verified on what was actually compiled:
  1. no dependency cycle between source files (a file depends on another
     when its object uses a symbol the other defines, read with `nm`);
  2. no cycle between folders;
  3. every folder depends only on the folders below it (LAYERS);
  4. the includes keep to the same rules (the store's interface is
     static inline, so a handler calling it leaves no symbol behind:
     includes are what show it);
  5. the engine knows its learners only through the registry: no object
     outside src/core/learners/NAME/ uses a symbol defined there, except
     src/core/learners/registry.c, and no learner uses another's.
Prints one line per check in cmocka's style ("[  PASSED  ] N test(s)." at
the end) so tests/run.sh counts it like the other suites; exits 1 on any
failure. Objects whose source file is gone (a stale build) are skipped.
"""
import os
import re
import subprocess
import sys

# folder -> folders it may depend on (besides itself). The engine sees
# nothing of the service; the service's layers point one way: http ->
# domain -> store / blob / notify -> base; server assembles them; the CLI
# is on top.
LAYERS = {
    'core': {'core'},
    'service/base': {'core'},
    'service/pg': {'service/base'},
    'service/blob': {'service/base', 'service/pg'},
    'service/store': {'service/base', 'service/pg'},
    'service/notify': {'service/base'},
    'service/domain': {'service/base', 'service/blob', 'service/store',
                       'service/notify', 'core'},
    'service/http': {'service/base', 'service/blob', 'service/domain', 'core'},
    'service/server': {'service/base', 'service/pg', 'service/blob', 'service/store',
                       'service/notify', 'service/domain', 'service/http',
                       'core'},
    'cli': {'service/base', 'service/pg', 'service/blob', 'service/store', 'service/notify',
            'service/domain', 'service/http', 'service/server', 'core'},
}

# Headers a folder may include although their folder is out of its reach:
# the record types handlers render (not the store's operations).
INCLUDE_EXCEPTIONS = {
    'service/http': {'store/records.h'},
}


REGISTRY = 'core/learners/registry.o'


def learner_of(rel):
    """'core/learners/gbdt/boost.o' -> 'gbdt'; None outside a learner."""
    parts = rel.split('/')
    if len(parts) > 3 and parts[0] == 'core' and parts[1] == 'learners':
        return parts[2]
    return None


def folder_of(rel):
    """'service/domain/jobs.o' -> 'service/domain'; 'core/learners/gbdt/x.o' -> 'core'."""
    parts = rel.split('/')
    if parts[0] == 'service' and len(parts) > 2:
        return 'service/' + parts[1]
    return parts[0]


def objects(root, src):
    out = []
    for d, _, fs in os.walk(root):
        for f in fs:
            if not f.endswith('.o'):
                continue
            o = os.path.join(d, f)
            rel = os.path.relpath(o, root)
            if os.path.exists(os.path.join(src, rel[:-2] + '.c')):
                out.append(rel)
    return sorted(out)


def symbol_graph(root, objs):
    defs, uses = {}, {}
    for rel in objs:
        text = subprocess.run(['nm', os.path.join(root, rel)], capture_output=True,
                              text=True, check=True).stdout
        u = set()
        for line in text.splitlines():
            p = line.split()
            if len(p) == 2 and p[0] == 'U':
                u.add(p[1])
            elif len(p) == 3 and p[1] in 'TDBR':
                defs.setdefault(p[2], rel)
        uses[rel] = u
    return {o: {defs[s] for s in uses[o] if s in defs and defs[s] != o} for o in objs}


def sccs(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    sys.setrecursionlimit(100000)
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def include_edges(src):
    """(file, folder it includes from) for every quoted include under src."""
    edges = []
    for d, _, fs in os.walk(src):
        for f in fs:
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, src)
            for inc in INCLUDE_RE.findall(open(path, encoding='utf-8').read()):
                if inc.startswith('healer/'):
                    target = 'core'  # the engine's public headers
                elif rel.startswith('service/') or rel.startswith('cli/'):
                    if '/' in inc:
                        target = 'service/' + inc.split('/')[0]
                    else:
                        target = folder_of(rel)  # a header beside it
                else:
                    target = 'core'
                edges.append((rel, inc, target))
    return edges


def main():
    root, src = sys.argv[1], sys.argv[2]
    objs = objects(root, src)
    results = []

    graph = symbol_graph(root, objs)
    cyc = sccs(graph)
    results.append(('no cycle between source files (%d objects)' % len(objs),
                    ['cycle: ' + ' '.join(c) for c in cyc]))

    fgraph = {}
    for o, deps in graph.items():
        fo = folder_of(o)
        fgraph.setdefault(fo, set())
        for d in deps:
            fd = folder_of(d)
            if fd != fo:
                fgraph[fo].add(fd)
    fcyc = sccs(fgraph)
    results.append(('no cycle between folders (%d folders)' % len(fgraph),
                    ['folder cycle: ' + ' '.join(c) for c in fcyc]))

    bad = []
    for o, deps in sorted(graph.items()):
        fo = folder_of(o)
        allowed = LAYERS.get(fo)
        if allowed is None:
            bad.append('%s: folder %s is not in mk/layers.py LAYERS' % (o, fo))
            continue
        for d in sorted(deps):
            fd = folder_of(d)
            if fd != fo and fd not in allowed:
                bad.append('%s uses %s (%s may not depend on %s)' % (o, d, fo, fd))
    results.append(('symbols only point down the layers', bad))

    bad = []
    for o, deps in sorted(graph.items()):
        for d in sorted(deps):
            learner = learner_of(d)
            if learner and learner != learner_of(o) and o != REGISTRY:
                bad.append('%s uses %s (only %s may know a learner)' % (o, d, REGISTRY))
    results.append(('learners are known only through the registry', bad))

    bad = []
    for rel, inc, target in include_edges(src):
        fo = folder_of(rel)
        allowed = LAYERS.get(fo, set()) | {fo}
        if target in allowed or inc in INCLUDE_EXCEPTIONS.get(fo, ()):
            continue
        bad.append('%s includes "%s" (%s may not depend on %s)' % (rel, inc, fo, target))
    results.append(('includes only point down the layers', bad))

    failed = 0
    for name, problems in results:
        print('[ RUN      ] %s' % name)
        for p in problems:
            print('  ' + p)
        print('[%s] %s' % ('       OK ' if not problems else '  FAILED  ', name))
        failed += bool(problems)
    passed = len(results) - failed
    print('[  PASSED  ] %d test(s).' % passed)
    if failed:
        print('[  FAILED  ] %d test(s), listed below:' % failed)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
