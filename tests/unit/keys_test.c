/* Unit tests for the key schedule and the cipher suite table.
 *
 * Expected PRF outputs were computed independently with the OpenSSL CLI:
 *   openssl kdf -keylen N -kdfopt digest:SHA256|SHA384 -kdfopt hexsecret:S \
 *       -kdfopt seed:"<label>" -kdfopt hexseed:<seed part> ... TLS1-PRF
 * with these inputs:
 *   pms  = (7*i + 3) mod 256, i = 0..47
 *   cr   = 00 01 .. 1f            sr = 80 81 .. 9f
 *   ms   = (0xa5 ^ 3*i) mod 256, i = 0..47  (for key block, Finished, exporter)
 *   sh32 = (0x11*i + 5) mod 256, i = 0..31  sh48 = (0x13*i + 9) mod 256, i = 0..47
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "keys/dk_keys.h"

static uint8_t pms[48], cr[32], sr[32], ms[48], sh32[32], sh48[48];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 48; i++) {
        pms[i] = (uint8_t)(7 * i + 3);
        ms[i] = (uint8_t)(0xa5 ^ (3 * i));
        sh48[i] = (uint8_t)(0x13 * i + 9);
    }
    for (int i = 0; i < 32; i++) {
        cr[i] = (uint8_t)i;
        sr[i] = (uint8_t)(0x80 + i);
        sh32[i] = (uint8_t)(0x11 * i + 5);
    }
    return dk_crypto_init() == DK_OK ? 0 : -1;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[128];
    size_t n = unhex(hex, want, sizeof want);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
}

/* The inputs themselves, so a typo in setup cannot hide. */
static void test_inputs(void **state)
{
    (void)state;
    assert_hex(pms, 48, "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8"
                        "ff060d141b222930373e454c");
    assert_hex(ms, 48, "a5a6a3aca9aab7b0bdbebb8481828f889596939c999ae7e0edeeebf4f1f2fff8c5c6c3ccc9"
                       "cad7d0dddedb2421222f28");
    assert_hex(sh32, 32, "05162738495a6b7c8d9eafc0d1e2f30415263748596a7b8c9daebfd0e1f20314");
    assert_hex(sh48, 48, "091c2f4255687b8ea1b4c7daed001326394c5f728598abbed1e4f70a1d304356697c8fa2"
                         "b5c8dbee0114273a4d607386");
}

static void test_master_secret(void **state)
{
    (void)state;
    uint8_t out[48];
    assert_int_equal(dk_derive_master_secret(DK_HASH_SHA256, pms, 48, false, NULL, cr, sr, out), DK_OK);
    assert_hex(out, 48, "2d0ab2502ab8dfbfdf2323bd2bed6e5d0c122413c75db46ba5335e4e5d9ed1f4514b2a66e7"
                        "67d7780d1d94a6051b6058");
    assert_int_equal(dk_derive_master_secret(DK_HASH_SHA384, pms, 48, false, NULL, cr, sr, out), DK_OK);
    assert_hex(out, 48, "2d9f527d708e1771fc4d11185e2fbaf730717d11990e4ffcc3e6b895650d2f48d6884a4e5c"
                        "656c1b7dcf4bde2e4eec65");
    /* An empty premaster secret through the keyed HMAC gives what libcrypto's
     * TLS1-PRF KDF gives for it. */
    uint8_t want[48];
    assert_int_equal(dk_derive_master_secret(DK_HASH_SHA256, pms, 0, false, NULL, cr, sr, out), DK_OK);
    uint8_t seed[64];
    memcpy(seed, cr, 32);
    memcpy(seed + 32, sr, 32);
    assert_int_equal(dk_tls12_prf(DK_HASH_SHA256, pms, 0, "master secret", seed, 64, NULL, 0, want, 48),
                     DK_OK);
    assert_memory_equal(out, want, 48);
}

