/* Unit tests for src/crypto key exchange: X25519, P-256, P-384.
 *
 * X25519 vectors are RFC 7748 section 6.1 (re-checked with `openssl pkey`
 * and `openssl pkeyutl -derive`). The seeded NIST keys follow the documented
 * mapping d = (seed mod (n - 1)) + 1; their expected public points and
 * shared secrets were computed by building the private key DER from d and
 * running `openssl ec -text` and `openssl pkeyutl -derive`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "crypto/dk_crypto.h"
#include "crypto_test_util.h"

#define RFC7748_ALICE_PRIV "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define RFC7748_ALICE_PUB "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define RFC7748_BOB_PRIV "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define RFC7748_BOB_PUB "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define RFC7748_SHARED "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

/* A 64-byte seed whose first 32 bytes are priv_hex, the rest filler. */
static void x25519_seed(const char *priv_hex, uint8_t seed[64])
{
    memset(seed, 0xee, 64);
    assert_int_equal(unhex(priv_hex, seed, 32), 32);
}

static void seq_seed(uint8_t seed[64], uint8_t first)
{
    for (int i = 0; i < 64; i++) seed[i] = (uint8_t)(first + i);
}

static void test_groups_supported(void **state)
{
    (void)state;
    assert_true(dk_group_supported(DK_GROUP_X25519));
    assert_true(dk_group_supported(DK_GROUP_SECP256R1));
    assert_true(dk_group_supported(DK_GROUP_SECP384R1));
    assert_false(dk_group_supported(25)); /* secp521r1 */
    assert_false(dk_group_supported(30)); /* x448 */
    assert_null(dk_kex_new(25, NULL, 0));
    uint8_t seed[64] = {1};
    assert_null(dk_kex_new(DK_GROUP_X25519, seed, 63)); /* seed too short */
}

/* RFC 7748 section 6.1, in both directions. */
static void test_x25519_rfc7748(void **state)
{
    (void)state;
    uint8_t seed[64], pub[64], peer[32], secret[64];
    size_t len = 0;
    x25519_seed(RFC7748_ALICE_PRIV, seed);
    dk_kex *alice = dk_kex_new(DK_GROUP_X25519, seed, sizeof seed);
    x25519_seed(RFC7748_BOB_PRIV, seed);
    dk_kex *bob = dk_kex_new(DK_GROUP_X25519, seed, sizeof seed);
    assert_non_null(alice);
    assert_non_null(bob);
    assert_int_equal(dk_kex_public(alice, pub, sizeof pub, &len), DK_OK);
    assert_hex(pub, len, RFC7748_ALICE_PUB);
    assert_int_equal(dk_kex_public(bob, pub, sizeof pub, &len), DK_OK);
    assert_hex(pub, len, RFC7748_BOB_PUB);
    assert_int_equal(dk_kex_public(bob, pub, 31, &len), DK_ERR_BUFFER_TOO_SMALL);

    unhex(RFC7748_BOB_PUB, peer, sizeof peer);
    assert_int_equal(dk_kex_derive(alice, peer, 32, secret, sizeof secret, &len), DK_OK);
    assert_hex(secret, len, RFC7748_SHARED);
    unhex(RFC7748_ALICE_PUB, peer, sizeof peer);
    assert_int_equal(dk_kex_derive(bob, peer, 32, secret, sizeof secret, &len), DK_OK);
    assert_hex(secret, len, RFC7748_SHARED);
    assert_int_equal(dk_kex_derive(bob, peer, 32, secret, 31, &len), DK_ERR_BUFFER_TOO_SMALL);
    dk_kex_free(alice);
    dk_kex_free(bob);
}

/* RFC 8422 5.11 / RFC 7748 6.1: small-order points give an all-zero
 * secret, which is rejected; a wrong length is a decode error. */
static void test_x25519_rejects(void **state)
{
    (void)state;
    dk_kex *k = dk_kex_new(DK_GROUP_X25519, NULL, 0);
    assert_non_null(k);
    uint8_t peer[33] = {0}, secret[32];
    size_t len = 0;
    assert_int_equal(dk_kex_derive(k, peer, 32, secret, sizeof secret, &len), DK_ERR_CRYPTO);
    peer[0] = 1; /* u = 1, order 1 */
    assert_int_equal(dk_kex_derive(k, peer, 32, secret, sizeof secret, &len), DK_ERR_CRYPTO);
    assert_int_equal(dk_kex_derive(k, peer, 31, secret, sizeof secret, &len), DK_ERR_DECODE);
    assert_int_equal(dk_kex_derive(k, peer, 33, secret, sizeof secret, &len), DK_ERR_DECODE);
    assert_int_equal(dk_kex_derive(k, peer, 0, secret, sizeof secret, &len), DK_ERR_DECODE);
    dk_kex_free(k);
}

typedef struct nist_kat {
    uint16_t group;
    size_t pub_len, secret_len;
    const char *pub_a, *pub_b, *shared;
} nist_kat;

