/* Unit tests for src/crypto: hash, HMAC, TLS 1.2 PRF and AEAD.
 *
 * Expected values are published known answers (FIPS 180-2, RFC 4231, RFC
 * 8439, McGrew-Viega GCM spec, NIST SP 800-38C) or were computed with the
 * `openssl` command-line tool (`openssl kdf ... TLS1-PRF`), or with an
 * independent CCM written over `openssl enc -aes-128-ecb` block encryption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/dk_crypto.h"
#include "crypto_test_util.h"

/* ---- hash ------------------------------------------------------------ */

static void test_sha256_abc(void **state)
{
    (void)state;
    uint8_t out[DK_MAX_HASH_LEN];
    assert_int_equal(dk_crypto_init(), DK_OK);
    assert_int_equal(dk_hash_len(DK_HASH_SHA256), 32);
    assert_int_equal(dk_hash(DK_HASH_SHA256, (const uint8_t *)"abc", 3, out), DK_OK);
    assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha384_abc(void **state)
{
    (void)state;
    uint8_t out[DK_MAX_HASH_LEN];
    assert_int_equal(dk_hash_len(DK_HASH_SHA384), 48);
    assert_int_equal(dk_hash(DK_HASH_SHA384, (const uint8_t *)"abc", 3, out), DK_OK);
    assert_hex(out, 48,
               "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
               "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
}

/* peek gives the digest so far and leaves the context running. */
static void test_hash_incremental_peek(void **state)
{
    (void)state;
    uint8_t out[DK_MAX_HASH_LEN];
    dk_hash_ctx *h = dk_hash_new(DK_HASH_SHA256);
    assert_non_null(h);
    assert_int_equal(dk_hash_update(h, (const uint8_t *)"a", 1), DK_OK);
    assert_int_equal(dk_hash_update(h, (const uint8_t *)"b", 1), DK_OK);
    assert_int_equal(dk_hash_peek(h, out), DK_OK);
    /* SHA-256("ab") from `printf ab | openssl dgst -sha256` */
    assert_hex(out, 32, "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603");
    assert_int_equal(dk_hash_update(h, (const uint8_t *)"c", 1), DK_OK);
    assert_int_equal(dk_hash_peek(h, out), DK_OK);
    assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(dk_hash_peek(h, out), DK_OK); /* idempotent */
    assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    dk_hash_free(h);

    h = dk_hash_new(DK_HASH_SHA384);
    assert_non_null(h);
    assert_int_equal(dk_hash_update(h, (const uint8_t *)"abc", 3), DK_OK);
    assert_int_equal(dk_hash_peek(h, out), DK_OK);
    assert_hex(out, 48,
               "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
               "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
    dk_hash_free(h);
    dk_hash_free(NULL);
}

/* ---- HMAC ------------------------------------------------------------ */

/* RFC 4231 test case 2, split across three parts. */
static void test_hmac_rfc4231_case2(void **state)
{
    (void)state;
    const char *msg = "what do ya want for nothing?";
    dk_iovec parts[3] = {
        {(const uint8_t *)msg, 4},
        {(const uint8_t *)msg + 4, 0},
        {(const uint8_t *)msg + 4, strlen(msg) - 4},
    };
    uint8_t out[DK_MAX_HASH_LEN];
    assert_int_equal(dk_hmac(DK_HASH_SHA256, (const uint8_t *)"Jefe", 4, parts, 3, out), DK_OK);
    assert_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_int_equal(dk_hmac(DK_HASH_SHA384, (const uint8_t *)"Jefe", 4, parts, 3, out), DK_OK);
    assert_hex(out, 48,
               "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47"
               "e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649");
}

/* RFC 4231 test case 6: a key longer than the block size. */
static void test_hmac_rfc4231_case6(void **state)
{
    (void)state;
    uint8_t key[131];
    memset(key, 0xaa, sizeof key);
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    dk_iovec part = {(const uint8_t *)msg, strlen(msg)};
    uint8_t out[DK_MAX_HASH_LEN];
    assert_int_equal(dk_hmac(DK_HASH_SHA256, key, sizeof key, &part, 1, out), DK_OK);
    assert_hex(out, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* RFC 2104 allows any key length, including none: HMAC-SHA256("", "")
 * from `openssl mac -digest SHA256 -macopt hexkey: HMAC </dev/null`. */
static void test_hmac_empty_key_and_message(void **state)
{
    (void)state;
    uint8_t out[DK_MAX_HASH_LEN];
    assert_int_equal(dk_hmac(DK_HASH_SHA256, NULL, 0, NULL, 0, out), DK_OK);
    assert_hex(out, 32, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* ---- TLS 1.2 PRF ----------------------------------------------------- */

/* The widely used P_SHA256 vector (secret 9bbe..., label "test label"),
 * re-checked with: openssl kdf -keylen 100 -kdfopt digest:SHA256
 * -kdfopt hexsecret:9bbe... -kdfopt hexseed:<"test label"||a0ba...> TLS1-PRF.
 * The seed is split into seed1 || seed2 to check the concatenation. */
static void test_prf_sha256(void **state)
{
    (void)state;
    uint8_t secret[16], seed[16], out[100];
    unhex("9bbe436ba940f017b17652849a71db35", secret, sizeof secret);
    unhex("a0ba9f936cda311827a6f796ffd5198c", seed, sizeof seed);
    const char *want = "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
                       "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
                       "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
                       "87347b66";
    assert_int_equal(dk_tls12_prf(DK_HASH_SHA256, secret, 16, "test label", seed, 5, seed + 5,
                                  11, out, sizeof out),
                     DK_OK);
    assert_hex(out, sizeof out, want);
    memset(out, 0, sizeof out);
    assert_int_equal(
        dk_tls12_prf(DK_HASH_SHA256, secret, 16, "test label", seed, 16, NULL, 0, out, 100),
        DK_OK);
    assert_hex(out, sizeof out, want);
    /* A shorter output is a prefix of the longer one. */
    uint8_t short_out[13];
    assert_int_equal(dk_tls12_prf(DK_HASH_SHA256, secret, 16, "test label", NULL, 0, seed, 16,
                                  short_out, sizeof short_out),
                     DK_OK);
    assert_memory_equal(short_out, out, sizeof short_out);
}

/* P_SHA384 vector (secret b80b..., label "test label", 148 bytes), checked
 * with openssl kdf -keylen 148 -kdfopt digest:SHA384 ... TLS1-PRF. */
static void test_prf_sha384(void **state)
{
    (void)state;
    uint8_t secret[16], seed[16], out[148];
    unhex("b80b733d6ceefcdc71566ea48e5567df", secret, sizeof secret);
    unhex("cd665cf6a8447dd6ff8b27555edb7465", seed, sizeof seed);
    assert_int_equal(dk_tls12_prf(DK_HASH_SHA384, secret, 16, "test label", seed, 8, seed + 8, 8,
                                  out, sizeof out),
                     DK_OK);
    assert_hex(out, sizeof out,
               "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
               "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
               "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
               "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6"
               "91c8f3a26854308d5eaa3be85e0990703d73e56f");
}

/* The pooled public randoms: no two draws alike across pool refills, and a
 * forked child never repeats what the parent hands out next. */
static void test_random_public_pool(void **state)
{
    (void)state;
    enum { DRAWS = 64 }; /* 64 x 32 bytes: several 512-byte refills */
    static uint8_t seen[DRAWS][32];
    for (int i = 0; i < DRAWS; i++) {
        assert_int_equal(dk_random_public(seen[i], 32), DK_OK);
        for (int j = 0; j < i; j++) assert_memory_not_equal(seen[i], seen[j], 32);
    }
    assert_int_equal(dk_random_public(NULL, 0), DK_OK);
    assert_int_equal(dk_random_public(NULL, 1), DK_ERR_INVALID_ARG);
    uint8_t big[300];
    assert_int_equal(dk_random_public(big, sizeof big), DK_OK); /* larger than a pool slice */

    uint8_t warm[32]; /* leaves 480 bytes in the pool across fork() */
    assert_int_equal(dk_random_public(warm, sizeof warm), DK_OK);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t child[32];
        if (dk_random_public(child, sizeof child) != DK_OK) _exit(2);
        _exit(write(fds[1], child, sizeof child) == (ssize_t)sizeof child ? 0 : 3);
    }
    uint8_t parent[32], child[32];
    assert_int_equal(dk_random_public(parent, sizeof parent), DK_OK);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
    close(fds[0]);
    close(fds[1]);
    assert_memory_not_equal(parent, child, sizeof parent);
}

/* The keyed HMAC gathers short parts into one buffer and passes long ones
 * through: any split of the same message gives the one-shot HMAC, across the
 * 256-byte gather boundary too. */
static void test_hmac_keyed_any_split(void **state)
{
    (void)state;
    uint8_t key[40], msg[700], want[32], got[32];
    for (size_t i = 0; i < sizeof key; i++) key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 13 + 5);
    dk_hmac_key *k = dk_hmac_key_new(DK_HASH_SHA256, key, sizeof key);
    assert_non_null(k);
    static const size_t splits[][4] = {
        {700, 0, 0, 0}, {1, 254, 2, 443}, {255, 1, 1, 443}, {300, 0, 300, 100}, {13, 32, 32, 623},
    };
    for (size_t t = 0; t < DK_ARRAY_LEN(splits); t++) {
        dk_iovec parts[4];
        size_t off = 0;
        for (int j = 0; j < 4; j++) {
            parts[j].p = msg + off;
            parts[j].len = splits[t][j];
            off += splits[t][j];
        }
        assert_int_equal(off, sizeof msg);
        const dk_iovec whole = {msg, sizeof msg};
        assert_int_equal(dk_hmac(DK_HASH_SHA256, key, sizeof key, &whole, 1, want), DK_OK);
        assert_int_equal(dk_hmac_keyed(k, parts, 4, got), DK_OK);
        assert_memory_equal(got, want, 32);
    }
    dk_hmac_key_free(k);
}

/* The keyed PRF equals the one-shot PRF, and a re-keyed context equals a
 * fresh one (the engine keys one context with the premaster secret, then
 * re-keys it with the master secret). */
static void test_prf_keyed_and_rekey(void **state)
{
    (void)state;
    uint8_t s1[36], s2[48], seed[64], want[104], got[104];
    memset(s1, 0x11, sizeof s1);
    memset(s2, 0x22, sizeof s2);
    for (size_t i = 0; i < sizeof seed; i++) seed[i] = (uint8_t)i;
    dk_hmac_key *k = dk_hmac_key_new(DK_HASH_SHA256, s1, sizeof s1);
    assert_non_null(k);
    assert_int_equal(dk_tls12_prf(DK_HASH_SHA256, s1, sizeof s1, "master secret", seed, 32,
                                  seed + 32, 32, want, 48), DK_OK);
    assert_int_equal(dk_tls12_prf_keyed(k, "master secret", seed, 32, seed + 32, 32, got, 48),
                     DK_OK);
    assert_memory_equal(got, want, 48);
    assert_int_equal(dk_hmac_key_rekey(k, s2, sizeof s2), DK_OK);
    assert_int_equal(dk_tls12_prf(DK_HASH_SHA256, s2, sizeof s2, "key expansion", seed, 64, NULL,
                                  0, want, sizeof want), DK_OK);
    assert_int_equal(dk_tls12_prf_keyed(k, "key expansion", seed, 64, NULL, 0, got, sizeof got),
                     DK_OK);
    assert_memory_equal(got, want, sizeof want);
    assert_int_equal(dk_hmac_key_rekey(k, NULL, 0), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_tls12_prf_keyed(NULL, "x", seed, 1, NULL, 0, got, 1), DK_ERR_INVALID_ARG);
    dk_hmac_key_free(k);
}

/* Contexts come back from the pool fresh: a digest context that hashed
 * something starts again from nothing, and an HMAC context used with one key
 * computes with the next key only. */
static void test_pooled_contexts_fresh(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        dk_hash_ctx *h = dk_hash_new(DK_HASH_SHA256);
        assert_non_null(h);
        uint8_t out[32];
        assert_int_equal(dk_hash_update(h, (const uint8_t *)"abc", 3), DK_OK);
        assert_int_equal(dk_hash_peek(h, out), DK_OK);
        assert_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_int_equal(dk_hash_update(h, (const uint8_t *)"left over", 9), DK_OK);
        dk_hash_free(h);

        uint8_t k1[20], k2[33], msg[50], want[32], got[32];
        memset(k1, round, sizeof k1);
        memset(k2, 0x40 + round, sizeof k2);
        memset(msg, 0xdd, sizeof msg);
        const dk_iovec v = {msg, sizeof msg};
        dk_hmac_key *a = dk_hmac_key_new(DK_HASH_SHA256, k1, sizeof k1);
        assert_non_null(a);
        assert_int_equal(dk_hmac_keyed(a, &v, 1, got), DK_OK);
        dk_hmac_key_free(a);
        dk_hmac_key *b = dk_hmac_key_new(DK_HASH_SHA256, k2, sizeof k2);
        assert_non_null(b);
        assert_int_equal(dk_hmac_keyed(b, &v, 1, got), DK_OK);
        assert_int_equal(dk_hmac(DK_HASH_SHA256, k2, sizeof k2, &v, 1, want), DK_OK);
        assert_memory_equal(got, want, 32);
        dk_hmac_key_free(b);
    }
}

/* SipHash-2-4-128 against the reference implementation's vectors_sip128
 * (key 00..0f, message 00..len-1), through one keyed context restarted for
 * every message and split into parts. */
static void test_siphash_reference_vectors(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *tag;
    } v[] = {
        {0, "a3817f04ba25a8e66df67214c7550293"},  {1, "da87c1d86b99af44347659119b22fc45"},
        {7, "a1f1ebbed8dbc153c0b84aa61ff08239"},  {8, "3b62a9ba6258f5610f83e264f31497b4"},
        {15, "5493e99933b0a8117e08ec0f97cfc3d9"}, {16, "6ee2a4ca67b054bbfd3315bf85230577"},
        {31, "2939b0183223fafc1723de4f52c43d35"}, {63, "5150d1772f50834a503e069a973fbd7c"},
    };
    uint8_t key[16], msg[64], tag[16];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++) msg[i] = (uint8_t)i;
    dk_siphash_key *k = dk_siphash_key_new(key);
    assert_non_null(k);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < DK_ARRAY_LEN(v); i++) {
            size_t a = v[i].len / 3, b = v[i].len / 2;
            const dk_iovec parts[3] = {{msg, a}, {msg + a, b - a}, {msg + b, v[i].len - b}};
            assert_int_equal(dk_siphash_keyed(k, parts, 3, tag), DK_OK);
            assert_hex(tag, 16, v[i].tag);
        }
    }
    assert_int_equal(dk_siphash_keyed(NULL, NULL, 0, tag), DK_ERR_INVALID_ARG);
    dk_siphash_key_free(k);
    assert_null(dk_siphash_key_new(NULL));
}

