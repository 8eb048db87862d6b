/* Trust anchors and certificate-path validation (RFC 5280 via libcrypto's
 * X509_verify_cert), with the time injected by the caller. */
#include <arpa/inet.h>
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "crypto/dk_crypto_internal.h"

struct dk_trust {
    X509_STORE *store;
    /* DER of every anchor loaded from a file: a peer chain that repeats an
     * anchor after its leaf needs no decoding of that certificate. */
    uint8_t **anchor_der;
    size_t *anchor_len;
    size_t n_anchors;
};

dk_trust *dk_trust_new(void)
{
    if (dk_crypto_init() != DK_OK) return NULL;
    dk_trust *t = dk_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->store = X509_STORE_new();
    if (!t->store) {
        dk_free(t);
        return NULL;
    }
    return t;
}

void dk_trust_free(dk_trust *t)
{
    if (!t) return;
    X509_STORE_free(t->store);
    for (size_t i = 0; i < t->n_anchors; i++) OPENSSL_free(t->anchor_der[i]);
    dk_free(t->anchor_der);
    dk_free(t->anchor_len);
    dk_free(t);
}

/* Remember the DER of every anchor now in the store (a best effort: on
 * failure chains are simply decoded in full). */
static void note_anchors(dk_trust *t)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(t->store);
    int n = objs ? sk_X509_OBJECT_num(objs) : 0;
    for (size_t i = 0; i < t->n_anchors; i++) OPENSSL_free(t->anchor_der[i]);
    t->n_anchors = 0;
    uint8_t **der = dk_realloc(t->anchor_der, (size_t)(n ? n : 1) * sizeof *der);
    if (der) t->anchor_der = der;
    size_t *len = dk_realloc(t->anchor_len, (size_t)(n ? n : 1) * sizeof *len);
    if (len) t->anchor_len = len;
    if (!der || !len) return;
    for (int i = 0; i < n; i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        unsigned char *d = NULL;
        int l = x ? i2d_X509(x, &d) : -1;
        if (l <= 0) continue;
        t->anchor_der[t->n_anchors] = d;
        t->anchor_len[t->n_anchors++] = (size_t)l;
    }
}

static bool is_anchor(const dk_trust *t, const uint8_t *der, size_t len)
{
    for (size_t i = 0; i < t->n_anchors; i++)
        if (t->anchor_len[i] == len && memcmp(t->anchor_der[i], der, len) == 0) return true;
    return false;
}

/* Every certificate in a PEM file becomes a trust anchor. */
dk_result dk_trust_load_file(dk_trust *t, const char *path)
{
    if (!t || !path) return DK_ERR_INVALID_ARG;
    int ok = X509_STORE_load_file(t->store, path);
    if (ok == 1) note_anchors(t);
    ERR_clear_error();
    return ok == 1 ? DK_OK : DK_ERR_FILE;
}

/* An OpenSSL CA directory: certificates named by subject hash (as made by
 * `openssl rehash`), looked up when needed. */
dk_result dk_trust_load_dir(dk_trust *t, const char *path)
{
    if (!t || !path) return DK_ERR_INVALID_ARG;
    DIR *d = opendir(path);
    if (!d) return DK_ERR_FILE;
    closedir(d);
    int ok = X509_STORE_load_path(t->store, path);
    ERR_clear_error();
    return ok == 1 ? DK_OK : DK_ERR_FILE;
}

static void set_reason(char *reason, size_t cap, const char *text)
{
    if (reason && cap) snprintf(reason, cap, "%s", text);
}

/* The peer's chain as libcrypto objects: the leaf, and the rest as
 * untrusted intermediates. A self-signed certificate after the leaf is left
 * out: RFC 5246 7.4.2, "the self-signed certificate that specifies the root
 * certificate authority MAY be omitted from the chain, under the assumption
 * that the remote end must already possess it in order to validate it in
 * any case." A root counts only when it is in the trust store. */
