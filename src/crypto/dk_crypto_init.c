/* One-time fetch of the algorithms dtlskit uses, the RNG and the
 * constant-time compare. */
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "crypto/dk_crypto_internal.h"

static dk_crypto_algs g_algs;
static bool g_algs_ok;
static CRYPTO_ONCE g_once = CRYPTO_ONCE_STATIC_INIT;

static const char *const k_md_names[2] = {"SHA256", "SHA384"};
static const char *const k_cipher_names[4] = {"AES-128-GCM", "AES-256-GCM", "AES-128-CCM",
                                              "ChaCha20-Poly1305"};

/* Runs exactly once per process (CRYPTO_THREAD_run_once). The fetched
 * objects are kept for the life of the process. */
static void crypto_init_once(void)
{
    bool ok = true;
    for (size_t i = 0; i < DK_ARRAY_LEN(k_md_names); i++) {
        g_algs.md[i] = EVP_MD_fetch(NULL, k_md_names[i], NULL);
        ok = ok && g_algs.md[i] != NULL;
    }
    for (size_t i = 0; i < DK_ARRAY_LEN(k_cipher_names); i++) {
        g_algs.cipher[i] = EVP_CIPHER_fetch(NULL, k_cipher_names[i], NULL);
        ok = ok && g_algs.cipher[i] != NULL;
    }
    g_algs.hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g_algs.tls1_prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
    ok = ok && g_algs.hmac != NULL && g_algs.tls1_prf != NULL;
    for (size_t i = 0; ok && i < DK_ARRAY_LEN(k_md_names); i++) {
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)k_md_names[i], 0),
            OSSL_PARAM_construct_end(),
        };
        g_algs.hmac_tmpl[i] = EVP_MAC_CTX_new(g_algs.hmac);
        ok = g_algs.hmac_tmpl[i] && EVP_MAC_CTX_set_params(g_algs.hmac_tmpl[i], params) == 1;
    }
    g_algs.siphash = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    if (ok && g_algs.siphash) {
        size_t size = 16;
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
            OSSL_PARAM_construct_end(),
        };
        g_algs.siphash_tmpl = EVP_MAC_CTX_new(g_algs.siphash);
        ok = g_algs.siphash_tmpl && EVP_MAC_CTX_set_params(g_algs.siphash_tmpl, params) == 1;
    }
    ok = ok && g_algs.siphash_tmpl != NULL;
    g_algs_ok = ok;
    ERR_clear_error();
}

dk_result dk_crypto_init(void)
{
    if (!CRYPTO_THREAD_run_once(&g_once, crypto_init_once)) return DK_ERR_CRYPTO;
    return g_algs_ok ? DK_OK : DK_ERR_CRYPTO;
}

const dk_crypto_algs *dk_crypto_algs_get(void)
{
    if (dk_crypto_init() != DK_OK) return NULL;
    return &g_algs;
}

const EVP_MD *dk_crypto_md(dk_hash_alg alg)
{
    const dk_crypto_algs *a = dk_crypto_algs_get();
    if (!a || (unsigned)alg >= DK_ARRAY_LEN(a->md)) return NULL;
    return a->md[alg];
}

const char *dk_crypto_md_name(dk_hash_alg alg)
{
    if ((unsigned)alg >= DK_ARRAY_LEN(k_md_names)) return NULL;
    return k_md_names[alg];
}

void dk_crypto_clear_errors(void) { ERR_clear_error(); }

dk_result dk_random_bytes(uint8_t *out, size_t n)
{
    if (!out && n) return DK_ERR_INVALID_ARG;
    while (n > 0) {
        int chunk = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(out, chunk) != 1) {
            ERR_clear_error();
            return DK_ERR_CRYPTO;
        }
        out += chunk;
        n -= (size_t)chunk;
    }
    return DK_OK;
}

#define DK_RAND_POOL 512

typedef struct rand_pool {
    uint8_t buf[DK_RAND_POOL];
    size_t left; /* unused bytes at the end of buf */
} rand_pool;

static _Thread_local rand_pool t_pool;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

/* fork() copies the pool: the child must not hand out the parent's bytes. */
static void pool_forget(void)
{
    dk_wipe(t_pool.buf, sizeof t_pool.buf);
    t_pool.left = 0;
}

static void pool_atfork(void) { (void)pthread_atfork(NULL, NULL, pool_forget); }

dk_result dk_random_public(uint8_t *out, size_t n)
{
    if (!out && n) return DK_ERR_INVALID_ARG;
    if (n == 0) return DK_OK;
    if (n > DK_RAND_POOL / 4) return dk_random_bytes(out, n);
    (void)pthread_once(&g_atfork_once, pool_atfork);
    rand_pool *p = &t_pool;
    if (p->left < n) {
        DK_TRY(dk_random_bytes(p->buf, sizeof p->buf));
        p->left = sizeof p->buf;
    }
    uint8_t *src = p->buf + sizeof p->buf - p->left;
    memcpy(out, src, n);
    dk_wipe(src, n); /* handed out once */
    p->left -= n;
    return DK_OK;
}

bool dk_crypto_memeq(const void *a, const void *b, size_t n)
{
    if (n == 0) return true;
    return CRYPTO_memcmp(a, b, n) == 0;
}