static void test_memeq_and_random(void **state)
{
    (void)state;
    assert_true(dk_crypto_memeq("abcd", "abcd", 4));
    assert_false(dk_crypto_memeq("abcd", "abce", 4));
    assert_true(dk_crypto_memeq("x", "y", 0));
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    assert_int_equal(dk_random_bytes(a, sizeof a), DK_OK);
    assert_int_equal(dk_random_bytes(b, sizeof b), DK_OK);
    assert_memory_not_equal(a, zero, sizeof a);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(dk_random_bytes(NULL, 0), DK_OK);
}

/* ---- AEAD ------------------------------------------------------------ */

typedef struct aead_vector {
    const char *name;
    dk_aead_alg alg;
    const char *key, *nonce, *aad, *pt, *ct, *tag;
} aead_vector;

/* McGrew-Viega GCM spec test cases 4 (AES-128) and 16 (AES-256). */
#define MV_PT                                                                                      \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"                             \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define MV_AAD "feedfacedeadbeeffeedfacedeadbeefabaddad2"

static const aead_vector k_aead_vectors[] = {
    {"aes128gcm-mv4", DK_AEAD_AES128_GCM, "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", MV_AAD, MV_PT,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"aes256gcm-mv16", DK_AEAD_AES256_GCM,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", MV_AAD, MV_PT,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    /* RFC 8439 section 2.8.2. */
    {"chacha-rfc8439", DK_AEAD_CHACHA20_POLY1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
     "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
     "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
     "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
     "637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
     "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
     "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
     "3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
    /* NIST SP 800-38C appendix C, example 3: 12-byte nonce, 8-byte tag;
     * re-derived with an independent CCM over `openssl enc -aes-128-ecb`. */
    {"aes128ccm8-sp800-38c-ex3", DK_AEAD_AES128_CCM8, "404142434445464748494a4b4c4d4e4f",
     "101112131415161718191a1b", "000102030405060708090a0b0c0d0e0f10111213",
     "202122232425262728292a2b2c2d2e2f3031323334353637",
     "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5", "484392fbc1b09951"},
    /* DTLS-shaped CCM_8 record (13-byte AAD seq||type||version||length, nonce
     * salt||explicit), computed with the same independent CCM. */
    {"aes128ccm8-dtls", DK_AEAD_AES128_CCM8, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
     "a0a1a2a30001000000000007", "0001000000000007" "17" "fefd" "0025",
     /* "dtlskit CCM_8 record payload, 37 byte" */
     "64746c736b69742043434d5f38207265636f7264207061796c6f61642c2033372062797465",
     "5e0cae40efa8c92984b51185e5e5e3b3f9d3b95757989107c39e801e074da0184eda0d19df",
     "b9e17f5aa4a96bb0"},
    {"aes128ccm8-empty", DK_AEAD_AES128_CCM8, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
     "a0a1a2a30001000000000007", "", "", "", "6b27bf2679a3c4c6"},
    /* McGrew-Viega test case 1: empty plaintext and AAD. */
    {"aes128gcm-mv1", DK_AEAD_AES128_GCM, "00000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "58e2fccefa7e3061367f1d57a4e7455a"},
};

static const dk_aead_alg k_all_aeads[] = {DK_AEAD_AES128_GCM, DK_AEAD_AES256_GCM,
                                          DK_AEAD_AES128_CCM8, DK_AEAD_CHACHA20_POLY1305};

static void test_aead_lengths(void **state)
{
    (void)state;
    assert_int_equal(dk_aead_key_len(DK_AEAD_AES128_GCM), 16);
    assert_int_equal(dk_aead_key_len(DK_AEAD_AES256_GCM), 32);
    assert_int_equal(dk_aead_key_len(DK_AEAD_AES128_CCM8), 16);
    assert_int_equal(dk_aead_key_len(DK_AEAD_CHACHA20_POLY1305), 32);
    assert_int_equal(dk_aead_tag_len(DK_AEAD_AES128_GCM), 16);
    assert_int_equal(dk_aead_tag_len(DK_AEAD_AES256_GCM), 16);
    assert_int_equal(dk_aead_tag_len(DK_AEAD_AES128_CCM8), 8);
    assert_int_equal(dk_aead_tag_len(DK_AEAD_CHACHA20_POLY1305), 16);
}

typedef struct aead_case {
    uint8_t key[32], nonce[12], aad[64], pt[160], ct[160], tag[16];
    size_t aad_len, pt_len, tag_len;
} aead_case;

static void load_vector(const aead_vector *v, aead_case *c)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(unhex(v->key, c->key, sizeof c->key), dk_aead_key_len(v->alg));
    assert_int_equal(unhex(v->nonce, c->nonce, sizeof c->nonce), 12);
    c->aad_len = unhex(v->aad, c->aad, sizeof c->aad);
    c->pt_len = unhex(v->pt, c->pt, sizeof c->pt);
    assert_int_equal(unhex(v->ct, c->ct, sizeof c->ct), c->pt_len);
    c->tag_len = unhex(v->tag, c->tag, sizeof c->tag);
    assert_int_equal(c->tag_len, dk_aead_tag_len(v->alg));
}

/* Opening a tampered copy must fail with DK_ERR_CRYPTO. */
static void expect_open_fails(dk_aead *dec, const aead_case *c, int what)
{
    uint8_t nonce[12], aad[64], buf[160], tag[16];
    memcpy(nonce, c->nonce, 12);
    memcpy(aad, c->aad, sizeof aad);
    memcpy(buf, c->ct, sizeof buf);
    memcpy(tag, c->tag, sizeof tag);
    switch (what) {
    case 0: tag[c->tag_len - 1] ^= 0x01; break;
    case 1: buf[c->pt_len / 2] ^= 0x80; break;
    case 2: aad[0] ^= 0x01; break;
    default: nonce[11] ^= 0x01; break;
    }
    assert_int_equal(dk_aead_open(dec, nonce, aad, c->aad_len, buf, c->pt_len, tag),
                     DK_ERR_CRYPTO);
}

static void test_aead_known_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_aead_vectors / sizeof k_aead_vectors[0]; i++) {
        const aead_vector *v = &k_aead_vectors[i];
        aead_case c;
        uint8_t buf[160], tag[16];
        print_message("vector %s\n", v->name);
        load_vector(v, &c);
        dk_aead *enc = dk_aead_new(v->alg, c.key, true);
        dk_aead *dec = dk_aead_new(v->alg, c.key, false);
        assert_non_null(enc);
        assert_non_null(dec);
        memcpy(buf, c.pt, c.pt_len);
        assert_int_equal(dk_aead_seal(enc, c.nonce, c.aad, c.aad_len, buf, c.pt_len, tag), DK_OK);
        assert_memory_equal(buf, c.ct, c.pt_len);
        assert_memory_equal(tag, c.tag, c.tag_len);
        assert_int_equal(dk_aead_open(dec, c.nonce, c.aad, c.aad_len, buf, c.pt_len, c.tag),
                         DK_OK);
        assert_memory_equal(buf, c.pt, c.pt_len);
        expect_open_fails(dec, &c, 0);
        if (c.pt_len) expect_open_fails(dec, &c, 1);
        if (c.aad_len) expect_open_fails(dec, &c, 2);
        expect_open_fails(dec, &c, 3);
        /* The context still works after the failures. */
        memcpy(buf, c.ct, c.pt_len);
        assert_int_equal(dk_aead_open(dec, c.nonce, c.aad, c.aad_len, buf, c.pt_len, c.tag),
                         DK_OK);
        assert_memory_equal(buf, c.pt, c.pt_len);
        /* Wrong direction is refused. */
        assert_int_equal(dk_aead_open(enc, c.nonce, c.aad, c.aad_len, buf, c.pt_len, c.tag),
                         DK_ERR_INVALID_ARG);
        assert_int_equal(dk_aead_seal(dec, c.nonce, c.aad, c.aad_len, buf, c.pt_len, tag),
                         DK_ERR_INVALID_ARG);
        dk_aead_free(enc);
        dk_aead_free(dec);
    }
    dk_aead_free(NULL);
}

