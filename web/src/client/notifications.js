// client/notifications.js - what the server tells its admins (locked accounts,
// failed jobs), newest first (docs/api.md: Users and notifications).

import * as http from './http.js';

export async function list({ limit = 100, ...opts } = {}) {
  return (await http.get('/notifications', { ...opts, query: { limit } })).items;
}

/* The number of unread notifications (one item read, the total kept). */
export async function unreadCount(opts = {}) {
  return (await http.get('/notifications', { quiet: true, ...opts, query: { unread: 1, limit: 1 } })).total;
}

export const markRead = (id, opts = {}) => http.post(`/notifications/${id}/read`, undefined, opts);