static const nist_kat k_nist[] = {
    {DK_GROUP_SECP256R1, 65, 32,
     "04228153bcd380d9097b455d7d3a1eaeb58ec19a5e93b3c5c0f6892eb44d269842"
     "96cb133c8d72d3f82c35899eb72e8c6f8012a00e1dc431a0534c3bdb2882cebc",
     "047ec9a381ecb921ae5296631d27ef192d7a5f9668d49fe9eb0a40b62916cf1f05"
     "9ac706d05d7e9668dfe814278c3b73336fb51343cd3604c49dd26ecdc0be2b29",
     "563a88fff0638f1a1a9fcdfd61feaac737a890c8d5625b964beba15bf2a7a4b2"},
    {DK_GROUP_SECP384R1, 97, 48,
     "04b35f5b1f8c4632a6e979f7b809da8a4d38577cf146bd38022385deeb31962103f93a65e283a93b25"
     "8af67a63b241752a9e7ae86d62c4bf1f8a0cf64a02c6ff79d023bdf6a2aa3ff1c4d8867685f8476394"
     "85347491ab831cbd220a3b199c463a",
     "04ac908973377a60a072ed9506077f85288babcf0650ac354b33a4e356c2d9fdcb7726e0495f156a1d"
     "19d34a166b77c0b936b908a3a26c1c18d2d4953870ee6aa37ec2c3b614b778178c218a07b0c947227a"
     "6daabc6819ca5e0d5566ccb2ad9104",
     "150c8ffe2d2724146f29aae939a7a7cd4f3d9f5bcfa404500a3bdce1210df168b9a5770c85661d7fe0"
     "762265a8635a0b"},
};

/* Seeded keys (seeds 00..3f and 40..7f) give the expected points, and the
 * two sides agree on the expected secret. Same seed twice, same key. */
static void test_nist_seeded_known_answer(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_nist / sizeof k_nist[0]; i++) {
        const nist_kat *t = &k_nist[i];
        uint8_t seed[64], pa[97], pb[97], pa2[97], s1[48], s2[48];
        size_t la, lb, la2, l1, l2;
        seq_seed(seed, 0x00);
        dk_kex *a = dk_kex_new(t->group, seed, sizeof seed);
        dk_kex *a2 = dk_kex_new(t->group, seed, sizeof seed);
        seq_seed(seed, 0x40);
        dk_kex *b = dk_kex_new(t->group, seed, sizeof seed);
        assert_non_null(a);
        assert_non_null(a2);
        assert_non_null(b);
        assert_int_equal(dk_kex_public(a, pa, sizeof pa, &la), DK_OK);
        assert_int_equal(dk_kex_public(a2, pa2, sizeof pa2, &la2), DK_OK);
        assert_int_equal(dk_kex_public(b, pb, sizeof pb, &lb), DK_OK);
        assert_hex(pa, la, t->pub_a);
        assert_hex(pb, lb, t->pub_b);
        assert_int_equal(la2, la);
        assert_memory_equal(pa, pa2, la);
        assert_int_equal(dk_kex_derive(a, pb, lb, s1, sizeof s1, &l1), DK_OK);
        assert_int_equal(dk_kex_derive(b, pa, la, s2, sizeof s2, &l2), DK_OK);
        assert_hex(s1, l1, t->shared);
        assert_hex(s2, l2, t->shared);
        dk_kex_free(a);
        dk_kex_free(a2);
        dk_kex_free(b);
    }
}

/* Random keys on each curve: sizes, uncompressed form, both sides agree,
 * and two fresh keys differ. */
static void test_random_keys_agree(void **state)
{
    (void)state;
    const uint16_t groups[] = {DK_GROUP_X25519, DK_GROUP_SECP256R1, DK_GROUP_SECP384R1};
    const size_t pub_lens[] = {32, 65, 97}, sec_lens[] = {32, 32, 48};
    for (size_t i = 0; i < 3; i++) {
        dk_kex *a = dk_kex_new(groups[i], NULL, 0), *b = dk_kex_new(groups[i], NULL, 0);
        assert_non_null(a);
        assert_non_null(b);
        uint8_t pa[97], pb[97], s1[48], s2[48];
        size_t la, lb, l1, l2;
        assert_int_equal(dk_kex_public(a, pa, sizeof pa, &la), DK_OK);
        assert_int_equal(dk_kex_public(b, pb, sizeof pb, &lb), DK_OK);
        assert_int_equal(la, pub_lens[i]);
        assert_int_equal(lb, pub_lens[i]);
        if (groups[i] != DK_GROUP_X25519) assert_int_equal(pa[0], 0x04);
        assert_memory_not_equal(pa, pb, la);
        assert_int_equal(dk_kex_derive(a, pb, lb, s1, sizeof s1, &l1), DK_OK);
        assert_int_equal(dk_kex_derive(b, pa, la, s2, sizeof s2, &l2), DK_OK);
        assert_int_equal(l1, sec_lens[i]);
        assert_int_equal(l2, sec_lens[i]);
        assert_memory_equal(s1, s2, l1);
        dk_kex_free(a);
        dk_kex_free(b);
    }
    dk_kex_free(NULL);
}