/* Seal a record with a brand-new context, for comparison with a reused one. */
static void seal_fresh(dk_aead_alg alg, const uint8_t *key, const uint8_t nonce[12],
                       const uint8_t *aad, size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
    dk_aead *a = dk_aead_new(alg, key, true);
    assert_non_null(a);
    assert_int_equal(dk_aead_seal(a, nonce, aad, aad_len, buf, len, tag), DK_OK);
    dk_aead_free(a);
}

/* One context per direction, 1000 records with different nonces, lengths
 * and AAD; a tampered record now and then does not disturb later ones. */
static void test_aead_reuse_1000(void **state)
{
    (void)state;
    for (size_t ai = 0; ai < sizeof k_all_aeads / sizeof k_all_aeads[0]; ai++) {
        dk_aead_alg alg = k_all_aeads[ai];
        size_t tl = dk_aead_tag_len(alg);
        uint8_t key[32], salt[4];
        assert_int_equal(dk_random_bytes(key, sizeof key), DK_OK);
        assert_int_equal(dk_random_bytes(salt, sizeof salt), DK_OK);
        dk_aead *enc = dk_aead_new(alg, key, true);
        dk_aead *dec = dk_aead_new(alg, key, false);
        assert_non_null(enc);
        assert_non_null(dec);
        for (uint64_t i = 0; i < 1000; i++) {
            uint8_t nonce[12], aad[13], pt[300], buf[300], ref[300], tag[16], rtag[16];
            size_t len = (size_t)((i * 37) % 300);
            memcpy(nonce, salt, 4);
            for (int b = 0; b < 8; b++) nonce[4 + b] = (uint8_t)(i >> (56 - 8 * b));
            memcpy(aad, nonce + 4, 8);
            aad[8] = 23, aad[9] = 0xfe, aad[10] = 0xfd, aad[11] = (uint8_t)(len >> 8);
            aad[12] = (uint8_t)len;
            for (size_t b = 0; b < len; b++) pt[b] = (uint8_t)(b * 7 + i);
            memcpy(buf, pt, len);
            assert_int_equal(dk_aead_seal(enc, nonce, aad, sizeof aad, buf, len, tag), DK_OK);
            if (i % 97 == 0) {
                memcpy(ref, pt, len);
                seal_fresh(alg, key, nonce, aad, sizeof aad, ref, len, rtag);
                assert_memory_equal(ref, buf, len);
                assert_memory_equal(rtag, tag, tl);
            }
            if (i % 101 == 50) {
                tag[0] ^= 0x40;
                uint8_t copy[300];
                memcpy(copy, buf, len);
                assert_int_equal(dk_aead_open(dec, nonce, aad, sizeof aad, copy, len, tag),
                                 DK_ERR_CRYPTO);
                tag[0] ^= 0x40;
            }
            assert_int_equal(dk_aead_open(dec, nonce, aad, sizeof aad, buf, len, tag), DK_OK);
            assert_memory_equal(buf, pt, len);
        }
        dk_aead_free(enc);
        dk_aead_free(dec);
    }
}

