/* db.h — the gateway's own tables (ops/migrations/030_gateway.sql): staff
 * accounts, sessions, login attempts and the audit trail.
 *
 * One libpq connection (common/store.h) shared by the request threads under
 * a mutex: every call is one short statement. The contract's data (cases,
 * referrals, ...) is never read here — that goes through intake. */
#ifndef AID_GATEWAY_DB_H
#define AID_GATEWAY_DB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { ROLE_TOWNSHIP, ROLE_COUNTY, ROLE_DEPARTMENT, ROLE_AUDITOR, ROLE_COUNT } role_t;

/* "township", "county", "department", "auditor" by role_t. */
extern const char *const db_role_names[];
/* The role named s, or -1. */
int db_role_parse(const char *s);

/* A signed-in staff member, as a session lookup returns them. */
typedef struct {
    char username[40];
    role_t role;
    char scope[16];        /* township code or department; "" for county, auditor */
    char display[128];
    char csrf[64];         /* the session's CSRF token */
} db_user_t;

typedef struct db db_t;

db_t *db_new(const char *dsn);
void db_destroy(db_t **self_p);

/* The user of the session whose token hashes to hash (32 bytes), when it is
 * neither expired nor idle longer than idle_minutes; refreshes its last use.
 * 1 found, 0 none, -1 database unavailable. */
int db_session_get(db_t *self, const unsigned char hash[32], int idle_minutes, db_user_t *user);
/* Stores a new session. 0 or -1. */
int db_session_add(db_t *self, const unsigned char hash[32], const char *username,
                   const char *csrf, const char *client, int hours);
/* Ends a session (and, when all_of_user is set, every session of its user). */
int db_session_end(db_t *self, const unsigned char hash[32], bool all_of_user);

/* The password hash and role of an enabled user. 1 found, 0 none, -1 error. */
int db_user_hash(db_t *self, const char *username, char *hash, size_t hashsz, db_user_t *user);
/* Replaces a user's password hash and ends all their sessions. 0 or -1. */
int db_user_set_hash(db_t *self, const char *username, const char *hash);

/* Counts a login attempt, before its password is checked, in one atomic
 * statement (ops/migrations/048_login_counts.sql): *by_user and *by_client
 * get the attempts of this user name and of this client within
 * window_minutes, this one included, as concurrent attempts leave them one
 * after the other. 0 or -1. */
int db_login_count(db_t *self, const char *username, const char *client, int window_minutes,
                   int *by_user, int *by_client);
/* Takes one attempt off the user's and the client's counters: an attempt
 * refused unchecked or a successful login takes itself off, so that both
 * count failures only. 0 or -1. */
int db_login_credit(db_t *self, const char *username, const char *client);
/* Records an attempt whose password was checked (gateway_logins). 0 or -1. */
int db_login_record(db_t *self, const char *username, const char *client, bool ok);

/* Appends one row to the audit trail. 0 or -1. */
int db_audit_add(db_t *self, const db_user_t *user, const char *action, const char *case_id,
                 const char *detail, const char *client);
/* The newest rows (at most limit), optionally of one case and/or user, as a
 * JSON array of objects; NULL when unavailable. */
/* The county's place names, {code: name} (migration 080, `aidctl places
 * import`); NULL when the database failed. */
json_t *db_places(db_t *self);
/* at: "YYYY-MM-DD HH:MM:SS (UTC+8)" */
json_t *db_audit_list(db_t *self, const char *case_id, const char *username, int limit);

#endif
