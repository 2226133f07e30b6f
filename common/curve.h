/* curve.h — ZeroMQ CURVE security for secure mode (AID_SECURE=1).
 *
 * Every TCP endpoint of the stack can run CURVE: the server socket holds a
 * long-term key pair, each client holds its own pair and the server's public
 * key. CURVE alone encrypts but admits ANY client key; admission is the job
 * of a ZAP handler (RFC 27) in the server process. curve_zap_start runs one
 * on inproc://zeromq.zap.01 of a context: it admits a client only when its
 * public key is on an allow-list file and replies with the key's name as the
 * connection's User-Id, which the server reads per message:
 *
 *     const char *who = zmq_msg_gets(&msg, "User-Id");   // "civil", ...
 *
 * A server process, before it binds anything:
 *
 *     curve_zap_t *zap = NULL;
 *     if (curve_secure() && !(zap = curve_server_setup(zctx, "AID_INTAKE", &router, 1)))
 *         goto fail;                       // logged; never start unprotected
 *     zmq_bind(router, ...);
 *     ...
 *     zmq_close(router);
 *     curve_zap_stop(&zap);                // before zmq_ctx_term
 *
 * A client, before it connects: curve_client_setup(sock, "AID_BUS_PUBKEY",
 * "AID_SERVICE"), or curve_client(sock, server_pub, pub, secret).
 *
 * Keys are Z85 text, 40 characters. Configuration, by variable prefix P:
 *   P_SECRETKEY       the secret key (Z85), or
 *   P_SECRETKEY_FILE  a file holding it (as written by `aidctl keygen`)
 *   P_PUBKEY          the public key (optional for a pair: derived from the
 *                     secret, and checked against it when given)
 * Secret keys are never logged, nor put in error texts.
 *
 * The allow-list file (AID_ALLOWED_KEYS): one client key a line, an optional
 * name after it, '#' starts a comment:
 *
 *     # departments
 *     rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 civil
 *     Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID  township-app.beicheng
 *
 * A name is 1–63 characters of [A-Za-z0-9._:@+-]; without one the User-Id is
 * the Z85 key itself. The handler re-reads the file when its modification
 * time, size or inode changes, so admitting or removing a key needs no
 * restart (replace the file atomically: write a copy, then mv). A missing or
 * unreadable file admits nobody. */
#ifndef AID_COMMON_CURVE_H
#define AID_COMMON_CURVE_H

#include <stdbool.h>
#include <stddef.h>

#define CURVE_KEY_LEN 40          /* Z85 characters of a 32-byte key */
#define CURVE_NAME_MAX 63         /* longest key name on the allow-list */
#define CURVE_ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct {
    char public_key[CURVE_KEY_LEN + 1];
    char secret_key[CURVE_KEY_LEN + 1];
} curve_keypair_t;

/* True when AID_SECURE is 1 (secure mode: CURVE on every TCP socket). */
bool curve_secure(void);
/* True when libzmq was built with CURVE (zmq_has("curve")). */
bool curve_available(void);

/* True when s is exactly CURVE_KEY_LEN characters of valid Z85. */
bool curve_key_valid(const char *s);
/* True when s is a valid allow-list key name (see above). */
bool curve_name_valid(const char *s);
/* True when the client with ZAP User-Id user is one of department's keys:
 * named "department" or "department.<anything>". A key admitted without a
 * name (its User-Id is its Z85 text, which may begin with anything) never
 * is. See ops/SECURITY.md, "What an admitted key may do". */
bool curve_user_is_department(const char *user, const char *department);
/* True when the client with ZAP User-Id user is one of a township's keys:
 * named after its 9-digit code, "520123101" or "520123101.<anything>"; the
 * code into township. Never a key admitted without a name. */
bool curve_user_township(const char *user, char township[10]);

/* A new random key pair. 0, or -1 when CURVE is unavailable. */
int curve_keypair_new(curve_keypair_t *kp);
/* The public key of secret_z85 into public_z85. 0, or -1 (invalid key). */
int curve_public_of(const char *secret_z85, char public_z85[CURVE_KEY_LEN + 1]);
/* Overwrites the secret key in *kp (explicit_bzero); call when done with it. */
void curve_keypair_wipe(curve_keypair_t *kp);

/* Reads a key file: the first line that is neither empty nor a '#' comment
 * must start with a Z85 key (anything after whitespace is ignored). 0, or -1
 * with err filled (the file's contents never appear in it). */
int curve_key_read(const char *path, char key[CURVE_KEY_LEN + 1], char *err, size_t errsz);

/* A public key from var (Z85) or var_FILE: 0 when found and valid, 1 when
 * neither is set, -1 when set but invalid (logged). */
int curve_pubkey_load(const char *var, char key[CURVE_KEY_LEN + 1]);
/* A key pair from prefix (see above): 0 when loaded, 1 when neither
 * prefix_SECRETKEY nor prefix_SECRETKEY_FILE is set, -1 when set but
 * unusable or not matching prefix_PUBKEY (logged, without the secret). */
int curve_keypair_load(const char *prefix, curve_keypair_t *kp);

/* Makes sock a CURVE server (before its bind): ZMQ_CURVE_SERVER, the key
 * pair (public_z85 may be NULL; when given it must match the secret), ZAP
 * domain "aid" and ZMQ_ZAP_ENFORCE_DOMAIN where libzmq has it, so a server
 * with no ZAP handler refuses every client instead of admitting all.
 * 0, or -1 (logged). */
int curve_server(void *sock, const char *secret_z85, const char *public_z85);
/* Makes sock a CURVE client (before its connect) of the server whose public
 * key is server_pub, with its own pair. 0, or -1 (logged). */
int curve_client(void *sock, const char *server_pub, const char *client_pub,
                 const char *client_secret);

typedef struct curve_zap curve_zap_t;

/* Starts the ZAP handler of zctx: binds CURVE_ZAP_ENDPOINT in zctx (so call
 * it BEFORE any CURVE server socket of zctx binds) and serves it from a
 * thread with every signal blocked. allowlist_path must be readable now;
 * later changes are picked up on the next handshake. NULL on error (logged:
 * no path, unreadable file, another handler already bound in zctx). */
curve_zap_t *curve_zap_start(void *zctx, const char *allowlist_path);
/* Stops the handler thread and frees it; *self_p becomes NULL. Call before
 * zmq_ctx_term of its context. NULL-safe. */
void curve_zap_stop(curve_zap_t **self_p);

/* Secure mode of a server process in one call, before any bind: starts the
 * ZAP handler on the allow-list in prefix_ALLOWED_KEYS, else
 * AID_ALLOWED_KEYS, then makes each of the nsocks sockets a CURVE server
 * with the key pair from prefix (e.g. "AID_INTAKE", "AID_BUS"), else from
 * AID_SERVER. The handler, or NULL on any error (logged; nothing left
 * running). */
curve_zap_t *curve_server_setup(void *zctx, const char *prefix, void *const *socks, int nsocks);
/* Secure mode of a client socket, before its connect: when curve_secure(),
 * makes sock a CURVE client with the server key from server_var (e.g.
 * "AID_BUS_PUBKEY") and its own pair from client_prefix (e.g.
 * "AID_SERVICE"). 0 when done or not in secure mode, -1 on error (logged). */
int curve_client_setup(void *sock, const char *server_var, const char *client_prefix);

#endif
