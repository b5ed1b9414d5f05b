/* domain/throttle.h - how often one client may try something (logins).
 *
 * Per-account lockout (accounts.h) protects one account from guessing;
 * this protects all of them from one source spraying many accounts: each
 * client key (its address; an IPv6 address counts by its /64, since a
 * client chooses freely within it) gets `per_minute` attempts in a fixed
 * one-minute window of the app's clock. Keys are hashed into a fixed table
 * of slots, so memory does not grow with the number of clients; two
 * clients sharing a slot in the same minute share its count, which errs on
 * the side of limiting (alternating two addresses gains nothing).
 *
 * Thread-safety: hs_throttle_allow may be called from any thread.
 */
#ifndef HEALER_HS_THROTTLE_H
#define HEALER_HS_THROTTLE_H

#include <stdint.h>

#include "base/error.h"

typedef struct hs_throttle hs_throttle;

/* Buffer size of a client key (an IPv6 /64 prefix's text fits). */
#define HS_CLIENT_KEY_MAX 64

/* The key a client address counts under, into out, as text: the rule of
 * base/client_key.h (an IPv6 address by its /64, "2001:db8:1:2::/64"; one
 * site or device gets a /64 and chooses freely within it; an IPv4 address,
 * also IPv4-mapped, as "192.0.2.7"), any other text as it is (cut to fit).
 * The one rule for every per-address limit (this throttle, the login
 * back-off, the connection guard). */
void hs_throttle_client_key(const char *address, char out[HS_CLIENT_KEY_MAX]);

/* A throttle of `per_minute` attempts per key and minute (0 = no limit). */
hs_status hs_throttle_new(unsigned per_minute, hs_throttle **out,
                          hs_error *err);
void hs_throttle_free(hs_throttle *t);

/* Counts one attempt of `key` (e.g. "192.0.2.7") at unix time `now`; 1 when
 * it is within the limit, 0 when the key has used up this minute. NULL
 * throttle or key: always 1. */
int hs_throttle_allow(hs_throttle *t, const char *key, int64_t now);

#endif