/* ---- the TLS record construction (dk_aead_seal_record/open_record) ------ */

typedef struct rec_keys {
    uint8_t key[32], iv[12];
    size_t explicit_len, tag_len;
} rec_keys;

static void rec_keys_for(dk_aead_alg alg, rec_keys *k)
{
    assert_int_equal(dk_random_bytes(k->key, sizeof k->key), DK_OK);
    assert_int_equal(dk_random_bytes(k->iv, sizeof k->iv), DK_OK);
    k->explicit_len = alg == DK_AEAD_CHACHA20_POLY1305 ? 0 : 8;
    k->tag_len = dk_aead_tag_len(alg);
}

static void rec_header(uint8_t hdr[13], uint8_t type, uint16_t epoch, uint64_t seq, size_t frag_len)
{
    hdr[0] = type, hdr[1] = 0xfe, hdr[2] = 0xfd;
    hdr[3] = (uint8_t)(epoch >> 8), hdr[4] = (uint8_t)epoch;
    for (int b = 0; b < 6; b++) hdr[5 + b] = (uint8_t)(seq >> (40 - 8 * b));
    hdr[11] = (uint8_t)(frag_len >> 8), hdr[12] = (uint8_t)frag_len;
}

/* The nonce and AAD of RFC 5288 / 6655 / 7905 built here, independently of
 * the record path: salt || nonce_explicit, or iv XOR (0^32 || epoch || seq). */
