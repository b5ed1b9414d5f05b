// client/users.js - user accounts, for admins (docs/api.md: Users and
// notifications): create, disable, enable, unlock, set a new password or
// e-mail address.

import * as http from './http.js';

export const list = (opts = {}) => http.listAll('/users', opts);

/* {username, password, role: 'user'|'admin', email} -> the USER */
export const create = (user, opts = {}) => http.post('/users', user, opts);

export const disable = (id, opts = {}) => http.post(`/users/${id}/disable`, undefined, opts);
export const enable = (id, opts = {}) => http.post(`/users/${id}/enable`, undefined, opts);
export const unlock = (id, opts = {}) => http.post(`/users/${id}/unlock`, undefined, opts);

export const setPassword = (id, password, opts = {}) => http.post(`/users/${id}/password`, { password }, opts);

/* '' or null removes the address -> the USER */
export const setEmail = (id, email, opts = {}) => http.put(`/users/${id}/email`, { email: email || null }, opts);
