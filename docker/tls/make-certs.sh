#!/bin/bash
# Makes a private CA and a broker certificate for trying compose.tls.yaml:
#   bash docker/tls/make-certs.sh [DIR] [NAME...]
# DIR (default docker/tls/out) receives ca.crt, ca.key, server.crt and
# server.key. The server certificate names localhost, 127.0.0.1, this host's
# name and every NAME given (a DNS name or an IP address), valid 825 days.
# Devices and readers trust ca.crt (mosquitto_pub --cafile ca.crt). For
# production use certificates of your own CA.
set -euo pipefail
dir=${1:-$(dirname "$0")/out}
shift || true
mkdir -p "$dir"
cd "$dir"
san="DNS:localhost,IP:127.0.0.1,DNS:$(hostname)"
for n in "$@"; do
  if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san+=",IP:$n"; else san+=",DNS:$n"; fi
done
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=HyperStream-C test CA" \
  -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=${1:-localhost}" \
  -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
  -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 0644 ca.crt server.crt
chmod 0600 ca.key server.key
echo "made $dir/{ca.crt,server.crt,server.key} for $san" >&2