static void rec_nonce_aad(dk_aead_alg alg, const rec_keys *k, const uint8_t hdr[13],
                          const uint8_t *frag, size_t pt_len, uint8_t nonce[12], uint8_t aad[13])
{
    if (alg == DK_AEAD_CHACHA20_POLY1305) {
        memcpy(nonce, k->iv, 12);
        for (int b = 0; b < 8; b++) nonce[4 + b] ^= hdr[3 + b];
    } else {
        memcpy(nonce, k->iv, 4);
        memcpy(nonce + 4, frag, 8);
    }
    memcpy(aad, hdr + 3, 8);
    memcpy(aad + 8, hdr, 3);
    aad[11] = (uint8_t)(pt_len >> 8), aad[12] = (uint8_t)pt_len;
}

/* Records sealed through the TLS record path open through the generic one
 * with the nonce and AAD built by hand, and the other way round, for every
 * AEAD, in order, with sequence numbers that skip ahead and go back, across
 * an epoch change. nonce_explicit is always epoch || seq (RFC 5288 only asks
 * for uniqueness; dtlskit sends the record's own number). */
static void test_aead_record_path_matches_generic(void **state)
{
    (void)state;
    static const struct {
        uint16_t epoch;
        uint64_t seq;
    } order[] = {{1, 0}, {1, 1}, {1, 2}, {1, 9}, {1, 10}, {1, 4}, {1, 5}, {2, 0},
                 {2, 1}, {1, 11}, {0xffff, 0xffffffffffffULL}, {1, 12}};
    for (size_t ai = 0; ai < sizeof k_all_aeads / sizeof k_all_aeads[0]; ai++) {
        dk_aead_alg alg = k_all_aeads[ai];
        rec_keys k;
        rec_keys_for(alg, &k);
        dk_aead *renc = dk_aead_new_record(alg, k.key, k.iv, true);
        dk_aead *rdec = dk_aead_new_record(alg, k.key, k.iv, false);
        dk_aead *genc = dk_aead_new(alg, k.key, true);
        dk_aead *gdec = dk_aead_new(alg, k.key, false);
        assert_non_null(renc);
        assert_non_null(rdec);
        assert_non_null(genc);
        assert_non_null(gdec);
        for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
            size_t pt_len = (i * 53) % 200, frag_len = k.explicit_len + pt_len + k.tag_len;
            uint8_t hdr[13], frag[256], pt[200], nonce[12], aad[13];
            for (size_t b = 0; b < pt_len; b++) pt[b] = (uint8_t)(b + 3 * i);
            rec_header(hdr, (uint8_t)(21 + i % 3), order[i].epoch, order[i].seq, frag_len);
            /* record seal -> generic open */
            memset(frag, 0xAA, sizeof frag);
            memcpy(frag + k.explicit_len, pt, pt_len);
            assert_int_equal(dk_aead_seal_record(renc, hdr, frag, frag_len), DK_OK);
            if (k.explicit_len) assert_memory_equal(frag, hdr + 3, 8);
            rec_nonce_aad(alg, &k, hdr, frag, pt_len, nonce, aad);
            uint8_t copy[256];
            memcpy(copy, frag, frag_len);
            assert_int_equal(dk_aead_open(gdec, nonce, aad, sizeof aad, copy + k.explicit_len,
                                          pt_len, copy + k.explicit_len + pt_len),
                             DK_OK);
            assert_memory_equal(copy + k.explicit_len, pt, pt_len);
            /* generic seal (same nonce) gives the same bytes -> record open */
            memcpy(copy, frag, k.explicit_len);
            memcpy(copy + k.explicit_len, pt, pt_len);
            assert_int_equal(dk_aead_seal(genc, nonce, aad, sizeof aad, copy + k.explicit_len,
                                          pt_len, copy + k.explicit_len + pt_len),
                             DK_OK);
            assert_memory_equal(copy, frag, frag_len);
            assert_int_equal(dk_aead_open_record(rdec, hdr, copy, frag_len), DK_OK);
            assert_memory_equal(copy + k.explicit_len, pt, pt_len);
        }
        dk_aead_free(renc);
        dk_aead_free(rdec);
        dk_aead_free(genc);
        dk_aead_free(gdec);
    }
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* A record that does not authenticate fails with DK_ERR_CRYPTO, whatever
 * byte was changed (header fields in the AAD, nonce_explicit, content,
 * tag), and leaves no plaintext behind: the fragment is wiped. Malformed
 * calls are refused before any decryption. The contexts go on working. */
