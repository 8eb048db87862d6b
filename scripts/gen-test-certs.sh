#!/usr/bin/env bash
# Generates the test PKI under tests/vectors/certs/ with the openssl CLI.
# Run once; the output is committed, so tests never depend on this script.
#
#   ec-ca            ECDSA P-256 root CA
#   ec-server        P-256 leaf under ec-ca: CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   ec-client        P-256 leaf under ec-ca: CN=client, clientAuth
#   ec384-server     P-384 leaf under ec-ca, same names as ec-server
#   rsa-ca           RSA-2048 root CA
#   rsa-server       RSA-2048 leaf under rsa-ca, same names as ec-server
#   rsa-client       RSA-2048 leaf under rsa-ca, CN=client
#   ed25519          self-signed Ed25519 leaf, same names as ec-server
#   ec-int-ca        P-256 intermediate CA under ec-ca
#   ec-int-server    P-256 leaf under ec-int-ca, same names as ec-server;
#                    ec-int-server-chain.pem = leaf + intermediate (no root)
#   capath/          ec-ca stored under its subject hash (openssl rehash layout)
#   fingerprints.txt SHA-256 of each certificate's DER, by file name
#   *-chain.pem      leaf followed by its CA
#   ec-server.sec1.key / rsa-server.pkcs1.key   the same keys in the
#                    traditional "EC PRIVATE KEY" / "RSA PRIVATE KEY" forms
#   ec-server.enc.key  the ec-server key encrypted (passphrase "dtlskit")
#   sig/             signatures of sig/msg.txt made with the openssl CLI, one
#                    per SignatureScheme, as known answers for dk_verify (and
#                    for dk_sign where the scheme is deterministic)
#
# Keys are PKCS#8 PEM. Every certificate is valid for 100 years from today.
# Usage: scripts/gen-test-certs.sh [outdir]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../tests/vectors/certs}
mkdir -p "$out"
cd "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

days=36500

cat >"$tmp/ext.cnf" <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:client

[selfsigned]
basicConstraints = critical, CA:FALSE
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
subjectAltName = DNS:localhost, IP:127.0.0.1
CNF

# genkey NAME ALGOPTS...
genkey() {
    local name=$1
    shift
    openssl genpkey -quiet "$@" -out "$name.key"
}

# ca NAME CN
ca() {
    openssl req -new -x509 -key "$1.key" -subj "/O=dtlskit test/CN=$2" -sha256 -days $days \
        -config "$tmp/ext.cnf" -extensions ca -out "$1.pem"
}

# leaf NAME CA CN SECTION
leaf() {
    openssl req -new -key "$1.key" -subj "/O=dtlskit test/CN=$3" -config "$tmp/ext.cnf" \
        -out "$tmp/$1.csr"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
        -CAserial "$tmp/$2.srl" -sha256 -days $days -extfile "$tmp/ext.cnf" -extensions "$4" \
        -out "$1.pem"
}

genkey ec-ca -algorithm EC -pkeyopt ec_paramgen_curve:P-256
ca ec-ca "dtlskit test EC CA"
genkey ec-server -algorithm EC -pkeyopt ec_paramgen_curve:P-256
leaf ec-server ec-ca localhost server
genkey ec-client -algorithm EC -pkeyopt ec_paramgen_curve:P-256
leaf ec-client ec-ca client client
genkey ec384-server -algorithm EC -pkeyopt ec_paramgen_curve:P-384
leaf ec384-server ec-ca localhost server

genkey rsa-ca -algorithm RSA -pkeyopt rsa_keygen_bits:2048
ca rsa-ca "dtlskit test RSA CA"
genkey rsa-server -algorithm RSA -pkeyopt rsa_keygen_bits:2048
leaf rsa-server rsa-ca localhost server
genkey rsa-client -algorithm RSA -pkeyopt rsa_keygen_bits:2048
leaf rsa-client rsa-ca client client

