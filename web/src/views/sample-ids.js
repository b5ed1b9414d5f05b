// views/sample-ids.js - the sample id of a diagnosis's row, for the
// scatter plot's tooltip: the projection gives rows, not sample ids, and a
// diagnosis can hold hundreds of thousands of rows, so ids are read a page
// (CHUNK rows) at a time, only for the pages the user points into, and
// kept for the page's life.

const CHUNK = 1000; // the server's largest page

/* {get(row) -> id | null (none) | undefined (not read yet), load(row) ->
 * Promise}: PAGE(id, {offset, limit, signal}) is the diagnoses client's. */
export function sampleIds(diag, page, { signal } = {}) {
  const ids = new Map();
  const loading = new Map();
  const keep = (items) => { for (const r of items) ids.set(r.row, r.sample_id ?? null); };
  keep(diag.results?.items || []);
  return {
    get: (row) => ids.get(row),
    load(row) {
      const offset = Math.floor((row - 1) / CHUNK) * CHUNK;
      if (!loading.has(offset)) {
        loading.set(offset, page(diag.id, { offset, limit: CHUNK, signal })
          .then((d) => keep(d.results.items))
          .catch(() => loading.delete(offset))); // a later hover tries again
      }
      return loading.get(offset);
    },
  };
}
