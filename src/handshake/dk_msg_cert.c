/* Certificate and CertificateRequest codecs (RFC 5246 7.4.2, 7.4.4). */
#include "handshake/dk_msg.h"

#include <string.h>

/* ---- Certificate -----------------------------------------------------------
 * opaque ASN.1Cert<1..2^24-1>;
 * struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 */
dk_result dk_certificate_read(dk_reader *r, size_t max_chain, dk_certificate *c)
{
    memset(c, 0, sizeof *c);
    if (max_chain > DK_MAX_CHAIN) max_chain = DK_MAX_CHAIN;
    dk_reader list;
    DK_TRY(dk_read_vec(r, 3, 0, 0xFFFFFF, &list));
    DK_TRY(dk_reader_done(r));
    while (dk_reader_left(&list) > 0) {
        dk_reader cert;
        DK_TRY(dk_read_vec(&list, 3, 1, 0xFFFFFF, &cert));
        if (c->n == max_chain) return DK_ERR_LIMIT;
        c->der[c->n] = dk_reader_ptr(&cert);
        c->len[c->n] = dk_reader_left(&cert);
        c->n++;
    }
    return DK_OK;
}

void dk_certificate_write(dk_writer *w, const uint8_t *const *der, const size_t *len, size_t n)
{
    size_t list = dk_write_vec_open(w, 3);
    for (size_t i = 0; i < n; i++) {
        size_t m = dk_write_vec_open(w, 3);
        dk_write_bytes(w, der[i], len[i]);
        dk_write_vec_close(w, m, 3);
    }
    dk_write_vec_close(w, list, 3);
}

/* ---- CertificateRequest ----------------------------------------------------
 * enum { rsa_sign(1), dss_sign(2), ..., ecdsa_sign(64), (255) } ClientCertificateType;
 * opaque DistinguishedName<1..2^16-1>;
 * struct {
 *   ClientCertificateType certificate_types<1..2^8-1>;
 *   SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>;
 *   DistinguishedName certificate_authorities<0..2^16-1>;
 * } CertificateRequest;
 */
static dk_result distinguished_names_check(dk_reader list)
{
    while (dk_reader_left(&list) > 0) {
        dk_reader dn;
        DK_TRY(dk_read_vec(&list, 2, 1, 0xFFFF, &dn));
    }
    return DK_OK;
}

dk_result dk_certificate_request_read(dk_reader *r, dk_certificate_request *cr)
{
    memset(cr, 0, sizeof *cr);
    dk_reader v;
    DK_TRY(dk_read_vec(r, 1, 1, 0xFF, &v));
    cr->cert_types = dk_reader_ptr(&v);
    cr->cert_types_len = (uint8_t)dk_reader_left(&v);
    DK_TRY(dk_read_vec(r, 2, 2, 0xFFFE, &v));
    if (dk_reader_left(&v) % 2) return DK_ERR_DECODE;
    cr->sig_algs = dk_reader_ptr(&v);
    cr->sig_algs_len = (uint16_t)dk_reader_left(&v);
    DK_TRY(dk_read_vec(r, 2, 0, 0xFFFF, &v));
    DK_TRY(distinguished_names_check(v));
    cr->cas = dk_reader_ptr(&v);
    cr->cas_len = (uint16_t)dk_reader_left(&v);
    return dk_reader_done(r);
}

/* certificate_authorities is written empty. RFC 5246 7.4.4: "If the
 * certificate_authorities list is empty, then the client MAY send any
 * certificate of the appropriate ClientCertificateType, unless there is some
 * external arrangement to the contrary." */
void dk_certificate_request_write(dk_writer *w, const uint8_t *cert_types, size_t n_types,
                                  const uint16_t *sig_algs, size_t n_sig_algs)
{
    size_t m = dk_write_vec_open(w, 1);
    dk_write_bytes(w, cert_types, n_types);
    dk_write_vec_close(w, m, 1);
    m = dk_write_vec_open(w, 2);
    for (size_t i = 0; i < n_sig_algs; i++) dk_write_u16(w, sig_algs[i]);
    dk_write_vec_close(w, m, 2);
    dk_write_u16(w, 0); /* certificate_authorities: empty */
}
