#!/usr/bin/env bash
# Baseline for bench/certs_bench.py: the same five certificates as `edgectl certs generate` plus
# one leaf device (root CA, intermediate CA, edge CA, edge hub server, device), made with the
# openssl command line the way Azure IoT Edge's certGen.sh does it: one openssl process per step
# (genpkey, req, x509/sign, pkcs12), CA keys encrypted with aes256 (password 1234), RSA 4096 for
# CAs and 2048 for leaves, SHA-256, full-chain files and a PFX per issued certificate.
# Written for edgectl; not a copy of certGen.sh.
#
# Usage: bench/certgen_openssl.sh OUT_DIR [rsa|ec]
set -euo pipefail
out=${1:?usage: $0 OUT_DIR [rsa|ec]}
kind=${2:-rsa}
days=30
pass=1234
mkdir -p "$out/private" "$out/certs" "$out/csr"
chmod 700 "$out/private"
cd "$out"

ext() {  # name -> extension file for openssl x509 -extfile
  case $1 in
    ca) printf '%s\n' "basicConstraints=critical,CA:TRUE" \
          "keyUsage=critical,digitalSignature,cRLSign,keyCertSign" \
          "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" ;;
    server) printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
          "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" ;;
    client) printf '%s\n' "basicConstraints=CA:FALSE" \
          "keyUsage=critical,nonRepudiation,digitalSignature,keyEncipherment" \
          "extendedKeyUsage=clientAuth,emailProtection" "subjectKeyIdentifier=hash" \
          "authorityKeyIdentifier=keyid" ;;
  esac > "csr/$1.ext"
}

genkey() {  # prefix bits encrypt?
  local key=private/$1.key.pem
  if [ "$kind" = ec ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 ${3:+-aes256 -pass pass:$pass} -out "$key" 2>/dev/null
  else
    openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" ${3:+-aes256 -pass pass:$pass} -out "$key" 2>/dev/null
  fi
  chmod 400 "$key"
}

issue() {  # prefix cn bits issuer_prefix ext encrypt? issuer_encrypted?
  local p=$1 cn=$2 bits=$3 issuer=$4 kind_ext=$5 enc=${6:-} issuer_enc=${7:-}
  genkey "$p" "$bits" "$enc"
  openssl req -new -sha256 -key "private/$p.key.pem" ${enc:+-passin pass:$pass} \
    -subj "/CN=$cn" -out "csr/$p.csr.pem"
  openssl x509 -req -sha256 -days "$days" -in "csr/$p.csr.pem" \
    -CA "certs/$issuer.cert.pem" -CAkey "private/$issuer.key.pem" ${issuer_enc:+-passin pass:$pass} \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "csr/$kind_ext.ext" \
    -out "certs/$p.cert.pem" 2>/dev/null
  cat "certs/$p.cert.pem" "certs/$issuer-full-chain.cert.pem" > "certs/$p-full-chain.cert.pem"
  openssl pkcs12 -export -in "certs/$p.cert.pem" -inkey "private/$p.key.pem" ${enc:+-passin pass:$pass} \
    -certfile "certs/$issuer-full-chain.cert.pem" -passout "pass:${enc:+$pass}" -out "certs/$p.cert.pfx"
}

ext ca; ext server; ext client
root=azure-iot-test-only.root.ca
genkey "$root" 4096 enc
openssl req -new -x509 -sha256 -days "$days" -key "private/$root.key.pem" -passin "pass:$pass" \
  -subj "/CN=Azure_IoT_Hub_CA_Cert_Test_Only" -extensions v3_ca \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,digitalSignature,cRLSign,keyCertSign" \
  -out "certs/$root.cert.pem"
cp "certs/$root.cert.pem" "certs/$root-full-chain.cert.pem"
issue azure-iot-test-only.intermediate Azure_IoT_Hub_Intermediate_Cert_Test_Only 4096 "$root" ca enc enc
issue iot-edge-device-ca-edge-1 edge-1.ca 4096 azure-iot-test-only.intermediate ca "" enc
issue iot-edge-hub-server edge-gw.local 2048 iot-edge-device-ca-edge-1 server
issue iot-device-sensor-1 sensor-1 2048 azure-iot-test-only.intermediate client "" enc
