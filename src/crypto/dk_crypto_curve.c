/* Domain parameters of the NIST curves, made once per process and only read
 * afterwards. Building a curve from its name costs a new EC_GROUP with its
 * Montgomery setup (a modular inversion) every time; EVP_PKEY_dup,
 * EVP_PKEY_copy_parameters and a key-generation context made from one of
 * these copy it instead. Used for ECDHE keys and peer points
 * (dk_crypto_kex.c) and for peer certificate keys (dk_crypto_spki.c). Freed
 * by OPENSSL_cleanup (an OPENSSL_atexit handler). */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "crypto/dk_crypto_internal.h"

static const char *const k_curve_names[DK_CURVE_COUNT] = {"P-256", "P-384", "P-521"};
static EVP_PKEY *g_params[DK_CURVE_COUNT];
static CRYPTO_ONCE g_once = CRYPTO_ONCE_STATIC_INIT;

static void curves_cleanup(void)
{
    for (size_t i = 0; i < DK_CURVE_COUNT; i++) {
        EVP_PKEY_free(g_params[i]);
        g_params[i] = NULL;
    }
}

static void curves_init(void)
{
    for (size_t i = 0; i < DK_CURVE_COUNT; i++) {
        OSSL_PARAM params[2] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)k_curve_names[i],
                                             0),
            OSSL_PARAM_construct_end(),
        };
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
            EVP_PKEY_fromdata(pc, &g_params[i], EVP_PKEY_KEY_PARAMETERS, params) != 1)
            g_params[i] = NULL;
        EVP_PKEY_CTX_free(pc);
    }
    if (!OPENSSL_atexit(curves_cleanup)) curves_cleanup();
    ERR_clear_error();
}

EVP_PKEY *dk_curve_params(dk_curve c)
{
    if ((unsigned)c >= DK_CURVE_COUNT || !CRYPTO_THREAD_run_once(&g_once, curves_init)) return NULL;
    return g_params[c];
}