static void test_extended_master_secret(void **state)
{
    (void)state;
    uint8_t out[48];
    /* The randoms must not matter with EMS (RFC 7627 4). */
    assert_int_equal(dk_derive_master_secret(DK_HASH_SHA256, pms, 48, true, sh32, sr, cr, out), DK_OK);
    assert_hex(out, 48, "485ac0b50d91483dc8d55176a07e2516d072a2807431dedd17f27914eadc14b6d4bdb5ddd8"
                        "ac2e3cee900f42fde89321");
    assert_int_equal(dk_derive_master_secret(DK_HASH_SHA384, pms, 48, true, sh48, NULL, NULL, out),
                     DK_OK);
    assert_hex(out, 48, "63748c6a2bb7f433eda5d9af6e2c6b4e87c6aca571682bbb71709c86c5dba014aa0fd4054d"
                        "f66d5fe223e3d4a8a44436");
    assert_int_equal(dk_derive_master_secret(DK_HASH_SHA256, pms, 48, true, NULL, cr, sr, out),
                     DK_ERR_INVALID_ARG);
}

static void test_key_block(void **state)
{
    (void)state;
    dk_key_block kb;
    /* AES-128-GCM: 2 x 16 key + 2 x 4 IV = 40 bytes. */
    const dk_suite *s = dk_suite_by_id(DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    assert_int_equal(dk_derive_key_block(s, ms, cr, sr, &kb), DK_OK);
    assert_hex(kb.client_key, 16, "56961042b2cf10ee0de31b3a093a9d95");
    assert_hex(kb.server_key, 16, "0de1132f84436bac70861ddffe7f043b");
    assert_hex(kb.client_iv, 4, "f4a95fad");
    assert_hex(kb.server_iv, 4, "431c051f");
    /* AES-256-GCM with the SHA-384 PRF: 72 bytes. */
    s = dk_suite_by_id(DK_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
    assert_int_equal(dk_derive_key_block(s, ms, cr, sr, &kb), DK_OK);
    assert_hex(kb.client_key, 32, "6e91cf6648d07324d9324d451572c5ba2c1af25a9e34e82cf16b021896162c89");
    assert_hex(kb.server_key, 32, "be867f4eb37ba5875b35574d027be7e84a5348db052cbc0c30c9621f7459bb50");
    assert_hex(kb.client_iv, 4, "5d4935ab");
    assert_hex(kb.server_iv, 4, "e77e7bae");
    /* ChaCha20-Poly1305: 2 x 32 key + 2 x 12 IV = 88 bytes. */
    s = dk_suite_by_id(DK_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256);
    assert_int_equal(dk_derive_key_block(s, ms, cr, sr, &kb), DK_OK);
    assert_hex(kb.client_key, 32, "56961042b2cf10ee0de31b3a093a9d950de1132f84436bac70861ddffe7f043b");
    assert_hex(kb.server_key, 32, "f4a95fad431c051f0f30fca77166673bd6551c89519bf5a15a9a14ea9dd06519");
    assert_hex(kb.client_iv, 12, "279e248e2f8fa1e8c398717c");
    assert_hex(kb.server_iv, 12, "34ba405ec1496837b16351b4");
}

static void test_finished(void **state)
{
    (void)state;
    uint8_t vd[12];
    assert_int_equal(dk_finished_data(DK_HASH_SHA256, ms, true, sh32, vd), DK_OK);
    assert_hex(vd, 12, "6294b531d4002428f4eda66d");
    assert_int_equal(dk_finished_data(DK_HASH_SHA256, ms, false, sh32, vd), DK_OK);
    assert_hex(vd, 12, "269dabe51e284e16ce305733");
    assert_int_equal(dk_finished_data(DK_HASH_SHA384, ms, true, sh48, vd), DK_OK);
    assert_hex(vd, 12, "6cb5a8cc928d2d65f3c21f31");
    assert_int_equal(dk_finished_data(DK_HASH_SHA384, ms, false, sh48, vd), DK_OK);
    assert_hex(vd, 12, "6203d30eecd1f0de10ee8628");
}

static void test_exporter(void **state)
{
    (void)state;
    uint8_t out[40];
    const char *label = "EXPERIMENTAL dtlskit";
    assert_int_equal(dk_export_keying_material(DK_HASH_SHA256, ms, cr, sr, label, NULL, 0, false,
                                               out, 40),
                     DK_OK);
    assert_hex(out, 40, "6f32606b0a11ef9d5455ac6ad1836d321e0a7e24a553c655d54256ad44c1fbe546ae210e4d"
                        "f0167f");
    /* An empty context is not the same as no context (RFC 5705 4). */
    assert_int_equal(dk_export_keying_material(DK_HASH_SHA256, ms, cr, sr, label, NULL, 0, true,
                                               out, 40),
                     DK_OK);
    assert_hex(out, 40, "c32a3b34a5543f774360ba302e49d6495c1258d9664ecd9c4dd33a79ee2d883a631056ad4c"
                        "01d8b7");
    assert_int_equal(dk_export_keying_material(DK_HASH_SHA256, ms, cr, sr, label,
                                               (const uint8_t *)"ctxa1", 5, true, out, 40),
                     DK_OK);
    assert_hex(out, 40, "fae3c94fd00e9d872b6d414ab5969aa8da2573059c41fb9f0ac2ce4e98baf2c60726fa10d0"
                        "24ba0d");
    assert_int_equal(dk_export_keying_material(DK_HASH_SHA384, ms, cr, sr, "EXTRACTOR-dtls_srtp",
                                               (const uint8_t *)"abc", 3, true, out, 20),
                     DK_OK);
    assert_hex(out, 20, "d001e997463ca478181918c13f213c1f3abc9b7a");
    /* Labels TLS uses itself are refused. */
    assert_int_equal(dk_export_keying_material(DK_HASH_SHA256, ms, cr, sr, "key expansion", NULL, 0,
                                               false, out, 40),
                     DK_ERR_INVALID_ARG);
    assert_int_equal(dk_export_keying_material(DK_HASH_SHA256, ms, cr, sr, "client finished", NULL,
                                               0, false, out, 12),
                     DK_ERR_INVALID_ARG);
}

static void test_psk_premaster(void **state)
{
    (void)state;
    uint8_t out[64];
    size_t n = 0;
    const uint8_t psk[] = {0x01, 0x02, 0x03, 0x04};
    /* RFC 4279 2: uint16 N, N zeros, uint16 N, psk */
    assert_int_equal(dk_psk_premaster(NULL, 0, true, psk, 4, out, sizeof out, &n), DK_OK);
    const uint8_t want_psk[] = {0x00, 0x04, 0, 0, 0, 0, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04};
    assert_int_equal(n, sizeof want_psk);
    assert_memory_equal(out, want_psk, n);
    /* RFC 5489 2: uint16 len(Z), Z, uint16 len(psk), psk */
    const uint8_t z[] = {0xAA, 0xBB, 0xCC};
    assert_int_equal(dk_psk_premaster(z, 3, false, psk, 2, out, sizeof out, &n), DK_OK);
    const uint8_t want_ecdhe[] = {0x00, 0x03, 0xAA, 0xBB, 0xCC, 0x00, 0x02, 0x01, 0x02};
    assert_int_equal(n, sizeof want_ecdhe);
    assert_memory_equal(out, want_ecdhe, n);
    /* Exactly enough room, and one byte short. */
    assert_int_equal(dk_psk_premaster(NULL, 0, true, psk, 4, out, 12, &n), DK_OK);
    assert_int_equal(dk_psk_premaster(NULL, 0, true, psk, 4, out, 11, &n), DK_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(dk_psk_premaster(z, 3, false, psk, 2, out, 8, &n), DK_ERR_BUFFER_TOO_SMALL);
}

static void test_suite_table(void **state)
{
    (void)state;
    size_t n = 0;
    const dk_suite *const *all = dk_suites_all(&n);
    assert_int_equal(n, 10);
    const uint16_t order[] = {
        DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, DK_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        DK_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, DK_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
        DK_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,   DK_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        DK_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,   DK_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
        DK_TLS_PSK_WITH_AES_128_GCM_SHA256,         DK_TLS_PSK_WITH_AES_128_CCM_8,
    };
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(all[i]->id, order[i]);
        assert_ptr_equal(dk_suite_by_id(order[i]), all[i]);
        assert_ptr_equal(dk_suite_by_name(all[i]->iana_name), all[i]);
        assert_ptr_equal(dk_suite_by_name(all[i]->openssl_name), all[i]);
        assert_int_equal(all[i]->key_len, dk_aead_key_len(all[i]->aead));
        bool sha384 = all[i]->id == DK_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ||
                      all[i]->id == DK_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384;
        assert_int_equal(all[i]->prf, sha384 ? DK_HASH_SHA384 : DK_HASH_SHA256);
    }
    assert_null(dk_suite_by_id(0x0000));
    assert_null(dk_suite_by_id(0x1301)); /* TLS 1.3 suite */
    assert_null(dk_suite_by_name("ECDHE-ECDSA-AES128-GCM"));
    assert_null(dk_suite_by_name(""));
    assert_null(dk_suite_by_name(NULL));
}

static void test_suite_fields(void **state)
{
    (void)state;
    const dk_suite *s = dk_suite_by_name("ecdhe-ecdsa-aes128-ccm8");
    assert_non_null(s);
    assert_int_equal(s->id, 0xC0AE);
    assert_string_equal(s->iana_name, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8");
    assert_int_equal(s->kx, DK_KX_ECDHE_SIGN);
    assert_int_equal(s->auth, DK_AUTH_ECDSA);
    assert_int_equal(s->aead, DK_AEAD_AES128_CCM8);
    assert_int_equal(s->fixed_iv_len, 4);

    s = dk_suite_by_name("tls_ecdhe_rsa_with_chacha20_poly1305_sha256");
    assert_non_null(s);
    assert_int_equal(s->id, 0xCCA8);
    assert_string_equal(s->openssl_name, "ECDHE-RSA-CHACHA20-POLY1305");
    assert_int_equal(s->kx, DK_KX_ECDHE_SIGN);
    assert_int_equal(s->auth, DK_AUTH_RSA);
    assert_int_equal(s->key_len, 32);
    assert_int_equal(s->fixed_iv_len, 12);

    s = dk_suite_by_name("PSK-AES128-GCM-SHA256");
    assert_non_null(s);
    assert_int_equal(s->id, 0x00A8);
    assert_int_equal(s->kx, DK_KX_PSK);
    assert_int_equal(s->auth, DK_AUTH_PSK);

    s = dk_suite_by_name("ECDHE-PSK-CHACHA20-POLY1305");
    assert_non_null(s);
    assert_int_equal(s->id, 0xCCAC);
    assert_int_equal(s->kx, DK_KX_ECDHE_PSK);
    assert_int_equal(s->aead, DK_AEAD_CHACHA20_POLY1305);

    s = dk_suite_by_name("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    assert_non_null(s);
    assert_int_equal(s->id, 0xC02C);
    assert_int_equal(s->prf, DK_HASH_SHA384);
    assert_int_equal(s->key_len, 32);
    assert_int_equal(s->aead, DK_AEAD_AES256_GCM);
}

static void test_keylog_line(void **state)
{
    (void)state;
    char line[180];
    dk_keylog_line(cr, ms, line, sizeof line);
    assert_string_equal(line,
                        "CLIENT_RANDOM "
                        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
                        "a5a6a3aca9aab7b0bdbebb8481828f889596939c999ae7e0edeeebf4f1f2fff8c5c6c3ccc9"
                        "cad7d0dddedb2421222f28");
    assert_int_equal(strlen(line), 14 + 64 + 1 + 96);
    char small[100];
    memset(small, 'x', sizeof small);
    dk_keylog_line(cr, ms, small, sizeof small);
    assert_string_equal(small, ""); /* never a truncated line */
    dk_keylog_line(cr, ms, line, 176); /* exactly enough */
    assert_int_equal(strlen(line), 175);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_master_secret),
        cmocka_unit_test(test_extended_master_secret),
        cmocka_unit_test(test_key_block),
        cmocka_unit_test(test_finished),
        cmocka_unit_test(test_exporter),
        cmocka_unit_test(test_psk_premaster),
        cmocka_unit_test(test_suite_table),
        cmocka_unit_test(test_suite_fields),
        cmocka_unit_test(test_keylog_line),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