genkey ed25519 -algorithm ED25519
openssl req -new -x509 -key ed25519.key -subj "/O=dtlskit test/CN=localhost" -days $days \
    -config "$tmp/ext.cnf" -extensions selfsigned -out ed25519.pem

genkey ec-int-ca -algorithm EC -pkeyopt ec_paramgen_curve:P-256
openssl req -new -key ec-int-ca.key -subj "/O=dtlskit test/CN=dtlskit test EC intermediate" \
    -config "$tmp/ext.cnf" -out "$tmp/ec-int-ca.csr"
openssl x509 -req -in "$tmp/ec-int-ca.csr" -CA ec-ca.pem -CAkey ec-ca.key -CAcreateserial \
    -CAserial "$tmp/ec-ca.srl" -sha256 -days $days -extfile "$tmp/ext.cnf" -extensions ca \
    -out ec-int-ca.pem
genkey ec-int-server -algorithm EC -pkeyopt ec_paramgen_curve:P-256
leaf ec-int-server ec-int-ca localhost server
cat ec-int-server.pem ec-int-ca.pem >ec-int-server-chain.pem

cat ec-server.pem ec-ca.pem >ec-server-chain.pem
cat rsa-server.pem rsa-ca.pem >rsa-server-chain.pem

openssl ec -in ec-server.key -out ec-server.sec1.key 2>/dev/null
openssl rsa -in rsa-server.key -traditional -out rsa-server.pkcs1.key 2>/dev/null
openssl pkcs8 -topk8 -in ec-server.key -v2 aes-256-cbc -passout pass:dtlskit -out ec-server.enc.key

rm -rf capath
mkdir -p capath
cp ec-ca.pem "capath/$(openssl x509 -hash -noout -in ec-ca.pem).0"

: >fingerprints.txt
for f in ec-ca ec-server ec-client ec384-server ec-int-ca ec-int-server rsa-ca rsa-server \
    rsa-client ed25519; do
    fp=$(openssl x509 -in "$f.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
    echo "$f.pem $fp" >>fingerprints.txt
done

# Signatures made by the CLI over one message.
mkdir -p sig
printf 'dtlskit signature test message\n' >sig/msg.txt
pss256="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha256"
pss384="-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha384"
openssl dgst -sha256 -sign rsa-server.key -out sig/rsa_pkcs1_sha256.sig sig/msg.txt
openssl dgst -sha384 -sign rsa-server.key -out sig/rsa_pkcs1_sha384.sig sig/msg.txt
openssl dgst -sha256 -sign rsa-server.key $pss256 -out sig/rsa_pss_rsae_sha256.sig sig/msg.txt
openssl dgst -sha384 -sign rsa-server.key $pss384 -out sig/rsa_pss_rsae_sha384.sig sig/msg.txt
# PSS with the largest salt instead of the hash length: must be refused.
openssl dgst -sha256 -sign rsa-server.key -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:max -sigopt rsa_mgf1_md:sha256 \
    -out sig/rsa_pss_rsae_sha256_maxsalt.sig sig/msg.txt
openssl dgst -sha256 -sign ec-server.key -out sig/ecdsa_secp256r1_sha256.sig sig/msg.txt
openssl dgst -sha384 -sign ec384-server.key -out sig/ecdsa_secp384r1_sha384.sig sig/msg.txt
openssl pkeyutl -sign -rawin -inkey ed25519.key -in sig/msg.txt -out sig/ed25519.sig

# Sanity: every leaf verifies against its CA.
openssl verify -CAfile ec-ca.pem ec-server.pem ec-client.pem ec384-server.pem >/dev/null
openssl verify -CAfile rsa-ca.pem rsa-server.pem rsa-client.pem >/dev/null
openssl verify -CAfile ed25519.pem ed25519.pem >/dev/null
openssl verify -CAfile ec-ca.pem -untrusted ec-int-ca.pem ec-int-server.pem >/dev/null
echo "test certificates written to $out"