static void test_aead_record_path_rejects(void **state)
{
    (void)state;
    for (size_t ai = 0; ai < sizeof k_all_aeads / sizeof k_all_aeads[0]; ai++) {
        dk_aead_alg alg = k_all_aeads[ai];
        rec_keys k;
        rec_keys_for(alg, &k);
        dk_aead *enc = dk_aead_new_record(alg, k.key, k.iv, true);
        dk_aead *dec = dk_aead_new_record(alg, k.key, k.iv, false);
        assert_non_null(enc);
        assert_non_null(dec);
        size_t pt_len = 40, frag_len = k.explicit_len + pt_len + k.tag_len;
        uint8_t hdr[13], frag[128], pt[40];
        memset(pt, 'p', sizeof pt);
        rec_header(hdr, 23, 1, 77, frag_len);
        memcpy(frag + k.explicit_len, pt, pt_len);
        assert_int_equal(dk_aead_seal_record(enc, hdr, frag, frag_len), DK_OK);
        /* header bytes 0..10 are in the AAD (and the nonce); then the
         * fragment: nonce_explicit, content, tag */
        size_t where[] = {0, 2, 4, 10, 13, 13 + frag_len / 2, 13 + frag_len - 1};
        for (size_t w = 0; w < sizeof where / sizeof where[0]; w++) {
            uint8_t h[13], f[128];
            memcpy(h, hdr, 13);
            memcpy(f, frag, frag_len);
            if (where[w] < 13) h[where[w]] ^= 0x01;
            else f[where[w] - 13] ^= 0x01;
            assert_int_equal(dk_aead_open_record(dec, h, f, frag_len), DK_ERR_CRYPTO);
            assert_true(all_zero(f, frag_len));
        }
        uint8_t f[128];
        memcpy(f, frag, frag_len);
        /* shorter than nonce_explicit + tag; longer than a record can be */
        assert_int_equal(dk_aead_open_record(dec, hdr, f, k.explicit_len + k.tag_len - 1),
                         DK_ERR_INVALID_ARG);
        assert_int_equal(dk_aead_open_record(dec, hdr, f, 0x10000), DK_ERR_INVALID_ARG);
        assert_int_equal(dk_aead_open_record(enc, hdr, f, frag_len), DK_ERR_INVALID_ARG);
        assert_int_equal(dk_aead_seal_record(dec, hdr, f, frag_len), DK_ERR_INVALID_ARG);
        /* A generic context is not a record context, nor the other way round. */
        dk_aead *gen = dk_aead_new(alg, k.key, false);
        assert_int_equal(dk_aead_open_record(gen, hdr, f, frag_len), DK_ERR_INVALID_ARG);
        dk_aead_free(gen);
        uint8_t nonce[12] = {0}, tag[16] = {0};
        assert_int_equal(dk_aead_open(dec, nonce, hdr, 13, f, 8, tag), DK_ERR_INVALID_ARG);
        assert_int_equal(dk_aead_seal(enc, nonce, hdr, 13, f, 8, tag), DK_ERR_INVALID_ARG);
        assert_memory_equal(f, frag, frag_len);
        assert_int_equal(dk_aead_open_record(dec, hdr, f, frag_len), DK_OK);
        assert_memory_equal(f + k.explicit_len, pt, pt_len);
        /* The empty record. */
        rec_header(hdr, 21, 1, 78, k.explicit_len + k.tag_len);
        assert_int_equal(dk_aead_seal_record(enc, hdr, frag, k.explicit_len + k.tag_len), DK_OK);
        assert_int_equal(dk_aead_open_record(dec, hdr, frag, k.explicit_len + k.tag_len), DK_OK);
        assert_null(dk_aead_new_record(alg, k.key, NULL, true));
        dk_aead_free(enc);
        dk_aead_free(dec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_abc),
        cmocka_unit_test(test_sha384_abc),
        cmocka_unit_test(test_hash_incremental_peek),
        cmocka_unit_test(test_hmac_rfc4231_case2),
        cmocka_unit_test(test_hmac_rfc4231_case6),
        cmocka_unit_test(test_hmac_empty_key_and_message),
        cmocka_unit_test(test_prf_sha256),
        cmocka_unit_test(test_prf_sha384),
        cmocka_unit_test(test_memeq_and_random),
        cmocka_unit_test(test_random_public_pool),
        cmocka_unit_test(test_hmac_keyed_any_split),
        cmocka_unit_test(test_prf_keyed_and_rekey),
        cmocka_unit_test(test_pooled_contexts_fresh),
        cmocka_unit_test(test_siphash_reference_vectors),
        cmocka_unit_test(test_aead_lengths),
        cmocka_unit_test(test_aead_known_answers),
        cmocka_unit_test(test_aead_reuse_1000),
        cmocka_unit_test(test_aead_record_path_matches_generic),
        cmocka_unit_test(test_aead_record_path_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
