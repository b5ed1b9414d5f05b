// client/algorithms.js - the learners the server can train and their
// parameters: [{name, params: [{name, type: 'int'|'float'|'bool'|'choice',
// default, min, max, help, choices?}...]}...] (GET /api/v1/algorithms). The
// training form is built from this answer; the UI keeps no copy of it.

import * as http from './http.js';

export async function list(opts = {}) {
  return (await http.get('/algorithms', opts)).items;
}
