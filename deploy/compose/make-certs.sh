#!/bin/sh
# make-certs.sh DIR: a throwaway CA and a certificate for hooks.compose.test, the
# demo receiver's name (compose.yaml, service certs). Made once per volume;
# herald-webhookd trusts the CA through webhook.tls.ca_file. Demo only.
set -eu
d=${1:-/certs}
[ -s "$d/server.pem" ] && exit 0
cd "$d"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=herald compose demo CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        -keyout ca-key.pem -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=hooks.compose.test" \
        -keyout server-key.pem -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:hooks.compose.test\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
        -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca.srl ca-key.pem
# herald listen runs as the image's herald user.
chmod 0644 ca.pem server.pem server-key.pem
echo "make-certs: CA and hooks.compose.test certificate in $d"
