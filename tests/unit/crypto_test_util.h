/* Small helpers shared by the crypto_*_test.c binaries (include after
 * <cmocka.h>). */
#ifndef DK_CRYPTO_TEST_UTIL_H
#define DK_CRYPTO_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode a hex string (other characters are skipped) into out; returns the
 * byte count. */
static inline size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9') v = *p - '0';
        else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
        else continue;
        if (hi < 0) {
            hi = v;
            continue;
        }
        assert_true(n < cap);
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    assert_int_equal(hi, -1);
    return n;
}

static inline void assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[512];
    size_t n = unhex(hex, want, sizeof want);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
}

/* Read a whole file under DK_TEST_DATA_DIR into a NUL-terminated buffer
 * (free with free()). */
static inline char *read_vector_file(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", DK_TEST_DATA_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    if (len) *len = (size_t)n;
    return buf;
}

/* Write DER as a PEM CERTIFICATE file. */
/* A certificate chain from tests/vectors/certs/<name> (PEM), which must load. */
static inline void load_chain(const char *name, dk_chain *c)
{
    size_t len;
    char path[128];
    snprintf(path, sizeof path, "certs/%s", name);
    char *pem = read_vector_file(path, &len);
    assert_int_equal(dk_chain_from_pem(pem, len, c), DK_OK);
    free(pem);
}

/* A private key from tests/vectors/certs/<name> (PEM); NULL if it does not
 * load. */
static inline dk_pkey *load_private_key(const char *name)
{
    size_t len;
    char path[128];
    snprintf(path, sizeof path, "certs/%s", name);
    char *pem = read_vector_file(path, &len);
    dk_pkey *k = dk_pkey_from_pem(pem, len);
    free(pem);
    return k;
}

static inline void write_pem(const char *path, const uint8_t *der, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\n", f);
    size_t col = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        if (i + 1 < len) v |= (uint32_t)der[i + 1] << 8;
        if (i + 2 < len) v |= der[i + 2];
        char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < len ? b64[(v >> 6) & 63] : '=',
                     i + 2 < len ? b64[v & 63] : '='};
        fwrite(q, 1, 4, f);
        if ((col += 4) == 64) fputc('\n', f), col = 0;
    }
    fputs(col ? "\n-----END CERTIFICATE-----\n" : "-----END CERTIFICATE-----\n", f);
    fclose(f);
}

#endif