static bool parse_chain(const dk_trust *t, const uint8_t *const *der, const size_t *len, size_t n,
                        X509 **leaf, STACK_OF(X509) **rest)
{
    *leaf = dk_x509_from_der(der[0], len[0]);
    *rest = sk_X509_new_null();
    if (!*leaf || !*rest) return false;
    for (size_t i = 1; i < n; i++) {
        /* An anchor repeated by the peer is a self-signed root we hold
         * already: left out without decoding it (each decode runs an
         * OpenSSL 3 public-key decoder). */
        if (is_anchor(t, der[i], len[i])) continue;
        X509 *x = dk_x509_from_der(der[i], len[i]);
        if (x && X509_self_signed(x, 0) == 1) {
            X509_free(x);
            continue;
        }
        if (!x || !sk_X509_push(*rest, x)) {
            X509_free(x);
            return false;
        }
    }
    return true;
}

/* Purpose (EKU, key usage), time and name of the leaf. RFC 6125: a DNS name
 * is matched against DNS SANs (the CN only when there is no DNS SAN); an IP
 * literal only against IP SANs. */
static bool set_params(X509_STORE_CTX *ctx, const char *hostname, int64_t now,
                       bool purpose_server)
{
    if (X509_STORE_CTX_set_default(ctx, purpose_server ? "ssl_server" : "ssl_client") != 1)
        return false;
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(vp, (time_t)now);
    if (!hostname || !*hostname) return true;
    unsigned char ip[16];
    if (inet_pton(AF_INET, hostname, ip) == 1 || inet_pton(AF_INET6, hostname, ip) == 1)
        return X509_VERIFY_PARAM_set1_ip_asc(vp, hostname) == 1;
    X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(vp, hostname, 0) == 1;
}

dk_result dk_chain_verify_leaf(const dk_trust *t, const uint8_t *const *der, const size_t *len,
                               size_t n, const char *hostname, int64_t now, bool purpose_server,
                               char *reason, size_t reason_cap, dk_pkey **leaf_key, char *cn,
                               size_t cn_cap)
{
    set_reason(reason, reason_cap, "");
    if (leaf_key) *leaf_key = NULL;
    if (!t || n == 0 || !der || !len) {
        set_reason(reason, reason_cap, !t ? "no trust anchors" : "no certificate");
        return DK_ERR_CERT;
    }
    X509 *leaf = NULL;
    STACK_OF(X509) *rest = NULL;
    X509_STORE_CTX *ctx = NULL;
    dk_result r = DK_ERR_CERT;
    if (!parse_chain(t, der, len, n, &leaf, &rest)) {
        set_reason(reason, reason_cap, "certificate does not parse");
        goto done;
    }
    ctx = X509_STORE_CTX_new();
    if (!ctx || X509_STORE_CTX_init(ctx, t->store, leaf, rest) != 1 ||
        !set_params(ctx, hostname, now, purpose_server)) {
        set_reason(reason, reason_cap, "verification setup failed");
        goto done;
    }
    if (X509_verify_cert(ctx) == 1) {
        r = leaf_key ? dk_x509_public_key(leaf, leaf_key) : DK_OK;
        if (r == DK_OK && cn) dk_x509_subject_cn(leaf, cn, cn_cap);
        if (r != DK_OK) set_reason(reason, reason_cap, "certificate public key does not parse");
    } else {
        int err = X509_STORE_CTX_get_error(ctx);
        set_reason(reason, reason_cap, X509_verify_cert_error_string(err));
    }
done:
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(rest, X509_free);
    X509_free(leaf);
    ERR_clear_error();
    return r;
}

dk_result dk_chain_verify(const dk_trust *t, const uint8_t *const *der, const size_t *len,
                          size_t n, const char *hostname, int64_t now, bool purpose_server,
                          char *reason, size_t reason_cap)
{
    return dk_chain_verify_leaf(t, der, len, n, hostname, now, purpose_server, reason, reason_cap,
                                NULL, NULL, 0);
}