/* RFC 8422 5.11: off-curve points fail validation (DK_ERR_CRYPTO); other
 * encodings than uncompressed, or a wrong length, are malformed
 * (DK_ERR_DECODE). */
static void test_nist_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_nist / sizeof k_nist[0]; i++) {
        const nist_kat *t = &k_nist[i];
        dk_kex *k = dk_kex_new(t->group, NULL, 0);
        assert_non_null(k);
        uint8_t p[98], s[48];
        size_t n = unhex(t->pub_b, p, sizeof p), l = 0;
        assert_int_equal(n, t->pub_len);
        p[n - 1] ^= 0x01; /* y changed: off the curve */
        assert_int_equal(dk_kex_derive(k, p, n, s, sizeof s, &l), DK_ERR_CRYPTO);
        p[n - 1] ^= 0x01;
        memset(p + 1, 0, n - 1); /* (0, 0) is not on the curve either */
        assert_int_equal(dk_kex_derive(k, p, n, s, sizeof s, &l), DK_ERR_CRYPTO);
        unhex(t->pub_b, p, sizeof p);
        /* Compressed form of the same point: 0x02/0x03 || X. */
        uint8_t c[49];
        size_t xl = (n - 1) / 2;
        c[0] = (uint8_t)(0x02 | (p[n - 1] & 1));
        memcpy(c + 1, p + 1, xl);
        assert_int_equal(dk_kex_derive(k, c, 1 + xl, s, sizeof s, &l), DK_ERR_DECODE);
        p[0] = 0x02; /* right length, wrong form byte */
        assert_int_equal(dk_kex_derive(k, p, n, s, sizeof s, &l), DK_ERR_DECODE);
        p[0] = 0x04;
        assert_int_equal(dk_kex_derive(k, p, n - 1, s, sizeof s, &l), DK_ERR_DECODE);
        assert_int_equal(dk_kex_derive(k, p, 1, s, sizeof s, &l), DK_ERR_DECODE);
        /* The untouched point still works with the same context. */
        assert_int_equal(dk_kex_derive(k, p, n, s, sizeof s, &l), DK_OK);
        assert_int_equal(l, t->secret_len);
        dk_kex_free(k);
    }
}

/* Key generation reuses contexts across threads (taken and put back
 * atomically): threads generating and agreeing keys at the same time each
 * get fresh, distinct keys that agree. */
enum { KG_THREADS = 4, KG_ROUNDS = 40 };

static void *kg_worker(void *arg)
{
    uint16_t group = *(const uint16_t *)arg;
    uint8_t prev[97] = {0};
    for (int i = 0; i < KG_ROUNDS; i++) {
        dk_kex *a = dk_kex_new(group, NULL, 0), *b = dk_kex_new(group, NULL, 0);
        uint8_t pa[97], pb[97], sa[48], sb[48];
        size_t la = 0, lb = 0, na = 0, nb = 0;
        bool ok = a && b && dk_kex_public(a, pa, sizeof pa, &la) == DK_OK &&
                  dk_kex_public(b, pb, sizeof pb, &lb) == DK_OK && la == lb &&
                  memcmp(pa, pb, la) != 0 && memcmp(pa, prev, la) != 0 &&
                  dk_kex_derive(a, pb, lb, sa, sizeof sa, &na) == DK_OK &&
                  dk_kex_derive(b, pa, la, sb, sizeof sb, &nb) == DK_OK && na == nb &&
                  memcmp(sa, sb, na) == 0;
        if (ok) memcpy(prev, pa, la);
        dk_kex_free(a);
        dk_kex_free(b);
        if (!ok) return (void *)1;
    }
    return NULL;
}

static void test_keygen_threads(void **state)
{
    (void)state;
    static const uint16_t groups[] = {DK_GROUP_SECP256R1, DK_GROUP_X25519, DK_GROUP_SECP384R1};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        pthread_t t[KG_THREADS];
        for (int i = 0; i < KG_THREADS; i++)
            assert_int_equal(pthread_create(&t[i], NULL, kg_worker, (void *)&groups[g]), 0);
        for (int i = 0; i < KG_THREADS; i++) {
            void *r = (void *)1;
            assert_int_equal(pthread_join(t[i], &r), 0);
            assert_null(r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_groups_supported),
        cmocka_unit_test(test_x25519_rfc7748),
        cmocka_unit_test(test_x25519_rejects),
        cmocka_unit_test(test_nist_seeded_known_answer),
        cmocka_unit_test(test_random_keys_agree),
        cmocka_unit_test(test_nist_rejects),
        cmocka_unit_test(test_keygen_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
